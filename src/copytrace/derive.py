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

import re
from functools import lru_cache

import numba
import numpy as np

from .normalize import Tokens, tokenize
from .types import Derivation, DerivedSide, Fragment, SentenceLink, Settings

# derived share (verbatim + rewritten) of a side's words for each level
WHOLLY = 0.75
PARTIALLY = 0.2

# link tests (see ``_links``); tuned on the Clough & Stevenson answers and the generated
# wire-rewrite corpus (benchmarks/bench_derivation.py), not on the corpus kept for review
TILE_LONG = 8  # a tile this long (words) with TILE_LONG_CONTENT content words links by itself
TILE_LONG_CONTENT = 3
LEX_SHARED = 3  # shared content words for the lexical test
LEX_DICE = 0.3  # weighted Dice for the lexical test
LEX_COVER = 0.35  # and the better-covered side's weighted coverage
MIX_SHARED = 2  # shared content words with a tile of min_fragment words
MIX_DICE = 0.3
VERBATIM_COVER = 0.9
SALIENT = 1.5  # weight factor of numbers and names (``salience``)  # a link whose fragments cover this share of both sentences is verbatim

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
# an end mark, closing quotes or brackets, space, then what a sentence opens with
_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]*[A-Z0-9\u00c0-\u024f])")
_BLANK = re.compile(r"\n[ \t\r\f\v]*\n")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_HAS_WORD = re.compile(r"\w")
SHORT_LINE = 50  # a line break after a line this short (a headline, a dateline) ends a sentence
_LINE_END_MARK = re.compile(r"[.!?:][\"'\u201d\u2019)\]]*\s*$")


_NAME_BEFORE = re.compile(r"[A-Z][\w.'-]*\s+$")


def _initial(text: str, at: int) -> bool:
    """Is the single letter at ``at`` (followed by a period) an initial ("George W. Bush", "J. K.
    Rowling"): an upper-case letter after a capitalised word or another initial, or opening the
    text? ("given A. This" ends a sentence.)"""
    if not text[at].isupper():
        return False
    return at == 0 or _NAME_BEFORE.search(text, max(0, at - 40), at) is not None


def _cut_points(text: str) -> list[int]:
    """Offsets where a new sentence may start (unsorted, may repeat)."""
    cuts = [m.end() for m in _BLANK.finditer(text)]
    for m in _END.finditer(text):
        before = _WORD_BEFORE.search(text, max(0, m.start() - 12), m.start())
        if before is not None and text[m.start()] == ".":
            w = before.group(1).lower()
            if w in _ABBREV or (len(w) == 1 and _initial(text, before.start())):
                continue
        cuts.append(m.end())
    pos = 0
    n = len(text)
    while True:
        nl = text.find("\n", pos)
        if nl < 0:
            break
        line = text[pos:nl]
        stripped = line.strip()
        if stripped and (_LINE_END_MARK.search(line) or len(stripped) < SHORT_LINE):
            cuts.append(nl + 1)
        pos = nl + 1
        if pos >= n:
            break
    return cuts


