"""The persistent index (real DuckDB files in tmp_path): incremental add, query, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import GHOUTA_A, GHOUTA_B, ROOT

from copytrace import Document, Settings, StoreError, compare, scan
from copytrace.cli import main
from copytrace.derive import NO_SOURCE
from copytrace.index import Index, mirror

SENTENCES = [
    "The committee approved the new budget for the regional hospital after a long debate on Tuesday evening.",
    "Officials said the construction of the northern bridge would begin next spring and last three years.",
    "Residents of the old harbour district complained about the noise from the night shipping traffic.",
    "The mayor promised that the tram line to the university would reopen before the autumn term starts.",
    "Farmers in the valley reported that the late frost had damaged most of the apple blossom this year.",
    "A spokesman for the railway company apologised for the delays caused by the signal failure at dawn.",
]


def _docs() -> list[Document]:
    """A small corpus with a duplicate, a containment, partial reuse and an unrelated text."""
    a, b = GHOUTA_A.read_text(encoding="utf-8"), GHOUTA_B.read_text(encoding="utf-8")
    local = " ".join(SENTENCES)
    return [
        Document("ghouta-a", a),
        Document("local", local),
        Document("ghouta-b", b),
        Document("ghouta-a-copy", a.replace("Reconciliation Centre", "Reconciliation Center")),
        Document(
            "local-extended", local + " " + "The council will meet again next week to vote on the plan."
        ),
        Document(
            "unrelated", "Completely different words about football scores and weather in another city " * 3
        ),
    ]


def _pair_key(p: dict[str, object]) -> tuple[object, ...]:
    return (p["a"], p["b"], p["relation"], json.dumps(p["passages"], sort_keys=True))


def test_incremental_add_finds_the_same_pairs_as_scan(tmp_path: Path) -> None:
    docs = _docs()
    ix = Index(tmp_path / "ix.duckdb")
    first = ix.add(docs[:3])
    second = ix.add(docs[3:])
    assert first.added == 3 and second.added == 3
    stored = {_pair_key(p.to_dict()) for p in ix.pairs(limit=1000)}
    scan(docs, str(tmp_path / "scan"), Settings(workers=1))
    with open(tmp_path / "scan" / "pairs.jsonl", encoding="utf-8") as fh:
        scanned = {_pair_key(json.loads(line)) for line in fh}
    assert stored == scanned
    relations = {(p.a, p.b): p.relation for p in ix.pairs(limit=1000)}
    assert relations[("ghouta-a", "ghouta-b")] == "partial"
    assert relations[("ghouta-a", "ghouta-a-copy")] == "duplicate" or relations[
        ("ghouta-a", "ghouta-a-copy")
    ].startswith("near")
    assert relations[("local", "local-extended")] in ("b_contains_a", "near_duplicate")
    assert not any("unrelated" in key for key in relations)
    assert ix.count() == {"documents": 6, "fingerprints": ix.count()["fingerprints"], "pairs": len(relations)}


def test_query_text_finds_the_ghouta_article_with_passages_and_edits(tmp_path: Path) -> None:
    a, b = GHOUTA_A.read_text(encoding="utf-8"), GHOUTA_B.read_text(encoding="utf-8")
    Index(tmp_path / "ix.duckdb").add([Document("a", a)])
    with Index(tmp_path / "ix.duckdb", read_only=True) as ix:
        matches = ix.query_text(b)
        assert [m.doc.id for m in matches] == ["a"]
        pair = matches[0].pair
        assert (pair.a, pair.b, pair.relation) == ("query", "a", "partial")
        assert pair.passages and any(p.edits for p in pair.passages)
        for p in pair.passages:
            # offsets slice the query text (a) and the stored text (b)
            assert b[p.a_start : p.a_end].split()[:3] and a[p.b_start : p.b_end].split()[:3]
            for e in p.edits:
                assert b[e.a_start : e.a_end] == e.a and a[e.b_start : e.b_end] == e.b
        assert ix.query_text("nothing in common with anything stored at all here") == []


def test_same_id_twice_is_an_error_unless_replace(tmp_path: Path) -> None:
    path = tmp_path / "ix.duckdb"
    docs = _docs()
    ix = Index(path)
    ix.add(docs[:3])
    with pytest.raises(StoreError, match="already in the index.*--replace"):
        ix.add([Document("ghouta-b", "new text"), Document("fresh", "fresh text")])
    assert ix.count()["documents"] == 3  # the failed add left nothing behind
    with pytest.raises(StoreError, match="appears twice"):
        ix.add([Document("x", "one"), Document("x", "two")])
    same = ix.add([docs[2]], replace=True)
    assert (same.unchanged, same.replaced, same.added) == (1, 0, 0)
    before = {(p.a, p.b) for p in ix.pairs()}
    assert ("ghouta-a", "ghouta-b") in before
    changed = ix.add([Document("ghouta-b", " ".join(SENTENCES))], replace=True)
    assert changed.replaced == 1
    after = {(p.a, p.b) for p in ix.pairs()}
    assert ("ghouta-a", "ghouta-b") not in after and ("local", "ghouta-b") in after
    assert ix.get("ghouta-b") == Document("ghouta-b", " ".join(SENTENCES))


def test_boilerplate_over_max_df_makes_no_pair(tmp_path: Path) -> None:
    shared = SENTENCES[0] + " " + SENTENCES[1]
    docs = [
        Document(f"d{i}", f"Story {i} is about something else entirely, number {i}. " + shared)
        for i in range(4)
    ]
    ix = Index(tmp_path / "ix.duckdb", Settings(max_df=3))
    ix.add(docs[:2])
    assert ix.count()["pairs"] == 1  # two holders: under the cap
    ix.add(docs[2:])
    # the fingerprints are now held by 4 documents (> max_df): the new documents pair with nobody
    assert ix.count()["pairs"] == 1
    assert ix.query_text(shared) == []


def test_settings_of_an_existing_index_win_and_conflicts_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "ix.duckdb"
    Index(path, Settings(min_words=20)).close()
    ix = Index(path)
    assert ix.settings.min_words == 20
    assert ix.check_settings(Settings(workers=1)).min_words == 20
    with pytest.raises(StoreError, match="min_words=20"):
        ix.check_settings(Settings(min_words=10))


def test_read_only_open_of_a_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such index"):
        Index(tmp_path / "missing.duckdb", read_only=True)


def test_matches_of_a_stored_document_are_its_stored_pairs(tmp_path: Path) -> None:
    ix = Index(tmp_path / "ix.duckdb")
    ix.add(_docs())
    found = ix.matches_of("ghouta-b")
    assert [d.id for d, _ in found] == ["ghouta-a"] or {d.id for d, _ in found} >= {"ghouta-a"}
    for _doc, pair in found:
        assert pair.a == "ghouta-b"
    stored = ix.pair("ghouta-a", "ghouta-b")
    assert stored is not None and mirror(mirror(stored)) == stored


def test_cli_index_add_and_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "ix.duckdb")
    assert main(["index", "add", str(GHOUTA_A), "--index", path, "--quiet"]) == 0
    assert main(["index", "add", str(GHOUTA_A), "--index", path, "--quiet"]) == 2
    assert "already in the index" in capsys.readouterr().err
    assert main(["query", str(GHOUTA_B), "--index", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m["document"]["id"] for m in out["matches"]] == [GHOUTA_A.name]
    assert out["matches"][0]["pair"]["relation"] == "partial"
    assert main(["index", "add", str(GHOUTA_B), "--index", path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 1
    assert main(["query", "--id", GHOUTA_B.name, "--index", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["matches"][0]["pair"]["a"] == GHOUTA_B.name
    assert main(["query", str(GHOUTA_B), "--index", path]) == 0
    assert "partial" in capsys.readouterr().out
    assert main(["index", "add", str(GHOUTA_A), "--index", path, "--min-words", "30"]) == 2
    assert "min_words=15" in capsys.readouterr().err


def test_cli_query_reads_stdin(tmp_path: Path) -> None:
    path = str(tmp_path / "ix.duckdb")
    assert main(["index", "add", str(GHOUTA_A), "--index", path, "--quiet"]) == 0
    proc = subprocess.run(
        [sys.executable, "-m", "copytrace.cli", "query", "-", "--index", path, "--json"],
        input=GHOUTA_B.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(proc.stdout)["matches"][0]["document"]["id"] == GHOUTA_A.name


# ---------------------------------------------------------------- derivation

# a wire story and a newspaper's rewrite of it a day later: the quotes kept, the sentences around
# them rewritten, condensed and reordered, a headline and a paragraph of the paper's own added
WIRE = (
    "ROTTERDAM (Reuters) - Dock workers at the port of Rotterdam walked off the job on Monday in a "
    "dispute over automation, halting container traffic at Europe's busiest port for the first time in "
    "more than a decade.\n\n"
    "The FNV union said about 4,000 workers joined the 48-hour strike after talks with the employers' "
    "association broke down late on Sunday.\n\n"
    '"We will not stand by while robots take the jobs our members have done for generations," union '
    "spokesman Niek Stam told reporters outside the ECT terminal.\n\n"
    "Port authority figures show that some 14.5 million containers passed through Rotterdam last year.\n\n"
    "The employers said they had offered a job guarantee until 2030 and called the walkout irresponsible.\n\n"
    '"This strike hurts the whole Dutch economy and solves nothing for the workers," said Marco Hendriks, '
    "chairman of the employers' group.\n\n"
    "Shipping lines including Maersk and MSC said they were diverting some vessels to Antwerp and Hamburg.\n\n"
    "Economists at ING estimated the strike could cost the Dutch economy around 20 million euros a day.\n"
)
REWRITE = (
    "Robots spark dock walkout\n\n"
    "Europe's largest port ground to a halt yesterday as thousands of dockers in Rotterdam downed tools "
    "in protest against plans to automate their work.\n\n"
    "Around 4,000 members of the FNV union are taking part in the two-day stoppage, which began after "
    "negotiations with port employers collapsed on Sunday night.\n\n"
    '"We will not stand by while robots take the jobs our members have done for generations," union '
    "leader Niek Stam said.\n\n"
    "Employers insist they offered to guarantee jobs until 2030 and described the action as irresponsible.\n\n"
    '"This strike hurts the whole Dutch economy and solves nothing for the workers," said employers\' '
    "chairman Marco Hendriks.\n\n"
    "Maersk and MSC are already sending some ships to Antwerp and Hamburg instead, the shipping companies "
    "said.\n\n"
    "ING economists put the cost to the Dutch economy at roughly 20 million euros for every day the strike "
    "lasts.\n\n"
    'Local cafe owner Petra de Vries said the quayside had never been so quiet. "It feels like a Sunday," '
    "she said.\n"
)
# the same rewrite with the quotes cut short: no run of min_words (15) words in common is left
SHORT = REWRITE.replace(
    '"We will not stand by while robots take the jobs our members have done for generations," union '
    "leader Niek Stam said.",
    "Union leader Niek Stam said his members would not stand by while robots take the jobs.",
).replace(
    '"This strike hurts the whole Dutch economy and solves nothing for the workers," said employers\' '
    "chairman Marco Hendriks.",
    '"This strike hurts the whole Dutch economy," employers\' chairman Marco Hendriks complained.',
)


def _story() -> tuple[Document, Document]:
    return (
        Document("wire", WIRE, date="2024-03-04", source="Reuters"),
        Document("rewrite", REWRITE, date="2024-03-05", source="Daily Courier"),
    )


def test_query_and_the_document_view_carry_the_derivation(tmp_path: Path) -> None:
    wire, rewrite = _story()
    path = tmp_path / "ix.duckdb"
    ix = Index(path)
    ix.add([wire])
    ix.add([rewrite])  # incremental: the rewrite is matched against the stored wire
    both = Index(tmp_path / "both.duckdb")
    both.add([wire, rewrite])
    assert [p.to_dict() for p in ix.pairs()] == [p.to_dict() for p in both.pairs()]
    for doc_id in ("wire", "rewrite"):
        assert ix.derivation_of(doc_id) == both.derivation_of(doc_id)
    both.close()

    (stored,) = ix.pairs()
    assert (stored.a, stored.b, stored.direction) == ("wire", "rewrite", "a_to_b")
    assert stored.derivation == compare(wire, rewrite).derivation  # kept as compare gives it
    ix.close()

    with Index(path, read_only=True) as ro:
        (match,) = ro.query_text(REWRITE, exclude="rewrite")  # (not itself)
        assert match.doc.id == "wire"
        derivation = match.pair.derivation
        assert derivation is not None and derivation.a.level != "non"  # the query (the rewrite) is a
        assert derivation.sentences and any(x.kind == "rewritten" for x in derivation.sentences)
        assert derivation == compare(Document("query", REWRITE), wire).derivation
        assert match.to_dict()["pair"]["derivation"] == derivation.to_dict()

        # the rewrite's own derivation names the wire; the wire has none
        own = ro.derivation_of("rewrite")
        assert own["level"] != "non" and own["rewritten"] > 0 and own["verbatim"] > 0
        assert [x["id"] for x in own["sources"]] == ["wire"] and own["sources"][0]["share"] > 0
        assert ro.derivation_of("wire") == NO_SOURCE
        with pytest.raises(StoreError, match="no document with id 'nope'"):
            ro.derivation_of("nope")

    # as the scan's documents.jsonl gives each document
    scan([wire, rewrite], str(tmp_path / "scan"), Settings(workers=1))
    with open(tmp_path / "scan" / "documents.jsonl", encoding="utf-8") as fh:
        scanned = {d["id"]: d["derivation"] for d in map(json.loads, fh)}
    with Index(path, read_only=True) as ro:
        assert {doc_id: ro.derivation_of(doc_id) for doc_id in scanned} == scanned


def test_cli_and_api_show_the_derivation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ix.duckdb"
    Index(path).add(list(_story()))
    assert main(["query", "--id", "rewrite", "--index", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [x["id"] for x in out["derivation"]["sources"]] == ["wire"]
    assert out["matches"][0]["pair"]["derivation"]["a"]["level"] != "non"  # rewrite is a
    assert main(["query", "--id", "rewrite", "--index", str(path)]) == 0
    assert "derived (verbatim" in capsys.readouterr().out
    assert main(["query", "--id", "wire", "--index", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["derivation"] == NO_SOURCE

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from copytrace.web import create_app

    client = TestClient(create_app(path))
    doc = client.get("/api/documents/rewrite").json()
    with Index(path, read_only=True) as ro:
        assert doc["derivation"] == ro.derivation_of("rewrite")
    assert doc["pairs"][0]["derivation"]["sentences"]
    assert client.get("/api/documents/wire").json()["derivation"] == NO_SOURCE
    page = client.get("/documents/rewrite").text
    assert "<p class=derived-doc>" in page and 'href="/documents/wire"' in page.split("<h2>", 1)[0]
    assert "derived from no stored document" in client.get("/documents/wire").text


def test_a_pair_with_no_literal_passage_is_stored_and_found(tmp_path: Path) -> None:
    # a dense winnowing window so the short quotes share fingerprints (candidates need min_shared)
    wire = Document("wire", WIRE, date="2024-03-04")
    short = Document("short", SHORT, date="2024-03-05")
    ix = Index(tmp_path / "ix.duckdb", Settings(window=2))
    stats = ix.add([wire, short])
    assert stats.pairs == 1
    (stored,) = ix.pairs()
    assert stored.passages == () and stored.relation == "partial"
    assert stored.derivation is not None and stored.derivation.b.level != "non"
    (match,) = ix.query_text(SHORT, exclude="short")
    assert match.doc.id == "wire" and match.pair.passages == ()
    assert match.pair.derivation is not None and match.pair.derivation.a.level != "non"
    assert [x["id"] for x in ix.derivation_of("short")["sources"]] == ["wire"]
    ix.close()


def test_pairs_stored_without_a_derivation_get_it_when_read(tmp_path: Path) -> None:
    """An index written before derivations: its pairs' JSON has none; reading computes it."""
    path = tmp_path / "ix.duckdb"
    ix = Index(path)
    ix.add(list(_story()))
    (before,) = ix.pairs()
    own = ix.derivation_of("rewrite")
    ix.close()
    con = duckdb.connect(str(path))
    (raw,) = con.execute("SELECT pair FROM pairs").fetchone() or ("",)
    old = {k: v for k, v in json.loads(raw).items() if k != "derivation"}
    con.execute("UPDATE pairs SET pair = ?", [json.dumps(old)])
    con.close()
    with Index(path, read_only=True) as ro:
        (after,) = ro.pairs()
        assert after.derivation is not None and after == before
        assert ro.pair("rewrite", "wire") == before
        assert ro.derivation_of("rewrite") == own and own["sources"]


