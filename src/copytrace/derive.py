"""Sentence derivation: which sentences of one text were made from which of the other, and how.

Journalists seldom copy a wire story in long blocks: they keep quotes, names, numbers and short
fragments, rewrite and condense the sentences around them, merge two into one and reorder. This
stage aligns the sentences of two texts on lexical evidence alone (no model):

1. **Sentences** (``sentence_spans``): cut at end marks followed by a capital or an opening quote
   (abbreviations and initials excepted), at blank lines, and at line breaks after an end mark or
   after a short line (a headline, a dateline): hard-wrapped paragraphs stay whole, one paragraph
   a line splits. Each sentence keeps its ``[start, end)`` offsets.
2. **Verbatim tiles**: exact runs of at least ``min_fragment`` words shared by the two texts, found
   by Greedy String Tiling (Wise 1993; used for news reuse by Clough et al. 2002, METER): the
   longest maximal runs first, each word in at most one tile.
3. **Sentence evidence**: for every sentence pair, the shared content words (not function words)
   weighted by rarity (inverse sentence frequency over the two texts in ``compare``; a scan may give
   corpus weights), as a weighted Dice similarity and each side's weighted coverage, plus the
   tile words the two sentences share.
4. **Links**: a sentence pair is derived when its evidence passes one of three tests (a long tile;
   enough shared rare words; some shared rare words and a tile), and it is the best candidate of
   its sentence on at least one side: so a sentence merged from two (or split into two) links to
   both, and order does not matter.
5. **Shares**: every word of a side is ``verbatim`` (inside a fragment: a tile clipped to a linked
   sentence pair, at least ``min_fragment`` words), ``rewritten`` (in a linked sentence, not
   verbatim) or ``new``. ``level``: ``wholly`` when the derived share (verbatim + rewritten) is at
   least ``WHOLLY``, ``partially`` when at least ``PARTIALLY``, else ``non`` (the three levels of
   Clough et al. 2002; thresholds set on the dev data, see docs/relations.md).

The kernel (``_derive``) is compiled; what stays in Python per pair is the sentence cut (a regular
expression, C speed) and the assembly of the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numba
import numpy as np

from .normalize import SINGLE, WORD, Tokens, _classify, tables, tokenize
from .types import Derivation, DerivedSide, Fragment, SentenceLink, Settings

# derived share (verbatim + rewritten) of a side's words for each level
WHOLLY = 0.75
PARTIALLY = 0.2
# a pair with no literal passage derives when it has this many linked sentence pairs (and one side
# is at least partially derived: ``Derived.significant``)
MIN_LINKS = 2
MIN_BIGRAMS = 8  # and shares this many pairs of neighbouring content words (``may_derive``)

# link tests (see ``_derive``); tuned on the Clough & Stevenson answers and the generated
# wire-rewrite corpus (benchmarks/bench_derivation.py), not on the corpus kept for review
TILE_LONG = 8  # a tile this long (words) with TILE_LONG_CONTENT content words links by itself
TILE_LONG_CONTENT = 3
LEX_SHARED = 3  # shared content words for the lexical test
LEX_DICE = 0.3  # weighted Dice for the lexical test
LEX_COVER = 0.35  # and the better-covered side's weighted coverage
LEX_PLAIN = 2  # of the shared content words, plain ones (not names: stories on one topic share names)
MIX_SHARED = 2  # shared plain words (and plain words in the tile) with a tile of min_fragment words
MIX_DICE = 0.3
VERBATIM_COVER = 0.9  # a link whose fragments cover this share of either sentence is verbatim
ALONG_COVER = 0.9  # a pair whose literal alignment matches this share of the longer text's words is
# derived along that alignment (``_derive_along``: near-duplicates, most of a scan's pairs)
SALIENT = 1.5  # weight factor of numbers and names (``_token_columns``)
COMMON_MIN = 8  # a word in more than COMMON_SHARE of a pair's sentences, and more than COMMON_MIN,
COMMON_SHARE = 0.3  # is left out of the pair's sentence similarities

KIND_NAMES = ("rewritten", "partly_verbatim", "verbatim")

FUNCTION_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either even ever
    few for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just many may me might more most much must my myself neither no nor not
    now of off on once only or other ought our ours ourselves out over own per rather same shall she
    should since so some such than that the their theirs them themselves then there these they this
    those though through thus to too under until up upon us very was we were what when where whether
    which while who whom whose why will with within without would yet you your yours yourself
    yourselves said says say saying told according mr mrs ms also one two three""".split()
)

# ---------------------------------------------------------------- sentences

_ABBREV = frozenset(
    """mr mrs ms dr prof sen rep gov gen col lt sgt capt cmdr adm st jr sr mt ft no nos vs etc inc
    corp co ltd plc bros dept est approx fig jan feb mar apr jun jul aug sep sept oct nov dec mon tue
    wed thu fri sat sun u.s u.k u.n e.g i.e a.m p.m""".split()
)
SHORT_LINE = 50  # a line break after a line this short (a headline, a dateline) ends a sentence
MAX_SENTENCE_WORDS = 80  # a longer run without an end mark is cut into pieces
_OPENERS = np.array([ord(c) for c in "\"'\u201c\u2018(["], dtype=np.int64)
_CLOSERS = np.array([ord(c) for c in "\"'\u201d\u2019)]"], dtype=np.int64)
_SPACES = np.array([9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
                    0x205F, 0x3000], dtype=np.int64)  # fmt: skip


@numba.njit(cache=True)
def _is(c: int, table: np.ndarray) -> bool:
    for x in table:
        if c == x:
            return True
    return False


@numba.njit(cache=True)
def _space(c: int) -> bool:
    """``c`` in ``_SPACES``, the ASCII ones tested first (the sentence cut asks of most characters)."""
    if c < 0x85:
        return c == 32 or 9 <= c <= 13
    return _is(c, _SPACES)


@numba.njit(cache=True)
def _letter(c: int) -> bool:
    return (65 <= c <= 90) or (97 <= c <= 122)


@numba.njit(cache=True)
def _wordchar(c: int) -> bool:
    """``\\w`` as far as sentences need it: ASCII letters and digits, ``_``, and letters past
    ASCII (the Latin-1 signs and general punctuation are not)."""
    if (48 <= c <= 57) or _letter(c) or c == 95:
        return True
    return (
        c >= 0xC0 and c != 0xD7 and c != 0xF7 and not (0x2000 <= c <= 0x206F) and not (0x3000 <= c <= 0x303F)
    )


@numba.njit(cache=True)
def _word_hash(cps: np.ndarray, lo: int, hi: int) -> np.uint64:
    """A hash of ``cps[lo:hi]`` lower-cased (ASCII letters): abbreviations are looked up by it."""
    x = np.uint64(1469598103934665603)
    for p in range(lo, hi):
        c = cps[p]
        if 65 <= c <= 90:
            c += 32
        x = (x ^ np.uint64(c)) * np.uint64(1099511628211)
    return x


@numba.njit(cache=True)
def _sorted_has(arr: np.ndarray, x: np.uint64) -> bool:
    k = np.searchsorted(arr, x)
    return k < arr.shape[0] and arr[k] == x


@numba.njit(cache=True)
def _set_has(slots: np.ndarray, x: np.uint64) -> bool:
    """``x`` in a ``_hash_set`` (open addressing on the hash's low bits: one or two probes, where
    a binary search over the function words took eight, per token)."""
    mask = slots.shape[0] - 1
    p = np.int64(x & np.uint64(mask))
    while slots[p] != 0:
        if slots[p] == x:
            return True
        p = (p + 1) & mask
    return False


def _hash_set(keys: np.ndarray) -> np.ndarray:
    """The slots of an open-addressing set over nonzero 64-bit hashes, at most 1/8 full."""
    size = 16
    while size < 8 * keys.shape[0]:
        size *= 2
    slots = np.zeros(size, dtype=np.uint64)
    for x in keys.tolist():
        p = x & (size - 1)
        while slots[p] != 0 and slots[p] != x:
            p = (p + 1) & (size - 1)
        slots[p] = x
    return slots