@lru_cache(maxsize=4096)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The sentences of ``text`` as ``(start, end)`` offsets, whitespace trimmed, in text order;
    pieces without a word are left out."""
    cuts = sorted({0, *_cut_points(text), len(text)})
    out = []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        piece = text[lo:hi]
        if not _HAS_WORD.search(piece):
            continue
        s = lo + (len(piece) - len(piece.lstrip()))
        e = hi - (len(piece) - len(piece.rstrip()))
        out.append((s, e))
    return tuple(out)


def _sentence_of_tokens(spans: tuple[tuple[int, int], ...], starts: np.ndarray) -> np.ndarray:
    """Each token's sentence number (a token belongs to the sentence its start lies in; tokens
    between sentences, which hold no word character, go to the previous one)."""
    if not spans:
        return np.zeros(starts.shape[0], dtype=np.int64)
    bounds = np.fromiter((s for s, _ in spans), dtype=np.int64, count=len(spans))
    return np.maximum(np.searchsorted(bounds, starts, side="right") - 1, 0).astype(np.int64)


@lru_cache(maxsize=1)
def _function_hashes() -> np.ndarray:
    return np.unique(tokenize(" ".join(sorted(FUNCTION_WORDS))).hashes)


def content_mask(tokens: Tokens) -> np.ndarray:
    """True for content words: not function words, not single characters (list markers,
    variables, initials)."""
    return ~np.isin(tokens.hashes, _function_hashes()) & ((tokens.ends - tokens.starts) > 1)


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
def _tiles(ha: np.ndarray, hb: np.ndarray, k: int) -> np.ndarray:
    """Greedy String Tiling: rows (a0, b0, length) of non-overlapping exact runs of >= k tokens,
    longest first (ties: earlier in a, then in b)."""
    ga = _kgrams(ha, k)
    gb = _kgrams(hb, k)
    empty = np.empty((0, 3), dtype=np.int64)
    if ga.shape[0] == 0 or gb.shape[0] == 0:
        return empty
    ob = np.argsort(gb, kind="mergesort")
    sb = gb[ob]
    # matches (i, j) of equal k-grams (a k-gram repeated more than 32 times in b is skipped)
    cap = 4 * (ga.shape[0] + gb.shape[0]) + 16
    mi = np.empty(cap, dtype=np.int64)
    mj = np.empty(cap, dtype=np.int64)
    nm = 0
    for i in range(ga.shape[0]):
        lo = np.searchsorted(sb, ga[i], side="left")
        hi = np.searchsorted(sb, ga[i], side="right")
        if hi - lo > 32:
            continue
        for t in range(lo, hi):
            if nm == cap:
                cap *= 2
                mi2 = np.empty(cap, dtype=np.int64)
                mj2 = np.empty(cap, dtype=np.int64)
                mi2[:nm] = mi[:nm]
                mj2[:nm] = mj[:nm]
                mi, mj = mi2, mj2
            mi[nm] = i
            mj[nm] = ob[t]
            nm += 1
    if nm == 0:
        return empty
    mi = mi[:nm]
    mj = mj[:nm]
    # maximal runs along each diagonal: sort by (j - i, i)
    span = ha.shape[0] + 1
    key = (mj - mi + ha.shape[0]) * span + mi
    order = np.argsort(key, kind="mergesort")
    runs = np.empty((nm, 3), dtype=np.int64)
    nr = 0
    r0 = -1
    prev_key = -10
    for t in range(nm):
        kk = key[order[t]]
        if kk != prev_key + 1:
            if r0 >= 0:
                a0 = mi[order[r0]]
                runs[nr, 0] = a0
                runs[nr, 1] = mj[order[r0]]
                runs[nr, 2] = mi[order[t - 1]] - a0 + k
                nr += 1
            r0 = t
        prev_key = kk
    a0 = mi[order[r0]]
    runs[nr, 0] = a0
    runs[nr, 1] = mj[order[r0]]
    runs[nr, 2] = mi[order[nm - 1]] - a0 + k
    nr += 1
    runs = runs[:nr]
    # greedy: longest first; a run overlapping tiled words is trimmed to its longest free piece
    rkey = np.empty(nr, dtype=np.int64)
    for r in range(nr):
        rkey[r] = -runs[r, 2] * span * span + runs[r, 0] * span + runs[r, 1]
    rorder = np.argsort(rkey, kind="mergesort")
    used_a = np.zeros(ha.shape[0], dtype=np.bool_)
    used_b = np.zeros(hb.shape[0], dtype=np.bool_)
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
def _derive(
    ha: np.ndarray,
    hb: np.ndarray,
    ca: np.ndarray,
    cb: np.ndarray,
    sa: np.ndarray,
    sb: np.ndarray,
    na: int,
    nb: int,
    wa: np.ndarray,
    wb: np.ndarray,
    k: int,
    params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The derivation of a pair of tokenized texts.

    ``ha``/``hb`` token hashes, ``ca``/``cb`` content masks, ``sa``/``sb`` each token's sentence
    (``na``/``nb`` sentences), ``wa``/``wb`` content-word weights (< 0: weigh by inverse sentence
    frequency over the two texts), ``k`` the shortest fragment, ``params`` the link tests.

    Returns (links: rows (i, j, kind, similarity * 1e6), fragments: rows (link, a0, b0, length),
    word class of each token of a and of b (0 new, 1 rewritten, 2 verbatim), tiles)."""
    tile_long, tile_long_content, lex_shared, lex_dice, lex_cover, mix_shared, mix_dice, vcover = (
        params[0],
        params[1],
        params[2],
        params[3],
        params[4],
        params[5],
        params[6],
        params[7],
    )
    n, m = ha.shape[0], hb.shape[0]
    # content words of both sides: ids by sorting their hashes
    nca = 0
    for i in range(n):
        if ca[i]:
            nca += 1
    ncb = 0
    for j in range(m):
        if cb[j]:
            ncb += 1
    allh = np.empty(nca + ncb, dtype=np.uint64)
    side = np.empty(nca + ncb, dtype=np.int64)  # sentence (b's offset by na)
    wt = np.empty(nca + ncb, dtype=np.float64)
    t = 0
    for i in range(n):
        if ca[i]:
            allh[t] = ha[i]
            side[t] = sa[i]
            wt[t] = wa[i]
            t += 1
    for j in range(m):
        if cb[j]:
            allh[t] = hb[j]
            side[t] = na + sb[j]
            wt[t] = wb[j]
            t += 1
    order = np.argsort(allh, kind="mergesort")
    ns = na + nb
    shared_w = np.zeros((na, nb), dtype=np.float64)
    shared_n = np.zeros((na, nb), dtype=np.int64)
    tot_a = np.zeros(na, dtype=np.float64)
    tot_b = np.zeros(nb, dtype=np.float64)
    seen = np.full(ns, -1, dtype=np.int64)
    sl = np.empty(ns, dtype=np.int64)
    g0 = 0
    total = nca + ncb
    group = 0
    while g0 < total:
        g1 = g0 + 1
        while g1 < total and allh[order[g1]] == allh[order[g0]]:
            g1 += 1
        # distinct sentences holding this word
        cnt = 0
        for q in range(g0, g1):
            s = side[order[q]]
            if seen[s] != group:
                seen[s] = group
                sl[cnt] = s
                cnt += 1
        w = wt[order[g0]]
        if w < 0.0:
            # the largest salience any occurrence has, times inverse sentence frequency
            f = 0.0
            for q in range(g0, g1):
                if -wt[order[q]] > f:
                    f = -wt[order[q]]
            w = f * np.log((ns + 1.0) / cnt)
        nsa = 0
        for q in range(cnt):
            if sl[q] < na:
                tot_a[sl[q]] += w
                nsa += 1
            else:
                tot_b[sl[q] - na] += w
        if nsa > 0 and nsa < cnt:
            for q in range(cnt):
                if sl[q] < na:
                    for r in range(cnt):
                        if sl[r] >= na:
                            shared_w[sl[q], sl[r] - na] += w
                            shared_n[sl[q], sl[r] - na] += 1
        group += 1
        g0 = g1
    # tiles, and the tile words (and content words) each sentence pair shares
    tiles = _tiles(ha, hb, k)
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
            elif sn >= lex_shared and d >= lex_dice and cover >= lex_cover:
                ok = True
            elif sn >= mix_shared and tn >= k and tc >= 1 and d >= mix_dice:
                ok = True
            if ok and d <= 0.0:
                d = 1e-6
            if ok:
                dice[i, j] = d
                score[i, j] = d + 1e-6 * tn + 1e-9 * sw
    # keep a passing pair when it is the best of its a sentence or of its b sentence
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
                links[lk, 3] = np.int64(round(dice[i, j] * 1e6))
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
        elif frag_a[lk] >= vcover * len_a[i] and frag_b[lk] >= vcover * len_b[j]:
            links[lk, 2] = 2
        else:
            links[lk, 2] = 1
    for i in range(n):
        if cls_a[i] == 0 and linked_a[sa[i]]:
            cls_a[i] = 1
    for j in range(m):
        if cls_b[j] == 0 and linked_b[sb[j]]:
            cls_b[j] = 1
    return links, frags[:nf], cls_a, cls_b, tiles