# ---------------------------------------------------------------- faults

WRITER = textwrap.dedent(
    """
    import sys, time
    from copytrace import Document, Settings
    from copytrace.index import Index
    path, prefix, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    ix = Index(path, lock_timeout=60)
    ix.settings = ix.check_settings(Settings(batch_size=1))
    def tick(_n):
        print("batch", flush=True)
        time.sleep(pause)
    docs = [Document(f"{prefix}{i}", f"text number {i} of {prefix} " + "words " * 40) for i in range(n)]
    print("done", ix.add(docs, on_batch=tick).added, flush=True)
    """
)


def _writer(path: Path, prefix: str, n: int, pause: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), prefix, str(n), str(pause)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_killed_add_leaves_none_of_its_batch(tmp_path: Path) -> None:
    path = tmp_path / "ix.duckdb"
    ix = Index(path)
    ix.add(_docs()[:2])
    ix.close()
    proc = _writer(path, "k", 50, 0.2)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "batch"
    assert proc.stdout.readline().strip() == "batch"  # two documents written inside the transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Index(path, read_only=True) as ro:
        ids = [d["id"] for d in ro.documents(limit=100)]
        assert ids == ["ghouta-a", "local"]
        assert ro.query_text(GHOUTA_A.read_text(encoding="utf-8"))[0].doc.id == "ghouta-a"
    # the lock died with the process: the next add goes through
    again = Index(path, lock_timeout=5)
    assert again.add([Document("after", "text after the crash " * 5)]).added == 1
    assert again.count()["documents"] == 3


