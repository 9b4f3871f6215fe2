"""The Spark engine (issue 5): same outputs as the local engine, byte for byte, on a real Spark."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import GHOUTA_A, GHOUTA_B, ROOT

from copytrace.cli import main
from copytrace.engines.spark import _pack, _unpack, chunk_starts, dest_keys, finish_recording
from copytrace.errors import EngineError
from copytrace.scan import scan
from copytrace.types import Document, Settings

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
OUTPUTS = ("pairs.jsonl", "documents.jsonl", "clusters.jsonl", "timelines.jsonl", "passages.jsonl")

pytestmark = [
    pytest.mark.spark,
    # pyspark warns on import that it does not fully support pandas >= 3 (copytrace's jobs use Arrow)
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def _need_spark() -> None:
    """Skip only on a developer machine without Java; in CI (``CI`` set) the tests must run."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME") and not os.environ.get("CI"):
        pytest.skip("Spark needs Java (CI installs openjdk-17-jre-headless)")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """One local[2] session for the module (Spark starts slowly); scan reuses the active session."""
    _need_spark()
    from copytrace.engines.spark import start_session

    session, owned = start_session("local[2]", Settings(), tmp_path_factory.mktemp("spark"))
    yield session
    if owned:
        session.stop()
        finish_recording()  # a JVM that recorded the class-data archive dumps it now (scan does this too)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """2,000 synthetic documents with every reuse kind, then the two ghouta files as records."""
    out = tmp_path_factory.mktemp("corpus")
    subprocess.run(
        [
            sys.executable,
            str(MAKE_CORPUS),
            "--n",
            "2000",
            "--seed",
            "3",
            "--out",
            str(out / "c"),
            "--workers",
            "2",
        ],
        check=True,
        capture_output=True,
    )
    path = out / "corpus.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write((out / "c" / "corpus.jsonl").read_text(encoding="utf-8"))
        for f, date in ((GHOUTA_A, "2018-03-07"), (GHOUTA_B, "2018-03-08")):
            rec = {
                "id": f"ghouta-{f.name[:3]}",
                "text": f.read_text(encoding="utf-8"),
                "date": date,
                "source": f.stem,
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def _scan_both(inputs, tmp_path: Path, settings: Settings) -> tuple[Path, Path]:
    local, spark_out = tmp_path / "local", tmp_path / "spark"
    scan(inputs, str(local), settings)
    scan(inputs, str(spark_out), settings, engine="spark", spark_master="local[2]")
    return local, spark_out


def test_engine_parity_byte_identical(spark, corpus, tmp_path):
    local, spark_out = _scan_both([str(corpus)], tmp_path, Settings())
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    pairs = [json.loads(line) for line in (local / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    relations = {p["relation"] for p in pairs}
    assert {"duplicate", "near_duplicate", "partial"} <= relations
    assert relations & {"a_contains_b", "b_contains_a"}
    ghouta = [p for p in pairs if p["a"].startswith("ghouta") and p["b"].startswith("ghouta")]
    assert len(ghouta) == 1 and ghouta[0]["relation"] == "partial"
    assert len(pairs) > 500
    # the genealogy's fields (built from pairs.jsonl after either engine): one edge per member
    fams = [json.loads(x) for x in (local / "clusters.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(sorted(e["child"] for e in f["tree"]) == sorted(f["members"]) for f in fams)
    edges = [e for f in fams for e in f["tree"]]
    # (the synthetic corpus is undated: most members are open, with their candidates)
    assert all(e["parent"] is not None or e["parent_candidates"] or "original" in e["reason"] for e in edges)
    assert (
        any(e["parent"] is not None for e in edges) and sum(bool(e["parent_candidates"]) for e in edges) > 100
    )
    assert any(f["variants"] for f in fams)
    reprints = [json.loads(x) for x in (local / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(reprints) > 100 and max(r["size"]["documents"] for r in reprints) >= 3


def test_engine_parity_with_filters(spark, corpus, tmp_path):
    """Date window, same-source exclusion, a boilerplate cap and a stricter two-hit rule."""
    docs = []
    with open(corpus, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= 600:
                break
            rec = json.loads(line)
            date = None if i % 7 == 0 else f"2018-03-{1 + i % 28:02d}"
            source = None if i % 5 == 0 else f"outlet{i % 3}"
            docs.append(Document(rec["id"], rec["text"], date=date, source=source))
    docs.append(Document("ghouta-000", GHOUTA_A.read_text(encoding="utf-8"), date="2018-03-07", source="x"))
    docs.append(Document("ghouta-001", GHOUTA_B.read_text(encoding="utf-8"), date="2018-03-08", source="y"))
    settings = Settings(date_window_days=6, exclude_same_source=True, max_df=3, min_shared=3)
    local, spark_out = _scan_both(docs, tmp_path, settings)
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    assert (local / "pairs.jsonl").read_text(encoding="utf-8").count("\n") > 10


def test_evidence_candidates_parity(spark, corpus, tmp_path):
    """The candidate stage on Spark proposes the local engine's pairs, the evidence rule's
    (``candidates.py``) included: 600 synthetic stories, a wire story and its rewrite (no shared
    passage) and stories sharing names and numbers in twos; with and without the rule."""
    from test_candidates import REWRITE, WIRE, _sharing

    from copytrace.engines import local as eng
    from copytrace.engines.spark import (
        candidate_pairs,
        estimated_postings,
        postings_uri_of,
        save_chunk_postings,
    )

    docs = []
    with open(corpus, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= 600:
                break
            rec = json.loads(line)
            docs.append(Document(rec["id"], rec["text"]))
    docs[100:100] = [Document("wire", WIRE)]
    docs.append(Document("rewrite", REWRITE))
    docs.extend(_sharing(6))
    got = []
    for min_evidence in (0, 3):
        s = Settings(min_evidence=min_evidence)
        work = tmp_path / f"e{min_evidence}"
        work.mkdir()
        offsets = list(range(0, len(docs), 250))
        files = [
            eng.prepare_chunk(c, docs[k : k + 250], str(work), s).postings_file for c, k in enumerate(offsets)
        ]
        la, lb = eng.candidates_from_postings(files, offsets, s, str(work))
        docs_uri = str(work / "staging" / "docs")
        for c, k in enumerate(offsets):
            save_chunk_postings(docs_uri, c, [d.text for d in docs[k : k + 250]], s)
        n = estimated_postings(sum(len(d.text) for d in docs), s)
        frame = candidate_pairs(
            spark, postings_uri_of(docs_uri), np.array([*offsets, len(docs)]), n, 2, s, np.zeros(0, np.int64)
        )
        pairs = sorted((r["a"], r["b"]) for r in frame.collect())
        assert pairs == list(zip(la.tolist(), lb.tolist(), strict=True))
        got.append({(docs[a].id, docs[b].id) for a, b in pairs})
    added = got[1] - got[0]
    assert got[0] <= got[1] and ("wire", "rewrite") in added and len(added) >= 1 + 6 * 5 // 2


def test_mass_copies_parity(spark, corpus, tmp_path):
    """One story copied whole into more than ``max_df`` documents (half in a JSONL file, read on the
    executors; half in a text folder, read by the driver): each copy is paired with the first as a
    duplicate, and a quoting document and a near copy are still found (through the first copy), as
    by the local engine, byte for byte."""
    story = GHOUTA_A.read_text(encoding="utf-8")
    lines = story.splitlines()
    unrelated = [str(r["text"]) for r in _sample(corpus, 30)]
    recs = [{"id": f"u{i:02d}", "text": t} for i, t in enumerate(unrelated[:20])]
    for k in range(6):  # copy-00 .. copy-05 between unrelated documents
        recs.insert(3 * k + 1, {"id": f"copy-{k:02d}", "text": story})
    quote = "\n".join(lines[15:27])
    recs.append({"id": "quoting", "text": f"{unrelated[20]}\n\n{quote}\n\n{unrelated[21]}"})
    recs.append({"id": "near", "text": story.replace("Vehicles would", "Buses would", 1)})
    with open(tmp_path / "a.jsonl", "w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    folder = tmp_path / "texts"
    folder.mkdir()
    for k in range(6, 12):
        (folder / f"copy-{k:02d}.txt").write_text(story, encoding="utf-8")
    for i, t in enumerate(unrelated[22:]):
        (folder / f"v{i:02d}.txt").write_text(t, encoding="utf-8")
    inputs = [str(tmp_path / "a.jsonl"), str(folder)]
    local, spark_out = _scan_both(inputs, tmp_path, Settings(max_df=5, batch_size=8))
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    pairs = [json.loads(line) for line in (local / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    got = {(p["a"], p["b"]): p["relation"] for p in pairs}
    copies = (
        ["copy-00"] + [f"copy-{k:02d}" for k in range(1, 6)] + [f"copy-{k:02d}.txt" for k in range(6, 12)]
    )
    for c in copies[1:]:
        assert got.get(("copy-00", c)) == "duplicate", c
        # a member of the group is compared with its first only (pairs linear in the group's size)
        assert [p for p in pairs if c in (p["a"], p["b"])] == [
            p for p in pairs if (p["a"], p["b"]) == ("copy-00", c)
        ]
    assert ("copy-00", "quoting") in got
    assert got.get(("copy-00", "near")) == "near_duplicate"


def test_shared_staging_parity(spark, corpus, tmp_path, monkeypatch):
    """With COPYTRACE_SPARK_STAGING (a cluster's shared storage) the chunks are saved as Parquet, read
    by Spark, and each align chunk gets its texts by a cogroup (no store files mapped): the same
    outputs, and the run's staging folder is removed at the end."""
    staging = tmp_path / "staging"
    staging.mkdir()
    monkeypatch.setenv("COPYTRACE_SPARK_STAGING", str(staging))
    local, spark_out = _scan_both([str(corpus)], tmp_path, Settings(batch_size=500))
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    assert list(staging.iterdir()) == []


def test_empty_and_unrelated_inputs(spark, tmp_path):
    docs = [
        Document("x", "one two three four five six seven"),
        Document("y", "nothing in common here at all"),
    ]
    local, spark_out = _scan_both(docs, tmp_path, Settings())
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    assert (spark_out / "pairs.jsonl").read_text(encoding="utf-8") == ""


def test_chunk_starts_balance_pairs():
    per_a = pa.table({"a": np.array([9, 1, 4, 7], np.int64), "count": np.array([1, 5, 5, 1], np.int64)})
    # 3 pairs a chunk: a=1 (5 pairs) and a=4 (5) each start one; a=7 and a=9 share the last
    assert chunk_starts(per_a, 12, parallelism=1).tolist() == [1, 4, 7]
    assert chunk_starts(per_a, 12, parallelism=100).tolist() == [1, 4, 7, 9]


def test_dest_keys_land_in_their_partition(spark):
    """The keys that place packed postings, hits and align chunks: Spark's hash partitioning sends
    key ``dest_keys(n)[t]`` to partition ``t`` (a wrong key would unbalance the tasks, not the output)."""
    from pyspark.sql import functions as F

    for parts in (1, 7, 64):
        keys = dest_keys(parts)
        df = spark.createDataFrame([(int(k), t) for t, k in enumerate(keys)], "k int, t int")
        got = df.repartition(parts, "k").select("t", F.spark_partition_id().alias("p")).collect()
        assert sorted((r.t, r.p) for r in got) == [(t, t) for t in range(parts)]


def test_packed_columns_round_trip():
    values = np.arange(10, dtype=np.uint64) * np.uint64(1 << 40)
    col = _pack(values, np.array([0, 3, 3, 10]))
    got, n = _unpack(col.slice(1), np.uint64)
    assert n.tolist() == [0, 7] and got.tolist() == values[3:].tolist()


def test_missing_pyspark_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineError, match=r"pip install 'copytrace\[spark\]'"):
        scan([str(GHOUTA_A), str(GHOUTA_B)], str(tmp_path / "out"), engine="spark")
    assert (
        main(
            [
                "scan",
                str(GHOUTA_A),
                str(GHOUTA_B),
                "--out",
                str(tmp_path / "cli"),
                "--engine",
                "spark",
                "--quiet",
            ]
        )
        == 2
    )
    assert "copytrace[spark]" in capsys.readouterr().err
    assert not (tmp_path / "cli" / "pairs.jsonl").exists()


# ---------------------------------------------------------------- inputs read on executors


def _sample(corpus: Path, n: int) -> list[dict[str, object]]:
    with open(corpus, encoding="utf-8") as fh:
        return [json.loads(line) for _, line in zip(range(n), fh, strict=False)]


def test_jsonl_slices_read_on_executors(spark, corpus, tmp_path, monkeypatch):
    """Small byte ranges (several slices a file), each parsed by an executor's Python worker, not by
    the driver: the parser is wrapped to record the process it runs in."""
    import copytrace.engines.spark as engine
    import copytrace.sources as sources

    record = tmp_path / "parsed-by.txt"
    real = sources.read_slice

    def recording(*args, **kwargs):  # shipped to the executors with the read function
        with open(record, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "slices", lambda path: sources.slices(path, 200_000))
    monkeypatch.setattr(engine, "read_slice", recording)
    local, spark_out = _scan_both([str(corpus)], tmp_path, Settings())
    pids = record.read_text(encoding="utf-8").split()
    assert len(pids) == len(list(sources.slices(str(corpus), 200_000))) > 10
    assert str(os.getpid()) not in pids  # the driver parsed no slice
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name


def test_parquet_text_folder_and_jsonl_inputs(spark, corpus, tmp_path):
    """Parquet read on executors by row groups (records numbered as the reader numbers them), a
    folder of text files read by the driver, and JSONL: the same outputs as the local engine."""
    import pyarrow.parquet as pq

    recs = _sample(corpus, 700)
    table = pa.table(
        {
            "id": [f"p{r['id']}" for r in recs[:400]],
            "text": [r["text"] for r in recs[:400]],
            "date": [f"2018-03-{1 + i % 28:02d}" for i in range(400)],
            "desk": [f"d{i % 4}" for i in range(400)],  # an extra column: carried as metadata
        }
    )
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=60)
    folder = tmp_path / "texts"
    folder.mkdir()
    for r in recs[400:500]:
        (folder / f"{r['id']}.txt").write_text(str(r["text"]), encoding="utf-8")
    with open(tmp_path / "b.jsonl", "w", encoding="utf-8") as fh:
        for r in recs[500:]:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    inputs = [str(tmp_path / "a.parquet"), str(folder), str(tmp_path / "b.jsonl")]
    local, spark_out = _scan_both(inputs, tmp_path, Settings(batch_size=150))
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    assert '"desk":' in (local / "documents.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("lines", "where", "message"),
    [
        (['{"id": "a", "text": "one two"}', '{"id": "b", "text": "x"'], "line 2", "not valid JSON"),
        (['{"id": "a", "text": "one two"}', "", '{"id": "c"}'], "line 3", "record has no 'text' field"),
        (['{"id": "a", "text": "one"}', '{"id": "a", "text": "two"}'], "line 2", "duplicate id 'a'"),
    ],
)
def test_input_errors_as_the_local_engine(spark, tmp_path, capsys, lines, where, message):
    """A bad record found by an executor is the local engine's one-line error, exit status 2."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = []
    for engine in ("local", "spark"):
        code = main(["scan", str(bad), "--out", str(tmp_path / engine), "--engine", engine, "--quiet"])
        assert code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{bad}: {where}: " in err and message in err, err
        errors.append(err)
        assert not (tmp_path / engine / "pairs.jsonl").exists()
    assert errors[0] == errors[1]


def test_bad_parquet_names_the_record(spark, tmp_path):
    import pyarrow.parquet as pq

    from copytrace.errors import InputError

    texts = [f"text number {i} of the table" for i in range(30)]
    texts[23] = None  # type: ignore[call-overload]
    pq.write_table(
        pa.table({"id": [str(i) for i in range(30)], "text": texts}),
        tmp_path / "t.parquet",
        row_group_size=10,
    )
    messages = []
    for engine in ("local", "spark"):
        with pytest.raises(InputError) as exc:
            scan(
                [str(tmp_path / "t.parquet")], str(tmp_path / engine), Settings(batch_size=10), engine=engine
            )
        messages.append(str(exc.value))
    assert messages[0] == messages[1] == f"{tmp_path / 't.parquet'}: record 24: record has no 'text' field"


# ---------------------------------------------------------------- --semantic


@pytest.mark.skipif(
    not __import__("copytrace.semantic", fromlist=["available"]).available(),
    reason="extra [semantic] not installed",
)
def test_semantic_parity(spark, corpus, tmp_path):
    """same_event neighbour candidates (``--semantic``): the Spark engine adds the local engine's."""
    docs = [Document(str(r["id"]), str(r["text"])) for r in _sample(corpus, 120)]
    docs += [
        Document(
            "story-a",
            "Flooding in Valencia killed 62 people on Tuesday, regional president Carlos Mazon said, as rescue "
            "teams searched for missing drivers on the A-7 motorway. Mazon asked Madrid for army help.",
            date="2024-10-30",
        ),
        Document(
            "story-b",
            "At least 62 people died when flash floods hit Valencia, said Carlos Mazon, head of the regional "
            "government. Soldiers joined rescuers looking for motorists stranded on the A-7 highway.",
            date="2024-10-31",
        ),
    ]
    local, spark_out = _scan_both(docs, tmp_path, Settings(semantic=True))
    for name in OUTPUTS:
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    assert '"relation": "same_event"' in (local / "pairs.jsonl").read_text(encoding="utf-8")


def test_agency_parity(spark, tmp_path):
    """Agencies a user adds (``--agency``) reach the Spark executors: the same outputs as the
    local engine, from a JSONL file (read on the executors) and from documents (on the driver),
    with the directions and the families' earliest members the added agency decides."""
    story = GHOUTA_A.read_text(encoding="utf-8")[:700]
    other = GHOUTA_B.read_text(encoding="utf-8")[-700:]
    docs = [
        Document("wire", "ROMA (Agencia Nova) - " + story),
        Document("paper", story + " Residents said the shelling went on through the night."),
        Document("credit", story + " Agencia Nova reported the offer first."),
        Document("nova", other, source="Agencia Nova"),
        Document("daily", other + " Residents said the shelling went on.", source="Daily Post"),
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text(
        "".join(json.dumps({"id": d.id, "text": d.text, "source": d.source}) + "\n" for d in docs)
    )
    settings = Settings(agencies=("Agencia Nova",))
    for key, inputs in (("file", [str(path)]), ("docs", docs)):
        local, spark_out = _scan_both(inputs, tmp_path / key, settings)
        for name in OUTPUTS:
            assert (spark_out / name).read_bytes() == (local / name).read_bytes(), (key, name)
        pairs = [json.loads(x) for x in (local / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
        assert {(p["a"], p["b"]): p["direction_reason"] for p in pairs} == {
            ("wire", "paper"): "wire dateline (Agencia Nova) in wire, none in paper",
            ("wire", "credit"): "wire dateline (Agencia Nova) in wire, none in credit",
            ("paper", "credit"): "credit: credit credits Agencia Nova, paper credits no agency",
            ("nova", "daily"): "source: nova is the agency Agencia Nova",
        }
        fams = [json.loads(x) for x in (local / "clusters.jsonl").read_text(encoding="utf-8").splitlines()]
        assert sorted(f["earliest"] for f in fams) == ["nova", "wire"]


def test_repeated_id_across_files_as_the_local_engine(spark, tmp_path):
    from copytrace.errors import InputError

    (tmp_path / "one.jsonl").write_text(
        '{"id": "a", "text": "one"}\n\n{"id": "b", "text": "two"}\n', encoding="utf-8"
    )
    (tmp_path / "two.jsonl").write_text(
        '{"id": "c", "text": "three"}\n{"id": "b", "text": "four"}\n', encoding="utf-8"
    )
    inputs = [str(tmp_path / "one.jsonl"), str(tmp_path / "two.jsonl")]
    messages = []
    for engine in ("local", "spark"):
        with pytest.raises(InputError) as exc:
            scan(inputs, str(tmp_path / engine), engine=engine)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    assert messages[1] == f"{inputs[1]}: line 2: duplicate id 'b' (first seen in {inputs[0]}: line 3)"


# ---------------------------------------------------------------- JVM class-data sharing


def _cds_options(env: dict[str, str]) -> str:
    code = "from copytrace.engines.spark import cds_options; print(cds_options())"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout


def test_class_data_archive_recorded_then_mapped(tmp_path):
    """The first scan records the JVM's class-data archive into the cache (moved into place only
    after its JVM exited normally); the next scan maps it, with the same outputs."""
    _need_spark()
    cache = tmp_path / "cache"
    env = {**os.environ, "COPYTRACE_CACHE_DIR": str(cache)}
    env.pop(CDS_ENV := "COPYTRACE_SPARK_CDS", None)
    (cache / "copytrace").mkdir(parents=True)
    assert "-XX:ArchiveClassesAtExit=" in _cds_options(env)  # nothing cached: this run records
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        cmd = [
            str(ROOT / ".venv" / "bin" / "copytrace"),
            "scan",
            str(GHOUTA_A),
            str(GHOUTA_B),
            "--out",
            str(out),
        ]
        r = subprocess.run([*cmd, "--engine", "spark", "--spark-master", "local[2]", "--quiet"], env=env)
        assert r.returncode == 0
        outs.append(out)
        archives = list((cache / "copytrace").glob("*.jsa"))
        assert len(archives) == 1 and archives[0].stat().st_size > 0
        assert not list((cache / "copytrace").glob("*.part"))
        if k == 0:
            options = _cds_options(env)
            assert f"-XX:SharedArchiveFile={archives[0]}" in options
            assert "ArchiveClassesAtExit" not in options
    for name in OUTPUTS:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert _cds_options({**env, CDS_ENV: "0"}).strip() == ""


def test_stale_archive_part_is_removed(tmp_path):
    """A ``.part`` whose process is gone (killed while its JVM dumped) is deleted, not promoted."""
    cache = tmp_path / "cache" / "copytrace"
    cache.mkdir(parents=True)
    env = {**os.environ, "COPYTRACE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("COPYTRACE_SPARK_CDS", None)
    first = _cds_options(env)
    name = first.split("ArchiveClassesAtExit=")[1].split()[0]
    final = Path(name).name.rsplit(".", 2)[0]
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = cache / f"{final}.{int(dead.stdout)}.part"
    stale.write_bytes(b"half an archive")
    assert "ArchiveClassesAtExit" in _cds_options(env)
    assert not stale.exists()
    assert not (cache / final).exists()
