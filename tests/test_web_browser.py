"""The real page in headless Chromium (Debian's chromium + Playwright) over a real uvicorn server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import GHOUTA_A, GHOUTA_B

from copytrace import Document
from copytrace.index import Index

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip(
        f"{CHROMIUM} not installed (apt-get install -y chromium); required in CI", allow_module_level=True
    )

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def _serve(path: Path, docs: list[Document]) -> Iterator[str]:
    """A uvicorn server over a fresh index of ``docs``; yields its base URL."""
    import uvicorn

    from copytrace.web import create_app

    ix = Index(path)
    ix.add(docs)
    ix.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(path), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    with _serve(
        tmp_path / "ix.duckdb", [Document(GHOUTA_A.name, GHOUTA_A.read_text(encoding="utf-8"))]
    ) as url:
        yield url


@pytest.fixture()
def pair_server(tmp_path: Path) -> Iterator[str]:
    docs = [Document(p.name, p.read_text(encoding="utf-8")) for p in (GHOUTA_A, GHOUTA_B)]
    with _serve(tmp_path / "ix.duckdb", docs) as url:
        yield url


def test_paste_the_second_ghouta_article_and_see_the_match(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    text_b = GHOUTA_B.read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(server + "/")
            page.fill("#text", text_b)
            page.click("#search")
            page.wait_for_selector("#summary")
            assert "1 stored document(s) share text" in page.inner_text("#summary")
            card = page.locator("section.card").first
            assert GHOUTA_A.name in card.inner_text()
            assert "partial" in card.locator(".rel").inner_text()
            passages = card.locator(".passage")
            assert passages.count() >= 1
            first_b = passages.first.locator(".side.b").inner_text()
            assert "Syrian rebels safe passage out of" in first_b
            assert card.locator("mark.edit").count() >= 1
            # the match's sentences side by side, unfolded
            assert card.locator("details.derivation[open] tr.srow").count() >= 10
            assert card.locator("tr.srow td.sa mark.frag").first.is_visible()
            page.screenshot(path=str(tmp_path / "matches.png"), full_page=False)
            # the stored document's page is one click away
            card.locator(f"h2 a[href='/documents/{GHOUTA_A.name}']").click()
            page.wait_for_selector(".doctext")
            assert "eastern Ghouta" in page.inner_text(".doctext")
        finally:
            browser.close()
    assert (tmp_path / "matches.png").stat().st_size > 10_000


def test_pair_view_shows_the_sentences_side_by_side(pair_server: str, tmp_path: Path) -> None:
    """From the pairs list to a stored pair: its sentences in rows (a's sentence, how it was made,
    b's sentence), verbatim fragments marked in both cells, new sentences in rows of their own;
    every request goes to the server itself."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(pair_server + "/pairs")
            levels = page.locator("table.list tr").nth(1).locator(".lvl")
            assert levels.count() == 2 and levels.first.inner_text() in ("wholly", "partially", "non")
            page.click("text=side by side")
            page.wait_for_selector("table.sentences")
            assert page.locator("details.derivation").get_attribute("open") is not None
            summary = page.inner_text("details.derivation summary")
            assert "verbatim" in summary and "derived from" in summary
            rows = page.locator("table.sentences tr.srow")
            assert rows.count() >= 10
            # a link row: the sentence of each side beside the other, fragments marked and visible
            link = page.locator("table.sentences tr.srow", has_text="Reconciliation").first
            assert link.locator("td.sk").inner_text().split()[0] in ("verbatim", "partly", "rewritten")
            frag = link.locator("td.sa mark.frag").first
            assert frag.is_visible() and frag.inner_text().strip()
            assert link.locator("td.sb mark.frag").count() >= 1
            box_a, box_b = link.locator("td.sa").bounding_box(), link.locator("td.sb").bounding_box()
            assert box_a and box_b and box_a["x"] + box_a["width"] <= box_b["x"]  # side by side
            assert abs(box_a["y"] - box_b["y"]) < 2
            # new sentences: one side filled, the other empty
            new = page.locator("table.sentences tr.srow.k-new")
            assert new.count() >= 2
            assert new.filter(has_text="Many civilian residents").locator("td.sb").inner_text() == ""
            page.screenshot(path=str(tmp_path / "pair.png"), full_page=False)
            assert requests and all(u.startswith(pair_server + "/") for u in requests), requests
        finally:
            browser.close()
    assert (tmp_path / "pair.png").stat().st_size > 10_000


def test_overview_charts_link_to_the_pairs_they_count_and_a_query_shows_its_reprinted_spans(
    tmp_path: Path,
) -> None:
    """The home page draws the overview (inline SVG, nothing fetched but the page and its style
    sheet); a bar leads to the pairs it counts, a cluster to its members; a pasted text lists
    its reprinted spans with their cluster and how many stored documents carry them."""
    from playwright.sync_api import sync_playwright
    from test_passages import PARAGRAPH
    from test_report import _overview_corpus

    docs = _overview_corpus()
    with _serve(tmp_path / "ix.duckdb", docs) as base, sync_playwright() as p:
        ix = Index(tmp_path / "ix.duckdb", read_only=True)
        partial = ix.relation_counts()["partial"]
        ix.close()
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(base + "/")
            charts = page.locator("#overview figure svg")
            assert charts.count() == 5
            assert all((charts.nth(k).bounding_box() or {}).get("width", 0) > 100 for k in range(5))
            assert page.locator("#overview .ov-flows .ov-hit").count() >= 3
            assert all(u.startswith(base) for u in requests)
            page.locator("#overview .ov-relations a", has=page.locator("[data-v='\"partial\"']")).click()
            page.wait_for_selector("#pairs-title")
            assert page.locator("table.list tr").count() == 1 + partial
            page.go_back()
            page.locator("#overview .ov-clusters a").first.click()
            page.wait_for_selector("h1")
            assert "Reprint cluster p000000" in page.inner_text("h1")
            assert page.locator("table.list tr").count() == 1 + 4
            page.goto(base + "/")
            page.fill("#text", "A new outlet reprints it today. " + PARAGRAPH)  # the wire paragraph
            page.click("#search")
            page.wait_for_selector("#span-table")
            row = page.locator("#span-table tr.span-row").first
            assert row.locator(".span-cluster").inner_text() == "p000000"
            assert row.locator(".span-docs").inner_text() == "4"
        finally:
            browser.close()
