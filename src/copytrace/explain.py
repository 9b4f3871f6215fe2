"""Explain each passage: classify every edit between the two copies.

Kinds (``types.EDIT_KINDS``):

* ``spelling``: the same words spelled another way (Centre/Center, defence/defense,
  organise/organize, a one-letter typo in a long word);
* ``number``: a changed number, written in digits or words (780 -> 68, "more than a third" ->
  "40 percent");
* ``name``: a capitalised name replaced by another (Smith -> Jones);
* ``quote`` / ``punctuation``: straight vs curly quotes, other punctuation between shared words;
* ``insert`` / ``delete``: words only ``b`` / only ``a`` has inside the passage;
* ``rewording``: other wording, including local reorders ("Defense Ministry" -> "Ministry of
  Defense");
* ``moved``: words deleted here (at least ``MOVED_MIN_WORDS``) whose first ``MOVED_SHARE`` or
  more stand elsewhere in the other text, in order (a sentence moved, perhaps trimmed); the
  edit's ``a`` offsets are where it stands in ``a``, its ``b`` offsets where it stands in ``b``.

Neighbouring word-level operations are merged into one edit when nothing separates them, or when
at most ``align.MERGE_GAP`` equal words separate them and they reorder the same words, so a swapped
phrase or "more than a third" -> "40 percent" reads as one edit.

Passages whose order differs between the two sides are found by ``relate.moved_passages``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numba
import numpy as np
from rapidfuzz.distance import Levenshtein

from .align import Block
from .normalize import Tokens, normal_form
from .types import SWAPPED_KIND, Edit, new_edit

MOVED_MIN_WORDS = 4
MOVED_SHARE = 0.6

NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    hundreds thousand thousands million millions billion billions trillion half halves third thirds
    quarter quarters dozen dozens percent per cent pct fifth fifths tenth tenths twice double triple
    mln bln""".split()
)
# function words: a capitalised one is a sentence start, not a name
STOPWORDS = frozenset(
    """a an the and or but if of in on at to for from by with as is are was were be been it its this
    that these those he she they we you i his her their our my your there here not no""".split()
)
QUOTES = frozenset("\"'“”‘’«»„‚‹›`´")
_NO_QUOTES = str.maketrans(dict.fromkeys(QUOTES))  # str.translate deletes them
_DIGIT = re.compile(r"\d")

# British / American spelling patterns: both forms map to one key
# (literal every match holds, pattern, replacement)
_VARIANTS = (
    ("our", re.compile(r"our(?=s?$|ed$|ing$|ite|able|ful)"), "or"),  # colour, favourite, honourable
    ("tre", re.compile(r"tre(?=s?$|d$)"), "ter"),  # centre, theatres
    ("is", re.compile(r"is(?=e$|es$|ed$|ing$|ation)"), "iz"),  # organise, organisation
    ("ys", re.compile(r"ys(?=e$|es$|ed$|ing$)"), "yz"),  # analyse
    ("ence", re.compile(r"ence$"), "ense"),  # defence, licence, offence
    ("ogue", re.compile(r"ogue$"), "og"),  # catalogue
    ("ae", re.compile(r"ae"), "e"),  # paediatric
    ("oe", re.compile(r"oe(?=[a-z])"), "e"),  # manoeuvre
    ("ll", re.compile(r"ll(?=ed$|ing$|er$|ers$)"), "l"),  # travelled, cancelling
    ("mme", re.compile(r"mme$"), "m"),  # programme
)


@lru_cache(maxsize=65536)
def _variant_key(word: str) -> str:
    # cached: the same words recur across a corpus's edits; a pattern runs only where its
    # literal stands (a substring test is far cheaper than a regex that cannot match)
    for literal, pattern, repl in _VARIANTS:
        if literal in word:
            word = pattern.sub(repl, word)
    return word


def _typo(x: str, y: str) -> bool:
    """One edit in a word of at least six letters, same first letter (digits not looked at)."""
    return min(len(x), len(y)) >= 6 and x[0] == y[0] and Levenshtein.distance(x, y) <= 1


