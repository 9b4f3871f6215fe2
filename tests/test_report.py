"""report.html (issue 6): one self-contained file, rebuilt by `copytrace report`, driven in Chromium."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import GHOUTA

from copytrace import Document
from copytrace.cli import main
from copytrace.report import embed_json
from copytrace.scan import scan

CHROMIUM = "/usr/bin/chromium"
HOSTILE = '<script>alert(1)</script><img src=x onerror="window.__pwned=1">'


def _hostile_corpus() -> list[Document]:
    shared = (
        "The convoy of 46 trucks reached Douma on Monday carrying food and medicine for some 27,500 people, "
        "the United Nations said, before shelling forced it to leave early. "
    )
    return [
        Document("x<b>1</b>", HOSTILE + " " + shared + "Officials in Geneva welcomed the delivery."),
        Document("y&2", "Breaking: " + shared + "Residents said more aid was needed. " + HOSTILE),
    ]


def test_report_is_self_contained_and_escaped(tmp_path):
    scan(_hostile_corpus(), str(tmp_path))
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    # no network: no external scripts, styles, images or fonts
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    # document text and ids never become markup
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>1</b>" not in page
    data = page.split('<script type="application/json" id="data">', 1)[1].split("</script>", 1)[0]
    doc = json.loads(data)
    assert doc["docs"]["x<b>1</b>"]["text"].startswith(HOSTILE)
    assert len(doc["pairs"]) == 1 and doc["pairs"][0]["passages"]


def _report_data(page: str) -> dict:
    return json.loads(page.split('<script type="application/json" id="data">', 1)[1].split("</script>", 1)[0])


def test_report_shows_the_sentences_of_each_pair_side_by_side(tmp_path):
    """Each shown pair carries its derivation as compact rows (report.compact_derivation): every
    link of pairs.jsonl once, in a's order, with its fragments, and every other sentence of
    either text as a new row; each side's shares as pairs.jsonl has them."""
    from copytrace.derive import sentence_spans
    from copytrace.report import expand_derivation

    docs = [Document(p.name, p.read_text(encoding="utf-8")) for p in sorted(GHOUTA.glob("*.txt"))]
    scan(docs, str(tmp_path))
    record = json.loads((tmp_path / "pairs.jsonl").read_text(encoding="utf-8").splitlines()[0])
    data = _report_data((tmp_path / "report.html").read_text(encoding="utf-8"))
    (pair,) = data["pairs"]
    text_a, text_b = data["docs"][pair["a"]]["text"], data["docs"][pair["b"]]["text"]
    d = pair["derivation"]
    for side in ("a", "b"):
        assert d[side] == {
            k: record["derivation"][side][k] for k in ("verbatim", "rewritten", "new", "level")
        }
    rows = expand_derivation(d)
    links = [r for r in rows if r[4] != "n"]
    kinds = {"verbatim": "v", "rewritten": "r", "partly_verbatim": "p"}
    want = sorted(
        (
            x["a_start"],
            x["a_end"],
            x["b_start"],
            x["b_end"],
            kinds[x["kind"]],
            round(x["similarity"], 2),
            [v for f in x["fragments"] for v in (f["a_start"], f["a_end"], f["b_start"], f["b_end"])],
        )
        for x in record["derivation"]["sentences"]
    )
    assert sorted(tuple(r) for r in links) == [tuple(w) for w in want] and len(links) >= 3
    assert [r[0] for r in links] == sorted(r[0] for r in links)  # a's order
    # the edited quote beside its source, its verbatim fragments inside both sentences
    quote = next(r for r in links if "Reconciliation Centre" in text_a[r[0] : r[1]])
    assert "Reconciliation Center" in text_b[quote[2] : quote[3]] and quote[6]
    for r in links:
        for k in range(0, len(r[6]), 4):
            fa0, fa1, fb0, fb1 = r[6][k : k + 4]
            assert r[0] <= fa0 < fa1 <= r[1] and r[2] <= fb0 < fb1 <= r[3]
    # every sentence of each text is in a row: a link's, or a run of new sentences
    for side, text, lo in (("a", text_a, 0), ("b", text_b, 2)):
        shown = sorted((r[lo], r[lo + 1]) for r in rows if r[lo] >= 0)
        for s, e in sentence_spans(text):
            assert any(x <= s and e <= y for x, y in shown), (side, text[s:e])
        assert any(r[4] == "n" and r[lo] >= 0 for r in rows), side
    assert "Many civilian residents have fled" in " ".join(text_a[r[0] : r[1]] for r in rows if r[4] == "n")


