"""A family's tree and an article's timeline drawn in report.html and on the web page, in headless
Chromium: a member of the tree opens its side-by-side view with its parent."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GHOUTA_A
from test_web_browser import ARGS, CHROMIUM, _serve

from copytrace import Document
from copytrace.scan import scan

pytestmark = pytest.mark.browser

URL = "https://example.com/ghouta"


def _docs() -> list[Document]:
    """A -> B -> C (B changes 780 to 68, C keeps it and rewords), and three versions of one url."""
    a = GHOUTA_A.read_text(encoding="utf-8")
    b = a.replace("780", "68")
    c = b.replace("fierce assault", "fierce offensive")
    other = (
        "Wheat futures rose on Tuesday as dry weather in Kansas and Oklahoma threatened the winter crop, "
        "traders said, while corn and soybeans were little changed ahead of the government's report. "
    ) * 3
    v2 = other.replace("Tuesday", "Wednesday", 1)
    v3 = v2 + "\n\nAnalysts expect the department to cut its estimate of the harvest by two percent."
    return [
        Document("C", c, date="2018-03-09"),
        Document("A", a, date="2018-03-07"),
        Document("B", b, date="2018-03-08"),
        Document("w3", v3, date="2018-05-02", url=URL),
        Document("w1", other, date="2018-05-01T08:00:00", url=URL),
        Document("w2", v2, date="2018-05-01T17:00:00", url=URL),
    ]


def test_report_draws_the_tree_and_a_node_opens_the_pair_with_its_parent(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    out = tmp_path / "out"
    scan(_docs(), str(out))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            page.locator("#families tbody tr", has_text="A").first.click()
            view = page.locator("#family-view")
            assert view.is_visible()
            tree = view.locator("svg.tree")
            assert tree.locator("g.node").count() == 3
            assert tree.locator("path.link:not(.open)").count() == 2  # A -> B -> C, both decided
            assert tree.locator("g.node.root").get_attribute("data-id") == "A"
            assert "780 \u2192 68" in tree.inner_html()  # the change on the edge A -> B
            assert view.locator("table.variants", has_text="68").count() == 1
            # the member C opens its side-by-side view with its parent B
            tree.locator("g.node[data-id=C]").click()
            pair = page.locator("#pair-view")
            assert pair.is_visible()
            assert {pair.get_attribute("data-a"), pair.get_attribute("data-b")} == {"B", "C"}
            assert pair.locator(".e-rewording", has_text="offensive").count() == 1
            # the timeline of the url: three versions in date order, two diffs
            page.locator("#timelines tbody tr").first.click()
            box = page.locator(".timeline")
            assert [x.strip() for x in box.locator(".tl-v").all_inner_texts()][0].startswith("w1")
            assert box.locator(".tl-v").count() == 3
            assert box.locator("tr").count() == 2
            assert box.locator(".e-insert").count() >= 1
            page.screenshot(path=str(tmp_path / "tree.png"), full_page=False)
            assert all(u.startswith("file://") for u in requests)
        finally:
            browser.close()
    assert (tmp_path / "tree.png").stat().st_size > 10_000


def test_web_family_page_draws_the_tree_and_links_each_member_to_its_parent(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with _serve(tmp_path / "ix.duckdb", _docs()) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(base + "/families")
            page.locator("table.list a", has_text="f0").first.click()
            tree = page.locator("svg.tree")
            tree.wait_for()
            nodes = tree.locator("g.node")
            ids = set(nodes.evaluate_all("ns => ns.map(n => n.dataset.id)"))
            if "A" not in ids:  # the first family is the url's: go to the other
                page.goto(base + "/families")
                page.locator("table.list a", has_text="f0").nth(1).click()
                tree.wait_for()
            assert tree.locator("g.node").count() == 3
            assert page.locator("table.list", has_text="780 \u2192 68").count() == 1
            tree.locator("g.node[data-id=C] a").click()
            page.wait_for_selector("section.card")
            card = page.locator("section.card").first
            assert "C" in card.locator("h2").first.inner_text() or "B" in card.inner_text()
            assert page.url.startswith(base + "/pair?a=C&b=B")
        finally:
            browser.close()
