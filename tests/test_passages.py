"""Reprint clusters (issue 25): passages.jsonl, the node rule that keeps clusters from chaining,
and the byte scan that reads passages out of pairs.jsonl."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from copytrace import Document, Settings
from copytrace.errors import InputError
from copytrace.passages import passage_clusters, read_pair_table
from copytrace.scan import scan

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ta",
    "re",
    "su",
    "no",
    "vi",
    "pe",
    "da",
    "go",
    "lu",
    "ser",
    "tan",
    "mor",
    "bel",
]

PARAGRAPH = (
    "The convoy of 46 trucks reached Douma on Monday carrying food and medicine for some 27,500 people, "
    "the United Nations said, before shelling forced it to leave early. Officials in Geneva welcomed the "
    "delivery but said more aid was needed for the besieged enclave."
)
OTHER = (
    "Talks between the two parties broke down late on Friday after the opposition refused to sign the draft, "
    "which would have handed control of the northern checkpoints to a joint commission chaired by observers "
    "from three neighbouring countries until the elections next spring."
)
DATELINE = "GENEVA, March 7, 2018 (Staff Report from the Regional Desk) -"


def filler(rng: random.Random, sentences: int) -> str:
    """Sentences of made-up words: text no two documents share."""
    out = []
    for _ in range(sentences):
        words = [
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            for _ in range(rng.randint(8, 16))
        ]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_three_documents_reprinting_one_paragraph_give_one_cluster_of_three_spans(tmp_path):
    rng = random.Random(1)
    docs = [
        Document(
            f"d{k}",
            filler(rng, 3 + k) + "\n\n" + PARAGRAPH + "\n\n" + filler(rng, 3),
            date=f"2018-03-0{7 + k}",
        )
        for k in range(3)
    ]
    scan(docs, str(tmp_path))
    (cluster,) = _read(tmp_path / "passages.jsonl")
    assert cluster["size"] == {"documents": 3, "passages": 3}
    assert cluster["cluster"] == "p000000"
    for member, doc in zip(cluster["members"], docs, strict=True):
        start = doc.text.index(PARAGRAPH)
        # the words of the paragraph, exactly (a passage ends at its last word's end)
        assert (member["id"], member["start"], member["end"]) == (doc.id, start, start + len(PARAGRAPH) - 1)
        assert member["date"] == doc.date
        assert "source" not in member
    assert cluster["snippet"].startswith("The convoy of 46 trucks reached Douma")
    assert cluster["earliest"] == {
        "id": "d0",
        "start": cluster["members"][0]["start"],
        "end": cluster["members"][0]["end"],
    }
    assert cluster["earliest_reason"] == "earliest date 2018-03-07"
    assert cluster["representative"]["id"] in {"d0", "d1", "d2"}


def _dateline_corpus() -> list[Document]:
    """Three documents reprint PARAGRAPH, three others OTHER; all six open the reprint with the
    same dateline line (long enough, with ``min_words=8``, to be a passage of its own)."""
    rng = random.Random(7)
    docs = []
    for k, body in enumerate([PARAGRAPH] * 3 + [OTHER] * 3):
        text = filler(rng, 2) + "\n\n" + DATELINE + "\n" + body + "\n\n" + filler(rng, 2)
        docs.append(Document(f"{'ab'[k // 3]}{k % 3}", text))
    return docs


def test_two_clusters_sharing_only_a_dateline_stay_two(tmp_path):
    docs = _dateline_corpus()
    scan(docs, str(tmp_path), Settings(min_words=8))
    pairs = _read(tmp_path / "pairs.jsonl")
    # the dateline alone is a passage between the two groups: what could chain them
    across = [p for p in pairs if p["a"][0] != p["b"][0]]
    assert across and all(len(p["passages"]) == 1 for p in across)
    clusters = _read(tmp_path / "passages.jsonl")
    holding = {}
    for c in clusters:
        for m in c["members"]:
            text = next(d.text for d in docs if d.id == m["id"])[m["start"] : m["end"]]
            for name, body in (("paragraph", PARAGRAPH), ("other", OTHER)):
                if body[:60] in text:
                    holding.setdefault(name, set()).add(c["cluster"])
    # each paragraph in exactly one cluster, and not the same one
    assert len(holding["paragraph"]) == 1 and len(holding["other"]) == 1
    assert holding["paragraph"] != holding["other"]
    by_id = {c["cluster"]: c for c in clusters}
    (para,) = holding["paragraph"]
    (other,) = holding["other"]
    assert sorted(m["id"] for m in by_id[para]["members"]) == ["a0", "a1", "a2"]
    assert sorted(m["id"] for m in by_id[other]["members"]) == ["b0", "b1", "b2"]
    # the dateline is a cluster of its own, in all six documents
    dated = [c for c in clusters if c["size"]["documents"] == 6]
    assert len(dated) == 1 and all(DATELINE[:20] in c["snippet"] for c in dated)

    # the rule is what keeps them apart: merging every overlapping span (core 0) chains them
    index = {d.id: k for k, d in enumerate(docs)}
    table = read_pair_table(tmp_path / "pairs.jsonl", index)
    args = (table.a[table.line], table.b[table.line], table.a_start, table.a_end, table.b_start, table.b_end)
    assert len(passage_clusters(*args)) == len(clusters)
    assert len(passage_clusters(*args, core=0.0)) == 1


def _arrays(rows: list[tuple[int, int, int, int, int, int]]) -> tuple[np.ndarray, ...]:
    return tuple(np.array(col, dtype=np.int64) for col in zip(*rows, strict=True))


def _as_sets(cl) -> list[set[tuple[int, int, int]]]:
    return [
        {(int(cl.doc[j]), int(cl.start[j]), int(cl.end[j])) for j in range(cl.bounds[k], cl.bounds[k + 1])}
        for k in range(len(cl))
    ]


def test_a_short_piece_inside_two_passages_links_neither():
    # doc 0 and 1 share P+S at [0, 100); doc 2 and 3 share Q+S at [0, 100); S is [80, 100) of each,
    # and doc 1 and doc 2 share S alone
    rows = [(0, 1, 0, 100, 0, 100), (2, 3, 0, 100, 0, 100), (1, 2, 80, 100, 80, 100)]
    cl = passage_clusters(*_arrays(rows))
    assert _as_sets(cl) == [
        {(0, 0, 100), (1, 0, 100)},
        {(1, 80, 100), (2, 80, 100)},
        {(2, 0, 100), (3, 0, 100)},
    ]
    # a piece that is most of both passages (4/5) is the passage: it links
    rows = [(0, 1, 0, 100, 0, 100), (2, 3, 0, 100, 0, 100), (1, 2, 20, 100, 20, 100)]
    assert len(passage_clusters(*_arrays(rows))) == 1
    # half of them does not, however many documents share it
    rows = [(0, 1, 0, 100, 0, 100), (2, 3, 0, 100, 0, 100)]
    rows += [(a, b, 50, 100, 50, 100) for a in (0, 1) for b in (2, 3)]
    cl = passage_clusters(*_arrays(rows))
    assert _as_sets(cl)[0] == {(0, 0, 100), (1, 0, 100)} and len(cl) == 3
    assert {(d, s, e) for d, s, e in _as_sets(cl)[1]} == {(d, 50, 100) for d in range(4)}


def test_a_piece_inside_one_passage_joins_it_and_a_piece_inside_two_joins_neither():
    # a copy that kept only the second half of passage P (doc 3) is aligned with the three full
    # copies: its spans there are pieces of P's spans, so its cluster joins P's
    rows = [(0, 1, 0, 200, 0, 200), (0, 2, 0, 200, 0, 200), (1, 2, 0, 200, 0, 200)]
    rows += [(k, 3, 100, 200, 0, 100) for k in range(3)]
    assert _as_sets(passage_clusters(*_arrays(rows))) == [
        {(0, 0, 200), (1, 0, 200), (2, 0, 200), (3, 0, 100)}
    ]
    # without that step the piece is a cluster of its own (the step is what joins it)
    assert len(passage_clusters(*_arrays(rows), attach=False)) == 2
    # a sentence S at the end of P (docs 0-2) and of Q (docs 4-6), shared across: S lies inside
    # P's spans in three documents and Q's in three; it joins neither, and P and Q stay apart
    rows = [(0, 1, 0, 200, 0, 200), (0, 2, 0, 200, 0, 200), (4, 5, 0, 200, 0, 200), (4, 6, 0, 200, 0, 200)]
    rows += [(a, b, 150, 200, 150, 200) for a in (0, 1, 2) for b in (4, 5, 6)]
    sets = _as_sets(passage_clusters(*_arrays(rows)))
    assert len(sets) == 3
    p = next(x for x in sets if (0, 0, 200) in x)
    q = next(x for x in sets if (4, 0, 200) in x)
    assert p != q and {d for d, _, _ in p} == {0, 1, 2} and {d for d, _, _ in q} == {4, 5, 6}


def test_overlapping_spans_of_one_passage_are_one_node_and_no_chain_drifts():
    # three copies of one passage aligned with slightly different ends: one cluster, one member each
    rows = [(0, 1, 10, 200, 5, 190), (0, 2, 12, 205, 0, 195), (1, 2, 6, 190, 0, 190)]
    cl = passage_clusters(*_arrays(rows))
    assert _as_sets(cl) == [{(0, 10, 205), (1, 5, 190), (2, 0, 195)}]
    assert cl.documents().tolist() == [3] and cl.degree.tolist() == [2, 2, 2]
    # spans sliding along one document: [0,100), [15,115), [30,130) each overlap the next by 85%,
    # but no core covers 4/5 of all three: two nodes, so two clusters
    rows = [(0, 1, 0, 100, 0, 100), (0, 2, 15, 115, 0, 100), (0, 3, 30, 130, 0, 100)]
    assert len(passage_clusters(*_arrays(rows))) == 2


def test_clusters_do_not_depend_on_the_order_of_the_passages():
    rng = random.Random(3)
    rows = []
    for _ in range(400):
        a, b = sorted(rng.sample(range(60), 2))
        s, t = rng.randrange(0, 900, 50), rng.randrange(0, 900, 50)
        n = rng.choice((100, 150, 300))
        rows.append((a, b, s, s + n + rng.randrange(0, 20), t, t + n))
    first = passage_clusters(*_arrays(rows))
    rng.shuffle(rows)
    again = passage_clusters(*_arrays(rows))
    for name in ("doc", "start", "end", "degree", "bounds", "representative"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    # members in (document, start) order inside each cluster, clusters in their first member's order
    firsts = [(int(first.doc[b]), int(first.start[b])) for b in first.bounds[:-1].tolist()]
    assert firsts == sorted(firsts)
    # each document's members of one cluster are disjoint
    for members in _as_sets(first):
        by_doc: dict[int, list[tuple[int, int]]] = {}
        for d, s, e in members:
            by_doc.setdefault(d, []).append((s, e))
        for spans in by_doc.values():
            spans.sort()
            assert all(x[1] <= y[0] for x, y in zip(spans, spans[1:], strict=False))


def test_pair_table_reads_what_the_json_says(tmp_path):
    """The byte scan of pairs.jsonl against the json module, with ids that need escapes."""
    rng = random.Random(2)
    names = ['q"1', "back\\slash", "naïve ✓", "plain"]
    docs = [Document(n, filler(rng, 2) + " " + PARAGRAPH + " " + filler(rng, 2)) for n in names]
    docs.append(Document("o", filler(rng, 2) + " " + OTHER + " " + PARAGRAPH[:120]))
    scan(docs, str(tmp_path))
    pairs = _read(tmp_path / "pairs.jsonl")
    index = {d.id: k for k, d in enumerate(docs)}
    table = read_pair_table(tmp_path / "pairs.jsonl", index)
    assert [docs[k].id for k in table.a.tolist()] == [p["a"] for p in pairs]
    assert [docs[k].id for k in table.b.tolist()] == [p["b"] for p in pairs]
    assert [table.relations[c] for c in table.relation.tolist()] == [p["relation"] for p in pairs]
    assert [table.directions[c] for c in table.direction.tolist()] == [p["direction"] for p in pairs]
    assert table.containment_a.tolist() == [p["containment_a"] for p in pairs]
    want = [
        (k, x["a_start"], x["a_end"], x["b_start"], x["b_end"], x["words"])
        for k, p in enumerate(pairs)
        for x in p["passages"]
    ]
    got = list(
        zip(
            *(
                c.tolist()
                for c in (table.line, table.a_start, table.a_end, table.b_start, table.b_end, table.words)
            ),
            strict=True,
        )
    )
    assert got == want and len(want) >= 6
    # a damaged line is named
    lines = (tmp_path / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace('"containment_a"', '"containment"')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_pair_table(bad, index)


def test_index_query_shows_each_span_its_cluster_and_how_many_documents_carry_it(tmp_path, capsys):
    """`copytrace query` (and the index behind the web page): the query's reprinted span, its
    cluster as a scan of the stored documents numbers it, and the stored documents carrying it."""
    from copytrace.cli import main
    from copytrace.index import Index

    rng = random.Random(4)
    stored = [
        Document(f"d{k}", filler(rng, 3) + "\n\n" + PARAGRAPH + "\n\n" + filler(rng, 2), source=f"paper {k}")
        for k in range(3)
    ]
    stored.append(Document("e0", filler(rng, 2) + " " + OTHER + " " + filler(rng, 2)))
    stored.append(Document("e1", OTHER + " " + filler(rng, 3)))
    index = tmp_path / "ix.duckdb"
    with Index(index) as ix:
        ix.add(stored)
    scan(stored, str(tmp_path / "out"))
    by_scan = {c["cluster"]: c for c in _read(tmp_path / "out" / "passages.jsonl")}
    with Index(index, read_only=True) as ix:
        # the index makes the clusters a scan makes
        assert ix.top_reprints(10) == sorted(
            by_scan.values(), key=lambda c: (-c["size"]["documents"], -c["size"]["passages"], c["cluster"])
        )
        assert ix.reprint("p000000") == by_scan["p000000"] and ix.reprint("p9") is None
    query = tmp_path / "q.txt"
    query.write_text(
        filler(rng, 2) + " " + PARAGRAPH + " " + filler(rng, 1) + "\n\n" + OTHER, encoding="utf-8"
    )
    assert main(["query", str(query), "--index", str(index), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    text = query.read_text(encoding="utf-8")
    spans = out["spans"]
    assert [(s["cluster"], s["documents"]) for s in spans] == [("p000000", 3), ("p000001", 2)]
    assert text[spans[0]["start"] : spans[0]["end"]] == PARAGRAPH[:-1]
    assert text[spans[1]["start"] : spans[1]["end"]].startswith(OTHER[:40])
    # a stored document: its own span, carried by the two others
    assert main(["query", "--id", "d1", "--index", str(index), "--json"]) == 0
    assert [(s["cluster"], s["documents"]) for s in json.loads(capsys.readouterr().out)["spans"]] == [
        ("p000000", 2)
    ]
    assert main(["query", str(query), "--index", str(index)]) == 0
    shown = capsys.readouterr().out
    assert "reprint cluster p000000, carried by 3 stored document(s)" in " ".join(shown.split())
    # the JSON API says the same, and serves the clusters and the overview's numbers
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from copytrace.web import create_app

    client = TestClient(create_app(index))
    got = client.post("/api/query", json={"text": text}).json()
    assert [(s["cluster"], s["documents"]) for s in got["spans"]] == [("p000000", 3), ("p000001", 2)]
    assert client.get("/api/passages/p000001").json() == by_scan["p000001"]
    assert client.get("/api/passages/p7").status_code == 404
    facts = client.get("/api/overview").json()
    assert facts["pairs"] == 4 and facts["clusters"][0]["cluster"] == "p000000"
    assert facts["flows"] is None or facts["flows"]["undirected"] >= 0
    page = client.get("/pairs", params={"cluster": "p000000"}).text
    assert page.count("side by side</a>") == 3  # the three pairs of the paragraph's documents
