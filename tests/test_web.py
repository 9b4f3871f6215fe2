"""The web app (FastAPI TestClient over a real DuckDB index): pages, JSON API, escaping, 413."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import GHOUTA_A, GHOUTA_B

from copytrace import Document
from copytrace.index import Index

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from copytrace.web import create_app  # noqa: E402

EVIL = "<script>alert('x')</script>"


@pytest.fixture()
def index_path(tmp_path: Path) -> Path:
    path = tmp_path / "ix.duckdb"
    a = GHOUTA_A.read_text(encoding="utf-8")
    ix = Index(path)
    ix.add(
        [
            Document("ghouta-a", a, title="Ghouta <b>deal</b>"),
            Document(f"evil{EVIL}", EVIL + " " + a[:1500], source=EVIL),
        ]
    )
    ix.close()
    return path


@pytest.fixture()
def client(index_path: Path) -> TestClient:
    return TestClient(create_app(index_path, max_body=200_000))


def test_home_page_has_the_search_form(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert "<textarea name=text" in r.text and "2 documents" in r.text
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


def test_pasting_the_second_article_shows_the_match_side_by_side(client: TestClient) -> None:
    b = GHOUTA_B.read_text(encoding="utf-8")
    r = client.post("/query", data={"text": b})
    assert r.status_code == 200
    assert 'href="/documents/ghouta-a"' in r.text
    assert "partial" in r.text and "class=passage" in r.text
    assert '<mark class="edit k-' in r.text  # edits highlighted
    assert "Ghouta &lt;b&gt;deal&lt;/b&gt;" in r.text  # the stored title, escaped


def test_uploaded_file_is_searched(client: TestClient) -> None:
    r = client.post("/query", files={"file": ("b.txt", GHOUTA_B.read_bytes(), "text/plain")})
    assert r.status_code == 200 and 'href="/documents/ghouta-a"' in r.text


def test_script_in_pasted_and_stored_text_is_escaped_everywhere(client: TestClient) -> None:
    a = GHOUTA_A.read_text(encoding="utf-8")
    r = client.post("/query", data={"text": EVIL + "\n" + a})
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in r.text
    for path in (
        "/documents",
        "/pairs",
        "/families",
        "/documents/" + "evil%3Cscript%3Ealert('x')%3C%2Fscript%3E",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>" not in page.text, path
    doc_page = client.get("/documents/evil%3Cscript%3Ealert('x')%3C%2Fscript%3E")
    assert "&lt;script&gt;" in doc_page.text
    assert "<script>" not in client.get("/documents/%3Cscript%3E").text  # the 404 page echoes the id escaped


def test_browse_documents_pairs_and_families(client: TestClient) -> None:
    docs = client.get("/documents")
    assert "ghouta-a" in docs.text
    pairs = client.get("/pairs")
    assert "side by side" in pairs.text
    fams = client.get("/families")
    assert "f000000" in fams.text
    assert "ghouta-a" in client.get("/families/f000000").text
    assert client.get("/families/nope").status_code == 404
    pair = client.get("/pair", params={"a": "ghouta-a", "b": f"evil{EVIL}"})
    assert pair.status_code == 200 and "class=passage" in pair.text and "<script>" not in pair.text
    assert client.get("/documents/missing").status_code == 404


def test_api_query_documents_pairs(client: TestClient) -> None:
    b = GHOUTA_B.read_text(encoding="utf-8")
    r = client.post("/api/query", json={"text": b, "limit": 5})
    assert r.status_code == 200
    matches = r.json()["matches"]
    assert matches[0]["document"]["id"] == "ghouta-a"
    pair = matches[0]["pair"]
    assert pair["relation"] == "partial" and pair["passages"]
    for p in pair["passages"]:
        for e in p["edits"]:
            assert b[e["a_start"] : e["a_end"]] == e["a"]
    doc = client.get("/api/documents/ghouta-a").json()
    assert doc["text"] == GHOUTA_A.read_text(encoding="utf-8") and doc["cluster"] == "f000000"
    assert client.get("/api/documents/nope").status_code == 404
    pairs = client.get("/api/pairs", params={"doc": "ghouta-a"}).json()["pairs"]
    assert len(pairs) == 1 and {pairs[0]["a"], pairs[0]["b"]} == {"ghouta-a", f"evil{EVIL}"}
    assert client.get("/api/families").json()["families"][0]["size"] == 2
    assert client.post("/api/query", json={"limit": 5}).status_code == 422


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _check_derivation(d: dict, text_a: str, text_b: str) -> None:
    """A derivation as the API returns it: shares and level of each side, links inside both texts."""
    for side in ("a", "b"):
        assert {"verbatim", "rewritten", "new", "level"} <= set(d[side])
        assert abs(d[side]["verbatim"] + d[side]["rewritten"] + d[side]["new"] - 1) < 1e-3
    assert d["sentences"]
    for x in d["sentences"]:
        assert 0 <= x["a_start"] < x["a_end"] <= len(text_a) and 0 <= x["b_start"] < x["b_end"] <= len(text_b)
        for f in x["fragments"]:
            # the same words (quotes and case may differ: fragments are matched on normalized words)
            assert _words(text_a[f["a_start"] : f["a_end"]]) == _words(text_b[f["b_start"] : f["b_end"]])


def test_api_returns_the_derivation(client: TestClient) -> None:
    a, b = GHOUTA_A.read_text(encoding="utf-8"), GHOUTA_B.read_text(encoding="utf-8")
    match = client.post("/api/query", json={"text": b, "limit": 5}).json()["matches"][0]
    _check_derivation(match["pair"]["derivation"], b, a)  # the query is a
    stored = client.get("/api/pairs", params={"doc": "ghouta-a"}).json()["pairs"][0]
    assert stored["a"] == "ghouta-a"
    evil = client.get(f"/api/documents/evil{EVIL}").json()["text"]
    _check_derivation(stored["derivation"], a, evil)
    assert client.get("/api/documents/ghouta-a").json()["pairs"][0]["derivation"] == stored["derivation"]


def test_pages_show_the_sentences_side_by_side(client: TestClient) -> None:
    b = GHOUTA_B.read_text(encoding="utf-8")
    r = client.post("/query", data={"text": b})
    assert "<details class=derivation open>" in r.text  # the best match's sentences unfolded
    assert "<tr class='srow k-" in r.text and "<mark class=frag" in r.text and "srow k-new" in r.text
    # the quote edited in b beside a's, verbatim fragments marked inside both cells
    rows = r.text.split("<table class=sentences>", 1)[1].split("<tr class='srow")
    row = next(x for x in rows if "Reconciliation Center" in x)
    assert "Reconciliation Centre" in row and row.count("<mark class=frag") >= 2
    # a stored pair seen from either side: the sentences follow the page's a
    for first, second in (("ghouta-a", f"evil{EVIL}"), (f"evil{EVIL}", "ghouta-a")):
        page = client.get("/pair", params={"a": first, "b": second}).text
        assert "<tr class='srow k-" in page and "<script>" not in page
        cells = page.split("<td class=sa", 1)[1]
        assert ("&lt;script&gt;" in cells.split("<td class=sb", 1)[0]) == first.startswith("evil")
    assert "derived a / b" in client.get("/pairs").text


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/query", "/api/documents/{doc_id}", "/api/pairs"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_bodies_over_the_limit_get_413(client: TestClient) -> None:
    big = "word " * 60_000  # 300 kB > 200 kB
    assert client.post("/api/query", json={"text": big}).status_code == 413
    assert client.post("/query", data={"text": big}).status_code == 413

    def chunks() -> object:
        for _ in range(30):
            yield b"x" * 10_000

    # no Content-Length (chunked): counted while read
    assert (
        client.post("/api/query", content=chunks(), headers={"content-type": "application/json"}).status_code
        == 413
    )
