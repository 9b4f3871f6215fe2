"""The shortcuts of the align hot path give exactly what the plain path gives."""

from __future__ import annotations

import numpy as np
import pytest

from copytrace import align
from copytrace.align import Index, align_tokens
from copytrace.fingerprint import shingles
from copytrace.normalize import Tokens

P61 = (1 << 61) - 1


def _windows(rng: np.random.Generator, vocab: int) -> tuple[list[int], list[int]]:
    words = rng.integers(1, 1 << 62, size=vocab, dtype=np.uint64).tolist()
    a = [words[k] for k in rng.integers(0, vocab, size=int(rng.integers(0, 26)))]
    b = [words[k] for k in rng.integers(0, vocab, size=int(rng.integers(0, 26)))]
    return a, b


@pytest.mark.parametrize("vocab", [2, 4, 8, 30])
def test_gain_possible_is_necessary(vocab: int) -> None:
    """Whenever ``_xdrop_end`` extends, ``_gain_possible`` said it could (and it rejects most
    windows that do not extend)."""
    rng = np.random.default_rng(vocab)
    rejected = extended = 0
    for _ in range(3000):
        a, b = _windows(rng, vocab)
        ha, hb = np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)
        scratch = np.empty(len(a) + len(b), dtype=np.uint64)
        possible = align._gain_possible(ha, 0, len(a), hb, 0, len(b), 1, scratch)
        backward = align._gain_possible(ha, len(a) - 1, len(a), hb, len(b) - 1, len(b), -1, scratch)
        if align._xdrop_end(ha, hb) != (0, 0):
            extended += 1
            assert possible
        if align._xdrop_end(ha[::-1].copy(), hb[::-1].copy()) != (0, 0):
            assert backward
        rejected += not possible
    assert extended > 0 or vocab == 30
    assert rejected > 0


def test_words_are_equal_only_when_their_hashes_are() -> None:
    """Two hashes equal modulo 2**61 - 1 (what RapidFuzz, comparing Python hashes, would call
    equal) are different words to the alignment and to the extension test."""
    x = 123456789
    a = [x, x + 1, x + 2, x + 3]
    b = [x + P61, x + 1 + P61, x + 2, x + 3]
    ha, hb = np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)
    assert align._xdrop_end(ha, ha) == (4, 4)
    assert align._xdrop_end(ha, hb) == (0, 0)  # two different words, then two equal: gains 2 - 1
    assert not align._gain_possible(ha, 0, 2, hb, 0, 2, 1, np.empty(4, dtype=np.uint64))
    assert align._gain_possible(ha, 0, 4, ha, 0, 4, 1, np.empty(8, dtype=np.uint64))


def _cost(runs: np.ndarray, n: int, m: int) -> int:
    """Edits of the alignment with these equal runs: each region between runs costs its longer side."""
    cost = pi = pj = 0
    for i1, i2, j1, j2 in runs.tolist():
        assert i2 - i1 == j2 - j1 > 0 and i1 >= pi and j1 >= pj and (i1, j1) != (pi, pj) or (i1, j1) == (0, 0)
        cost += max(i1 - pi, j1 - pj)
        pi, pj = i2, j2
    return cost + max(n - pi, m - pj)


def test_equal_runs_are_an_optimal_alignment() -> None:
    """``levenshtein.equal_runs`` matches equal words only, in order, and its alignment costs
    the Levenshtein distance (RapidFuzz's, as the reference): on random sequences over small
    vocabularies and on edited copies."""
    from rapidfuzz.distance import Levenshtein

    from copytrace.levenshtein import equal_runs

    rng = np.random.default_rng(12)
    for t in range(6000):
        vocab = int(rng.integers(1, 12))
        x = rng.integers(0, vocab, int(rng.integers(0, 40))).astype(np.uint64)
        y = rng.integers(0, vocab, int(rng.integers(0, 40))).astype(np.uint64)
        if t % 3 == 0 and x.shape[0]:
            y = x.copy()
            for _ in range(int(rng.integers(0, 6))):
                op, at = int(rng.integers(0, 3)), int(rng.integers(0, y.shape[0] + 1))
                if op == 0 and at < y.shape[0]:
                    y[at] = 99
                elif op == 1:
                    y = np.insert(y, at, 98)
                elif at < y.shape[0]:
                    y = np.delete(y, at)
        runs = equal_runs(x, y)
        for i1, i2, j1, j2 in runs.tolist():
            assert np.array_equal(x[i1:i2], y[j1:j2])
        assert _cost(runs, x.shape[0], y.shape[0]) == Levenshtein.distance(x.tolist(), y.tolist())


def test_equal_runs_keep_more_words_matched_on_ties() -> None:
    """Of equally cheap alignments, one keeping a word matched: "Defense Ministry said" ->
    "Ministry of Defense said" matches one of "Defense", "Ministry", and "said" (three edits
    either way; two substitutions and an insertion would match "said" only)."""
    from copytrace.levenshtein import equal_runs

    d, m, o, s = 1, 2, 3, 4
    runs = equal_runs(np.array([d, m, s], np.uint64), np.array([m, o, d, s], np.uint64)).tolist()
    assert sum(i2 - i1 for i1, i2, _, _ in runs) == 2
    assert runs[-1] == [2, 3, 3, 4]