# ---------------------------------------------------------------- the pair's derivation


def link_params() -> np.ndarray:
    return np.array(
        [TILE_LONG, TILE_LONG_CONTENT, LEX_SHARED, LEX_DICE, LEX_COVER, MIX_SHARED, MIX_DICE, VERBATIM_COVER],
        dtype=np.float64,
    )


def level(derived: float) -> str:
    """The level of a side from its derived share (verbatim + rewritten)."""
    if derived >= WHOLLY:
        return "wholly"
    if derived >= PARTIALLY:
        return "partially"
    return "non"


def _r(x: float) -> float:
    return round(float(x), 4)


def _side(cls: np.ndarray) -> DerivedSide:
    n = int(cls.shape[0])
    if n == 0:
        return DerivedSide(0.0, 0.0, 1.0, "non", 0)
    counts = np.bincount(cls, minlength=3)
    v, r = _r(counts[2] / n), _r(counts[1] / n)
    new = _r(1.0 - v - r)
    return DerivedSide(v, r, new, level(float(counts[2] + counts[1]) / n), n)


def salience(text: str, tokens: Tokens, sent: np.ndarray) -> np.ndarray:
    """A weight factor per token: ``SALIENT`` for numbers and for names (a capital letter not
    opening its sentence), 1 for other words. Numbers and names are what a rewrite keeps."""
    n = tokens.starts.shape[0]
    out = np.ones(n, dtype=np.float64)
    if n == 0:
        return out
    if text.isascii():
        cps = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    else:
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    first = cps[tokens.starts].astype(np.int64)
    digit = (first >= 48) & (first <= 57)
    upper = ((first >= 65) & (first <= 90)) | ((first >= 192) & (first <= 222) & (first != 215))
    opening = np.ones(n, dtype=np.bool_)
    opening[1:] = sent[1:] != sent[:-1]
    out[digit | (upper & ~opening)] = SALIENT
    return out


