"""Corpus scans: outputs, determinism across worker counts, real wire duplicates (issues 2, 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import GHOUTA, ROOT, SHARED, shared_data

from copytrace import Document, Settings, scan

BENCH = SHARED / "bench"
sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def corpus_2k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (BENCH / "make_corpus.py").exists():
        pytest.skip("../shared/bench not present")
    out = tmp_path_factory.mktemp("c2k")
    subprocess.run(
        [sys.executable, str(BENCH / "make_corpus.py"), "--n", "2000", "--seed", "7", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def _truth_pairs(corpus: Path) -> list[dict]:
    return [json.loads(line) for line in (corpus / "truth.jsonl").read_text().splitlines()]


def test_scan_writes_outputs_and_no_temporary_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stats = scan([str(GHOUTA)], str(out))
    names = sorted(p.name for p in out.iterdir())
    assert {"pairs.jsonl", "documents.jsonl", "clusters.jsonl"} <= set(names)
    assert not [n for n in names if n.startswith((".", "_")) or n.endswith((".arrow", ".npz", ".part"))]
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert stats["pairs"] == len(pairs) == 1 and pairs[0]["relation"] == "partial"
    docs = [json.loads(x) for x in (out / "documents.jsonl").read_text().splitlines()]
    assert [d["id"] for d in docs] == sorted(p.name for p in GHOUTA.glob("*.txt"))
    assert docs[0]["cluster"] == docs[1]["cluster"] is not None


def test_scan_matches_compare_for_the_same_pair(tmp_path: Path, ghouta_texts: tuple[str, str]) -> None:
    from copytrace import compare

    a, b = Document("a", ghouta_texts[0]), Document("b", ghouta_texts[1])
    scan([a, b], str(tmp_path))
    line = (tmp_path / "pairs.jsonl").read_text().splitlines()[0]
    assert json.loads(line) == json.loads(json.dumps(compare(a, b).to_dict()))


def test_workers_give_byte_identical_output(corpus_2k: Path, tmp_path: Path) -> None:
    corpus = str(corpus_2k / "corpus.jsonl")
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        scan([corpus], str(out), Settings(workers=workers, batch_size=300))
        outs.append(out)
    for name in ("pairs.jsonl", "documents.jsonl", "clusters.jsonl"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "pairs.jsonl").stat().st_size > 0


def test_recall_and_precision_on_synthetic_reuse(corpus_2k: Path, tmp_path: Path) -> None:
    scan([str(corpus_2k / "corpus.jsonl")], str(tmp_path), Settings(workers=2))
    got = {
        frozenset((p["a"], p["b"]))
        for p in map(json.loads, (tmp_path / "pairs.jsonl").read_text().splitlines())
    }
    truth = _truth_pairs(corpus_2k)
    keys = {frozenset((t["a"], t["b"])) for t in truth}
    near = [t for t in truth if t["jaccard"] >= 0.5]
    partial = [t for t in truth if t["kind"] == "partial"]
    recall_near = sum(frozenset((t["a"], t["b"])) in got for t in near) / len(near)
    recall_partial = sum(frozenset((t["a"], t["b"])) in got for t in partial) / len(partial)
    precision = len(got & keys) / len(got)
    assert recall_near >= 0.99
    assert recall_partial >= 0.9
    assert precision >= 0.99


def test_boilerplate_is_capped(tmp_path: Path) -> None:
    footer = "Reporting by Jane Doe in London; Editing by John Smith and the rest of the desk team today"
    docs = [
        Document(
            f"d{i:03d}",
            f"Story number {i} about topic {i * 7919 % 1000} with unique words w{i}x w{i}y w{i}z. " + footer,
        )
        for i in range(60)
    ]
    stats = scan(docs, str(tmp_path), Settings(max_df=20))
    assert stats["candidates"] == 0 and stats["pairs"] == 0


def test_reuters_exact_duplicate_groups_are_all_found(tmp_path: Path) -> None:
    import reuters

    data = shared_data("reuters-21578")
    records = reuters.stories(data)
    assert len(records) > 19000
    groups = reuters.duplicate_groups(records)
    assert len(groups) > 200
    reuters.write_jsonl(records, tmp_path / "reuters.jsonl")
    stats = scan([str(tmp_path / "reuters.jsonl")], str(tmp_path / "out"), Settings(workers=2))
    assert stats["documents"] == len(records)
    assert reuters.missing_duplicates(groups, tmp_path / "out" / "pairs.jsonl") == []


def test_candidate_stage_split_by_memory_gives_the_same_pairs(corpus_2k: Path, tmp_path: Path) -> None:
    """A tiny --memory-mb cuts the candidate stage into many hash ranges, hit batches and key
    ranges (run files on disk, read back memory-mapped): the candidates must not change."""
    from copytrace import candidates as cand
    from copytrace.engines import local as eng
    from copytrace.sources import chunks

    s = Settings(workers=1, batch_size=250)
    files, offsets, n = [], [], 0
    for k, c in enumerate(chunks([str(corpus_2k / "corpus.jsonl")], s.batch_size, None)):
        res = eng.prepare_chunk(k, c, str(tmp_path), s)
        files.append(res.postings_file)
        offsets.append(n)
        n += len(res.ids)
    whole = eng.candidates_from_postings(files, offsets, s.replace(memory_mb=4096), str(tmp_path))
    # the reference: every posting in memory at once, straight through the candidates module
    hs, ds, ps = [], [], []
    for f, off in zip(files, offsets, strict=True):
        h, d, p = eng.load_postings(f)
        hs.append(np.array(h))
        ds.append(np.array(d, dtype=np.int64) + off)
        ps.append(np.array(p))
    keys, qa, qb = cand.pair_hits(np.concatenate(hs), np.concatenate(ds), np.concatenate(ps), s.max_df)
    ref = cand.supported_pairs(keys, qa, qb, s.min_shared, s.support_window, s.min_evidence)
    assert ref[0].shape[0] > 100
    np.testing.assert_array_equal(whole[0], ref[0])
    np.testing.assert_array_equal(whole[1], ref[1])
    # force many ranges and hit batches: 64 MB is the floor; the byte constants are scaled down
    small = s.replace(memory_mb=64)
    old = eng._BYTES_PER_POSTING, eng._BYTES_PER_HIT
    try:
        eng._BYTES_PER_POSTING, eng._BYTES_PER_HIT = 64 * 400, 64 * 2000
        split = eng.candidates_from_postings(files, offsets, small, str(tmp_path))
    finally:
        eng._BYTES_PER_POSTING, eng._BYTES_PER_HIT = old
    np.testing.assert_array_equal(split[0], ref[0])
    np.testing.assert_array_equal(split[1], ref[1])
    assert not list(tmp_path.glob("_hits-*"))  # run files are removed


def test_document_and_family_lines_equal_dumps(tmp_path: Path) -> None:
    """The directly assembled documents.jsonl and clusters.jsonl lines are ``dumps`` of the records."""
    from copytrace.scan import document_lines, document_record, family_line
    from copytrace.store import StoreReader, write_chunk
    from copytrace.types import Family
    from copytrace.write import dumps

    docs = [
        Document("plain", "one two three"),
        Document(
            'q"uo\\te\n', "caf\u00e9 \U0001f600 \u2028 text", date="2018-03-07", source="AFP", path=None
        ),
        Document(
            "m",
            "x",
            title="T\u00eftle\t",
            url="http://x/?a=1&b=2",
            path="a.jsonl",
            meta={"z": 1, "a": [1.5, None]},
        ),
        Document("nan-looking", "y", meta={"note": "NaN and Infinity are words here", "n": -0.0}),
        Document("ctl", "\x00\x1f", meta={"k\u00e9y": {"b": 2, "a": "\u00ff"}}),
    ]
    write_chunk(str(tmp_path / "s.arrow"), docs)
    store = StoreReader(str(tmp_path / "s.arrow"))
    stored = store.get(range(len(docs)))
    numbers = np.array([0, -1, 12, -1, 3])
    want = "".join(
        dumps(document_record(stored[k], f"f{c:06d}" if c >= 0 else None)) + "\n"
        for k, c in enumerate(numbers.tolist())
    )
    assert document_lines(store.batch(0), numbers) == want
    assert document_lines(store.batch(0), numbers, np.array([len(d.text) for d in docs])) == want
    store.close()
    for fam in (
        Family("f000001", ("a", 'b"\\'), "a", None),
        Family("f000002", ("\u00e9",), "\u00e9", "\u00e9", "earliest date 2018-03-07"),
    ):
        assert family_line(fam) == dumps(fam.to_dict()) + "\n"


def test_sorted_postings_equal_fingerprint_postings_sorted() -> None:
    """The chunk postings made sorted in one pass are ``fingerprint_postings`` in stable hash order."""
    from copytrace.postings import fingerprint_postings, sorted_postings

    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(6)]
    edge = [Document("e", ""), Document("o", "one"), Document("r", "a b c d e a b c d e a b c d e f")]
    for s in (Settings(), Settings(ngram=1, window=1), Settings(ngram=3, window=7)):
        for _ in range(30):
            docs = edge + [
                Document(str(i), " ".join(rng.choice(words, rng.integers(0, 40))))
                for i in range(rng.integers(1, 30))
            ]
            h, d, p = fingerprint_postings(docs, 0, s)
            order = np.argsort(h, kind="stable")
            got = sorted_postings(docs, s)
            for want, have in zip((h[order], d[order], p[order]), got, strict=True):
                assert want.dtype == have.dtype and np.array_equal(want, have)


def _small_corpus(tmp_path: Path) -> Path:
    """40 short JSONL records of three lengths sharing one sentence (pairs of every relation)."""
    corpus = tmp_path / "c.jsonl"
    base = (
        "the minister said on tuesday that the new budget would cut spending on roads and schools by a third "
    )
    with open(corpus, "w", encoding="utf-8") as fh:
        for k in range(40):
            fh.write(json.dumps({"id": f"d{k}", "text": f"intro {k % 7} " + base * (1 + k % 3)}) + "\n")
    return corpus


def test_the_scan_parent_does_not_load_the_compiled_kernels(tmp_path: Path) -> None:
    """The local engine's parent only coordinates: importing the CLI, ``scan`` and the engine, and
    a whole scan with two workers (families, report), load no numba in it (about 150 MB of
    resident memory a process; the workers load what they use)."""
    corpus = _small_corpus(tmp_path)
    code = (
        "import sys, copytrace, copytrace.cli, copytrace.engines.local, copytrace.dedup\n"
        "print('numba' in sys.modules)\n"
        "from copytrace.types import Settings\n"
        f"stats = copytrace.scan([{str(corpus)!r}], {str(tmp_path / 'out')!r}, Settings(workers=2))\n"
        "print(stats['pairs'] > 0, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "False"]
    from copytrace import compare  # still importable from the package, loaded on first use

    assert callable(compare)


def test_scan_workers_load_neither_pandas_nor_scipy(tmp_path: Path) -> None:
    """A worker process imports what its kernels need and no more: the store's batches are built
    from buffers (``pa.array`` of a list imports pandas when it is installed) and numba is set up
    with scipy hidden (its BLAS probe imports scipy.linalg). Each costs 0.2-0.3 s of start-up and
    tens of MB in every worker. Asked of the workers after a whole scan (read, candidates, align
    and the texts.parquet they write)."""
    corpus = _small_corpus(tmp_path)
    code = (
        "import sys\n"
        "import copytrace\n"
        "from copytrace.types import Settings\n"
        "S = sys.modules['copytrace.scan']\n"
        "def probe():\n"
        "    return ('pandas' in sys.modules, 'scipy' in sys.modules, 'numba' in sys.modules)\n"
        "seen = []\n"
        "write = S.write_documents_and_clusters\n"
        "def wrapped(tmp, cols, s, pool=None):\n"
        "    write(tmp, cols, s, pool)\n"
        "    seen.extend(pool.submit(probe).result() for _ in range(6))\n"
        "S.write_documents_and_clusters = wrapped\n"
        f"stats = copytrace.scan([{str(corpus)!r}], {str(tmp_path / 'out')!r}, Settings(workers=2))\n"
        "print(stats['pairs'] > 0, sorted(set(seen)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True [(False, False, True)]"


def test_singleton_filter_keeps_every_repeated_hash() -> None:
    """``_maybe_shared`` (before the merge) keeps every posting of a hash that occurs twice or
    more, each run's postings in order with the runs' new bounds, and drops most postings of
    hashes that occur once; empty runs, one posting and hashes over the whole 64-bit range too."""
    from copytrace import candidates as cand

    rng = np.random.default_rng(5)
    for trial in range(6):
        top = np.uint64(0xFFFFFFFFFFFFFFFF) if trial % 2 else np.uint64(1 << 40)
        shared = rng.integers(0, int(top) // 2, 300, dtype=np.uint64) * np.uint64(2)
        runs = []
        for size in (0, 900, 1, 2500, 0, 1700):
            h = np.concatenate(
                [rng.integers(0, int(top), size, dtype=np.uint64), rng.choice(shared, size // 10)]
            )
            h = np.unique(h)  # sorted, one posting of a hash a run
            runs.append(h)
        hashes = np.concatenate(runs)
        bounds = cand.run_bounds([len(r) for r in runs])
        docs = np.arange(hashes.shape[0], dtype=np.int64)
        pos = (docs * 3).astype(np.int32)
        h2, d2, p2, b2 = cand._maybe_shared(hashes, docs, pos, bounds)
        values, counts = np.unique(hashes, return_counts=True)
        repeated = np.isin(hashes, values[counts > 1])
        kept = np.isin(docs, d2)
        assert kept[repeated].all() and repeated.sum() > 0
        assert (
            np.array_equal(d2, np.sort(d2)) and np.array_equal(h2, hashes[d2]) and np.array_equal(p2, pos[d2])
        )
        for r in range(len(runs)):  # each run's kept postings stay in that run
            inside = d2[b2[r] : b2[r + 1]]
            assert ((inside >= bounds[r]) & (inside < bounds[r + 1])).all()
            assert inside.shape[0] == kept[bounds[r] : bounds[r + 1]].sum()
        assert kept[~repeated].mean() < 0.5  # most singletons go
    one = cand._maybe_shared(
        np.array([7], np.uint64), np.zeros(1, np.int64), np.zeros(1, np.int32), np.array([0, 1])
    )
    assert one[0].shape[0] == 0 and one[3].tolist() == [0, 0]
    none = cand._maybe_shared(
        np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int32), np.zeros(3, np.int64)
    )
    assert none[0].shape[0] == 0 and none[3].tolist() == [0, 0, 0]


def test_merged_posting_lists_equal_the_sorted_ones() -> None:
    """The k-way merge of sorted runs gives the posting lists the sort gives (compacted to the
    lists that make hits), so the hits are the same; the radix order is numpy's stable order."""
    from copytrace import candidates as cand

    rng = np.random.default_rng(11)
    hs, ds, ps = [], [], []
    first = 0
    for size in (0, 40, 300, 1, 120):  # runs of ascending documents, one empty
        n_docs = 7
        h = rng.integers(0, 250, size).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        d = rng.integers(first, first + n_docs, size)
        keep = np.unique(np.stack([h.astype(np.int64), d]), axis=1, return_index=True)[
            1
        ]  # (hash, doc) unique
        h, d = h[keep], d[keep]
        order = np.lexsort((d, h))
        hs.append(h[order])
        ds.append(d[order].astype(np.int64))
        ps.append(rng.integers(0, 500, h.shape[0]).astype(np.int32)[order])
        first += n_docs
    for max_df in (2, 3, 1000):  # lists of 2 to 5 documents: each setting keeps some
        d1, p1, s1, z1 = cand.posting_lists(
            np.concatenate(hs), np.concatenate(ds), np.concatenate(ps), max_df
        )
        d2, p2, s2, z2 = cand.merged_posting_lists(
            np.concatenate(hs),
            np.concatenate(ds),
            np.concatenate(ps),
            cand.run_bounds([len(x) for x in hs]),
            max_df,
        )
        assert np.array_equal(z1, z2) and z1.shape[0] > 0
        for a, b in zip(s1.tolist(), s2.tolist(), strict=True):
            n = int(z1[s1.tolist().index(a)])
            assert np.array_equal(d1[a : a + n], d2[b : b + n]) and np.array_equal(
                p1[a : a + n], p2[b : b + n]
            )
        assert [x.tolist() for x in cand.emit_hits(d1, p1, s1, z1, max_df)] == [
            x.tolist() for x in cand.emit_hits(d2, p2, s2, z2, max_df)
        ]
    keys = rng.integers(0, 1 << 62, 5000).astype(np.uint64)
    keys[::7] = keys[0]
    assert np.array_equal(cand.radix_order(keys), np.argsort(keys, kind="stable"))


