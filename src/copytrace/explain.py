"""Explain each passage: classify every edit between the two copies.

Kinds: ``spelling`` (Centre/Center, defence/defense), ``number`` (780 -> 68, "more than a third"
-> "40 percent"), ``name`` (a capitalised token changed), ``quote`` (straight vs curly quotes),
``punctuation``, ``insert``, ``delete``, ``rewording`` (other wording, including local reorders
like "Defense Ministry" -> "Ministry of Defense").

Neighbouring word-level operations separated by at most ``MERGE_GAP`` equal words are merged
into one edit when they reorder the same words, so a swapped phrase reads as one rewording.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from .align import Block
from .normalize import Tokens, normal_form
from .types import Edit

MERGE_GAP = 2
SPELLING_RATIO = 70.0

NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    thousand million billion trillion half halves third thirds quarter quarters dozen dozens percent
    cent pct first second fifth tenth mln bln""".split()
)
QUOTES = frozenset("\"'“”‘’«»„‚‹›`´")
_DIGIT = re.compile(r"\d")


def _is_number(word: str) -> bool:
    return bool(_DIGIT.search(word)) or word in NUMBER_WORDS


def _capitalised(surface: str) -> bool:
    return surface[:1].isupper()


def classify(a_words: list[str], b_words: list[str], a_surface: list[str], b_surface: list[str]) -> str:
    """The kind of one edit from its normalized words and original surfaces (symmetric in a, b)."""
    if not a_words:
        return "insert"
    if not b_words:
        return "delete"
    if any(_is_number(w) for w in a_words) or any(_is_number(w) for w in b_words):
        return "number"
    if len(a_words) == len(b_words) and all(
        fuzz.ratio(x, y) >= SPELLING_RATIO for x, y in zip(a_words, b_words, strict=True)
    ):
        return "spelling"
    if (set(a_words) & set(b_words)) or (set(b_words) & set(a_words)):
        return "rewording"
    if all(_capitalised(s) for s in a_surface) and all(_capitalised(s) for s in b_surface):
        return "name"
    return "rewording"


def _merge(ops: tuple[tuple[str, int, int, int, int], ...], ha: np.ndarray, hb: np.ndarray) -> list[list[int]]:
    """Non-equal regions [i1, i2, j1, j2], merging neighbours that reorder the same words."""
    regions: list[list[int]] = []
    last_equal = 0
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            last_equal = i2 - i1
            continue
        if regions and last_equal <= MERGE_GAP:
            prev = regions[-1]
            a_set = set(ha[prev[0] : prev[1]].tolist()) | set(ha[i1:i2].tolist())
            b_set = set(hb[prev[2] : prev[3]].tolist()) | set(hb[j1:j2].tolist())
            if a_set & b_set:
                prev[1], prev[3] = i2, j2
                last_equal = 0
                continue
        regions.append([i1, i2, j1, j2])
        last_equal = 0
    return regions


def _span(tok: Tokens, i1: int, i2: int) -> tuple[int, int]:
    """Character span of tokens [i1, i2); an empty token range gives an empty span at a boundary."""
    if i2 > i1:
        return int(tok.starts[i1]), int(tok.ends[i2 - 1])
    if i1 < len(tok):
        pos = int(tok.starts[i1])
    else:
        pos = int(tok.ends[i1 - 1]) if i1 > 0 else 0
    return pos, pos


def _sep_span(text: str, tok: Tokens, i: int) -> tuple[int, int]:
    """The non-space characters between token i and token i+1."""
    lo, hi = int(tok.ends[i]), int(tok.starts[i + 1])
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi


def explain(text_a: str, ta: Tokens, text_b: str, tb: Tokens, block: Block) -> list[Edit]:
    """Every edit inside one passage, in order of position in ``a``."""
    edits: list[Edit] = []
    for i1, i2, j1, j2 in _merge(block.ops, ta.hashes, tb.hashes):
        a0, a1 = _span(ta, i1, i2)
        b0, b1 = _span(tb, j1, j2)
        a_surface = [text_a[ta.starts[k] : ta.ends[k]] for k in range(i1, i2)]
        b_surface = [text_b[tb.starts[k] : tb.ends[k]] for k in range(j1, j2)]
        kind = classify(
            [normal_form(s) for s in a_surface], [normal_form(s) for s in b_surface], a_surface, b_surface
        )
        edits.append(Edit(kind, text_a[a0:a1], text_b[b0:b1], a0, a1, b0, b1))
    # punctuation and quote style between words that match
    for tag, i1, i2, j1, j2 in block.ops:
        if tag != "equal" or i2 - i1 < 2:
            continue
        diff = np.nonzero(ta.seps[i1 : i2 - 1] != tb.seps[j1 : j2 - 1])[0]
        for k in diff.tolist():
            a0, a1 = _sep_span(text_a, ta, i1 + k)
            b0, b1 = _sep_span(text_b, tb, j1 + k)
            # keep only the differing middle of the two separators
            while a0 < a1 and b0 < b1 and text_a[a0] == text_b[b0]:
                a0, b0 = a0 + 1, b0 + 1
            while a1 > a0 and b1 > b0 and text_a[a1 - 1] == text_b[b1 - 1]:
                a1, b1 = a1 - 1, b1 - 1
            sa, sb = text_a[a0:a1], text_b[b0:b1]
            strip_a = "".join(c for c in sa if c not in QUOTES)
            strip_b = "".join(c for c in sb if c not in QUOTES)
            kind = "quote" if strip_a == strip_b else "punctuation"
            edits.append(Edit(kind, sa, sb, a0, a1, b0, b1))
    edits.sort(key=lambda e: (e.a_start, e.a_end, e.b_start, e.b_end, e.kind))
    return edits


def flags(edits: list[Edit]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pair-level flags: the number and name changes inside reused passages, with offsets."""
    numbers = [e.to_dict() for e in edits if e.kind == "number"]
    names = [e.to_dict() for e in edits if e.kind == "name"]
    for d in numbers + names:
        d.pop("kind")
    return numbers, names
