"""Hypothesis fuzzing of ``compare`` over random Unicode text with a planted shared passage.

Two documents are random text (any code point but surrogates: controls, NUL, combining marks,
emoji, CJK, right-to-left, private use) around the same passage of 25-40 distinct words written
with different spacing and punctuation in each copy. ``compare`` must not crash, every offset must
slice its own text, the comparison must mirror, and every planted word must sit inside a passage
on both sides.

The normal suite runs 150 examples; ``pytest -m slow tests/test_fuzz.py`` runs 10,000.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from copytrace.normalize import normal_form, tokenize
from copytrace.pipeline import compare
from copytrace.types import Document, Pair
from copytrace.write import dumps, dumps_pair

ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=120)
# letters of several scripts, and combining marks inside words
LETTERS = st.characters(
    categories=["Ll", "Lu", "Lo", "Mn"],
    min_codepoint=0x41,
    max_codepoint=0x0DFF,
)
WORD = st.text(LETTERS, min_size=3, max_size=8).filter(lambda w: not w[0].isspace())
SEPARATORS = st.sampled_from(
    [" ", "  ", "\n", " \n ", ", ", "; ", "\u00a0", "\t", " \u201c", "\u201d ", "\u3000", " (", ") "]
)
BOUNDARY = " . "


@st.composite
def planted_pair(draw: Any) -> tuple[str, str, list[tuple[int, int]], list[tuple[int, int]]]:
    words = draw(st.lists(WORD, min_size=25, max_size=40, unique_by=normal_form))
    hashes = tokenize(" ".join(words)).hashes
    assume(len(hashes) == len(words) and len(set(hashes.tolist())) == len(words))

    def write(prefix: str, suffix: str) -> tuple[str, list[tuple[int, int]]]:
        parts, spans = [prefix + BOUNDARY], []
        pos = len(parts[0])
        for k, w in enumerate(words):
            if k:
                sep = draw(SEPARATORS)
                parts.append(sep)
                pos += len(sep)
            parts.append(w)
            spans.append((pos, pos + len(w)))
            pos += len(w)
        parts.append(BOUNDARY + suffix)
        return "".join(parts), spans

    ta, sa = write(draw(ANY_TEXT), draw(ANY_TEXT))
    tb, sb = write(draw(ANY_TEXT), draw(ANY_TEXT))
    return ta, tb, sa, sb


def check_pair(pair: Pair, ta: str, tb: str) -> None:
    # the direct encoder of pair lines writes exactly what the general one does, whatever the text
    assert dumps_pair(pair) == dumps(pair.to_dict())
    for p in pair.passages:
        assert 0 <= p.a_start < p.a_end <= len(ta)
        assert 0 <= p.b_start < p.b_end <= len(tb)
        for e in p.edits:
            assert p.a_start <= e.a_start <= e.a_end <= p.a_end
            assert p.b_start <= e.b_start <= e.b_end <= p.b_end
            assert ta[e.a_start : e.a_end] == e.a
            assert tb[e.b_start : e.b_end] == e.b
    assert 0.0 <= pair.containment_a <= 1.0 and 0.0 <= pair.containment_b <= 1.0


def covered(spans: list[tuple[int, int]], passages: list[tuple[int, int]]) -> bool:
    return all(any(s >= lo and e <= hi for lo, hi in passages) for s, e in spans)


def run_case(
    case: tuple[str, str, list[tuple[int, int]], list[tuple[int, int]]], mirror: bool = True
) -> None:
    ta, tb, sa, sb = case
    a, b = Document("a", ta), Document("b", tb)
    pair = compare(a, b)
    check_pair(pair, ta, tb)
    assert covered(sa, [(p.a_start, p.a_end) for p in pair.passages]), pair.to_dict()
    assert covered(sb, [(p.b_start, p.b_end) for p in pair.passages]), pair.to_dict()
    assert pair.relation != "unrelated"
    if not mirror:
        return
    back = compare(b, a)
    assert [(p.b_start, p.b_end, p.a_start, p.a_end) for p in back.passages] == [
        (p.a_start, p.a_end, p.b_start, p.b_end) for p in pair.passages
    ]
    assert (back.containment_a, back.containment_b) == (pair.containment_b, pair.containment_a)


FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
SLOW = settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@FAST
@given(planted_pair())
def test_compare_finds_planted_passage(
    case: tuple[str, str, list[tuple[int, int]], list[tuple[int, int]]],
) -> None:
    run_case(case, mirror=False)  # the mirror is checked in the fast test; this one goes wide


@pytest.mark.slow
@SLOW
@given(planted_pair())
def test_compare_finds_planted_passage_10k(
    case: tuple[str, str, list[tuple[int, int]], list[tuple[int, int]]],
) -> None:
    run_case(case, mirror=False)  # the mirror is checked in the fast test; this one goes wide


@FAST
@given(ANY_TEXT, ANY_TEXT)
def test_compare_random_text_never_crashes(ta: str, tb: str) -> None:
    pair = compare(Document("a", ta), Document("b", tb))
    check_pair(pair, ta, tb)
    toks = tokenize(ta)
    assert all(0 <= s < e <= len(ta) for s, e in zip(toks.starts.tolist(), toks.ends.tolist(), strict=True))
    if len(toks):
        assert compare(Document("a", ta), Document("a2", ta)).relation == "duplicate"


@pytest.mark.slow
@SLOW
@given(ANY_TEXT, ANY_TEXT)
def test_compare_random_text_never_crashes_10k(ta: str, tb: str) -> None:
    test_compare_random_text_never_crashes.hypothesis.inner_test(ta, tb)  # type: ignore[attr-defined]
