"""The terminal view of ``copytrace compare`` (view.py): the pair's passages, then its derivation
(each side's shares and level, the sentences side by side, verbatim fragments marked, new
sentences dimmed), rendered by rich into a recording console."""

from __future__ import annotations

from rich.console import Console

from copytrace import Document, compare
from copytrace.derive import sentence_spans
from copytrace.view import LEVELS, SentenceRow, derivation_of, render_derivation, render_pair, sentence_rows

BOLD_UNDERLINE = "\x1b[1;4m"  # FRAGMENT_STYLE as a standard terminal writes it
DIM = "\x1b[2m"

WIRE = Document(
    "wire",
    "The ministry said on Monday that 46 trucks reached Douma carrying food and medicine for "
    "27,500 people. Officials in Geneva welcomed the delivery of the aid after weeks of talks. "
    "The convoy left early because of shelling in the area.",
)
PAPER = Document(
    "paper",
    "Forty-six trucks carrying food and medicine for 27,500 people reached Douma on Monday, the "
    "ministry said. Officials in Geneva welcomed the delivery of the aid after weeks of talks. "
    "Residents said far more help was needed in the besieged enclave.",
)


def _console() -> Console:
    # wide enough that no sentence wraps: each table row is one line of the output
    return Console(record=True, width=320, force_terminal=True, color_system="standard")


def _line(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def test_compare_view_shows_the_derivation_of_a_rewritten_pair() -> None:
    pair = compare(WIRE, PAPER)
    derivation = derivation_of(pair)
    assert derivation is not None and derivation["sentences"]
    console = _console()
    render_pair(pair, WIRE, PAPER, console)
    plain = console.export_text(clear=False)
    styled = console.export_text(styles=True)
    # after the passages, the derivation section with each side's shares and level
    assert plain.index("passage 1") < plain.index("derivation")
    for side, doc, other in (("a", WIRE, PAPER), ("b", PAPER, WIRE)):
        x = derivation[side]
        line = _line(plain, f"{side} {doc.id}:")
        assert f"verbatim {x['verbatim']:.0%}" in line and f"new {x['new']:.0%}" in line
        assert f"{LEVELS[x['level']]} {other.id}" in line
    # the rewritten first sentence beside its source, its verbatim fragment marked on both sides
    first = _line(plain, "The ministry said on Monday")
    assert "Forty-six trucks" in first
    link = next(x for x in derivation["sentences"] if x["a_start"] == 0)
    assert link["kind"] in ("rewritten", "partly_verbatim") and link["fragments"]
    f = link["fragments"][0]
    assert BOLD_UNDERLINE + WIRE.text[f["a_start"] : f["a_end"]] in styled
    assert BOLD_UNDERLINE + PAPER.text[f["b_start"] : f["b_end"]] in styled
    # each side's new sentence in a row of its own, labelled and dimmed, the other side empty
    for new, other in (
        ("The convoy left early because of shelling in the area.", "Residents"),
        ("Residents said far more help was needed in the besieged enclave.", "convoy"),
    ):
        assert "new" in _line(plain, new) and other not in _line(plain, new)
        assert DIM + new in styled


def test_sentence_rows_keep_a_order_and_place_new_sentences() -> None:
    """A merge (two sentences of a made into one of b), a sentence moved to b's start, a new
    sentence of a at its place and new sentences of b after the link they follow in b."""
    a = "One alpha. Two beta. Three gamma. Four delta."
    b = "Four delta moved. One alpha and two beta. Five new. Six new."
    sa, sb = sentence_spans(a), sentence_spans(b)
    assert [a[s:e] for s, e in sa] == ["One alpha.", "Two beta.", "Three gamma.", "Four delta."]
    assert [b[s:e] for s, e in sb][:2] == ["Four delta moved.", "One alpha and two beta."]

    def link(i: int, j: int, kind: str) -> dict[str, object]:
        return {
            "a_start": sa[i][0],
            "a_end": sa[i][1],
            "b_start": sb[j][0],
            "b_end": sb[j][1],
            "kind": kind,
            "similarity": 0.5,
            "fragments": [],
        }

    derivation = {
        "sentences": [link(3, 0, "partly_verbatim"), link(1, 1, "rewritten"), link(0, 1, "rewritten")]
    }
    rows = sentence_rows(derivation, sa, sb)
    assert [(r.a, r.b, r.kind) for r in rows] == [
        (sa[0], sb[1], "rewritten"),
        (sa[1], sb[1], "rewritten"),
        (None, sb[2], "new"),
        (None, sb[3], "new"),
        (sa[2], None, "new"),
        (sa[3], sb[0], "partly_verbatim"),
    ]
    # no link: every sentence is new, a's first, b's before them (no link precedes them in b)
    alone = sentence_rows({"sentences": []}, sa[:1], sb[:1])
    assert alone == [SentenceRow(None, sb[0], "new"), SentenceRow(sa[0], None, "new")]


def test_long_sentences_are_cut_in_the_middle_and_short_ones_kept() -> None:
    long_a = (
        "The committee said " + "that the agreement had been reviewed carefully, " * 10 + "and signed it."
    )
    long_b = "Officials said " + "that the agreement had been reviewed carefully, " * 10 + "and approved it."
    a = Document("a", long_a + " Short one here.")
    b = Document("b", long_b)
    sa, sb = sentence_spans(a.text), sentence_spans(b.text)
    assert len(sa) == 2 and len(sb) == 1 and sa[0][1] - sa[0][0] > 500
    derivation = {
        "a": {"verbatim": 0.8, "rewritten": 0.1, "new": 0.1, "level": "wholly"},
        "b": {"verbatim": 0.9, "rewritten": 0.1, "new": 0.0, "level": "wholly"},
        "sentences": [
            {
                "a_start": sa[0][0],
                "a_end": sa[0][1],
                "b_start": sb[0][0],
                "b_end": sb[0][1],
                "kind": "partly_verbatim",
                "similarity": 0.91,
                "fragments": [{"a_start": 19, "a_end": 60, "b_start": 15, "b_end": 56}],
            }
        ],
    }
    console = _console()
    render_derivation(derivation, a, b, console)
    plain = console.export_text(clear=False)
    styled = console.export_text(styles=True)
    # the long sentence keeps its two ends around the count of characters left out (it wraps)
    n = sa[0][1] - sa[0][0]
    assert f"… [{n - 360} characters] …" in plain and "and signed it." in plain
    assert "The committee said that" in _line(plain, "Officials said that")
    assert "and approved it." in plain and "0.91" in plain
    assert BOLD_UNDERLINE + a.text[19:60] in styled
    assert "new" in _line(plain, "Short one here.")
    assert "wholly derived from b" in plain and "verbatim 80%" in plain