def test_compact_derivation_reads_back_to_the_sentence_rows():
    """``expand_derivation(compact_derivation(...))`` gives ``view.sentence_rows`` back: links out
    of order on b, a merge (one sentence of b in two links, so a start goes back), similarities of
    1.00 and below (and none), several fragments, new sentences of both sides."""
    from copytrace.report import compact_derivation, expand_derivation
    from copytrace.view import sentence_rows

    spans_a = [(0, 10), (11, 30), (31, 50), (52, 80)]
    spans_b = [(0, 20), (21, 45), (46, 60), (61, 90), (91, 99)]

    def text(spans):
        chars = [" "] * spans[-1][1]
        for s, e in spans:
            chars[s:e] = "w" * (e - s)
        return "".join(chars)

    def link(a, b, kind, sim, frags=()):
        return {
            "a_start": a[0], "a_end": a[1], "b_start": b[0], "b_end": b[1], "kind": kind, "similarity": sim,
            "fragments": [dict(zip(("a_start", "a_end", "b_start", "b_end"), f, strict=True)) for f in frags],
        }  # fmt: skip

    derivation = {
        "a": {"verbatim": 0.5, "rewritten": 0.25, "new": 0.25, "level": "partially", "words": 12},
        "b": {"verbatim": 0.4, "rewritten": 0.2, "new": 0.4, "level": "partially", "words": 15},
        "sentences": [
            link(spans_a[0], spans_b[3], "verbatim", 0.999, [(0, 9, 61, 70)]),
            link(spans_a[1], spans_b[1], "partly_verbatim", 0.62, [(11, 18, 22, 29), (20, 29, 35, 44)]),
            link(spans_a[3], spans_b[1], "rewritten", 0.41),
            {**link(spans_a[3], spans_b[0], "rewritten", 0.3), "similarity": None},
        ],
    }
    compact = compact_derivation(derivation, text(spans_a), text(spans_b))
    assert set(compact) == {"a", "b", "k", "n"} and "words" not in compact["a"]
    want = []
    for r in sentence_rows(derivation, spans_a, spans_b):
        a, b = r.a or (-1, -1), r.b or (-1, -1)
        if r.kind == "new":
            want.append([a[0], a[1], b[0], b[1], "n"])
        else:
            sim = -0.01 if r.similarity is None else round(r.similarity, 2)
            kind = {"verbatim": "v", "partly_verbatim": "p", "rewritten": "r"}[r.kind]
            want.append([a[0], a[1], b[0], b[1], kind, sim, [x for f in r.fragments for x in f]])
    assert expand_derivation(compact) == want
    assert [w[4] for w in want] == ["v", "n", "p", "n", "r", "r", "n"]
    assert compact["k"] == "Vbparrb"  # 0.999 shows as 1.00: upper case, no number