@numba.njit(cache=True)
def _initial_at(cps: np.ndarray, at: int) -> bool:
    """Is the single letter at ``at`` (followed by a period) an initial ("George W. Bush", "J. K.
    Rowling"): an upper-case letter opening the text, or after spaces that follow a word holding
    a capital (a name, another initial)? "given A. This" ends a sentence."""
    if not (65 <= cps[at] <= 90):
        return False
    if at == 0:
        return True
    p = at - 1
    lo = max(0, at - 40)
    if p < lo or not _space(cps[p]):
        return False
    while p >= lo and _space(cps[p]):
        p -= 1
    while p >= lo and (_wordchar(cps[p]) or cps[p] == 46 or cps[p] == 39 or cps[p] == 45):
        if 65 <= cps[p] <= 90:
            return True
        p -= 1
    return False


@numba.njit(cache=True)
def _initial_next(cps: np.ndarray, p: int) -> bool:
    """Do spaces at ``p`` lead to another initial (a capital and a period: "J. K. Rowling")?"""
    n = cps.shape[0]
    if p >= n or not _space(cps[p]):
        return False
    while p < n and _space(cps[p]):
        p += 1
    return p + 1 < n and 65 <= cps[p] <= 90 and cps[p + 1] == 46


@numba.njit(cache=True)
def _abbreviated(cps: np.ndarray, e: int, abbrev: np.ndarray) -> bool:
    """Does the period at ``e`` end an abbreviation ("Mr.", "U.S.", "Jan.") or an initial rather
    than a sentence? The word before it: letters and periods, at most 12 characters back."""
    lo = max(0, e - 12)
    w = e
    while w > lo and (_letter(cps[w - 1]) or cps[w - 1] == 46):
        w -= 1
    while w < e and not _letter(cps[w]):
        w += 1
    if w >= e:
        return False
    if _sorted_has(abbrev, _word_hash(cps, w, e)):
        return True
    return e - w == 1 and (_initial_at(cps, w) or _initial_next(cps, e + 1))


