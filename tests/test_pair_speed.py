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


def test_slot_builders_make_what_the_dataclasses_make() -> None:
    """``new_edit`` / ``new_passage`` / ``new_document`` (slots set through their descriptors) give instances equal to
    the dataclass constructors', with the same hash, and still frozen."""
    import dataclasses

    import pytest

    from copytrace.types import Document, Edit, Passage, new_document, new_edit, new_passage

    e = new_edit("number", "780", "68", 3, 6, 9, 11, None)
    assert e == Edit("number", "780", "68", 3, 6, 9, 11) and hash(e) == hash(
        Edit("number", "780", "68", 3, 6, 9, 11)
    )
    assert new_edit("rewording", "a", "b", 0, 1, 0, 1, 0.7).similarity == 0.7
    p = new_passage(0, 10, 5, 15, 2, 0.5, (e,), (0, 2), (1, 3))
    assert p == Passage(0, 10, 5, 15, 2, 0.5, (e,), (0, 2), (1, 3))
    assert [f.name for f in dataclasses.fields(p)] == [f.name for f in dataclasses.fields(Passage)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.kind = "name"  # type: ignore[misc]
    d = new_document("d1", "text", "2018-03-07", None, None, None, "c.jsonl", {})
    assert d == Document("d1", "text", date="2018-03-07", path="c.jsonl") and d.meta == {}
    assert new_document("d2", "t", None, None, None, None, None, {}).meta is not d.meta


def test_scan_encoder_writes_what_the_records_give(ghouta_texts) -> None:  # type: ignore[no-untyped-def]
    """``encode_prepared`` (rows straight to JSON, as a scan writes pairs) gives
    ``dumps_pair(compare_prepared(...))`` byte for byte, its relation and shared words: on the
    Ghouta pair both ways round and on edited copies with numbers, names, moved sentences,
    quotes, punctuation, JSON-escaped characters and non-ASCII text; None where unrelated."""
    from copytrace.pipeline import compare_prepared, encode_prepared
    from copytrace.write import dumps_pair

    rng = np.random.default_rng(21)
    a, b = ghouta_texts
    texts = [a, b]
    words = a.split()
    extra = ['"quoted\\" word"', "tab\there", "new\nline", "é café", "U+2028\u2028", "1,250", "Smith", "40%"]
    for k in range(30):
        w = list(words)
        for _ in range(int(rng.integers(1, 12))):
            at = int(rng.integers(0, len(w)))
            op = int(rng.integers(0, 4))
            if op == 0:
                w[at] = extra[int(rng.integers(0, len(extra)))]
            elif op == 1:
                w[at] = str(int(rng.integers(0, 10_000)))
            elif op == 2:
                w.insert(at, words[int(rng.integers(0, len(words)))])
            else:
                del w[at]
        if k % 5 == 0:  # a sentence moved to the end
            cut = int(rng.integers(0, len(w) - 20))
            w = w[:cut] + w[cut + 12 :] + w[cut : cut + 12]
        texts.append(" ".join(w) if k % 3 else " ".join(w[: len(w) // 3]))
    texts.append("Nothing in common with the others at all, not a single shared run of words here.")
    s = Settings()
    preps = prepare_many(
        [
            Document(f"d{k}", t, date=f"2018-03-0{1 + k % 3}" if k % 4 == 0 else None)
            for k, t in enumerate(texts)
        ],
        s,
    )
    seen = set()
    for i, j in itertools.permutations(range(len(preps)), 2):
        pair = compare_prepared(preps[i], preps[j], s)
        got = encode_prepared(preps[i], preps[j], s)
        if pair.relation == "unrelated":
            assert got is None
            continue
        assert got == (dumps_pair(pair), pair.relation, sum(p.words for p in pair.passages))
        seen.add(pair.relation)
        seen.update(e.kind for p in pair.passages for e in p.edits)
    assert {"near_duplicate", "a_contains_b", "b_contains_a"} <= seen
    assert {"number", "moved", "insert", "delete", "quote"} <= seen