def test_two_adds_at_once_the_second_waits_or_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "ix.duckdb"
    Index(path).close()
    proc = _writer(path, "w", 6, 0.3)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "batch"
    # a short timeout: a clear error, and the index is not touched
    with pytest.raises(StoreError, match=r"another process \(pid \d+\) is writing this index"):
        Index(path, lock_timeout=0.2).add([Document("mine", "my text " * 10)])
    # a long timeout: waits for the first writer, then adds
    result: dict[str, object] = {}

    def second() -> None:
        result["added"] = Index(path, lock_timeout=60).add([Document("mine", "my text " * 10)]).added

    t = threading.Thread(target=second)
    t.start()
    rest = proc.stdout.read()
    assert proc.wait() == 0 and "done 6" in rest
    t.join(timeout=60)
    assert result == {"added": 1}
    with Index(path, read_only=True) as ro:
        assert ro.count()["documents"] == 7


def test_a_reader_elsewhere_makes_a_writer_fail_clearly(tmp_path: Path) -> None:
    path = tmp_path / "ix.duckdb"
    Index(path).add([Document("a", "some text " * 10)])
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from copytrace.index import Index; ix = Index(sys.argv[1], read_only=True); "
            "ix.count(); print('open', flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
        started = time.monotonic()
        with pytest.raises(StoreError, match="open in another process"):
            Index(path, lock_timeout=0.3).add([Document("b", "other text " * 10)])
        assert time.monotonic() - started < 30
    finally:
        reader.kill()
        reader.wait()
    with Index(path, read_only=True) as ro:
        assert ro.count()["documents"] == 1
