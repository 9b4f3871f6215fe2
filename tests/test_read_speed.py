"""The cheaper read+fingerprint paths give what the plain ones give."""

from __future__ import annotations

import json

import numpy as np
import pytest

from copytrace.candidates import bucket_sort_pairs, radix_order, radix_sort_pairs
from copytrace.fingerprint import _winnowed
from copytrace.postings import _sorted_postings
from copytrace.sources import _loads


def _reference(hashes: np.ndarray, counts: np.ndarray, n: int, w: int) -> tuple[np.ndarray, ...]:
    all_h, all_d, all_p, k = _winnowed(hashes, counts, n, w)
    order = radix_order(all_h[:k])
    rows: list[tuple[int, int, int]] = []
    for i in order:
        v, d, p = int(all_h[i]), int(all_d[i]), int(all_p[i])
        if rows and rows[-1][0] == v and rows[-1][1] == d and rows[-1][2] >= 0:
            continue
        rows.append((v, d, p))
    return (
        np.array([r[0] for r in rows], dtype=np.uint64),
        np.array([r[1] for r in rows], dtype=np.int32),
        np.array([r[2] for r in rows], dtype=np.int32),
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sorted_postings_equal_gathered_radix_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 60, size=80).astype(np.int64)
    vocab = rng.integers(0, 2**63, size=12, dtype=np.uint64)  # few tokens: repeated n-grams
    hashes = vocab[rng.integers(0, vocab.shape[0], size=int(counts.sum()))]
    got = _sorted_postings(hashes, counts, 2, 3)
    want = _reference(hashes, counts, 2, 3)
    for g, x in zip(got, want, strict=True):
        assert g.dtype == x.dtype and np.array_equal(g, x)


@pytest.mark.parametrize("sort", [radix_sort_pairs, bucket_sort_pairs])
def test_sort_pairs_is_stable(sort) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**64 - 1, size=5000, dtype=np.uint64, endpoint=True)
    keys[::3] = keys[7]  # many equal keys (the bucket sort gives up its insertion pass)
    keys[1::5] &= np.uint64(0xFFFF)  # shared high digits
    vals = np.arange(keys.shape[0], dtype=np.uint64)
    k, v = sort(keys.copy(), vals.copy())
    order = np.argsort(keys, kind="stable")
    assert np.array_equal(k, keys[order]) and np.array_equal(v, vals[order])
    k, v = sort(np.full(4, 9, dtype=np.uint64), vals[:4].copy())  # every digit shared
    assert np.array_equal(v, vals[:4])
    # hashes as the scan sorts them: window minima (crowding the low end), some repeated
    mins = rng.integers(0, 2**64 - 1, size=(20000, 5), dtype=np.uint64, endpoint=True).min(axis=1)
    mins[rng.integers(0, mins.shape[0], size=500)] = mins[:500]
    vals = rng.integers(0, 2**64 - 1, size=mins.shape[0], dtype=np.uint64, endpoint=True)
    k, v = sort(mins.copy(), vals.copy())
    order = np.argsort(mins, kind="stable")
    assert np.array_equal(k, mins[order]) and np.array_equal(v, vals[order])
    for n in (0, 1, 2, 3):  # the smallest inputs
        k, v = sort(mins[:n].copy(), vals[:n].copy())
        assert np.array_equal(k, np.sort(mins[:n], kind="stable"))


def test_bucket_sort_of_pair_keys() -> None:
    """Pair keys (a << 32 | b over a range of documents: the candidate stage's hits, many of one
    pair) in the order of the LSD radix sort, also where few pairs crowd one bucket."""
    rng = np.random.default_rng(9)
    top = np.uint64(2**32 - 1)
    for docs, n in ((100_000, 30_000), (300, 30_000), (2**32 - 1, 5000), (1, 100)):
        a = rng.integers(0, docs, size=n, dtype=np.uint64)
        b = np.minimum(a + rng.integers(1, docs + 1, size=n, dtype=np.uint64), top)
        keys = (a << np.uint64(32)) | b
        keys[rng.integers(0, n, size=n // 2)] = keys[: n // 2]  # pairs with many hits
        given = keys.copy()
        vals = np.arange(n, dtype=np.uint64)
        want = radix_sort_pairs(keys.copy(), vals.copy())
        got = bucket_sort_pairs(keys, vals, True)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert np.array_equal(keys, given)  # (the input is left as it is)


@pytest.mark.parametrize(
    "text",
    [
        '{"id": 1, "text": "a"}',
        ' {"a": 1}',
        '{"a": 1}  \r',
        "[1, 2]",
        '"s"',
        "3",
        "\ufeff{}",
        '{"a": 1} x',
        '{"a": 1}{"b": 2}',
        '{"a": ',
        "",
        "  ",
        "nul",
        '{"a": "\\ud800"}',
        "NaN",
    ],
)
def test_loads_is_json_loads(text: str) -> None:
    try:
        want: object = json.loads(text)
    except json.JSONDecodeError as exc:
        with pytest.raises(json.JSONDecodeError) as got:
            _loads(text)
        assert (got.value.msg, got.value.pos) == (exc.msg, exc.pos)
        return
    assert _loads(text) == want or (want != want and _loads(text) != _loads(text))


def test_slice_line_numbers_are_counted_only_for_messages(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Records with metadata (date, title, source: not the plain {"id", "text"} path) used to have
    their line number counted from the start of the file one by one, quadratic in the file's
    size (Reuters-21578: 35 s of a 37 s scan). The count is made only when a message names a line,
    and then names the right one."""
    from copytrace import sources
    from copytrace.errors import InputError

    calls: list[int] = []
    count = sources._line_number

    def counting(path: str, offset: int) -> int:
        calls.append(offset)
        return count(path, offset)

    monkeypatch.setattr(sources, "_line_number", counting)
    rows = [
        {"id": f"d{k}", "text": f"text {k}", "date": "2020-01-02", "title": "t", "source": "AP"}
        for k in range(300)
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    sl = list(sources.slices(str(path), 4096))
    assert len(sl) > 3
    docs = [d for s in sl for d in sources.read_slice(s)[0]]
    assert [d.id for d in docs] == [r["id"] for r in rows] and docs[5].source == "AP"
    assert calls == []
    # a bad record in a later slice: its line (counted once) is named
    rows[250]["id"] = ""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    bad = next(
        s for s in sources.slices(str(path), 4096) if s.lo <= path.read_bytes().index(b'"id": ""') < s.hi
    )
    with pytest.raises(InputError) as exc:
        sources.read_slice(bad)
    assert "line 251" in str(exc.value) and len(calls) == 1
    # a warning (an unpaired surrogate) names its line too
    rows[250]["id"] = "d250"
    rows[260]["title"] = "bad \ud800 title"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    warned: list[str] = []
    for s in sources.slices(str(path), 4096):
        sources.read_slice(s, warned.append)
    assert len(warned) == 1 and "line 261" in warned[0]