def is_spelling_variant(x: str, y: str) -> bool:
    """Two normalized words that are one word spelled two ways (regional variant or typo)."""
    if x == y:
        return True
    if _variant_key(x) == _variant_key(y):
        return True
    # a typo: one edit in a long word, no digits
    return _typo(x, y) and not (_DIGIT.search(x) or _DIGIT.search(y))


def _is_number(word: str) -> bool:
    """A normalized token (letters and digits only) holding a digit, or a number word."""
    return not word.isalpha() or word in NUMBER_WORDS


def _name_like(word: str, surface: str) -> bool:
    return surface[:1].isupper() and word not in STOPWORDS


def classify(a_words: list[str], b_words: list[str], a_surface: list[str], b_surface: list[str]) -> str:
    """The kind of one edit from its normalized words and original surfaces (symmetric in a, b)."""
    if not a_words:
        return "insert"
    if not b_words:
        return "delete"
    if any(map(_is_number, a_words)) or any(map(_is_number, b_words)):
        return "number"
    if len(a_words) == len(b_words) and all(
        is_spelling_variant(x, y) for x, y in zip(a_words, b_words, strict=True)
    ):
        return "spelling"
    if set(a_words) & set(b_words):
        return "rewording"
    names_a = [w for w, s in zip(a_words, a_surface, strict=True) if _name_like(w, s)]
    names_b = [w for w, s in zip(b_words, b_surface, strict=True) if _name_like(w, s)]
    content_a = [w for w in a_words if w not in STOPWORDS]
    content_b = [w for w in b_words if w not in STOPWORDS]
    if names_a and names_b and len(names_a) == len(content_a) and len(names_b) == len(content_b):
        return "name"
    return "rewording"


@lru_cache(maxsize=1 << 16)
def _word(surface: str) -> tuple[str, bool, bool]:
    """(normal form, is a number, looks like a name) of one token's original text; cached, as the
    same words recur across a corpus's edits far more than the same substitutions do."""
    word = normal_form(surface)
    return word, _is_number(word), _name_like(word, surface)


@lru_cache(maxsize=1 << 16)
def _kind_one(a_surface: str, b_surface: str) -> str:
    """``classify`` of one word replaced by one word (nine substitutions in ten), from each word's
    cached facts: the same answer in the same order of tests."""
    x, x_number, x_name = _word(a_surface)
    y, y_number, y_name = _word(b_surface)
    if x_number or y_number:
        return "number"
    # ``is_spelling_variant``, less its digit test: words that are no number are letters only
    if x == y or _variant_key(x) == _variant_key(y) or _typo(x, y):
        return "spelling"
    # x != y here (equal words are a spelling variant): no shared word, so a name replaced by a
    # name (a name-like word is no stopword, so it is the only content word of its side) or other wording
    return "name" if x_name and y_name else "rewording"


@lru_cache(maxsize=1 << 16)
def _kind(a_surface: tuple[str, ...], b_surface: tuple[str, ...]) -> str:
    # cached: the same substitution recurs across the pairs of one family
    return classify(
        [normal_form(s) for s in a_surface],
        [normal_form(s) for s in b_surface],
        list(a_surface),
        list(b_surface),
    )


class Side:
    """One document's token columns as ``explain`` reads them, made once per document: offsets as
    memoryviews (an item read gives a Python int, as a list does, but nothing is converted up front:
    a pair reads a few dozen offsets of a document's hundreds, and ``tolist`` of both columns made
    millions of ints never read), and the hashes as an array, for compiled searches."""

    __slots__ = ("text", "starts", "ends", "harr", "n")

    def __init__(self, text: str, tok: Tokens) -> None:
        self.text = text
        self.starts = np.ascontiguousarray(tok.starts).data
        self.ends = np.ascontiguousarray(tok.ends).data
        self.harr = tok.hashes
        self.n = len(self.starts)

    def span(self, i1: int, i2: int) -> tuple[int, int]:
        """Character span of tokens [i1, i2); an empty token range gives an empty span at a boundary."""
        if i2 > i1:
            return self.starts[i1], self.ends[i2 - 1]
        if i1 < self.n:
            pos = self.starts[i1]
        else:
            pos = self.ends[i1 - 1] if i1 > 0 else 0
        return pos, pos

    def sep_span(self, i: int) -> tuple[int, int]:
        """The non-space characters between token i and token i+1."""
        text = self.text
        lo, hi = self.ends[i], self.starts[i + 1]
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        return lo, hi

    def surfaces(self, i1: int, i2: int) -> tuple[str, ...]:
        if i2 - i1 == 1:  # most edits are one word
            return (self.text[self.starts[i1] : self.ends[i1]],)
        return tuple(map(self.text.__getitem__, map(slice, self.starts[i1:i2], self.ends[i1:i2])))