def test_embed_json_cannot_close_the_script():
    text = embed_json({"t": "</script><!-- \u2028 &amp;"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": "</script><!-- \u2028 &amp;"}
    # what orjson refuses goes to the json module: a lone surrogate, a very large integer
    for value in ("a \ud800 b", 2**70):
        text = embed_json({"t": [value, "<"]})
        assert "<" not in text and json.loads(text) == {"t": [value, "<"]}
    # the compact form the json module writes, for what both encode
    data = {"n": [1, 0.25, None, True], "s": "é \u2029 \n \x01", "x": {"y": []}}
    want = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(embed_json(data)) == data and embed_json(data) == want.replace("\u2029", "\\u2029")


def test_report_reads_pair_lines_as_the_json_module_does():
    """``report._loads`` (orjson, the json module for what orjson refuses) gives what
    ``json.loads`` gives: a pair line with escapes and non-ASCII text, a lone surrogate, an
    integer past 64 bits, a non-finite number; invalid JSON still raises the json module's error."""
    import pytest

    from copytrace.report import _loads

    lines = [
        json.dumps({"a": "d1", "b": 'é\n"x"', "passages": [{"similarity": 0.9375, "edits": []}]}),
        '{"t": "a \\ud800 b"}',
        '{"n": ' + str(2**70) + "}",
        '{"x": NaN, "y": 1e400}',
    ]
    for line in lines:
        got, want = _loads(line.encode()), json.loads(line)
        assert json.dumps(got) == json.dumps(want)
    with pytest.raises(json.JSONDecodeError):
        _loads(b'{"a": ')


def _jsonl_corpus(path: Path) -> None:
    texts = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(GHOUTA.glob("*.txt"))]
    with open(path, "w", encoding="utf-8") as fh:
        for i, t in texts:
            fh.write(json.dumps({"id": i, "text": t, "date": "2018-03-07"}) + "\n")


def test_report_rebuilds_from_table_input(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    _jsonl_corpus(corpus)
    out = tmp_path / "out"
    assert main(["scan", str(corpus), "--out", str(out), "--quiet"]) == 0
    first = (out / "report.html").read_text(encoding="utf-8")
    corpus.unlink()  # the report needs only the output folder
    (out / "report.html").unlink()
    assert main(["report", str(out), "--quiet"]) == 0
    assert (out / "report.html").read_text(encoding="utf-8") == first


def test_report_rebuild_from_files_notices_a_changed_file(tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(GHOUTA, src)
    out = tmp_path / "out"
    assert main(["scan", str(src), "--out", str(out), "--quiet"]) == 0
    assert main(["report", str(out), "--output", str(tmp_path / "again.html"), "--quiet"]) == 0
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == (out / "report.html").read_text(
        encoding="utf-8"
    )
    victim = next(src.glob("000_*.txt"))
    victim.write_text(victim.read_text(encoding="utf-8") + " extra", encoding="utf-8")
    assert main(["report", str(out), "--quiet"]) == 2
    assert "changed since the scan" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nowhere")]) == 2


def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing in CI")
        pytest.skip(f"{CHROMIUM} not installed")


@pytest.mark.browser
def test_report_in_chromium(tmp_path):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from copytrace.report import expand_derivation

    out = tmp_path / "out"
    docs = [Document(p.name, p.read_text(encoding="utf-8")) for p in sorted(GHOUTA.glob("*.txt"))]
    scan(docs + _hostile_corpus(), str(out))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            assert page.locator("#pairs tbody tr").count() == 2
            assert page.locator("#families tbody tr").count() == 2
            # sort pairs by relation, then click the ghouta pair
            page.click("#pairs th[data-k=relation]")
            page.locator("#pairs tbody tr", has_text="000_e51377812b574cd4.txt").click()
            view = page.locator("#pair-view")
            assert view.is_visible()
            assert "partial" in view.locator(".head").inner_text()
            a_passages = view.locator(".side-a .passage")
            b_passages = view.locator(".side-b .passage")
            assert a_passages.count() >= 3 and b_passages.count() >= 3
            assert "Reconciliation" in view.locator(".side-a").inner_text()
            assert view.locator(".side-a .e-spelling", has_text="Centre").count() == 1
            assert view.locator(".side-b .e-spelling", has_text="Center").count() == 1
            assert view.locator(".side-b .e-rewording", has_text="Ministry").count() >= 1
            # the derivation: levels in the head and the pairs table, the sentences side by side
            assert "a derived" in view.locator(".head").inner_text()
            assert page.locator("#pairs tbody tr.active td.derived .lvl").count() == 2
            rows = view.locator("table.sents tr.srow")
            assert rows.count() >= 10
            # the page's script reads the compact rows as expand_derivation does
            data = _report_data((out / "report.html").read_text(encoding="utf-8"))
            pair = next(p for p in data["pairs"] if p["a"].startswith("000_"))
            want = [
                ["" if r[0] < 0 else f"[{r[0]}:{r[1]}]", "" if r[2] < 0 else f"[{r[2]}:{r[3]}]"]
                for r in expand_derivation(pair["derivation"])
            ]
            got = view.locator("table.sents tr.srow").evaluate_all(
                "rows => rows.map(r => [r.children[0].title, r.children[2].title])"
            )
            assert got == want
            quote = view.locator("table.sents tr.srow", has_text="Reconciliation Centre")
            assert "Reconciliation Center" in quote.locator("td.sb").inner_text()
            assert quote.locator("td.sa .frag").count() >= 1 and quote.locator("td.sb .frag").count() >= 1
            assert (
                view.locator("table.sents tr.srow.k-n td.sa", has_text="Many civilian residents").count() == 1
            )
            assert view.locator("table.sents tr.srow.k-n td.sb:not(:empty)").count() >= 1
            page.screenshot(path=str(tmp_path / "pair.png"), full_page=False)
            shot = os.environ.get("COPYTRACE_SCREENSHOT")
            if shot:
                shutil.copy(tmp_path / "pair.png", shot)
            # the hostile pair renders as text, runs nothing
            page.locator("#pairs tbody tr", has_text="y&2").click()
            assert HOSTILE in page.locator("#pair-view .side-a").inner_text()
            assert page.evaluate("window.__pwned === undefined")
            # one family filters the pairs list
            page.locator("#families tbody tr").first.click()
            assert page.locator("#pairs tbody tr").count() == 1
            assert all(u.startswith("file://") for u in requests)
        finally:
            browser.close()
    assert (tmp_path / "pair.png").stat().st_size > 10_000


def test_top_pairs_read_at_their_offsets_match_a_full_read(tmp_path):
    from copytrace.report import top_pairs, top_pairs_by_words

    rng = np.random.default_rng(5)
    words = rng.integers(15, 60, size=300)
    lines = []
    for k, w in enumerate(words.tolist()):
        # passages whose word counts add up to w; a non-ASCII id changes a line's byte length
        rec = {"a": f"d{k}é", "b": f"e{k}", "passages": [{"words": w - w // 3}, {"words": w // 3}]}
        lines.append((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(b"".join(lines))
    sizes = np.array([len(x) for x in lines], dtype=np.int64)
    full = top_pairs(path, 40)
    assert full[1] == 300 and len(full[0]) == 40
    assert [sum(p["words"] for p in r["passages"]) for r in full[0]] == sorted(words.tolist(), reverse=True)[
        :40
    ]
    assert top_pairs_by_words(path, 40, words, sizes) == full
    assert top_pairs_by_words(path, 40, words) == full
    # sizes that do not add up to the file's length: the file is read through instead
    assert top_pairs_by_words(path, 40, words, sizes + 1) == full


def test_top_pairs_count_passage_words_only(tmp_path):
    """A derivation's sides hold "words" of their own: the ranking reads the passages' alone."""
    from copytrace.report import top_pairs

    side = {"verbatim": 1.0, "rewritten": 0.0, "new": 0.0, "level": "wholly", "words": 900}
    recs = [
        {
            "a": "x",
            "b": "y",
            "passages": [{"words": 20}],
            "derivation": {"a": side, "b": side, "sentences": []},
        },
        {"a": "x", "b": "z", "passages": [{"words": 30}]},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    rows, total = top_pairs(path, 1)
    assert total == 2 and [r["b"] for r in rows] == ["z"]


def _overview_corpus() -> list[Document]:
    """Three outlets reprinting two wire paragraphs on dated days (sources and dates for every
    chart), and two undated documents of no source, one the other's copy."""
    from test_passages import OTHER, PARAGRAPH, filler

    rng = random.Random(11)
    docs = [Document("wire-1", PARAGRAPH + " " + filler(rng, 2), date="2018-03-07", source="Reuters")]
    docs.append(Document("wire-2", OTHER + " " + filler(rng, 2), date="2018-04-02", source="Reuters"))
    for k, outlet in enumerate(("Daily Star", "Evening Post", "Courier")):
        docs.append(
            Document(
                f"{outlet[:5]}-1",
                filler(rng, 3) + " " + PARAGRAPH,
                date=f"2018-03-{8 + k:02d}",
                source=outlet,
            )
        )
        docs.append(
            Document(f"{outlet[:5]}-2", filler(rng, 2) + " " + OTHER, date="2018-04-03", source=outlet)
        )
    shared = filler(rng, 3)
    docs += [Document("x", shared), Document("y", shared + " Reporting by the desk.")]
    return docs


@pytest.mark.browser
def test_report_overview_charts_render_and_filter_in_chromium(tmp_path):
    """The first screen: five charts drawn as inline SVG from every pair; a click on a bar, a
    cell or a cluster filters the tables, a second click clears it; nothing is fetched."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    out = tmp_path / "out"
    scan(_overview_corpus(), str(out))
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    page_text = (out / "report.html").read_text(encoding="utf-8")
    data = _report_data(page_text)
    assert len(data["clusters"]) == 3  # the two wire paragraphs and the undated pair's passage
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            charts = page.locator("#overview figure svg")
            assert charts.count() == 5
            for k in range(5):  # each drawn, with some size on the screen
                box = charts.nth(k).bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 40
            rel = page.locator("#overview .ov-relations .ov-hit")
            assert rel.count() == len({x["relation"] for x in pairs})
            # reuse over time: pairs by the later date, a bar a day (the undated pair in none)
            dates = {d.id: d.date for d in _overview_corpus()}
            later = {
                max(d for d in (dates[x["a"]], dates[x["b"]]) if d)
                for x in pairs
                if dates[x["a"]] or dates[x["b"]]
            }
            assert page.locator("#overview .ov-time .ov-hit").count() == len(later) >= 4
            # who copies whom: Reuters copied by each outlet
            flows = page.locator("#overview .ov-flows .ov-hit")
            assert flows.count() >= 3
            total = page.locator("#pairs tbody tr").count()
            assert total == len(pairs)
            # a relation bar filters the pairs (and a second click clears it)
            partial = sum(x["relation"] == "partial" for x in pairs)
            assert 0 < partial < total
            page.locator("#overview .ov-relations .ov-hit[data-v='\"partial\"']").click()
            assert page.locator("#pairs tbody tr").count() == partial
            assert "relation partial" in page.locator("#ov-note").inner_text()
            page.locator("#overview .ov-relations .ov-hit[data-v='\"partial\"']").click()
            assert page.locator("#pairs tbody tr").count() == total
            # a cell of the matrix: the pairs of Reuters copied by the Courier
            courier = [
                x
                for x in pairs
                if x["direction"] != "unknown" and {x["a"][:5], x["b"][:5]} == {"wire-", "Couri"}
            ]
            page.locator(
                "#overview .ov-flows .ov-hit", has=page.locator("title", has_text="Reuters copied by Courier")
            ).click()
            assert page.locator("#pairs tbody tr").count() == len(courier) >= 1
            # the largest reprint cluster (the wire paragraph in four documents), from the chart
            page.locator("#overview .ov-clusters .ov-hit").first.click()
            shown = page.locator("#pairs tbody tr")
            assert shown.count() == 6  # every pair of the four documents
            assert page.locator("#reprints tbody tr.active").count() == 1
            assert page.locator("#reprints tbody tr.active td").nth(1).inner_text() == "4"
            # the clusters table filters the same way
            page.locator("#reprints tbody tr.active").click()
            assert shown.count() == total
            assert all(u.startswith("file://") for u in requests)
            page.screenshot(path=str(tmp_path / "overview.png"))
        finally:
            browser.close()