def test_wide_spans_fall_back_to_rapidfuzz() -> None:
    """Past ``max_cells`` table entries ``equal_runs`` says so, and ``align_tokens`` aligns such a
    span with RapidFuzz: the same passage, by another optimal alignment."""
    from copytrace import levenshtein

    rng = np.random.default_rng(13)
    x = rng.integers(1, 1 << 62, 300, dtype=np.uint64)
    y = x.copy()
    y[::8] = rng.integers(1, 1 << 62, y[::8].shape[0], dtype=np.uint64)
    assert levenshtein.equal_runs(x, y, 64).tolist() == [[-1, -1, -1, -1]]
    ta, sa, ia = _tokens(x.tolist())
    tb, sb, ib = _tokens(y.tolist())
    wide = levenshtein.MAX_CELLS
    try:
        full = align_tokens(ta, sa, ia, tb, sb, ib, 5, 20, 15)
        levenshtein.MAX_CELLS = 64
        align.MAX_CELLS = 64
        fallback = align_tokens(ta, sa, ia, tb, sb, ib, 5, 20, 15)
    finally:
        levenshtein.MAX_CELLS = wide
        align.MAX_CELLS = wide
    assert len(full) == len(fallback) == 1
    assert (full[0].a0, full[0].a1, full[0].b0, full[0].b1) == (
        fallback[0].a0,
        fallback[0].a1,
        fallback[0].b0,
        fallback[0].b1,
    )
    assert full[0].matched == fallback[0].matched == int((x == y).sum())


def _tokens(words: list[int]) -> tuple[Tokens, np.ndarray, Index]:
    n = len(words)
    idx = np.arange(n, dtype=np.int32)
    tok = Tokens(idx, idx + 1, np.array(words, dtype=np.uint64), np.zeros(n, dtype=np.uint64))
    sh = shingles(tok.hashes, 5)
    return tok, sh, Index.build(sh)


