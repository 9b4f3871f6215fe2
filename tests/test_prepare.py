"""Per-document preparation in batches (tokenize, shingles, seeding index) equals the per-document
functions, whatever the batch holds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from copytrace.align import Index, _index
from copytrace.fingerprint import shingles, shingles_many
from copytrace.normalize import tokenize, tokenize_batch
from copytrace.pipeline import prepare, prepare_many
from copytrace.types import Document, Settings

TEXTS = [
    "",
    "a",
    "a b c d",
    "one two three four five",
    "中文字" * 400,  # a token a character: more tokens than the first pass makes room for
    "x " * 3000,
    "、。!",
    "The Centre's opposi-\n tion said 780 people, the Minister said on Tuesday. " * 20,
]


def _stable_index(sh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(sh, kind="stable")
    srt = sh[order]
    _, inverse, counts = np.unique(sh, return_inverse=True, return_counts=True)
    return srt, order, counts[inverse]


def test_tokenize_batch_equals_each_text_alone() -> None:
    for batch in (TEXTS, TEXTS[4:5], TEXTS[::-1], ["中文"] * 50):
        tok, counts = tokenize_batch(batch)
        assert counts.tolist() == [len(tokenize(t)) for t in batch]
        at = 0
        for text, c in zip(batch, counts.tolist(), strict=True):
            one = tokenize(text)
            for col in ("starts", "ends", "hashes", "seps"):
                got = getattr(tok, col)[at : at + c]
                assert got.dtype == getattr(one, col).dtype
                assert np.array_equal(got, getattr(one, col))
            at += c
    assert len(tokenize(TEXTS[4])) == 1200


def test_prepare_many_equals_prepare_alone() -> None:
    s = Settings()
    docs = [Document(f"d{k}", t) for k, t in enumerate(TEXTS)]
    for p in prepare_many(docs, s, index=True):
        one = prepare(p.doc, s)
        assert np.array_equal(p.shingles, shingles(one.tokens.hashes, s.ngram))
        assert np.array_equal(p.tokens.hashes, one.tokens.hashes)
        for got, want in zip(
            (p.index.sorted, p.index.order, p.index.occ), _stable_index(p.shingles), strict=True
        ):
            assert np.array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 40), max_size=300).map(lambda v: np.array(v, dtype=np.uint64)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([1, 3, 1 << 58, (1 << 63) + 1]),
)
def test_index_is_the_stable_order_for_repeats_and_crowded_buckets(
    docs: list[np.ndarray], scale: int
) -> None:
    # few distinct values, scaled into the top bits or kept in the bottom ones: long buckets of
    # equal hashes and buckets of many different ones
    docs = [(d * np.uint64(scale)) for d in docs]
    counts = np.array([d.shape[0] for d in docs], dtype=np.int64)
    sh = np.concatenate(docs)
    bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    arrays = Index.arrays(sh, bounds)
    for k in range(len(docs)):
        lo, hi = bounds[k], bounds[k + 1]
        one = sh[lo:hi]
        for got, alone, want in zip((x[lo:hi] for x in arrays), _index(one), _stable_index(one), strict=True):
            assert np.array_equal(got, want)
            assert np.array_equal(alone, want)
    for n in (1, 3, 5):
        got, b = shingles_many(sh, counts, n)
        assert b.tolist() == np.cumsum([0] + [shingles(d, n).shape[0] for d in docs]).tolist()
        assert np.array_equal(got, np.concatenate([shingles(d, n) for d in docs]))
