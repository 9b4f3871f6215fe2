"""The real page in headless Chromium (Debian's chromium + Playwright) over a real uvicorn server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
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


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    import uvicorn

    from copytrace.web import create_app

    path = tmp_path / "ix.duckdb"
    ix = Index(path)
    ix.add([Document(GHOUTA_A.name, GHOUTA_A.read_text(encoding="utf-8"))])
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
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


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
            page.screenshot(path=str(tmp_path / "matches.png"), full_page=False)
            # the stored document's page is one click away
            card.locator(f"h2 a[href='/documents/{GHOUTA_A.name}']").click()
            page.wait_for_selector(".doctext")
            assert "eastern Ghouta" in page.inner_text(".doctext")
        finally:
            browser.close()
    assert (tmp_path / "matches.png").stat().st_size > 10_000
