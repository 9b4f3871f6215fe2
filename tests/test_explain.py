"""Edit explanations (issue 6): each kind planted once in a constructed pair, read through compare()."""

from __future__ import annotations

import numpy as np
import pytest

from copytrace import Document, compare
from copytrace.explain import classify, is_spelling_variant
from copytrace.relate import moved_passages
from copytrace.types import Passage

A = (
    "The Russian Reconciliation Centre said on Tuesday that 780 people had left the town of Douma through "
    "a humanitarian corridor overnight. The ministry of defence said the army had taken more than a third "
    "of the enclave since the offensive began. Mayor John Smith told reporters the shelling had stopped for "
    'the night and that aid would arrive soon. "We are ready," a spokesman for the local council said when '
    "asked about the convoy. The convoy carried food, medicine and blankets for families who had sheltered "
    "in basements for weeks. Doctors at the main clinic said several patients had died from their untreated "
    "wounds last month. Officials said talks would resume in Geneva next week with both delegations present "
    "at the table. Residents said the water supply was cut and the hospital was running out of fuel for its "
    "generators again."
)
B = (
    "The Russian Reconciliation Center said on Tuesday that 68 people had left the town of Douma through "
    "a humanitarian corridor overnight. The ministry of defense said the army had taken 40 percent "
    "of the enclave since the offensive began. Mayor Peter Jones told reporters the shelling had stopped for "
    "the night and that aid would arrive soon. \u201cWe are ready,\u201d a spokesman for the local council said when "
    "asked about the convoy. The convoy carried food, medicine and warm blankets for families who had sheltered "
    "in basements for weeks. Doctors at the main clinic said several patients had died from their "
    "wounds last month. Officials declared talks would resume in Geneva next week with both delegations present "
    "at the table. Residents said the water supply was cut and the hospital was running out of fuel for its "
    "generators again."
)
# move the "Officials ..." sentence to the end of B
_OFFICIALS = (
    "Officials declared talks would resume in Geneva next week with both delegations present at the table. "
)
B_MOVED = (
    B.replace(_OFFICIALS, "")
    + " Officials said talks would resume in Geneva next week with both delegations."
)


@pytest.fixture(scope="module")
def pair():
    return compare(Document("a", A), Document("b", B))


def kinds(p):
    return {(e.kind, e.a, e.b) for ps in p.passages for e in ps.edits}


def test_each_planted_edit_is_explained(pair):
    got = kinds(pair)
    expected = {
        ("spelling", "Centre", "Center"),
        ("spelling", "defence", "defense"),
        ("number", "780", "68"),
        ("number", "more than a third", "40 percent"),
        ("name", "John Smith", "Peter Jones"),
        ("insert", "", "warm"),
        ("delete", "untreated", ""),
        ("rewording", "said", "declared"),
    }
    assert expected <= got
    quotes = [e for e in (e for ps in pair.passages for e in ps.edits) if e.kind == "quote"]
    assert {(e.a, e.b) for e in quotes} == {('"', "\u201c"), ('"', "\u201d")}
    # nothing else was called an edit
    assert len(got) == len(expected) + 2


def test_offsets_slice_every_edit(pair):
    for ps in pair.passages:
        for e in ps.edits:
            assert A[e.a_start : e.a_end] == e.a
            assert B[e.b_start : e.b_end] == e.b


def test_pair_flags_list_numbers_and_names_with_offsets(pair):
    assert [(d["a"], d["b"]) for d in pair.numbers_changed] == [
        ("780", "68"),
        ("more than a third", "40 percent"),
    ]
    assert [(d["a"], d["b"]) for d in pair.names_changed] == [("John Smith", "Peter Jones")]
    for d in pair.numbers_changed + pair.names_changed:
        assert A[d["a_start"] : d["a_end"]] == d["a"] and B[d["b_start"] : d["b_end"]] == d["b"]
    assert pair.to_dict()["flags"]["numbers_changed"][0]["a_start"] == A.index("780")


def test_moved_sentence():
    p = compare(Document("a", A), Document("b", B_MOVED))
    moved = [e for ps in p.passages for e in ps.edits if e.kind == "moved"]
    assert len(moved) == 1
    (m,) = moved
    assert m.a.startswith("Officials said talks would resume") and m.a.endswith("at the table")
    assert m.b == "Officials said talks would resume in Geneva next week with both delegations"
    assert A[m.a_start : m.a_end] == m.a and B_MOVED[m.b_start : m.b_end] == m.b
    assert m.b_start > B_MOVED.index("generators again")


def test_explanations_mirror(pair):
    back = compare(Document("b", B), Document("a", A))
    assert kinds(back) == {
        (k, b, a) if k not in ("insert", "delete") else ({"insert": "delete", "delete": "insert"}[k], b, a)
        for k, a, b in kinds(pair)
    }


@pytest.mark.parametrize(
    ("x", "y", "same"),
    [
        ("centre", "center", True),
        ("defence", "defense", True),
        ("organise", "organize", True),
        ("colour", "color", True),
        ("travelled", "traveled", True),
        ("programme", "program", True),
        ("goverment", "government", True),
        ("said", "says", False),
        ("rebels", "forces", False),
    ],
)
def test_spelling_variants(x, y, same):
    assert is_spelling_variant(x, y) is same


def test_classify_names_and_sentence_starts():
    assert classify(["smith"], ["jones"], ["Smith"], ["Jones"]) == "name"
    assert classify(["the"], ["a"], ["The"], ["A"]) == "rewording"
    assert classify(["a", "third"], ["40", "percent"], ["a", "third"], ["40", "percent"]) == "number"


def test_moved_passages_by_order():
    def ps(a, b):
        return Passage(a, a + 10, b, b + 10, 10, 1.0)

    # a tie keeps the passages earlier in a
    assert moved_passages([ps(0, 0), ps(20, 40), ps(40, 20)]) == {2}
    assert moved_passages([ps(0, 0), ps(20, 20)]) == set()
    assert moved_passages([ps(0, 50), ps(20, 0), ps(40, 20)]) == {0}


def _find_run_reference(hashes: list[int], run: list[int], avoid: tuple[int, int]) -> tuple[int, int]:
    """The definition: of every occurrence of a prefix of ``run`` (from each start holding its
    first word), the longest; then one outside ``avoid``; then the earliest."""
    best = (0, False, 0)
    for s in range(len(hashes)):
        length = 0
        while length < len(run) and s + length < len(hashes) and hashes[s + length] == run[length]:
            length += 1
        if length:
            best = max(best, (length, s + length <= avoid[0] or s >= avoid[1], -s))
    return (-best[2], best[0]) if best[0] else (-1, 0)


def test_find_run_is_the_longest_prefix_occurrence() -> None:
    from copytrace.explain import _find_run

    rng = np.random.default_rng(5)
    found = 0
    for _ in range(3000):
        vocab = int(rng.integers(1, 6))
        hashes = rng.integers(0, vocab, int(rng.integers(0, 40))).astype(np.uint64) << np.uint64(61)
        run = rng.integers(0, vocab, int(rng.integers(0, 8))).astype(np.uint64) << np.uint64(61)
        lo = int(rng.integers(0, 41))
        hi = lo + int(rng.integers(0, 10))
        want = _find_run_reference(hashes.tolist(), run.tolist(), (lo, hi))
        assert _find_run(hashes, run, lo, hi) == want
        found += want[1] > 1
    assert found > 500
