"""The shortcuts of the per-pair hot path give what the general code gives."""

from __future__ import annotations

import itertools

import numpy as np

from copytrace import Document
from copytrace.explain import Side, _kind, _kind_one
from copytrace.normalize import Tokens
from copytrace.pipeline import prepare_many
from copytrace.types import Settings

WORDS = [
    "Centre", "Center", "centre", "defence", "defense", "Smith", "Jones", "SMITH", "the", "The", "It",
    "780", "68", "third", "percent", "2nd", "organise", "organize", "Washington", "Washingtn", "Moscow",
    "said", "told", "Ministry", "ministry", "U.S.", "café", "Cafe", "ﬁnal", "final", "-", "Ütopia",
    "colour", "color", "programme", "program", "travelled", "traveled", "reported", "reporter",
]  # fmt: skip


def test_kind_one_is_classify_of_one_word_each() -> None:
    for x, y in itertools.product(WORDS, repeat=2):
        assert _kind_one(x, y) == _kind.__wrapped__((x,), (y,)), (x, y)


def test_side_reads_the_token_columns() -> None:
    text = "Alpha beta, gamma delta! Epsilon."
    p = prepare_many([Document("a", text)], Settings())[0]
    side = Side(text, p.tokens)
    starts, ends = p.tokens.starts.tolist(), p.tokens.ends.tolist()
    assert [side.starts[i] for i in range(side.n)] == starts
    assert [side.ends[i] for i in range(side.n)] == ends
    assert side.surfaces(0, 1) == ("Alpha",)
    assert side.surfaces(1, 4) == ("beta", "gamma", "delta")
    assert side.span(5, 5) == (ends[-1], ends[-1])
    assert side.sep_span(1) == (10, 11)
    # a non-contiguous column is read too
    tok = Tokens(p.tokens.starts[::-1][::-1], p.tokens.ends, p.tokens.hashes, p.tokens.seps)
    assert Side(text, tok).span(1, 3) == (starts[1], ends[2])


def test_canonical_order_is_the_key_order() -> None:
    texts = ["one two three", "one two four", "one two", "four one two", "one two three"]
    preps = prepare_many([Document(str(k), t) for k, t in enumerate(texts)], Settings())
    for p, q in itertools.product(preps, repeat=2):
        assert p.before(q) == (p.key < q.key)
    assert np.array_equal(preps[0].tokens.hashes, preps[4].tokens.hashes)
