"""Hypothesis fuzzing of ``compare`` over random Unicode text with a planted shared passage.

Two documents are random text (any code point but surrogates: controls, NUL, combining marks,
emoji, CJK, right-to-left, private use) around the same passage of 25-40 distinct words written
with different spacing and punctuation in each copy. ``compare`` must not crash, every offset must
slice its own text, the comparison must mirror, and every planted word must sit inside a passage
on both sides.

The sentence derivation (issue 23) is fuzzed over texts of a small alphabet (repeated words,
abbreviations, quotes, line breaks, non-ASCII letters and signs): its offsets lie in the texts,
each link joins sentences of ``sentence_spans``, fragments lie in their link and read the same
words on both sides, shares sum to 1, levels follow them, and it mirrors; a text of plain
sentences compared with itself is all verbatim and ``wholly``.

The normal suite runs 150 examples; ``pytest -m slow tests/test_fuzz.py`` runs 10,000.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from copytrace.derive import FUNCTION_WORDS, PARTIALLY, WHOLLY, level, sentence_spans
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
# the wide runs (each test also runs FAST): 2,500 examples each; at 10,000 the three took about
# 38% of the whole suite's time (pytest --durations, issue 26's CI budget)
SLOW = settings(
    max_examples=2_500,
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


# ---------------------------------------------------------------- sentence derivation (issue 23)

# a small alphabet: repeated words make shared runs; abbreviations, initials, numbers, quotes,
# line breaks (CRLF too), a hyphen that may break a word at a line end, non-ASCII letters and signs
DERIVE_WORDS = st.sampled_from(
    [
        "alpha",
        "beta",
        "Gamma",
        "delta",
        "Douma",
        "rebels",
        "said",
        "the",
        "of",
        "Mr.",
        "U.S.",
        "Jan.",
        "A.",
        "W.",
        "43",
        "3.5",
        "al-Assad",
        "\u00e9t\u00e9",
        "Stra\u00dfe",
        "\u00c9ric",
        "\u0421\u0442\u0440\u0430\u043d\u0430",
        "\u03b4\u03ad\u03bb\u03c4\u03b1",
        "\u00b2",
        "\u20ac",
    ]
)
DERIVE_SEPS = st.sampled_from(
    [" ", " ", " ", " ", ". ", "! ", "? ", ", ", "; ", "\n", "\n\n", "\r\n", ".\n", ' "', '" ', ".\u201d ",
     " \u201c", "'", " (", ") ", "... ", " - ", "-", "\u00a0", "\t"]
)  # fmt: skip
DERIVE_RUN = st.lists(st.tuples(DERIVE_WORDS, DERIVE_SEPS), max_size=40)


@st.composite
def derive_pair(draw: Any) -> tuple[str, str]:
    """Two texts of the small alphabet, the second often made of runs of the first (reordered,
    between runs of its own)."""
    a = draw(DERIVE_RUN)
    b: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 5))):
        if a and draw(st.booleans()):
            i = draw(st.integers(0, len(a) - 1))
            b += a[i : draw(st.integers(i + 1, min(len(a), i + 25)))]
        else:
            b += draw(st.lists(st.tuples(DERIVE_WORDS, DERIVE_SEPS), max_size=8))
    return "".join(w + s for w, s in a), "".join(w + s for w, s in b)


def check_sentences(text: str) -> tuple[tuple[int, int], ...]:
    spans = sentence_spans(text)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        last = e
    return spans


def check_derivation(pair: Pair, ta: str, tb: str) -> None:
    d = pair.derivation
    assert d is not None
    sa, sb = set(check_sentences(ta)), set(check_sentences(tb))
    for x in d.sentences:
        assert 0 <= x.a_start < x.a_end <= len(ta) and 0 <= x.b_start < x.b_end <= len(tb)
        assert (x.a_start, x.a_end) in sa and (x.b_start, x.b_end) in sb
        assert x.kind in ("verbatim", "partly_verbatim", "rewritten")
        for f in x.fragments:
            assert x.a_start <= f.a_start < f.a_end <= x.a_end, (x, f)
            assert x.b_start <= f.b_start < f.b_end <= x.b_end, (x, f)
            fa = tokenize(ta[f.a_start : f.a_end]).hashes.tolist()
            assert fa == tokenize(tb[f.b_start : f.b_end]).hashes.tolist()
            assert len(fa) >= 4
    for side, text in ((d.a, ta), (d.b, tb)):
        assert side.words == len(tokenize(text))
        assert abs(side.verbatim + side.rewritten + side.new - 1.0) <= 1e-3
        assert all(0.0 <= x <= 1.0 for x in (side.verbatim, side.rewritten, side.new))
        assert side.level in ("wholly", "partially", "non")
        derived = side.verbatim + side.rewritten
        if all(abs(derived - t) > 1e-3 for t in (WHOLLY, PARTIALLY)):
            assert side.level == level(derived)
    if d.sentences:
        assert pair.relation != "unrelated"


def run_derive_case(ta: str, tb: str) -> None:
    pair = compare(Document("a", ta), Document("b", tb))
    check_derivation(pair, ta, tb)
    back = compare(Document("b", tb), Document("a", ta))
    assert back.derivation == pair.derivation.swapped()  # type: ignore[union-attr]


@FAST
@given(derive_pair())
def test_derivation_invariants(case: tuple[str, str]) -> None:
    run_derive_case(*case)


@pytest.mark.slow
@SLOW
@given(derive_pair())
def test_derivation_invariants_10k(case: tuple[str, str]) -> None:
    run_derive_case(*case)


# words of several scripts, none a function word: every sentence below has content words
SELF_WORD = st.text(
    st.sampled_from("abdegkmnoprstuz\u00e9\u00fc\u00df\u0436\u043b\u03c9\u03bb"), min_size=3, max_size=8
)
SELF_ENDS = st.sampled_from([". ", "! ", "? ", ".\n", ".\r\n", ".\n\n", '." ', ".\u201d\n"])


@st.composite
def sentence_text(draw: Any) -> str:
    """Sentences of 4 to 12 distinct words (none repeated in the text), a capital first, words
    apart by spaces, commas or quotes, each closed by an end mark and a space or line break."""
    pool = draw(
        st.lists(
            SELF_WORD.filter(lambda w: normal_form(w) not in FUNCTION_WORDS),
            min_size=4,
            max_size=60,
            unique_by=normal_form,
        )
    )
    sizes = draw(st.lists(st.integers(4, 12), min_size=1, max_size=8))
    out, k = [], 0
    for n in sizes:
        if k + n > len(pool):
            break
        ws = pool[k : k + n]
        k += n
        gaps = [draw(st.sampled_from([" ", " ", ", ", " \u201c", "\u201d ", "\u00a0"])) for _ in ws[1:]]
        body = ws[0].capitalize() + "".join(g + w for g, w in zip(gaps, ws[1:], strict=True))
        out.append(body + draw(SELF_ENDS))
    assume(out)
    return "".join(out)


@FAST
@given(sentence_text())
def test_text_derived_from_itself_is_all_verbatim(text: str) -> None:
    pair = compare(Document("a", text), Document("b", text))
    check_derivation(pair, text, text)
    d = pair.derivation
    assert d is not None
    for side in (d.a, d.b):
        assert (side.verbatim, side.rewritten, side.new, side.level) == (1.0, 0.0, 0.0, "wholly"), d
    spans = sentence_spans(text)
    assert [(x.a_start, x.a_end) for x in d.sentences] == list(spans)
    assert all((x.a_start, x.a_end) == (x.b_start, x.b_end) and x.kind == "verbatim" for x in d.sentences)
