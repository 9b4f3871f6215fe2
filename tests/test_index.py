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

import pytest
from conftest import GHOUTA_A, GHOUTA_B, ROOT

from copytrace import Document, Settings, StoreError, scan
from copytrace.cli import main
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