class SideInput:
    """What the derivation reads of one text: its tokens, sentences, each token's sentence, its
    content mask and each token's salience (made once per document, kept with the prepared
    document)."""

    __slots__ = ("text", "tokens", "spans", "sent", "content", "salient")

    def __init__(self, text: str, tokens: Tokens) -> None:
        self.text = text
        self.tokens = tokens
        self.spans = sentence_spans(text)
        self.sent = _sentence_of_tokens(self.spans, tokens.starts)
        self.content = content_mask(tokens)
        self.salient = salience(text, tokens, self.sent)


def derive(
    a: SideInput,
    b: SideInput,
    s: Settings,
    weights: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[Derivation, np.ndarray, np.ndarray]:
    """The derivation of ``a`` and ``b`` (``weights``: corpus weights of each side's tokens, or
    None to weigh by the pair alone), and each side's word classes (0 new, 1 rewritten, 2
    verbatim)."""
    ta, tb = a.tokens, b.tokens
    if weights is None:  # inverse sentence frequency over the pair, times salience (negative: to be
        # multiplied in the kernel)
        wa, wb = -a.salient, -b.salient
    else:
        wa, wb = weights[0] * a.salient, weights[1] * b.salient
    na, nb = max(1, len(a.spans)), max(1, len(b.spans))
    links, frags, cls_a, cls_b, _ = _derive(
        ta.hashes,
        tb.hashes,
        a.content,
        b.content,
        a.sent,
        b.sent,
        na,
        nb,
        wa,
        wb,
        s.min_fragment,
        link_params(),
    )
    per_link: list[list[Fragment]] = [[] for _ in range(links.shape[0])]
    for lk, a0, b0, ln in frags.tolist():
        per_link[lk].append(
            Fragment(
                int(ta.starts[a0]), int(ta.ends[a0 + ln - 1]), int(tb.starts[b0]), int(tb.ends[b0 + ln - 1])
            )
        )
    sentences = []
    for lk, (i, j, kind, sim) in enumerate(links.tolist()):
        a0, a1 = a.spans[i] if a.spans else (0, len(a.text))
        b0, b1 = b.spans[j] if b.spans else (0, len(b.text))
        fr = tuple(sorted(per_link[lk], key=lambda f: (f.a_start, f.b_start)))
        sentences.append(SentenceLink(a0, a1, b0, b1, KIND_NAMES[kind], _r(sim / 1e6), fr))
    sentences.sort(key=lambda x: (x.a_start, x.b_start))
    return Derivation(_side(cls_a), _side(cls_b), tuple(sentences)), cls_a, cls_b


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


def document_derivation(tokens: Tokens, sources: list[SourceSpans]) -> dict[str, object]:
    """A document's own derivation from the documents it was made from: the union of its derived
    sentences and fragments across those pairs, its shares and level, and each source's share
    of its words (a story made from two wire takes is wholly derived when the two cover it)."""
    n = int(tokens.starts.shape[0])
    starts = tokens.starts.astype(np.int64)
    derived = np.zeros(n, dtype=np.bool_)
    verbatim = np.zeros(n, dtype=np.bool_)
    shares = []
    for sid, spans, frags in sources:
        mine = _in_spans(starts, spans) | _in_spans(starts, frags)
        derived |= mine
        verbatim |= _in_spans(starts, frags)
        shares.append((sid, _r(mine.sum() / n) if n else 0.0))
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
    lines: list[bytes] | list[str], index_of: dict[str, int]
) -> dict[int, list[SourceSpans]]:
    """Each document's sources from pairs.jsonl lines: for a pair whose direction names its source,
    the copy's derived sentence spans and fragments (its side of the derivation), under the copy's
    input index."""
    import orjson

    out: dict[int, list[SourceSpans]] = {}
    for line in lines:
        raw = line.encode() if isinstance(line, str) else line
        if b'"sentences": [{' not in raw:
            continue
        rec = orjson.loads(raw)
        direc = rec["direction"]
        if direc == "unknown":
            continue
        sents = rec["derivation"]["sentences"]
        side, source, copy = ("b", rec["a"], rec["b"]) if direc == "a_to_b" else ("a", rec["b"], rec["a"])
        spans = [(x[f"{side}_start"], x[f"{side}_end"]) for x in sents]
        frags = [(f[f"{side}_start"], f[f"{side}_end"]) for x in sents for f in x["fragments"]]
        out.setdefault(index_of[copy], []).append((source, spans, frags))
    return out
