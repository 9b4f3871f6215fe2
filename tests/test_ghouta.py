"""The motivating example: two outlets' versions of one Reuters story (issue 2)."""

from __future__ import annotations

import json
import re

from conftest import GHOUTA_A, GHOUTA_B

from copytrace import Document, compare
from copytrace.cli import main
from copytrace.normalize import normal_form, tokenize


def words(text: str) -> list[str]:
    tok = tokenize(text)
    return [normal_form(text[s:e]) for s, e in zip(tok.starts.tolist(), tok.ends.tolist(), strict=True)]


def _pair(ghouta_texts):
    a, b = ghouta_texts
    return a, b, compare(Document("000", a), Document("001", b))


def test_relation_direction_containment(ghouta_texts):
    _, _, pair = _pair(ghouta_texts)
    assert pair.relation == "partial"
    assert pair.direction == "unknown"
    assert 0.35 <= pair.containment_a <= 0.55
    assert 0.45 <= pair.containment_b <= 0.65


SHARED_TEXTS = [
    "The Russian military has offered Syrian rebels safe passage out of eastern Ghouta",
    "said rebels could leave with their families and personal weapons through a secure corridor",
    "The Russian proposal did not specify where the rebels would go",
    "The Russian Reconciliation Centre guarantees the immunity of all rebel fighters",
    "The spokesman for one of the main rebel groups",
    "Failaq al-Rahman, said Russia was",
    "The Syrian army has captured more than a third of the enclave in recent days",
]


def _covered(text: str, spans: list[tuple[int, int]], phrase: str) -> bool:
    """Is every word of ``phrase`` (found in ``text`` across any whitespace) inside a span?"""
    pattern = r"\s+".join(re.escape(w) for w in phrase.split())
    m = re.search(pattern, text)
    assert m, phrase
    return any(s <= m.start() and m.end() <= e for s, e in spans)


def test_passages_cover_each_shared_paragraph(ghouta_texts):
    a, b, pair = _pair(ghouta_texts)
    spans_a = [(p.a_start, p.a_end) for p in pair.passages]
    for phrase in SHARED_TEXTS:
        assert _covered(a, spans_a, phrase), phrase
    spans_b = [(p.b_start, p.b_end) for p in pair.passages]
    for phrase in SHARED_TEXTS:
        assert _covered(b, spans_b, phrase.replace("Centre", "Center")), phrase
    # text only one side has is not inside any passage
    assert not _covered(a, spans_a, "Many civilian residents have fled from the frontlines")
    assert not _covered(b, spans_b, "The 46 aid trucks arrived after fresh air strikes")


def test_offsets_slice_matching_words(ghouta_texts):
    a, b, pair = _pair(ghouta_texts)
    for p in pair.passages:
        wa, wb = words(a[p.a_start : p.a_end]), words(b[p.b_start : p.b_end])
        # both ends of a passage are shared words; offsets fall on word boundaries
        assert wa[0] == wb[0] and wa[-1] == wb[-1]
        assert not a[p.a_start].isspace() and not b[p.b_start].isspace()
        assert p.words <= min(len(wa), len(wb))


def test_edits_spelling_rewording_insert(ghouta_texts):
    a, b, pair = _pair(ghouta_texts)
    edits = [e for p in pair.passages for e in p.edits]
    kinds = {(e.kind, e.a, e.b) for e in edits}
    assert ("spelling", "Centre", "Center") in kinds
    assert ("rewording", "Defense Ministry", "Ministry of Defense") in kinds
    assert ("insert", "", "Syrian") in kinds
    assert any(e.kind == "quote" for e in edits)
    for e in edits:
        assert a[e.a_start : e.a_end] == e.a
        assert b[e.b_start : e.b_end] == e.b
    syrian = next(e for e in edits if e.kind == "insert" and e.b == "Syrian")
    assert b[syrian.b_end :].lstrip().startswith("President")
    assert a[syrian.a_start :].startswith("President")


def test_cli_json_matches_api(ghouta_texts, capsys):
    assert main(["compare", str(GHOUTA_A), str(GHOUTA_B), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["relation"] == "partial"
    assert set(out) >= {
        "a",
        "b",
        "relation",
        "direction",
        "containment_a",
        "containment_b",
        "similarity",
        "passages",
        "flags",
    }
    p0 = out["passages"][0]
    assert set(p0) == {"a_start", "a_end", "b_start", "b_end", "words", "similarity", "edits"}


def test_cli_terminal_view(capsys):
    assert main(["compare", str(GHOUTA_A), str(GHOUTA_B)]) == 0
    out = capsys.readouterr().out
    assert "partial" in out and "Reconciliation" in out and "spelling" in out


def test_pair_line_written_directly_equals_the_general_encoder(ghouta_texts):
    """``dumps_pair`` (the scan's fast path) and ``dumps(to_dict())`` agree on a real pair, and on
    it with a rewording similarity, odd strings and number and name flags."""
    from dataclasses import replace

    from copytrace.write import dumps, dumps_pair

    pair = _pair(ghouta_texts)[2]
    assert pair.passages and pair.passages[0].edits
    assert dumps_pair(pair) == dumps(pair.to_dict())
    p0 = pair.passages[0]
    e0 = replace(p0.edits[0], a='say "hi"\n\t\u2028\U0001f600', similarity=0.8125)
    flag = {"a": "780", "b": "\u0667\u0668\u0660", "a_start": 3, "a_end": 6, "b_start": 4, "b_end": 7}
    odd = replace(
        pair,
        passages=(replace(p0, edits=(e0, *p0.edits[1:])), *pair.passages[1:]),
        numbers_changed=(flag,),
        names_changed=({**flag, "a": "Douma", "b": "Dūmā"},),
    )
    assert dumps_pair(odd) == dumps(odd.to_dict())
    assert json.loads(dumps_pair(odd))["passages"][0]["edits"][0]["similarity"] == 0.8125