def test_sorted_hits_equal_the_hits_stably_sorted() -> None:
    """The radix sort carrying both positions packed gives numpy's stable order of the hits,
    negative positions (the whole-text fingerprint's -1) included; the caller's keys are kept."""
    from copytrace import candidates as cand

    rng = np.random.default_rng(4)
    n = 3000
    h = rng.integers(0, 400, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    d = rng.integers(0, 300, n)
    keep = np.unique(np.stack([h.astype(np.int64), d]), axis=1, return_index=True)[1]
    h, d = h[keep], d[keep]
    p = rng.integers(-1, 2000, h.shape[0]).astype(np.int32)
    lists = cand.posting_lists(h, d, p, 50)
    keys, pa, pb = cand.emit_hits(*lists, 50)
    assert (pa < 0).any() and keys.shape[0] > 1000
    order = np.argsort(keys, kind="stable")
    k2, a2, b2 = cand.sorted_hits(*lists, 50)
    assert np.array_equal(k2, keys[order]) and np.array_equal(a2, pa[order]) and np.array_equal(b2, pb[order])
    before = keys.copy()
    a, b = cand.supported_pairs(keys, pa, pb, 2, 30)
    assert np.array_equal(keys, before) and a.shape[0] > 0
    # the hits cut into runs, each sorted by key (as the hit tasks write them): merged, the same
    # candidates as one sort of all the hits, whatever the cuts, for two hits or more
    for cuts in ([], [700], [5, 900, 901, 2500], list(range(100, keys.shape[0], 400))):
        parts = np.split(np.arange(keys.shape[0]), cuts)
        runs = [(k2 := np.argsort(keys[q], kind="stable"), q[k2])[1] for q in parts]
        for min_shared, window in ((2, 30), (2, 3), (3, 30), (1, 30)):
            got = cand.supported_runs(
                [keys[q] for q in runs], [pa[q] for q in runs], [pb[q] for q in runs], min_shared, window
            )
            ref = cand.supported_pairs(keys, pa, pb, min_shared, window)
            assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    # the two-hit rule written out plainly: a pair's hits by (position in a, in b); some
    # min_shared consecutive ones within the window in both documents, or a whole-text hit
    # (pairs of two, three or more hits, some close, some not)
    m = 1500
    keys = rng.integers(0, 300, m).astype(np.uint64) + np.uint64(7 << 32)
    pa = rng.integers(-1, 60, m).astype(np.int32)
    pa[pa < 0] = rng.integers(-1, 60, int((pa < 0).sum()))  # (a few whole-text hits)
    pb = rng.integers(0, 60, m).astype(np.int32)
    # and pairs of two hits exactly at, and one past, each window in either document
    edge = [(5, 5 + w + e, 9, 9 + w + f) for w in (3, 30) for e in (0, 1) for f in (0, 1)]
    edge += [(8 + w + e, 8, 2 + w + f, 2) for w in (3, 30) for e in (0, 1) for f in (0, 1)]
    for k, (x0, x1, y0, y1) in enumerate(edge):
        keys = np.append(keys, np.uint64((9 << 32) + k) * np.ones(2, np.uint64))
        pa, pb = np.append(pa, [x0, x1]).astype(np.int32), np.append(pb, [y0, y1]).astype(np.int32)
    groups: dict[int, list[tuple[int, int]]] = {}
    for k, x, y in zip(keys.tolist(), pa.tolist(), pb.tolist(), strict=True):
        groups.setdefault(k, []).append((x, y))
    for min_shared, window in ((2, 30), (2, 3), (3, 30)):
        want = []
        for k, hits in sorted(groups.items()):
            hits.sort()
            close = any(
                hits[i + min_shared - 1][0] - hits[i][0] <= window
                and max(y for _, y in hits[i : i + min_shared]) - min(y for _, y in hits[i : i + min_shared])
                <= window
                for i in range(len(hits) - min_shared + 1)
            )
            if close or any(x < 0 for x, _ in hits):
                want.append(k)
        got = cand.supported_pairs(keys, pa, pb, min_shared, window)
        assert ((got[0] << 32) | got[1]).tolist() == want
        assert 10 < len(want) < len(groups) - 10, (min_shared, window, len(want), len(groups))


def test_benchmark_score_falls_back_to_direct_pairs(tmp_path: Path) -> None:
    """A corpus folder without truth.jsonl (1M on a 24 GB machine) is scored on the direct pairs
    docs.jsonl lists, by kind; precision is unknown then."""
    from score import score

    docs = [
        {"id": "d1", "kind": "base", "source": None},
        {"id": "d2", "kind": "exact", "source": "d1"},
        {"id": "d3", "kind": "partial", "source": "d1"},
        {"id": "d4", "kind": "partial", "source": "d2"},
    ]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"a": "d2", "b": "d1"},
        {"a": "d3", "b": "d1"},
        {"a": "d2", "b": "d3"},
        {"a": "d4", "b": "d2", "relation": "unrelated"},
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = score(pairs, tmp_path)
    assert score(pairs, tmp_path / "truth.jsonl") == got  # the file run_scan names, missing
    assert got["truth_pairs"] == 3 and got["reported"] == 3 and got["precision"] is None
    assert got["recall_all"] == 2 / 3 and got["recall_partial"] == 0.5 and got["recall_j50"] is None
    assert got["by_kind"]["exact"] == {"truth": 1, "found": 1, "recall": 1.0}


def test_resident_memory_is_read_for_the_align_workers_trim():
    """``resident_bytes`` (what an align worker compares with its budget before trimming its
    heap) sees 64 MB written into new memory, and sees it go when the memory is freed."""
    import sys

    import numpy as np

    from copytrace.engines.local import resident_bytes

    if not sys.platform.startswith("linux"):
        pytest.skip("/proc/self/statm is Linux's")
    before = resident_bytes()
    block = np.ones(64 << 20, dtype=np.uint8)  # (past the allocator's map threshold: its own map)
    grown = resident_bytes()
    del block
    after = resident_bytes()
    assert before > 0
    assert grown - before >= 60 << 20
    assert grown - after >= 60 << 20