@numba.njit(cache=True)
def _spans(
    cps: np.ndarray, abbrev: np.ndarray, short_line: int, cls_table: np.ndarray, opens: np.ndarray
) -> np.ndarray:
    """Sentence spans (rows start, end) of a text's code points (see ``sentence_spans``;
    ``cls_table``: the tokenizer's character classes, ``opens``: which characters of the Basic
    Multilingual Plane may open a sentence)."""
    n = cps.shape[0]
    cut = np.zeros(n + 1, dtype=np.bool_)
    # line breaks: after a blank line, after an end mark, after a short line
    line0 = 0
    for p in range(n + 1):
        if p < n and cps[p] != 10:
            continue
        if p == n:
            break
        # the line [line0, p)
        first = line0
        while first < p and (cps[first] == 32 or cps[first] == 9):
            first += 1
        if first == p or cps[first] == 13:
            cut[p + 1] = True  # a blank line (or a line of spaces) ends what stands before it
        else:
            if p - first < short_line:
                # a short line (a headline, a dateline) ends a sentence when the next line opens
                # one and this one does not run on (a hyphen, a comma)
                last = p - 1
                while last > first and (cps[last] == 32 or cps[last] == 9 or cps[last] == 13):
                    last -= 1
                nxt = p + 1
                while nxt < n and (cps[nxt] == 32 or cps[nxt] == 9):
                    nxt += 1
                while nxt < n and _is(cps[nxt], _OPENERS):
                    nxt += 1
                runs_on = cps[last] == 45 or cps[last] == 44 or cps[last] == 0x2010
                runs_on = runs_on or (cps[last] == 46 and _abbreviated(cps, last, abbrev))
                if not runs_on and nxt < n and cps[nxt] < 0x10000 and opens[cps[nxt]]:
                    cut[p + 1] = True
            q = p - 1
            while q >= first and (cps[q] == 32 or cps[q] == 9 or cps[q] == 13):
                q -= 1
            while q >= first and _is(cps[q], _CLOSERS):
                q -= 1
            if q >= first and (cps[q] == 46 or cps[q] == 33 or cps[q] == 63 or cps[q] == 58):
                # (a hard wrap right after "U.K." or "Mr." ends no sentence)
                if not (cps[q] == 46 and (q + 1 >= p or cps[q + 1] == 32) and _abbreviated(cps, q, abbrev)):
                    cut[p + 1] = True
        line0 = p + 1
    # end marks: [.!?]+ closers*, then spaces, openers* and a capital or a digit
    p = 0
    while p < n:
        c = cps[p]
        if not (c == 46 or c == 33 or c == 63):
            p += 1
            continue
        e = p
        while p < n and (cps[p] == 46 or cps[p] == 33 or cps[p] == 63):
            p += 1
        while p < n and _is(cps[p], _CLOSERS):
            p += 1
        end = p
        q = p
        if q >= n or not _space(cps[q]):
            continue
        while q < n and _space(cps[q]):
            q += 1
        while q < n and _is(cps[q], _OPENERS):
            q += 1
        if q >= n:
            continue
        d = cps[q]
        if d >= 0x10000 or not opens[d]:
            continue
        if cps[e] == 46 and end == e + 1 and _abbreviated(cps, e, abbrev):
            continue
        cut[end] = True
    # pieces between cuts, trimmed, holding a word character
    out = np.empty((n // 2 + 2, 2), dtype=np.int64)
    ns = 0
    lo = 0
    for p in range(1, n + 1):
        if not cut[p] and p < n:
            continue
        a, b = lo, p
        while a < b and _space(cps[a]):
            a += 1
        while b > a and _space(cps[b - 1]):
            b -= 1
        has = False
        for x in range(a, b):
            kind = _classify(cps[x], cls_table)
            if kind == WORD or kind == SINGLE:
                has = True
                break
        if has:
            out[ns, 0] = a
            out[ns, 1] = b
            ns += 1
        lo = p
    return out[:ns]


@lru_cache(maxsize=1)
def _opens() -> np.ndarray:
    """Which characters of the Basic Multilingual Plane may open a sentence: capitals (any
    script), title-case letters and digits."""
    chars = [chr(c) for c in range(0x10000)]
    return np.array([c.isupper() or c.istitle() or c.isdigit() for c in chars], dtype=np.bool_)


def _codes(text: str) -> np.ndarray:
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@lru_cache(maxsize=1)
def _abbrev_hashes() -> np.ndarray:
    return np.unique(
        np.array(
            [_word_hash(np.array([ord(c) for c in w], dtype=np.uint32), 0, len(w)) for w in _ABBREV],
            dtype=np.uint64,
        )
    )


def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The sentences of ``text`` as the derivation reads them, ``(start, end)`` offsets with
    whitespace trimmed, in text order; pieces without a word are left out. A sentence ends at an
    end mark followed by spaces and a capital, a digit or an opening quote (not after an
    abbreviation or an initial), at a blank line, at a line break after an end mark (one paragraph
    a line) and after a line shorter than ``SHORT_LINE`` (a headline, a dateline); hard-wrapped
    lines of a paragraph stay together, and a sentence holds its words whole."""
    spans = SideInput(text, tokenize(text)).span_array.tolist()
    # (a text without a sentence gets one span over all of it, for the kernel: not a sentence)
    return tuple((a, b) for a, b in spans if a < b and not text[a:b].isspace())


@lru_cache(maxsize=1)
def _function_hashes() -> np.ndarray:
    """The function words' token hashes as a ``_hash_set``."""
    return _hash_set(np.unique(tokenize(" ".join(sorted(FUNCTION_WORDS))).hashes))


@numba.njit(cache=True)
def _token_columns(
    cps: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    spans: np.ndarray,
    function: np.ndarray,
    salient: float,
    opens: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each token's sentence (the one its start lies in; tokens between sentences go to the one
    before), whether it is a content word (not a function word, longer than one character), its
    salience (``salient`` for a number, or a capitalised word not opening its sentence; else 1)
    and whether it is a plain content word (a content word that is not such a name)."""
    n = starts.shape[0]
    sent = np.zeros(n, dtype=np.int64)
    content = np.zeros(n, dtype=np.bool_)
    plain = np.zeros(n, dtype=np.bool_)
    sal = np.ones(n, dtype=np.float64)
    k = 0
    ns = spans.shape[0]
    prev = -1
    for t in range(n):
        while k + 1 < ns and starts[t] >= spans[k + 1, 0]:
            k += 1
        sent[t] = k
        content[t] = ends[t] - starts[t] > 1 and not _set_has(function, hashes[t])
        c = cps[starts[t]]
        if 48 <= c <= 57:
            sal[t] = salient
        elif k == prev and c < 0x10000 and opens[c]:
            sal[t] = salient
            prev = k
            continue
        plain[t] = content[t]
        prev = k
    return sent, content, sal, plain


@numba.njit(cache=True)
def _cap_sentences(
    spans: np.ndarray, sent: np.ndarray, starts: np.ndarray, ends: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sentences of more than ``cap`` words (text without end marks: a list, a table, a page of
    one long line) cut into near-equal pieces of at most ``cap`` words, at word boundaries."""
    n, ns = starts.shape[0], spans.shape[0]
    count = np.zeros(ns, dtype=np.int64)
    for t in range(n):
        count[sent[t]] += 1
    pieces = 0
    for q in range(ns):
        pieces += max(1, -(-count[q] // cap))
    if pieces == ns:
        return spans, sent
    out = np.empty((pieces, 2), dtype=np.int64)
    new_sent = np.empty(n, dtype=np.int64)
    r = 0
    t = 0
    for q in range(ns):
        c = count[q]
        parts = max(1, -(-c // cap))
        if parts == 1:
            out[r, 0], out[r, 1] = spans[q, 0], spans[q, 1]
            for x in range(t, t + c):
                new_sent[x] = r
            r += 1
            t += c
            continue
        size = -(-c // parts)
        for p in range(parts):
            t0, t1 = t + p * size, min(t + (p + 1) * size, t + c)
            out[r, 0] = spans[q, 0] if p == 0 else starts[t0]
            out[r, 1] = spans[q, 1] if p == parts - 1 else ends[t1 - 1]
            for x in range(t0, t1):
                new_sent[x] = r
            r += 1
        t += c
    return out, new_sent


@numba.njit(cache=True)
def _side_tables(
    cps: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    abbrev: np.ndarray,
    function: np.ndarray,
    short_line: int,
    salient: float,
    cls_table: np.ndarray,
    opens: np.ndarray,
) -> Any:
    """Everything the derivation reads of one text, in one compiled call: sentence spans, each
    token's sentence, content mask, salience and plain-word mask (``_token_columns``)."""
    spans = _spans(cps, abbrev, short_line, cls_table, opens)
    if spans.shape[0] == 0:  # no sentence: one span over the text, trimmed, for the kernel
        spans = np.zeros((1, 2), dtype=np.int64)
        a, b = 0, cps.shape[0]
        while a < b and _space(cps[a]):
            a += 1
        while b > a and _space(cps[b - 1]):
            b -= 1
        spans[0, 0] = a
        spans[0, 1] = b
    sent, content, sal, plain = _token_columns(cps, starts, ends, hashes, spans, function, salient, opens)
    # a sentence holds its words whole: a word joined across a cut ("opposi-\ntion" after a short
    # line) or past the sentence's end stretches it, and the next one starts after it
    ns = spans.shape[0]
    for t in range(starts.shape[0]):
        k0 = sent[t]
        if ends[t] > spans[k0, 1]:
            spans[k0, 1] = ends[t]
            q = k0 + 1
            while q < ns and spans[q, 0] < ends[t]:
                x = min(ends[t], spans[q, 1])
                while x < spans[q, 1] and _space(cps[x]):
                    x += 1
                spans[q, 0] = x
                q += 1
    spans, sent = _cap_sentences(spans, sent, starts, ends, MAX_SENTENCE_WORDS)
    return spans, sent, plain, sal, content


class SideInput:
    """What the derivation reads of one text: its tokens, sentences (``span_array``, rows start,
    end), each token's sentence, plain-word mask (content words but names) and salience
    (``_side_tables``), made once per document and kept with the prepared document for all its
    pairs; and, the first time a pair's derivation is searched for (``_derive``; not for a pair
    derived along its literal alignment, ``_derive_along``), its distinct content words
    (``words``), its k-grams and, for the text that is looked up in, a ``_table`` over them. The
    derivation of the text with an identical copy of itself (exact duplicates: a wire story
    syndicated whole) is kept once made (``derive``)."""

    __slots__ = (
        "text",
        "tokens",
        "k",
        "span_array",
        "sent",
        "plain",
        "salient",
        "_content",
        "_words",
        "_grams",
        "_table",
        "_self",
    )

    def __init__(self, text: str, tokens: Tokens, k: int = 4) -> None:
        self.text = text
        self.tokens = tokens
        self.k = k
        (self.span_array, self.sent, self.plain, self.salient, self._content) = _side_tables(
            _codes(text),
            tokens.starts,
            tokens.ends,
            tokens.hashes,
            _abbrev_hashes(),
            _function_hashes(),
            SHORT_LINE,
            SALIENT,
            tables()[0],
            _opens(),
        )
        self._words: Any = None
        self._grams: Any = None
        self._table: Any = None
        self._self: dict[tuple[int, bool, bool], Derived] = {}

    @property
    def words(self) -> Any:
        """Its distinct content words (``_words``)."""
        if self._words is None:
            self._words = _words(self.tokens.hashes, self._content, self.sent, self.salient, self.plain)
        return self._words

    @property
    def n_sentences(self) -> int:
        return int(self.span_array.shape[0])

    def _at(self, k: int) -> None:
        if k != self.k or self._grams is None:
            self.k, self._grams, self._table = k, _kgrams(self.tokens.hashes, k), None

    def grams(self, k: int) -> np.ndarray:
        """Its k-gram hashes."""
        self._at(k)
        return self._grams

    def table(self, k: int) -> Any:
        """A ``_table`` over its k-gram hashes."""
        self._at(k)
        if self._table is None:
            self._table = _table(self._grams)
        return self._table


@numba.njit(cache=True)
def _bigrams_into(
    hashes: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    lo: int,
    hi: int,
    function: np.ndarray,
    out: np.ndarray,
) -> int:
    """Writes into ``out`` (from 0) the keys of the pairs of neighbouring content words of tokens
    ``[lo, hi)`` (function words and single characters skipped between them), unordered, sorted;
    returns their count."""
    k = 0
    prev = np.uint64(0)
    have = False
    for t in range(lo, hi):
        h = hashes[t]
        if ends[t] - starts[t] <= 1 or _set_has(function, h):
            continue
        if have:
            a, b = (prev, h) if prev < h else (h, prev)
            out[k] = (a * np.uint64(0x9E3779B97F4A7C15)) ^ b
            k += 1
        prev = h
        have = True
    out[:k] = np.sort(out[:k])
    return k


@numba.njit(cache=True)
def _bigram_keys(
    hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray, function: np.ndarray
) -> np.ndarray:
    """``_bigrams_into`` of one text's tokens."""
    out = np.empty(max(hashes.shape[0], 1), dtype=np.uint64)
    return out[: _bigrams_into(hashes, starts, ends, 0, hashes.shape[0], function, out)].copy()


@numba.njit(cache=True)
def _bigram_keys_many(
    hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray, bounds: np.ndarray, function: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``_bigrams_into`` of each text of a batch (text ``d``: tokens ``[bounds[d], bounds[d + 1])``)
    in one call: (all the keys, text ``d``'s at ``[off[d], off[d + 1])``)."""
    nd = bounds.shape[0] - 1
    keys = np.empty(max(hashes.shape[0], 1), dtype=np.uint64)
    off = np.zeros(nd + 1, dtype=np.int64)
    for d in range(nd):
        off[d + 1] = off[d] + _bigrams_into(
            hashes, starts, ends, bounds[d], bounds[d + 1], function, keys[off[d] :]
        )
    return keys[: off[nd]], off


@numba.njit(cache=True)
def _shared_distinct(a: np.ndarray, b: np.ndarray) -> int:
    """Distinct values two sorted arrays share."""
    i = j = 0
    count = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] < b[j]:
            i += 1
        elif b[j] < a[i]:
            j += 1
        else:
            x = a[i]
            count += 1
            while i < a.shape[0] and a[i] == x:
                i += 1
            while j < b.shape[0] and b[j] == x:
                j += 1
    return count


def content_bigrams(tokens: Tokens) -> np.ndarray:
    """The pairs of neighbouring content words of a text (sorted keys): what a rewrite
    keeps of its source besides single words (names, "bank cards", "bedside lockers")."""
    return _bigram_keys(tokens.hashes, tokens.starts, tokens.ends, _function_hashes())


def content_bigrams_many(
    hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray, bounds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``content_bigrams`` of each text of a batch of tokens (text ``d``'s tokens at ``[bounds[d],
    bounds[d + 1])``) in one compiled call: (keys, offsets), text ``d``'s keys at ``[off[d],
    off[d + 1])``."""
    return _bigram_keys_many(hashes, starts, ends, bounds, _function_hashes())


def may_derive(a: np.ndarray, b: np.ndarray) -> bool:
    """Can two texts that share no literal passage hold a derivation worth reporting? Only when
    they share at least ``MIN_BIGRAMS`` pairs of neighbouring content words (``content_bigrams``):
    a story rewritten from another keeps dozens (the generated corpus: 14 or more for 95% of
    partially derived stories, Clough & Stevenson's heavy revisions 10 or more), two stories
    sharing a byline or an attribution a handful. A cheap test that spares the derivation of the
    many candidate pairs of a scan with neither a passage nor a rewrite."""
    return _shared_distinct(a, b) >= MIN_BIGRAMS


# ---------------------------------------------------------------- compiled kernel


@numba.njit(cache=True)
def _kgrams(h: np.ndarray, k: int) -> np.ndarray:
    n = h.shape[0] - k + 1
    out = np.empty(max(n, 0), dtype=np.uint64)
    for i in range(max(n, 0)):
        x = np.uint64(0)
        for j in range(k):
            x = x * np.uint64(0x100000001B3) + h[i + j] + np.uint64(j)
        out[i] = x ^ (x >> np.uint64(29))
    return out


@numba.njit(cache=True)
def _table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """An open-addressing hash table over ``keys`` (64-bit hashes, so their low bits are the
    slot): (slot keys, slot heads: the last index holding the key or -1, each index's previous
    index with the same key or -1, the mask). A chain lists a key's indices newest first."""
    n = keys.shape[0]
    size = 16
    while size < 2 * n:
        size *= 2
    mask = size - 1
    tk = np.zeros(size, dtype=np.uint64)
    head = np.full(size, -1, dtype=np.int64)
    prev = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        x = keys[i]
        p = np.int64(x & np.uint64(mask))
        while head[p] != -1 and tk[p] != x:
            p = (p + 1) & mask
        if head[p] == -1:
            tk[p] = x
        else:
            prev[i] = head[p]
        head[p] = i
    return tk, head, prev, mask


@numba.njit(cache=True)
def _find(tk: np.ndarray, head: np.ndarray, mask: int, x: np.uint64) -> int:
    """The head of ``x``'s chain in a ``_table``, or -1."""
    p = np.int64(x & np.uint64(mask))
    while head[p] != -1:
        if tk[p] == x:
            return head[p]
        p = (p + 1) & mask
    return -1


@numba.njit(cache=True)
def _tiles(
    ga: np.ndarray, na: int, nb: int, tk: np.ndarray, head: np.ndarray, prev: np.ndarray, mask: int, k: int
) -> np.ndarray:
    """Greedy String Tiling: rows (a0, b0, length) of non-overlapping exact runs of >= k tokens,
    longest first (ties: earlier in a, then in b). ``ga``: a's k-gram hashes; b's k-grams as a
    ``_table``; ``na``/``nb`` the token counts."""
    empty = np.empty((0, 3), dtype=np.int64)
    mb = nb - k + 1
    if ga.shape[0] == 0 or mb <= 0:
        return empty
    # maximal runs along diagonals, found in one pass over a: a match (i, j) extends the run
    # through (i - 1, j - 1) (a k-gram repeated more than 32 times in b is passed over)
    last_i = np.full(mb, -2, dtype=np.int64)
    run_of = np.zeros(mb, dtype=np.int64)
    cap = 64
    runs = np.empty((cap, 3), dtype=np.int64)
    nr = 0
    for i in range(ga.shape[0]):
        t = _find(tk, head, mask, ga[i])
        seen = 0
        while t >= 0:
            seen += 1
            if seen > 32:
                break
            t_next = prev[t]
            j = t
            if j > 0 and last_i[j - 1] == i - 1:
                r = run_of[j - 1]
                runs[r, 2] += 1
            else:
                if nr == cap:
                    cap *= 2
                    bigger = np.empty((cap, 3), dtype=np.int64)
                    bigger[:nr] = runs[:nr]
                    runs = bigger
                r = nr
                runs[r, 0] = i
                runs[r, 1] = j
                runs[r, 2] = k
                nr += 1
            last_i[j] = i
            run_of[j] = r
            t = t_next
    if nr == 0:
        return empty
    runs = runs[:nr]
    # greedy: longest first; a run overlapping tiled words is trimmed to its longest free piece
    span = max(na, nb) + 1
    rkey = np.empty(nr, dtype=np.int64)
    for r in range(nr):
        rkey[r] = (-runs[r, 2] * span + runs[r, 0]) * span + runs[r, 1]
    rorder = np.argsort(rkey)
    used_a = np.zeros(na, dtype=np.bool_)
    used_b = np.zeros(nb, dtype=np.bool_)
    out = np.empty((nr, 3), dtype=np.int64)
    no = 0
    for r in rorder:
        a0, b0, ln = runs[r, 0], runs[r, 1], runs[r, 2]
        best0 = -1
        bestn = 0
        cur0 = -1
        for t in range(ln + 1):
            free = t < ln and not used_a[a0 + t] and not used_b[b0 + t]
            if free:
                if cur0 < 0:
                    cur0 = t
            elif cur0 >= 0:
                if t - cur0 > bestn:
                    best0, bestn = cur0, t - cur0
                cur0 = -1
        if bestn >= k:
            for t in range(best0, best0 + bestn):
                used_a[a0 + t] = True
                used_b[b0 + t] = True
            out[no, 0] = a0 + best0
            out[no, 1] = b0 + best0
            out[no, 2] = bestn
            no += 1
    return out[:no]


@numba.njit(cache=True)
def _words(
    hashes: np.ndarray, content: np.ndarray, sent: np.ndarray, sal: np.ndarray, plain: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """A text's distinct content words: (their hashes in order of first use, each one's salience
    (the largest of its uses), whether any use is a name (a capital not opening its sentence), CSR
    offsets and list of the distinct sentences holding each, a
    ``_table`` over the hashes (slot keys, heads; a hash's head is its word number), mask)."""
    n = hashes.shape[0]
    nk = 0
    keys = np.empty(n, dtype=np.uint64)
    for t in range(n):
        if content[t]:
            keys[nk] = hashes[t]
            nk += 1
    tk, head, prev, mask = _table(keys[:nk])
    # word numbers: a hash's first use; ``prev`` chains its uses newest first
    first = np.empty(nk, dtype=np.int64)
    for q in range(nk):
        first[q] = q if prev[q] < 0 else first[prev[q]]
    number = np.full(nk, -1, dtype=np.int64)
    nw = 0
    for q in range(nk):
        if first[q] == q:
            number[q] = nw
            nw += 1
    ukeys = np.empty(nw, dtype=np.uint64)
    usal = np.zeros(nw, dtype=np.float64)
    uname = np.zeros(nw, dtype=np.bool_)
    count = np.zeros(nw, dtype=np.int64)
    last = np.full(nw, -1, dtype=np.int64)
    word = np.empty(nk, dtype=np.int64)
    q = 0
    for t in range(n):
        if content[t]:
            g = number[first[q]]
            word[q] = g
            ukeys[g] = hashes[t]
            if sal[t] > usal[g]:
                usal[g] = sal[t]
            if not plain[t]:
                uname[g] = True
            if last[g] != sent[t]:  # a text's tokens run in sentence order
                last[g] = sent[t]
                count[g] += 1
            q += 1
    off = np.zeros(nw + 1, dtype=np.int64)
    for g in range(nw):
        off[g + 1] = off[g] + count[g]
    lst = np.empty(off[nw], dtype=np.int64)
    fill = off[:nw].copy()
    last[:] = -1
    q = 0
    for t in range(n):
        if content[t]:
            g = word[q]
            if last[g] != sent[t]:
                last[g] = sent[t]
                lst[fill[g]] = sent[t]
                fill[g] += 1
            q += 1
    # the table's heads as word numbers
    for p in range(head.shape[0]):
        if head[p] >= 0:
            head[p] = number[first[head[p]]]
    return ukeys, usal, uname, off, lst, tk, head, mask


@numba.njit(cache=True)
def _derive(
    ha: np.ndarray,
    hb: np.ndarray,
    ca: np.ndarray,
    cb: np.ndarray,
    sa: np.ndarray,
    sb: np.ndarray,
    na: int,
    nb: int,
    wa: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
    wb: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
    ga: np.ndarray,
    gb: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    k: int,
    params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The derivation of a pair of tokenized texts.

    ``ha``/``hb`` token hashes, ``ca``/``cb`` content masks, ``sa``/``sb`` each token's sentence
    (``na``/``nb`` sentences), ``wa``/``wb`` each text's ``_words``, ``ga`` a's k-gram hashes,
    ``gb`` b's k-grams as a ``_table``, ``k`` the shortest fragment, ``params`` the link tests
    (``link_params``). Content words weigh their salience times their inverse sentence
    frequency over the two texts; a word in more than ``COMMON_SHARE`` of the pair's sentences
    (and more than ``COMMON_MIN``) is left out: it says little and costs the most.

    Returns (links: rows (i, j, kind, similarity * 1e4), fragments: rows (link, a0, b0, length),
    word class of each token of a and of b (0 new, 1 rewritten, 2 verbatim), tiles)."""
    tile_long, tile_long_content, lex_shared, lex_dice, lex_cover = (
        params[0],
        params[1],
        params[2],
        params[3],
        params[4],
    )
    mix_shared, mix_dice, vcover, common_min, common_share = (
        params[5],
        params[6],
        params[7],
        params[8],
        params[9],
    )
    lex_plain = params[10]
    n, m = ha.shape[0], hb.shape[0]
    ns = na + nb
    keys_a, sal_a, name_a, off_a, lst_a, _, _, _ = wa
    keys_b, sal_b, name_b, off_b, lst_b, tk_b, head_b, mask_b = wb
    ua, ub = keys_a.shape[0], keys_b.shape[0]
    # each word of a's partner in b, and each word's weight (by its sentence frequency in both)
    partner = np.full(ua, -1, dtype=np.int64)
    taken = np.zeros(ub, dtype=np.bool_)
    w_a = np.zeros(ua, dtype=np.float64)
    w_b = np.zeros(ub, dtype=np.float64)
    for g in range(ua):
        h = _find(tk_b, head_b, mask_b, keys_a[g])
        c = off_a[g + 1] - off_a[g]
        sal = sal_a[g]
        if h >= 0:
            partner[g] = h
            taken[h] = True
            c += off_b[h + 1] - off_b[h]
            if sal_b[h] > sal:
                sal = sal_b[h]
        if c > common_min and c > common_share * ns:
            continue
        w = sal * np.log((ns + 1.0) / c)
        w_a[g] = w
        if h >= 0:
            w_b[h] = w
    for h in range(ub):
        if not taken[h]:
            c = off_b[h + 1] - off_b[h]
            if c > common_min and c > common_share * ns:
                continue
            w_b[h] = sal_b[h] * np.log((ns + 1.0) / c)
    shared_w = np.zeros((na, nb), dtype=np.float64)
    shared_n = np.zeros((na, nb), dtype=np.int64)
    shared_p = np.zeros((na, nb), dtype=np.int64)  # shared plain words (not names)
    tot_a = np.zeros(na, dtype=np.float64)
    tot_b = np.zeros(nb, dtype=np.float64)
    for g in range(ua):
        w = w_a[g]
        if w <= 0.0:
            continue
        for q in range(off_a[g], off_a[g + 1]):
            tot_a[lst_a[q]] += w
        h = partner[g]
        if h < 0:
            continue
        is_plain = not (name_a[g] or name_b[h])
        for q in range(off_a[g], off_a[g + 1]):
            x = lst_a[q]
            for r in range(off_b[h], off_b[h + 1]):
                y = lst_b[r]
                shared_w[x, y] += w
                shared_n[x, y] += 1
                if is_plain:
                    shared_p[x, y] += 1
    for h in range(ub):
        w = w_b[h]
        if w > 0.0:
            for r in range(off_b[h], off_b[h + 1]):
                tot_b[lst_b[r]] += w
    # tiles, and the tile words (and content words) each sentence pair shares
    tiles = _tiles(ga, n, m, gb[0], gb[1], gb[2], gb[3], k)
    tile_n = np.zeros((na, nb), dtype=np.int64)
    tile_c = np.zeros((na, nb), dtype=np.int64)
    for r in range(tiles.shape[0]):
        a0, b0, ln = tiles[r, 0], tiles[r, 1], tiles[r, 2]
        for x in range(ln):
            tile_n[sa[a0 + x], sb[b0 + x]] += 1
            if ca[a0 + x]:
                tile_c[sa[a0 + x], sb[b0 + x]] += 1
    # the tests and a score per sentence pair
    score = np.zeros((na, nb), dtype=np.float64)
    dice = np.zeros((na, nb), dtype=np.float64)
    len_a = np.zeros(na, dtype=np.int64)
    len_b = np.zeros(nb, dtype=np.int64)
    for i in range(n):
        len_a[sa[i]] += 1
    for j in range(m):
        len_b[sb[j]] += 1
    for i in range(na):
        for j in range(nb):
            sw = shared_w[i, j]
            tn = tile_n[i, j]
            if sw <= 0.0 and tn == 0:
                continue
            den = tot_a[i] + tot_b[j]
            d = 2.0 * sw / den if den > 0 else 0.0
            cover = 0.0
            if tot_a[i] > 0:
                cover = sw / tot_a[i]
            if tot_b[j] > 0 and sw / tot_b[j] > cover:
                cover = sw / tot_b[j]
            sn = shared_n[i, j]
            tc = tile_c[i, j]
            ok = False
            if tn >= tile_long and tc >= tile_long_content:
                ok = True
            elif tn >= k and tn >= vcover * max(len_a[i], len_b[j]):
                ok = True  # the same sentence (a short one, or one of names: "Both are owned by Hk Hotels.")
            elif sn >= lex_shared and shared_p[i, j] >= lex_plain and d >= lex_dice and cover >= lex_cover:
                ok = True
            elif (
                sn >= mix_shared
                and shared_p[i, j] >= mix_shared
                and tn >= k
                and tc >= mix_shared
                and d >= mix_dice
            ):
                ok = True
            if ok and d <= 0.0:
                d = 1e-6
            if ok:
                dice[i, j] = d
                score[i, j] = d + 1e-6 * tn + 1e-9 * sw
    link_id, links = _best_links(score, dice)
    links, frags, cls_a, cls_b = _finish(tiles, sa, sb, n, m, na, nb, link_id, links, len_a, len_b, k, vcover)
    return links, frags, cls_a, cls_b, tiles


@numba.njit(cache=True)
def _best_links(score: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The links among the sentence pairs that pass (``score`` > 0): a pair is kept when it is the
    best of its a sentence or of its b sentence. Returns (``link_id[i, j]``: the link of sentences
    i and j or -1, links: rows (i, j, kind (0 for now), ``sim`` * 1e4)), in (i, j) order."""
    na, nb = score.shape
    best_a = np.zeros(na, dtype=np.float64)
    best_b = np.zeros(nb, dtype=np.float64)
    for i in range(na):
        for j in range(nb):
            if score[i, j] > best_a[i]:
                best_a[i] = score[i, j]
            if score[i, j] > best_b[j]:
                best_b[j] = score[i, j]
    nl = 0
    link_id = np.full((na, nb), -1, dtype=np.int64)
    for i in range(na):
        for j in range(nb):
            if score[i, j] > 0 and (score[i, j] >= best_a[i] or score[i, j] >= best_b[j]):
                link_id[i, j] = nl
                nl += 1
    links = np.zeros((nl, 4), dtype=np.int64)
    for i in range(na):
        for j in range(nb):
            lk = link_id[i, j]
            if lk >= 0:
                links[lk, 0] = i
                links[lk, 1] = j
                links[lk, 3] = np.int64(round(sim[i, j] * 1e4))
    return link_id, links


@numba.njit(cache=True)
def _finish(
    tiles: np.ndarray,
    sa: np.ndarray,
    sb: np.ndarray,
    n: int,
    m: int,
    na: int,
    nb: int,
    link_id: np.ndarray,
    links: np.ndarray,
    len_a: np.ndarray,
    len_b: np.ndarray,
    k: int,
    vcover: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fragments, each link's kind and each word's class, from the tiles (rows a0, b0,
    length) and the links (``link_id[i, j]``: the link of sentences i and j, or -1)."""
    nl = links.shape[0]
    # fragments: tiles cut at sentence boundaries on either side, kept inside linked pairs
    frags = np.empty((tiles.shape[0] * 4 + 8, 4), dtype=np.int64)
    nf = 0
    cls_a = np.zeros(n, dtype=np.int64)
    cls_b = np.zeros(m, dtype=np.int64)
    frag_a = np.zeros(nl, dtype=np.int64)
    frag_b = np.zeros(nl, dtype=np.int64)
    for r in range(tiles.shape[0]):
        a0, b0, ln = tiles[r, 0], tiles[r, 1], tiles[r, 2]
        x0 = 0
        for x in range(1, ln + 1):
            if x == ln or sa[a0 + x] != sa[a0 + x0] or sb[b0 + x] != sb[b0 + x0]:
                seg = x - x0
                lk = link_id[sa[a0 + x0], sb[b0 + x0]]
                if seg >= k and lk >= 0:
                    if nf == frags.shape[0]:
                        bigger = np.empty((nf * 2, 4), dtype=np.int64)
                        bigger[:nf] = frags[:nf]
                        frags = bigger
                    frags[nf, 0] = lk
                    frags[nf, 1] = a0 + x0
                    frags[nf, 2] = b0 + x0
                    frags[nf, 3] = seg
                    nf += 1
                    frag_a[lk] += seg
                    frag_b[lk] += seg
                    for y in range(x0, x):
                        cls_a[a0 + y] = 2
                        cls_b[b0 + y] = 2
                x0 = x
    # linked sentences are derived; their words not in a fragment are rewritten
    linked_a = np.zeros(na, dtype=np.bool_)
    linked_b = np.zeros(nb, dtype=np.bool_)
    for lk in range(nl):
        linked_a[links[lk, 0]] = True
        linked_b[links[lk, 1]] = True
        i, j = links[lk, 0], links[lk, 1]
        if frag_a[lk] == 0:
            links[lk, 2] = 0
        elif frag_a[lk] >= vcover * len_a[i] or frag_b[lk] >= vcover * len_b[j]:
            links[lk, 2] = 2
        else:
            links[lk, 2] = 1
    for i in range(n):
        if cls_a[i] == 0 and linked_a[sa[i]]:
            cls_a[i] = 1
    for j in range(m):
        if cls_b[j] == 0 and linked_b[sb[j]]:
            cls_b[j] = 1
    return links, frags[:nf], cls_a, cls_b


@numba.njit(cache=True)
def _derive_along(
    ha: np.ndarray,
    hb: np.ndarray,
    sa: np.ndarray,
    sb: np.ndarray,
    na: int,
    nb: int,
    gaps: np.ndarray,
    k: int,
    vcover: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The derivation of a pair whose literal alignment covers nearly all of both texts
    (``ALONG_COVER``), read off that alignment instead of searched for: ``gaps`` rows (i0, i1, j0,
    j1) are the stretches between the alignment's edits (``pipeline._along``), and the equal
    words along each are the tiles. Sentences i and j link when they share ``k`` aligned words (or
    are aligned nearly whole: a short sentence) and are the best pair of i or of j; the
    similarity is the Dice coefficient of their aligned words. Fragments, kinds and classes as
    ``_derive`` makes them. Returns what ``_derive`` returns."""
    n, m = ha.shape[0], hb.shape[0]
    tiles = np.empty((max(gaps.shape[0], 1) * 2, 3), dtype=np.int64)
    nt = 0
    for g in range(gaps.shape[0]):
        i, i1, j, j1 = gaps[g, 0], min(gaps[g, 1], n), gaps[g, 2], min(gaps[g, 3], m)
        run0 = -1
        while True:
            eq = i < i1 and j < j1 and ha[i] == hb[j]
            if eq and run0 < 0:
                run0 = i
                rb = j
            elif not eq and run0 >= 0:
                if nt == tiles.shape[0]:
                    bigger = np.empty((nt * 2, 3), dtype=np.int64)
                    bigger[:nt] = tiles[:nt]
                    tiles = bigger
                tiles[nt, 0], tiles[nt, 1], tiles[nt, 2] = run0, rb, i - run0
                nt += 1
                run0 = -1
            if i >= i1 or j >= j1:
                break
            i += 1
            j += 1
    tiles = tiles[:nt]
    tile_n = np.zeros((na, nb), dtype=np.int64)
    for r in range(nt):
        a0, b0, ln = tiles[r, 0], tiles[r, 1], tiles[r, 2]
        for x in range(ln):
            tile_n[sa[a0 + x], sb[b0 + x]] += 1
    len_a = np.zeros(na, dtype=np.int64)
    len_b = np.zeros(nb, dtype=np.int64)
    for i in range(n):
        len_a[sa[i]] += 1
    for j in range(m):
        len_b[sb[j]] += 1
    score = np.zeros((na, nb), dtype=np.float64)
    sim = np.zeros((na, nb), dtype=np.float64)
    for i in range(na):
        for j in range(nb):
            tn = tile_n[i, j]
            if tn >= k or (tn >= 2 and tn >= vcover * max(len_a[i], len_b[j])):
                score[i, j] = tn
                sim[i, j] = 2.0 * tn / (len_a[i] + len_b[j])
    link_id, links = _best_links(score, sim)
    links, frags, cls_a, cls_b = _finish(tiles, sa, sb, n, m, na, nb, link_id, links, len_a, len_b, k, vcover)
    return links, frags, cls_a, cls_b, tiles


# ---------------------------------------------------------------- the pair's derivation


def link_params() -> np.ndarray:
    """The link tests' thresholds as the kernel reads them."""
    return np.array(
        [
            TILE_LONG,
            TILE_LONG_CONTENT,
            LEX_SHARED,
            LEX_DICE,
            LEX_COVER,
            MIX_SHARED,
            MIX_DICE,
            VERBATIM_COVER,
            COMMON_MIN,
            COMMON_SHARE,
            LEX_PLAIN,
        ],
        dtype=np.float64,
    )


_PARAMS = link_params()


def level(derived: float) -> str:
    """The level of a side from its derived share (verbatim + rewritten)."""
    if derived >= WHOLLY:
        return "wholly"
    if derived >= PARTIALLY:
        return "partially"
    return "non"


def _r(x: float) -> float:
    return round(float(x), 4)


@numba.njit(cache=True)
def _assemble(
    links: np.ndarray,
    frags: np.ndarray,
    starts_a: np.ndarray,
    ends_a: np.ndarray,
    starts_b: np.ndarray,
    ends_b: np.ndarray,
    spans_a: np.ndarray,
    spans_b: np.ndarray,
    swap: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The links and fragments in character offsets, ``a`` and ``b`` exchanged with ``swap``:
    links as rows (a_start, a_end, b_start, b_end, kind, similarity * 1e4, first fragment, end of
    its fragments), sorted by (a_start, b_start); fragments as rows (a_start, a_end, b_start,
    b_end), each link's sorted by (a_start, b_start)."""
    nl = links.shape[0]
    rows = np.empty((nl, 8), dtype=np.int64)
    for lk in range(nl):
        i, j = links[lk, 0], links[lk, 1]
        a0, a1, b0, b1 = spans_a[i, 0], spans_a[i, 1], spans_b[j, 0], spans_b[j, 1]
        if swap:
            a0, a1, b0, b1 = b0, b1, a0, a1
        rows[lk, 0] = a0
        rows[lk, 1] = a1
        rows[lk, 2] = b0
        rows[lk, 3] = b1
        rows[lk, 4] = links[lk, 2]
        rows[lk, 5] = links[lk, 3]
    nf = frags.shape[0]
    fr = np.empty((nf, 5), dtype=np.int64)
    for f in range(nf):
        lk, x0, y0, ln = frags[f, 0], frags[f, 1], frags[f, 2], frags[f, 3]
        a0, a1 = starts_a[x0], ends_a[x0 + ln - 1]
        b0, b1 = starts_b[y0], ends_b[y0 + ln - 1]
        if swap:
            a0, a1, b0, b1 = b0, b1, a0, a1
        fr[f, 0] = lk
        fr[f, 1] = a0
        fr[f, 2] = a1
        fr[f, 3] = b0
        fr[f, 4] = b1
    order = np.argsort(rows[:, 0] * (1 << 31) + rows[:, 2], kind="mergesort")
    rank = np.empty(nl, dtype=np.int64)
    for r in range(nl):
        rank[order[r]] = r
    forder = np.argsort((rank[fr[:, 0]] * (1 << 31) + fr[:, 1]) * (1 << 31) + fr[:, 3], kind="mergesort")
    out_l = np.empty((nl, 8), dtype=np.int64)
    out_f = np.empty((nf, 4), dtype=np.int64)
    for r in range(nl):
        out_l[r, :6] = rows[order[r], :6]
        out_l[r, 6] = 0
        out_l[r, 7] = 0
    for q in range(nf):
        f = forder[q]
        out_f[q, :] = fr[f, 1:]
        r = rank[fr[f, 0]]
        if out_l[r, 7] == 0:
            out_l[r, 6] = q
        out_l[r, 7] = q + 1
    return out_l, out_f


_KIND_JSON = tuple(
    np.frombuffer(f'"kind": "{k}", "similarity": '.encode(), dtype=np.uint8).copy() for k in KIND_NAMES
)


@numba.njit(cache=True)
def _put(buf: np.ndarray, at: int, piece: np.ndarray) -> int:
    for q in range(piece.shape[0]):
        buf[at + q] = piece[q]
    return at + piece.shape[0]


@numba.njit(cache=True)
def _put_int(buf: np.ndarray, at: int, x: int) -> int:
    if x == 0:
        buf[at] = 48
        return at + 1
    digits = np.empty(20, dtype=np.uint8)
    nd = 0
    while x > 0:
        digits[nd] = 48 + x % 10
        x //= 10
        nd += 1
    for q in range(nd):
        buf[at + q] = digits[nd - 1 - q]
    return at + nd


@numba.njit(cache=True)
def _put_share(buf: np.ndarray, at: int, q: int) -> int:
    """``repr(q / 1e4)`` for 0 <= q <= 10000: "0.0", "1.0", "0.0123", "0.5"."""
    if q >= 10000:
        buf[at], buf[at + 1], buf[at + 2] = 49, 46, 48
        return at + 3
    buf[at], buf[at + 1] = 48, 46
    at += 2
    if q == 0:
        buf[at] = 48
        return at + 1
    d = np.empty(4, dtype=np.uint8)
    x = q
    for p in range(3, -1, -1):
        d[p] = 48 + x % 10
        x //= 10
    last = 3
    while d[last] == 48:
        last -= 1
    for p in range(last + 1):
        buf[at + p] = d[p]
    return at + last + 1


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8).copy()


_K_AS, _K_AE, _K_BS, _K_BE = (
    _bytes(x) for x in ('{"a_start": ', ', "a_end": ', ', "b_start": ', ', "b_end": ')
)
_FRAGS_KEY = _bytes(', "fragments": [')


@numba.njit(cache=True)
def _open_span(buf: np.ndarray, at: int, a0: int, a1: int, b0: int, b1: int) -> int:
    """``{"a_start": a0, "a_end": a1, "b_start": b0, "b_end": b1`` (left open)."""
    at = _put(buf, at, _K_AS)
    at = _put_int(buf, at, a0)
    at = _put(buf, at, _K_AE)
    at = _put_int(buf, at, a1)
    at = _put(buf, at, _K_BS)
    at = _put_int(buf, at, b0)
    at = _put(buf, at, _K_BE)
    return _put_int(buf, at, b1)


@numba.njit(cache=True)
def _sentences_json(
    links: np.ndarray, frags: np.ndarray, k_rew: np.ndarray, k_part: np.ndarray, k_verb: np.ndarray
) -> np.ndarray:
    """The JSON array of a derivation's sentence links (``Derived`` rows), as ``json.dumps`` of
    ``SentenceLink.to_dict()`` writes it, in ASCII bytes."""
    nl, nf = links.shape[0], frags.shape[0]
    buf = np.empty(64 + nl * 260 + nf * 100, dtype=np.uint8)
    at = 0
    buf[at] = 91  # [
    at += 1
    for lk in range(nl):
        if lk:
            buf[at], buf[at + 1] = 44, 32
            at += 2
        at = _open_span(buf, at, links[lk, 0], links[lk, 1], links[lk, 2], links[lk, 3])
        buf[at], buf[at + 1] = 44, 32
        at += 2
        kind = links[lk, 4]
        at = _put(buf, at, k_rew if kind == 0 else (k_part if kind == 1 else k_verb))
        at = _put_share(buf, at, links[lk, 5])
        at = _put(buf, at, _FRAGS_KEY)
        for f in range(links[lk, 6], links[lk, 7]):
            if f > links[lk, 6]:
                buf[at], buf[at + 1] = 44, 32
                at += 2
            at = _open_span(buf, at, frags[f, 0], frags[f, 1], frags[f, 2], frags[f, 3])
            buf[at] = 125
            at += 1
        buf[at], buf[at + 1] = 93, 125  # ]}
        at += 2
    buf[at] = 93
    return buf[: at + 1]


def _counts(cls: np.ndarray) -> tuple[int, int, int]:
    """(verbatim, rewritten, total) words of a side from its word classes."""
    c = np.bincount(cls, minlength=3)
    return int(c[2]), int(c[1]), int(cls.shape[0])


def side_of(verbatim: int, rewritten: int, n: int) -> DerivedSide:
    """A side's shares and level from its word counts."""
    if n == 0:
        return DerivedSide(0.0, 0.0, 1.0, "non", 0)
    v, r = _r(verbatim / n), _r(rewritten / n)
    return DerivedSide(v, r, _r(1.0 - v - r), level((verbatim + rewritten) / n), n)


class Derived:
    """A pair's derivation as arrays (``derive``): ``links`` rows (a_start, a_end, b_start, b_end,
    kind, similarity * 1e4, first fragment, end of its fragments), ``frags`` rows (a_start, a_end,
    b_start, b_end) and each side's (verbatim, rewritten, total) word counts. The scan writes its
    JSON from these (``write``), ``compare`` makes the record (``record``)."""

    __slots__ = ("links", "frags", "a", "b", "cls_a", "cls_b")

    def __init__(
        self,
        links: np.ndarray,
        frags: np.ndarray,
        cls_a: np.ndarray,
        cls_b: np.ndarray,
    ):
        self.links = links
        self.frags = frags
        self.cls_a = cls_a  # each word's class (0 new, 1 rewritten, 2 verbatim)
        self.cls_b = cls_b
        self.a = _counts(cls_a)
        self.b = _counts(cls_b)

    @property
    def any(self) -> bool:
        return bool(self.links.shape[0])

    @property
    def significant(self) -> bool:
        """Enough evidence that one text was made from the other without a literal passage: at
        least ``MIN_LINKS`` linked sentence pairs and one side at least ``partially`` derived. A
        single shared attribution ("..., said Maria Smith, a minister at the") or a byline is
        not."""
        if self.links.shape[0] < MIN_LINKS:
            return False
        return (
            max((self.a[0] + self.a[1]) / max(1, self.a[2]), (self.b[0] + self.b[1]) / max(1, self.b[2]))
            >= PARTIALLY
        )

    @staticmethod
    def none(n: int, m: int) -> Derived:
        """No derived sentence between texts of ``n`` and ``m`` words."""
        return Derived(
            np.zeros((0, 8), dtype=np.int64),
            np.zeros((0, 4), dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            np.zeros(m, dtype=np.int64),
        )

    def cleared(self) -> Derived:
        """No derived sentence: every word new."""
        return Derived(self.links[:0], self.frags[:0], np.zeros_like(self.cls_a), np.zeros_like(self.cls_b))

    def with_links(self, a: SideInput, b: SideInput, extra: list[tuple[int, int, float]]) -> Derived:
        """With sentence links decided elsewhere (the embedding model under ``--semantic``):
        ``extra`` holds (sentence of a, sentence of b, similarity); a pair of sentences neither of
        which is linked yet becomes a ``rewritten`` link, its words rewritten."""
        linked_a = {
            int(np.searchsorted(a.span_array[:, 0], x, side="right")) - 1 for x in self.links[:, 0].tolist()
        }
        linked_b = {
            int(np.searchsorted(b.span_array[:, 0], x, side="right")) - 1 for x in self.links[:, 2].tolist()
        }
        rows = [list(r) for r in self.links.tolist()]
        cls_a, cls_b = self.cls_a.copy(), self.cls_b.copy()
        for i, j, sim in sorted(extra, key=lambda x: (-x[2], x[0], x[1])):
            if i in linked_a or j in linked_b:
                continue
            linked_a.add(i)
            linked_b.add(j)
            a0, a1 = a.span_array[i].tolist()
            b0, b1 = b.span_array[j].tolist()
            rows.append([a0, a1, b0, b1, 0, int(round(sim * 1e4)), 0, 0])
            cls_a[(a.sent == i) & (cls_a == 0)] = 1
            cls_b[(b.sent == j) & (cls_b == 0)] = 1
        rows.sort(key=lambda r: (r[0], r[2]))
        return Derived(np.array(rows, dtype=np.int64).reshape(-1, 8), self.frags, cls_a, cls_b)

    def sides(self) -> tuple[DerivedSide, DerivedSide]:
        return side_of(*self.a), side_of(*self.b)

    def sentences_json(self) -> str:
        """The JSON array of its sentence links (``SentenceLink.to_dict`` as ``json.dumps`` writes it)."""
        if not self.links.shape[0]:
            return "[]"
        return _sentences_json(self.links, self.frags, *_KIND_JSON).tobytes().decode("ascii")

    def record(self) -> Derivation:
        frags = [Fragment(*f) for f in self.frags.tolist()]
        links = tuple(
            SentenceLink(a0, a1, b0, b1, KIND_NAMES[kind], sim / 1e4, tuple(frags[f0:f1]))
            for a0, a1, b0, b1, kind, sim, f0, f1 in self.links.tolist()
        )
        sa, sb = self.sides()
        return Derivation(sa, sb, links)


def derive(
    a: SideInput, b: SideInput, s: Settings, swap: bool = False, along: np.ndarray | None = None
) -> Derived:
    """The derivation of ``a`` and ``b``; with ``swap``, given as the derivation of ``b`` and
    ``a``. ``along``: for a pair whose literal alignment covers nearly all of both texts, the
    stretches between its edits (``_derive_along``)."""
    if a is b:  # a text and its exact copy: made once for all the copies' pairs
        key = (s.min_fragment, swap, along is not None)
        got = a._self.get(key)
        if got is None:
            got = a._self[key] = _derive_pair(a, a, s, swap, along)
        return got
    return _derive_pair(a, b, s, swap, along)


def _derive_pair(a: SideInput, b: SideInput, s: Settings, swap: bool, along: np.ndarray | None) -> Derived:
    ta, tb = a.tokens, b.tokens
    if along is not None:
        links, frags, cls_a, cls_b, _ = _derive_along(
            ta.hashes,
            tb.hashes,
            a.sent,
            b.sent,
            a.n_sentences,
            b.n_sentences,
            along,
            s.min_fragment,
            VERBATIM_COVER,
        )
        return _derived(a, b, links, frags, cls_a, cls_b, swap)
    ga = a.grams(s.min_fragment)
    gb = b.table(s.min_fragment)
    links, frags, cls_a, cls_b, _ = _derive(
        ta.hashes,
        tb.hashes,
        a.plain,
        b.plain,
        a.sent,
        b.sent,
        a.n_sentences,
        b.n_sentences,
        a.words,
        b.words,
        ga,
        gb,
        s.min_fragment,
        _PARAMS,
    )
    return _derived(a, b, links, frags, cls_a, cls_b, swap)


def _derived(
    a: SideInput,
    b: SideInput,
    links: np.ndarray,
    frags: np.ndarray,
    cls_a: np.ndarray,
    cls_b: np.ndarray,
    swap: bool,
) -> Derived:
    ta, tb = a.tokens, b.tokens
    rows, fr = _assemble(
        links, frags, ta.starts, ta.ends, tb.starts, tb.ends, a.span_array, b.span_array, swap
    )
    return Derived(rows, fr, cls_b, cls_a) if swap else Derived(rows, fr, cls_a, cls_b)


# ---------------------------------------------------------------- a document's own derivation


def _in_spans(starts: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """For tokens starting at ``starts``: inside one of ``spans`` (half-open character ranges)?"""
    inside = np.zeros(starts.shape[0], dtype=np.bool_)
    if not spans:
        return inside
    arr = np.array(sorted(spans), dtype=np.int64)
    # the last span starting at or before each token, and the furthest end reached up to it
    reach = np.maximum.accumulate(arr[:, 1])
    k = np.searchsorted(arr[:, 0], starts, side="right") - 1
    ok = k >= 0
    inside[ok] = starts[ok] < reach[k[ok]]
    return inside


SourceSpans = tuple[str, list[tuple[int, int]], list[tuple[int, int]]]
"""(source id, the derived sentence spans, the verbatim fragment spans) of one document."""


SIBLING_SHARE = 0.8  # a source whose words in a document its own source explains this much is a sibling


def document_derivation(
    tokens: Tokens, sources: list[SourceSpans], parents: dict[str, set[str]] | None = None
) -> dict[str, object]:
    """A document's own derivation from the documents it was made from: the union of its derived
    sentences and fragments across those pairs, its shares and level, and each source's share
    of its words (a story made from two wire takes is wholly derived when the two cover it).

    ``parents``: each document's own sources. A source S that was itself made from another source
    W of this document, and whose derived words here W covers (``SIBLING_SHARE`` of them), is a
    sibling (two papers rewriting one wire story, one printed a day later): left out."""
    n = int(tokens.starts.shape[0])
    starts = tokens.starts.astype(np.int64)
    mine = {}
    for sid, spans, frags in sources:
        fr = _in_spans(starts, frags)
        mine[sid] = (_in_spans(starts, spans) | fr, fr)
    if parents:
        keep = {}
        for sid, (got, fr) in mine.items():
            sib = False
            for w in parents.get(sid, ()):
                if w in mine and w != sid:
                    both = int((got & mine[w][0]).sum())
                    if both >= SIBLING_SHARE * max(1, int(got.sum())):
                        sib = True
                        break
            if not sib:
                keep[sid] = (got, fr)
        mine = keep
    derived = np.zeros(n, dtype=np.bool_)
    verbatim = np.zeros(n, dtype=np.bool_)
    shares = []
    for sid, (got, fr) in mine.items():
        derived |= got
        verbatim |= fr
        shares.append((sid, _r(got.sum() / n) if n else 0.0))
    shares.sort(key=lambda x: (-x[1], x[0]))
    if n == 0:
        v = r = 0.0
    else:
        v = _r(verbatim.sum() / n)
        r = _r((derived & ~verbatim).sum() / n)
    return {
        "verbatim": v,
        "rewritten": r,
        "new": _r(1.0 - v - r),
        "level": level(float(derived.sum()) / n) if n else "non",
        "sources": [{"id": sid, "share": sh} for sid, sh in shares if sh > 0.0],
    }


NO_SOURCE = {"verbatim": 0.0, "rewritten": 0.0, "new": 1.0, "level": "non", "sources": []}


def sources_from_pairs(
    lines: Iterable[bytes] | Iterable[str], index_of: dict[str, int]
) -> tuple[dict[int, list[SourceSpans]], dict[str, set[str]]]:
    """Each document's sources from pairs.jsonl lines: for a pair whose direction names its source,
    the copy's derived sentence spans and fragments (its side of the derivation), under the copy's
    input index; and each document's source ids (``document_derivation``'s ``parents``)."""
    import orjson

    out: dict[int, list[SourceSpans]] = {}
    parents: dict[str, set[str]] = {}
    for line in lines:
        raw = line.encode() if isinstance(line, str) else line
        if b'"sentences": [{' not in raw or b'"direction": "unknown"' in raw[:4096]:
            continue  # (the direction stands near the line's start, before the passages)
        rec = orjson.loads(raw)
        direc = rec["direction"]
        if direc == "unknown":
            continue
        sents = rec["derivation"]["sentences"]
        side, source, copy = ("b", rec["a"], rec["b"]) if direc == "a_to_b" else ("a", rec["b"], rec["a"])
        spans = [(x[f"{side}_start"], x[f"{side}_end"]) for x in sents]
        frags = [(f[f"{side}_start"], f[f"{side}_end"]) for x in sents for f in x["fragments"]]
        out.setdefault(index_of[copy], []).append((source, spans, frags))
        parents.setdefault(copy, set()).add(source)
    return out, parents