@numba.njit(cache=True)
def _find_run(hashes: np.ndarray, run: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """(start, length) of the longest occurrence in ``hashes`` of a prefix of the token-hash
    sequence ``run``; occurrences outside the token range ``[lo, hi)`` win ties, then the
    earliest. (-1, 0) if none. Compiled: a run's first word is often a common one, and each of
    its occurrences is extended word by word."""
    n, m = run.shape[0], hashes.shape[0]
    best_len, best_out, best_at = 0, False, -1
    if n == 0:
        return -1, 0
    first = run[0]
    for s in range(m):
        if hashes[s] != first:
            continue
        limit = min(n, m - s)
        length = 1
        while length < limit and hashes[s + length] == run[length]:
            length += 1
        outside = s + length <= lo or s >= hi
        if length > best_len or (length == best_len and outside and not best_out):
            best_len, best_out, best_at = length, outside, s
    return (best_at, best_len) if best_len > 0 else (-1, 0)


def _moved_copy(hashes: np.ndarray, run: np.ndarray, avoid: tuple[int, int]) -> tuple[int, int]:
    """Where a run of words deleted on one side stands on the other: (start, length) when at least
    ``MOVED_MIN_WORDS`` and ``MOVED_SHARE`` of it appear there in order from its first word."""
    at, length = _find_run(hashes, run, avoid[0], avoid[1])
    if at >= 0 and length >= max(MOVED_MIN_WORDS, MOVED_SHARE * run.shape[0]):
        return at, length
    return -1, 0


def explain(text_a: str, ta: Tokens, text_b: str, tb: Tokens, block: Block) -> list[Edit]:
    """Every edit inside one passage, in order of position in ``a``."""
    return _explain(Side(text_a, ta), Side(text_b, tb), block)


def explain_blocks(
    text_a: str,
    ta: Tokens,
    text_b: str,
    tb: Tokens,
    blocks: list[Block],
) -> list[list[Edit]]:
    """``explain`` for every passage of one pair (the token columns are read once)."""
    if not blocks:
        return []
    sa, sb = Side(text_a, ta), Side(text_b, tb)
    return [_explain(sa, sb, blk) for blk in blocks]


_EDIT_ORDER = itemgetter(0, 1, 2, 3, 4)  # (a_start, a_end, b_start, b_end, kind)


def _rows(sa: Side, sb: Side, block: Block) -> list[tuple[int, int, int, int, str, str, str]]:
    """The edits of one passage as rows (a_start, a_end, b_start, b_end, kind, a text, b text),
    sorted (``edit_rows`` gives them in the fields' order of ``Edit``)."""
    edits: list[tuple[int, int, int, int, str, str, str]] = []
    text_a, text_b = sa.text, sb.text
    starts_a, ends_a, starts_b, ends_b = sa.starts, sa.ends, sb.starts, sb.ends
    regions = block.regions
    used: set[int] = set()
    for r, (i1, i2, j1, j2) in enumerate(regions):
        if r in used:
            continue
        if i1 < i2 and j1 < j2:
            # words replaced by other words (most edits): the only kind whose words are read, and
            # one word for one word (nine in ten) is classified from its texts
            a0, a1, b0, b1 = starts_a[i1], ends_a[i2 - 1], starts_b[j1], ends_b[j2 - 1]
            x, y = text_a[a0:a1], text_b[b0:b1]
            if i2 - i1 == 1 and j2 - j1 == 1:
                kind = _kind_one(x, y)
            else:
                kind = _kind(sa.surfaces(i1, i2), sb.surfaces(j1, j2))
            edits.append((a0, a1, b0, b1, kind, x, y))
            continue
        a0, a1 = sa.span(i1, i2)
        b0, b1 = sb.span(j1, j2)
        # a run of words only one side has here, found elsewhere in the other text: moved
        if (j1 == j2 and i2 - i1 >= MOVED_MIN_WORDS) or (i1 == i2 and j2 - j1 >= MOVED_MIN_WORDS):
            if j1 == j2:
                at, n = _moved_copy(sb.harr, sa.harr[i1:i2], (block.b0, block.b1))
                if at >= 0:
                    c0, c1 = sb.span(at, at + n)
                    edits.append((a0, a1, c0, c1, "moved", text_a[a0:a1], text_b[c0:c1]))
                    used |= _counterpart(regions, r, at, at + n, side="b")
                    continue
            else:
                at, n = _moved_copy(sa.harr, sb.harr[j1:j2], (block.a0, block.a1))
                if at >= 0:
                    c0, c1 = sa.span(at, at + n)
                    edits.append((c0, c1, b0, b1, "moved", text_a[c0:c1], text_b[b0:b1]))
                    used |= _counterpart(regions, r, at, at + n, side="a")
                    continue
        # words only one side has are an insert or a delete, whatever they are (what ``classify``
        # says first)
        kind = "insert" if i1 == i2 else "delete"
        edits.append((a0, a1, b0, b1, kind, text_a[a0:a1], text_b[b0:b1]))
    # punctuation and quote style between words that match
    for ia, ib in block.seps:
        a0, a1 = sa.sep_span(ia)
        b0, b1 = sb.sep_span(ib)
        # keep only the differing middle of the two separators
        while a0 < a1 and b0 < b1 and text_a[a0] == text_b[b0]:
            a0, b0 = a0 + 1, b0 + 1
        while a1 > a0 and b1 > b0 and text_a[a1 - 1] == text_b[b1 - 1]:
            a1, b1 = a1 - 1, b1 - 1
        x, y = text_a[a0:a1], text_b[b0:b1]
        kind = "quote" if x.translate(_NO_QUOTES) == y.translate(_NO_QUOTES) else "punctuation"
        edits.append((a0, a1, b0, b1, kind, x, y))
    edits.sort(key=_EDIT_ORDER)
    return edits


EditRow = tuple[str, str, str, int, int, int, int]
"""An edit as the fields of ``Edit`` (kind, a, b, a_start, a_end, b_start, b_end), its similarity
None: what the scan's direct encoder (``write.dumps_pair_rows``) reads."""


def edit_rows(sa: Side, sb: Side, block: Block, swap: bool = False) -> list[EditRow]:
    """``explain`` of one passage as rows, in order (with ``swap``, as ``Edit.swapped`` gives each)."""
    if swap:
        return [
            (SWAPPED_KIND.get(k, k), y, x, b0, b1, a0, a1) for a0, a1, b0, b1, k, x, y in _rows(sa, sb, block)
        ]
    return [(k, x, y, a0, a1, b0, b1) for a0, a1, b0, b1, k, x, y in _rows(sa, sb, block)]


def _explain(sa: Side, sb: Side, block: Block) -> list[Edit]:
    return [new_edit(*e, None) for e in edit_rows(sa, sb, block)]


def _counterpart(regions: list[list[int]], r: int, lo: int, hi: int, side: str) -> set[int]:
    """Regions of the other kind (insert for a delete) that are the moved copy at tokens [lo, hi)."""
    out = set()
    for k, (i1, i2, j1, j2) in enumerate(regions):
        if k == r:
            continue
        if side == "b" and i1 == i2 and j1 == lo and hi <= j2:
            out.add(k)
        if side == "a" and j1 == j2 and i1 == lo and hi <= i2:
            out.add(k)
    return out


def flags(edits: list[Edit]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pair-level flags: the number and name changes inside reused passages, with offsets."""
    numbers = [e.to_dict() for e in edits if e.kind == "number"]
    names = [e.to_dict() for e in edits if e.kind == "name"]
    for d in numbers + names:
        d.pop("kind")
    return numbers, names