def _pair(rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Two texts sharing edited copies of a few passages, in a small vocabulary (many chance
    matches near the passages' ends)."""
    vocab = rng.integers(1, 1 << 63, size=int(rng.integers(20, 400)), dtype=np.uint64).tolist()
    a = [vocab[k] for k in rng.integers(0, len(vocab), size=int(rng.integers(0, 400)))]
    b = [vocab[k] for k in rng.integers(0, len(vocab), size=int(rng.integers(0, 300)))]
    for _ in range(int(rng.integers(0, 4))):
        if len(a) < 10:
            break
        i = int(rng.integers(0, len(a) - 5))
        piece = list(a[i : i + int(rng.integers(5, 80))])
        for _ in range(int(rng.integers(0, 6))):
            if piece:
                piece[int(rng.integers(0, len(piece)))] = vocab[int(rng.integers(0, len(vocab)))]
        j = int(rng.integers(0, len(b) + 1))
        b[j:j] = piece
    return a, b


def test_align_tokens_same_as_always_extending(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    cases = [_pair(rng) for _ in range(400)]

    def run() -> list[list[align.Block]]:
        out = []
        for a, b in cases:
            ta, sa, ia = _tokens(a)
            tb, sb, ib = _tokens(b)
            out.append(align_tokens(ta, sa, ia, tb, sb, ib, 5, 20, 15))
        return out

    fast = run()
    monkeypatch.setattr(align, "_may_extend", lambda ha, hb, spans, width: np.ones((spans.shape[0], 2), bool))
    assert run() == fast
    assert sum(len(x) for x in fast) > 50


def test_index_is_the_stable_argsort() -> None:
    """``Index`` orders n-grams as numpy's stable argsort, whatever the hashes: uniform, repeated,
    or crowding the first bucket (the insertion sort gives up and argsorts)."""
    rng = np.random.default_rng(3)
    for m in [*range(40), 513, 4000]:
        uniform = rng.integers(0, 1 << 64, m, dtype=np.uint64)
        repeated = rng.integers(0, 5, m, dtype=np.uint64) << np.uint64(60)
        crowded = rng.integers(0, 1 << 20, m, dtype=np.uint64)
        for sh in (uniform, repeated, crowded):
            ix = Index.build(sh)
            order = np.argsort(sh, kind="stable")
            assert np.array_equal(ix.order, order)
            assert np.array_equal(ix.sorted, sh[order])
            _, inverse, counts = np.unique(sh, return_inverse=True, return_counts=True)
            assert np.array_equal(ix.occ, counts[inverse])


def _mix(x: int) -> int:
    """splitmix64's finalizer on Python ints (the compiled ``_mix64``)."""
    mask = (1 << 64) - 1
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def test_shingles_as_hashed_one_by_one() -> None:
    """``shingles`` hashes word j of all n-grams at once: the same hashes as one n-gram at a time."""
    golden, mask = 0x9E3779B97F4A7C15, (1 << 64) - 1
    rng = np.random.default_rng(4)
    for m in (5, 6, 50):
        words = rng.integers(0, 1 << 64, m, dtype=np.uint64)
        w = words.tolist()
        for n in (1, 3, 5):
            expected = []
            for i in range(m - n + 1):
                h = n
                for j in range(n):
                    h = _mix((h * golden + w[i + j]) & mask)
                expected.append(h)
            assert shingles(words, n).tolist() == expected


def test_bit_parallel_gain_is_the_table() -> None:
    """The bit-parallel rows (windows up to 64 words) decide as the filled LCS table does."""
    rng = np.random.default_rng(6)
    positive = 0
    for trial in range(20000):
        vocab = int(rng.integers(1, 12))
        top = 65 if trial % 10 == 0 else 26
        x = rng.integers(0, vocab, int(rng.integers(1, top))).astype(np.uint64)
        y = rng.integers(0, vocab, int(rng.integers(1, top))).astype(np.uint64)
        expected = align._gain_table(x, y)
        assert (align._gain_rows(x, y) or align._gain_rows(y, x)) == expected
        positive += expected
    assert 0.2 < positive / 20000 < 0.8


def test_incremental_winnowing_equals_the_window_by_window_definition() -> None:
    """Winnowing selects each window's rightmost minimum (a position once per run of windows):
    the incremental scan against the definition, with many ties (small hash ranges)."""
    from copytrace.fingerprint import winnow

    def definition(h: list[int], w: int) -> list[int]:
        if not h:
            return []
        out: list[int] = []
        for s in range(max(1, len(h) - w + 1)):
            window = range(s, min(len(h), s + w))
            best = max(i for i in window if h[i] == min(h[j] for j in window))
            if not out or out[-1] != best:
                out.append(best)
        return out

    rng = np.random.default_rng(9)
    for _ in range(2000):
        m, w = int(rng.integers(0, 50)), int(rng.integers(1, 9))
        h = rng.integers(0, int(rng.choice([2, 5, 1 << 40])), m).astype(np.uint64)
        assert winnow(h, w).tolist() == definition(h.tolist(), w)


def test_batch_alignment_is_the_pairwise_one() -> None:
    """The batch alignment (``Batch.align``) drops a candidate pair only where
    ``compare_prepared`` finds no passage, whichever document comes first, and it drops many;
    the blocks it hands on give the pair ``compare_prepared`` finds by itself."""
    from copytrace import Document
    from copytrace.pipeline import compare_prepared, prepare_batch
    from copytrace.types import Settings

    rng = np.random.default_rng(11)
    names = [f"w{k}" for k in range(400)]
    docs, pairs = [], []
    for k in range(300):
        a, b = _pair(rng)
        if k % 10 == 0:
            b = list(a)  # the same words: a duplicate (or, if short, no passage at all)
        elif k % 10 == 1 and a:
            b = list(a)
            b[int(rng.integers(0, len(b)))] = 0  # as long as a: the canonical order by content
        for words in (a, b):
            docs.append(Document(str(len(docs)), " ".join(names[int(w) % 400] for w in words)))
        pairs += [(len(docs) - 2, len(docs) - 1), (len(docs) - 1, len(docs) - 2)]
    # two runs of 8 words, each too short for a passage, 28 words apart (chained separately):
    # 22 words where every third differs, then 6 that all differ, so the extension of the first
    # run stops within reach of the second and the two merge into one passage
    for k in range(20):
        words = rng.integers(0, 400, 300).tolist()
        gap = [w if t % 3 else (w + 1) % 400 for t, w in enumerate(words[108:130])]
        gap += [(w + 7) % 400 for w in words[130:136]]
        other = [*rng.integers(0, 400, 40).tolist(), *words[100:108], *gap, *words[136:144]]
        for ws in (words, [*other, *rng.integers(0, 400, k).tolist()]):
            docs.append(Document(str(len(docs)), " ".join(names[w] for w in ws)))
        pairs += [(len(docs) - 2, len(docs) - 1), (len(docs) - 1, len(docs) - 2)]
    s = Settings()
    preps, batch = prepare_batch(docs, s)
    first = np.array([a for a, _ in pairs], dtype=np.int64)
    second = np.array([b for _, b in pairs], dtype=np.int64)
    ok, found = batch.align(first, second, s)
    may = ok.tolist()
    # (a literal passage: the sift says nothing of rewritten sentences, which the derivation finds)
    related = [bool(compare_prepared(preps[a], preps[b], s).passages) for a, b in pairs]
    for k, (a, b) in enumerate(pairs):
        if may[k]:
            assert compare_prepared(preps[a], preps[b], s, (found, k)) == compare_prepared(
                preps[a], preps[b], s
            )
    assert all(m for m, r in zip(may, related, strict=True) if r)
    assert sum(related) > 100
    assert sum(not m for m in may) > 100
    # a pair and its mirror are sifted alike (both in canonical order)
    assert may[0::2] == may[1::2]
    assert all(related[-40:])
