"""Align two documents: seed-and-extend over shared n-grams, chain, then word-level edit alignment.

1. Seeds: every position pair ``(i, j)`` whose word n-grams hash equal (n-grams repeated more
   than ``MAX_OCCURRENCES`` times in a document are skipped: tables, refrains).
2. Runs: seeds on one diagonal with consecutive positions merge into exact runs.
3. Chaining: collinear runs are chained by dynamic programming (the local chaining of
   BLAST-style aligners; passim's "alignment of reprinted passages", Smith, Cordell & Mullen
   2015, does the same with a banded aligner) when the gap between them is at most ``max_gap``
   words on both sides; the best chain is taken, runs overlapping it are dropped, repeat.
4. Each chain is extended at both ends (X-drop), chains within ``max_gap`` words merge, and a
   word-level Levenshtein alignment inside (``levenshtein.equal_runs``) gives the equal runs and
   the regions between them that ``explain`` reads. A passage needs ``min_words - ngram + 1``
   words inside exact n-gram runs (a cheap test that rejects chance matches before any
   alignment) and ``min_words`` matched words in all.

Everything is compiled with numba; from the seeds on, one call per pair (``_pair_blocks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import cast

import numba
import numpy as np
from rapidfuzz.distance import Levenshtein

from .candidates import insertion_pass
from .levenshtein import MAX_CELLS, equal_runs
from .normalize import Tokens
from .types import slot_builder

MAX_OCCURRENCES = 8
# regions of a passage at most this many equal words apart that reorder the same words are one
# edit (``_explain_rows``; ``explain`` reads the regions)
MERGE_GAP = 2


@numba.njit(cache=True)
def _match_ranges(
    sorted_a: np.ndarray, order_a: np.ndarray, sorted_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For every n-gram i of ``a``: [lo, hi) of the equal hashes in ``sorted_b`` (what
    ``searchsorted`` left/right gives; an empty range, (0, 0), where none is equal), by one merge
    of the two sorted arrays (a sort-merge join: linear, where a binary search per n-gram cost
    most of the seeding). Equal hashes are rare between two documents, so the merge steps past
    unequal ones without a branch (the comparison is added to the index it advances), as the
    branch-free merges of sorted-set intersection do (Inoue et al., VLDB 2014)."""
    n_a, n_b = sorted_a.shape[0], sorted_b.shape[0]
    lo = np.zeros(n_a, dtype=np.int64)
    hi = np.zeros(n_a, dtype=np.int64)
    p = 0
    k = 0
    while k < n_a and p < n_b:
        x = sorted_a[k]
        y = sorted_b[p]
        if x == y:
            q = p + 1
            while q < n_b and sorted_b[q] == x:
                q += 1
            while k < n_a and sorted_a[k] == x:
                lo[order_a[k]] = p
                hi[order_a[k]] = q
                k += 1
            p = q
        else:
            below = int(x < y)
            k += below
            p += 1 - below
    return lo, hi


@numba.njit(cache=True)
def _runs(
    sorted_a: np.ndarray,
    order_a: np.ndarray,
    occ_a: np.ndarray,
    sorted_b: np.ndarray,
    order_b: np.ndarray,
    nb: int,
    max_occ: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact diagonal runs of equal n-gram hashes: (i0, j0, length) in n-gram units.

    One pass over the seeds in order of ``i``: a seed (i, j) extends the run holding (i-1, j-1)."""
    lo, hi = _match_ranges(sorted_a, order_a, sorted_b)
    n_a = lo.shape[0]
    cap = 0
    for i in range(n_a):
        c = hi[i] - lo[i]
        if c > 0 and c <= max_occ and occ_a[i] <= max_occ:
            cap += c
    ri = np.empty(cap, dtype=np.int64)
    rj = np.empty(cap, dtype=np.int64)
    rl = np.empty(cap, dtype=np.int64)
    prev = np.full(nb + 1, -1, dtype=np.int64)  # run of seed (i-1, j) stored at j
    cur = np.full(nb + 1, -1, dtype=np.int64)
    prev_js = np.empty(max_occ, dtype=np.int64)
    cur_js = np.empty(max_occ, dtype=np.int64)
    n_prev = 0
    r = 0
    for i in range(n_a):
        c = hi[i] - lo[i]
        n_cur = 0
        if c > 0 and c <= max_occ and occ_a[i] <= max_occ:
            for t in range(lo[i], hi[i]):
                j = order_b[t]
                run = prev[j - 1] if j > 0 else -1
                if run >= 0:
                    rl[run] += 1
                else:
                    run = r
                    ri[r] = i
                    rj[r] = j
                    rl[r] = 1
                    r += 1
                cur[j] = run
                cur_js[n_cur] = j
                n_cur += 1
        for k in range(n_prev):
            prev[prev_js[k]] = -1
        for k in range(n_cur):
            prev[cur_js[k]] = cur[cur_js[k]]
            cur[cur_js[k]] = -1
            prev_js[k] = cur_js[k]
        n_prev = n_cur
    return ri[:r].copy(), rj[:r].copy(), rl[:r].copy()


@numba.njit(cache=True)
def _chains(
    a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray, max_gap: int, slack: int
) -> np.ndarray:
    """Chain collinear runs (token spans [a0,a1) x [b0,b1), sorted by a0 then b0).

    Returns ``chain_id`` per run (-1 for runs dropped as overlapping a better chain)."""
    n = a0.shape[0]
    chain = np.full(n, -1, dtype=np.int64)
    alive = np.ones(n, dtype=np.bool_)
    best = np.zeros(n, dtype=np.float64)
    prev = np.full(n, -1, dtype=np.int64)
    cid = 0
    remaining = n
    while remaining > 0:
        for r in range(n):
            if not alive[r]:
                continue
            length = min(a1[r] - a0[r], b1[r] - b0[r])
            best[r] = length
            prev[r] = -1
            for p in range(r - 1, -1, -1):
                if not alive[p]:
                    continue
                ga = a0[r] - a1[p]
                gb = b0[r] - b1[p]
                if ga > max_gap or gb > max_gap or ga < -slack or gb < -slack:
                    continue
                if a1[r] <= a1[p] or b1[r] <= b1[p] or b0[r] <= b0[p] or a0[r] <= a0[p]:
                    continue
                overlap = max(0, -ga, -gb)
                score = best[p] + length - overlap - 0.1 * (max(ga, 0) + max(gb, 0))
                if score > best[r]:
                    best[r] = score
                    prev[r] = p
        top = -1
        for r in range(n):
            if alive[r] and (top < 0 or best[r] > best[top]):
                top = r
        # backtrack the best chain
        lo_a = a0[top]
        hi_a = a1[top]
        lo_b = b0[top]
        hi_b = b1[top]
        r = top
        while r >= 0:
            chain[r] = cid
            alive[r] = False
            remaining -= 1
            lo_a = min(lo_a, a0[r])
            lo_b = min(lo_b, b0[r])
            r = prev[r]
        # drop runs overlapping this chain on either side
        for q in range(n):
            if alive[q] and ((a0[q] < hi_a and a1[q] > lo_a) or (b0[q] < hi_b and b1[q] > lo_b)):
                alive[q] = False
                remaining -= 1
        cid += 1
    return chain


@numba.njit(cache=True)
def _chain_spans(
    chain: np.ndarray, a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray
) -> np.ndarray:
    """[lo_a, hi_a, lo_b, hi_b] of every chain (ids 0..k-1, each used), in id order."""
    k = 0
    for c in chain:
        k = max(k, c + 1)
    out = np.empty((k, 4), dtype=np.int64)
    out[:, 0] = np.iinfo(np.int64).max
    out[:, 1] = np.iinfo(np.int64).min
    out[:, 2] = np.iinfo(np.int64).max
    out[:, 3] = np.iinfo(np.int64).min
    for r in range(chain.shape[0]):
        c = chain[r]
        if c < 0:
            continue
        out[c, 0] = min(out[c, 0], a0[r])
        out[c, 1] = max(out[c, 1], a1[r])
        out[c, 2] = min(out[c, 2], b0[r])
        out[c, 3] = max(out[c, 3], b1[r])
    return out


@dataclass(frozen=True, slots=True)
class Block:
    """A raw passage: token ranges, the words its alignment matches, and what ``explain`` reads:
    the regions between the equal runs of the alignment and the matched words whose separators
    differ."""

    a0: int
    a1: int
    b0: int
    b1: int
    matched: int
    regions: list[list[int]]  # [i1, i2, j1, j2]: the words between runs (close reorders merged)
    seps: list[list[int]]  # [token in a, token in b] of matched words followed by other separators


new_block = slot_builder(Block)
"""``Block(a0, a1, b0, b1, matched, regions, seps)``, faster (``types.slot_builder``)."""


@dataclass(frozen=True, slots=True)
class Index:
    """Per-document lookup structure for seeding: n-gram hashes sorted, their positions, and how
    often each n-gram occurs in the document. Built once per document, reused for all its pairs."""

    sorted: np.ndarray
    order: np.ndarray
    occ: np.ndarray

    @staticmethod
    def build(sh: np.ndarray) -> Index:
        return Index(*_index(sh))

    @staticmethod
    def arrays(sh: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The arrays of ``build`` for a batch of documents, in one compiled call: ``sh`` their
        n-gram hashes concatenated, document ``k``'s at ``[bounds[k], bounds[k + 1])``, and its
        ``Index`` arrays at the same places of the three returned."""
        return cast(tuple[np.ndarray, np.ndarray, np.ndarray], _index_many(sh, bounds))


_SHIFTS_PER_HASH = 8


@numba.njit(cache=True)
def _sort_into(
    sh: np.ndarray, order: np.ndarray, srt: np.ndarray, occ: np.ndarray, scratch: np.ndarray
) -> None:
    """``Index`` arrays of one document's n-gram hashes ``sh``, written into ``order``, ``srt``
    and ``occ`` (``scratch``: room for ``2 * len(sh) + 3`` integers).

    The order is the stable sorting order (equal hashes by position), as numpy's stable argsort
    gives it, found by a bucket sort: the hashes are uniform, so a counting sort on their top
    ``log2(n)`` bits leaves about one hash a bucket; the scatter writes the hashes along with
    their positions, and one stable insertion sort over the whole array finishes it (only hashes
    of one bucket can be out of order, and most are in place already: the loop rarely branches
    away). Should the insertion sort shift too much (unlucky hashes crowding a bucket), a stable
    argsort does it instead. Linear in expectation, several times faster than the mergesort
    argsort at a document's size."""
    n = sh.shape[0]
    if n == 0:
        return
    bits = 1
    while (1 << bits) < n:
        bits += 1
    nb = 1 << bits
    shift = np.uint64(64 - bits)
    start = scratch[: nb + 1]
    start[:] = 0
    for i in range(n):
        start[(sh[i] >> shift) + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    for i in range(n):  # positions in increasing order: a stable scatter
        v = sh[i]
        d = start[v >> shift]
        order[d] = i
        srt[d] = v
        start[v >> shift] = d + 1
    if not insertion_pass(srt, order, _SHIFTS_PER_HASH * n):
        order[:] = np.argsort(sh, kind="mergesort")
        for t in range(n):
            srt[t] = sh[order[t]]
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and srt[hi] == srt[lo]:
            hi += 1
        for k in range(lo, hi):
            occ[order[k]] = hi - lo
        lo = hi


@numba.njit(cache=True)
def _index(sh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Index`` arrays in one compiled call (per-document numpy calls cost more in dispatch than
    in work)."""
    n = sh.shape[0]
    order = np.empty(n, dtype=np.int64)
    srt = np.empty(n, dtype=sh.dtype)
    occ = np.empty(n, dtype=np.int64)
    _sort_into(sh, order, srt, occ, np.empty(2 * n + 3, dtype=np.int64))
    return srt, order, occ


@numba.njit(cache=True)
def _index_many(sh: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = sh.shape[0]
    order = np.empty(n, dtype=np.int64)
    srt = np.empty(n, dtype=sh.dtype)
    occ = np.empty(n, dtype=np.int64)
    big = 0
    for k in range(bounds.shape[0] - 1):
        big = max(big, bounds[k + 1] - bounds[k])
    scratch = np.empty(2 * big + 3, dtype=np.int64)
    for k in range(bounds.shape[0] - 1):
        lo, hi = bounds[k], bounds[k + 1]
        _sort_into(sh[lo:hi], order[lo:hi], srt[lo:hi], occ[lo:hi], scratch)
    return srt, order, occ


@numba.njit(cache=True)
def _seed_chains(
    sorted_a: np.ndarray,
    order_a: np.ndarray,
    occ_a: np.ndarray,
    sorted_b: np.ndarray,
    order_b: np.ndarray,
    na: int,
    nb: int,
    ngram: int,
    max_gap: int,
    core: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Runs as token spans, rows (a0, a1, b0, b1, cover) of one (5, n) array, and the span of
    every chain, in one compiled call (no spans when the runs cover fewer than ``core`` words: no
    passage can form). Two arrays returned, not six: boxing each returned array costs about as
    much as a short merge step, and every candidate pair pays it.

    ``_runs`` makes runs in order of (i0, j0) (seeds in order of i, and of j for one i: the
    stable order of ``sorted_b``), so they are already sorted as ``_chains`` wants."""
    ri, rj, rl = _runs(sorted_a, order_a, occ_a, sorted_b, order_b, nb, MAX_OCCURRENCES)
    n = ri.shape[0]
    span = ngram - 1
    runs = np.empty((5, n), dtype=np.int64)
    runs[0, :] = ri
    runs[2, :] = rj
    a1, b1, cover = runs[1], runs[3], runs[4]
    total = 0
    for r in range(n):
        a1[r] = min(ri[r] + rl[r] + span, na)
        b1[r] = min(rj[r] + rl[r] + span, nb)
        cover[r] = min(a1[r] - ri[r], b1[r] - rj[r])
        total += cover[r]
    if n == 0 or total < core:
        return runs, np.empty((0, 4), dtype=np.int64)
    chain = _chains(ri, a1, rj, b1, max_gap, span)
    return runs, _chain_spans(chain, ri, a1, rj, b1)


@numba.njit(cache=True)
def _covers(runs: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Words of exact runs (rows a0, a1, b0, b1, cover) lying wholly inside each span
    [lo_a, hi_a, lo_b, hi_b]."""
    a0, a1, b0, b1, cover = runs[0], runs[1], runs[2], runs[3], runs[4]
    out = np.zeros(spans.shape[0], dtype=np.int64)
    for k in range(spans.shape[0]):
        lo_a, hi_a, lo_b, hi_b = spans[k, 0], spans[k, 1], spans[k, 2], spans[k, 3]
        for r in range(a0.shape[0]):
            if a0[r] >= lo_a and a1[r] <= hi_a and b0[r] >= lo_b and b1[r] <= hi_b:
                out[k] += cover[r]
    return out


@numba.njit(cache=True)
def _may_pass_one(
    ha: np.ndarray,
    hb: np.ndarray,
    sorted_a: np.ndarray,
    order_a: np.ndarray,
    occ_a: np.ndarray,
    sorted_b: np.ndarray,
    order_b: np.ndarray,
    ngram: int,
    max_gap: int,
    core: int,
) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray]:
    """False only where ``align_tokens`` of these two documents (``a`` the canonical first) returns
    no block: a test that runs no edit alignment, so in a batch of candidate pairs
    (``align_batch``) only the pairs that can hold a passage are aligned. With it come the seeds
    ``align_tokens`` starts from (runs, chain spans, which ends may extend).

    ``align_tokens`` keeps a merged span only when the exact runs inside it cover ``core`` words.
    Each merged span is a union of chain spans, each extended (only where ``_may_extend`` allows
    it) by at most ``width`` words on a side, merged when within ``max_gap`` words on both
    sides. Growing every chain span by ``width`` where it may extend and joining, until nothing
    changes, any two boxes within ``max_gap`` on both sides gives boxes that each hold whole
    merged spans (a merge ``align_tokens`` makes is one made here: the boxes only grow), so the
    runs inside a box bound those inside any span it holds: a pair none of whose boxes holds
    ``core`` words can form no passage."""
    na, nb = ha.shape[0], hb.shape[0]
    no_may = np.zeros((0, 2), dtype=np.bool_)
    if sorted_a.shape[0] == 0 or sorted_b.shape[0] == 0:
        return False, np.zeros((5, 0), dtype=np.int64), np.zeros((0, 4), dtype=np.int64), no_may
    runs, spans = _seed_chains(sorted_a, order_a, occ_a, sorted_b, order_b, na, nb, ngram, max_gap, core)
    k = spans.shape[0]
    if k == 0:
        return False, runs, spans, no_may
    width = max_gap + ngram
    may = _may_extend(ha, hb, spans, width)
    box = spans.copy()
    for c in range(k):
        if may[c, 0]:
            box[c, 1] = min(na, box[c, 1] + width)
            box[c, 3] = min(nb, box[c, 3] + width)
        if may[c, 1]:
            box[c, 0] = max(0, box[c, 0] - width)
            box[c, 2] = max(0, box[c, 2] - width)
    alive = np.ones(k, dtype=np.bool_)
    changed = True
    while changed:
        changed = False
        for p in range(k):
            if not alive[p]:
                continue
            for q in range(p + 1, k):
                if not alive[q]:
                    continue
                gap_a = max(box[q, 0] - box[p, 1], box[p, 0] - box[q, 1])
                gap_b = max(box[q, 2] - box[p, 3], box[p, 2] - box[q, 3])
                if gap_a <= max_gap and gap_b <= max_gap:
                    box[p, 0] = min(box[p, 0], box[q, 0])
                    box[p, 1] = max(box[p, 1], box[q, 1])
                    box[p, 2] = min(box[p, 2], box[q, 2])
                    box[p, 3] = max(box[p, 3], box[q, 3])
                    alive[q] = False
                    changed = True
    inside = _covers(runs, box)
    for c in range(k):
        if alive[c] and inside[c] >= core:
            return True, runs, spans, may
    return False, runs, spans, may


@numba.njit(cache=True)
def _grown(buf: np.ndarray, need: int) -> np.ndarray:
    """``buf`` (rows along its first axis) with room for ``need`` rows: itself, or a copy twice
    as large."""
    if need <= buf.shape[0]:
        return buf
    out = np.empty((max(need, 2 * buf.shape[0]),) + buf.shape[1:], dtype=buf.dtype)
    out[: buf.shape[0]] = buf
    return out


@numba.njit(cache=True)
def _align_batch(
    hashes: np.ndarray,
    seps: np.ndarray,
    tbounds: np.ndarray,
    srt: np.ndarray,
    order: np.ndarray,
    occ: np.ndarray,
    sbounds: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    ngram: int,
    max_gap: int,
    core: int,
    min_words: int,
    merge_gap: int,
    max_cells: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(may relate, blocks, where each pair's start) of every pair: a pair's blocks, in
    ``_pair_blocks``' flat layout, are ``blocks[at[k]:at[k + 1]]`` (empty for a pair that cannot
    relate, or the same text)."""
    npairs = first.shape[0]
    out = np.zeros(npairs, dtype=np.bool_)
    at = np.zeros(npairs + 1, dtype=np.int64)
    buf = np.empty(4096, dtype=np.int64)
    used = 0
    width = max_gap + ngram
    for k in range(npairs):  # (at[k]: set by the pair before, 0 for the first)
        a, b = first[k], second[k]
        na, nb = tbounds[a + 1] - tbounds[a], tbounds[b + 1] - tbounds[b]
        if na == nb:
            # the same word sequence is one passage (``compare_prepared``); else the canonical
            # first is the one whose hashes' bytes (little-endian) sort first
            t = 0
            while t < na and hashes[tbounds[a] + t] == hashes[tbounds[b] + t]:
                t += 1
            if t == na:
                out[k] = na > 0
                at[k + 1] = used
                continue
            x, y = hashes[tbounds[a] + t], hashes[tbounds[b] + t]
            shift = np.uint64(0)
            while ((x >> shift) & np.uint64(255)) == ((y >> shift) & np.uint64(255)):
                shift += np.uint64(8)
            if ((y >> shift) & np.uint64(255)) < ((x >> shift) & np.uint64(255)):
                a, b = b, a
        elif nb < na:
            a, b = b, a
        ha = hashes[tbounds[a] : tbounds[a + 1]]
        hb = hashes[tbounds[b] : tbounds[b + 1]]
        ok, runs, spans, may = _may_pass_one(
            ha,
            hb,
            srt[sbounds[a] : sbounds[a + 1]],
            order[sbounds[a] : sbounds[a + 1]],
            occ[sbounds[a] : sbounds[a + 1]],
            srt[sbounds[b] : sbounds[b + 1]],
            order[sbounds[b] : sbounds[b + 1]],
            ngram,
            max_gap,
            core,
        )
        out[k] = ok
        if ok:
            flat = _pair_blocks(
                ha,
                hb,
                seps[tbounds[a] : tbounds[a + 1]],
                seps[tbounds[b] : tbounds[b + 1]],
                runs,
                spans,
                may,
                width,
                max_gap,
                core,
                min_words,
                merge_gap,
                max_cells,
            )
            buf = _grown(buf, used + flat.shape[0])
            buf[used : used + flat.shape[0]] = flat
            used += flat.shape[0]
        at[k + 1] = used
    return out, buf[:used], at


class Found:
    """What ``align_batch`` found for a batch of pairs: each pair's blocks (``of(k)``), so
    ``compare_prepared`` does not align them again."""

    __slots__ = ("_flat", "_at")

    def __init__(self, flat: np.ndarray, at: np.ndarray) -> None:
        self._flat: list[int] = flat.tolist()
        self._at: list[int] = at.tolist()

    def of(self, k: int, ta: Tokens, tb: Tokens, min_words: int) -> list[Block]:
        """The blocks of pair ``k`` (``ta``, ``tb``: its documents' tokens, canonical first)."""
        if self._at[k] == self._at[k + 1]:
            return []
        return _finish(*_unpack_blocks(self._flat, self._at[k]), ta, tb, min_words)


def align_batch(
    hashes: np.ndarray,
    seps: np.ndarray,
    tbounds: np.ndarray,
    index: tuple[np.ndarray, np.ndarray, np.ndarray],
    sbounds: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    ngram: int,
    max_gap: int,
    min_words: int,
) -> tuple[np.ndarray, Found]:
    """For a batch of documents (token and separator hashes concatenated, document ``d``'s at
    ``[tbounds[d], tbounds[d + 1])``; their ``Index`` arrays concatenated likewise by
    ``sbounds``) and pairs ``(first[k], second[k])``, in one compiled call: whether
    ``compare_prepared`` can find a passage in each pair, the lexical way (False: it finds none,
    certainly; a cheap sift, ``_may_pass_one``, drops most such pairs before any alignment),
    and the blocks ``align_tokens`` gives the pairs that may (each pair taken in canonical
    order, ``Prepared.before``, as ``compare_prepared`` aligns it)."""
    core = max(1, min_words - ngram + 1)
    ok, flat, at = _align_batch(
        hashes,
        seps,
        tbounds,
        *index,
        sbounds,
        first,
        second,
        ngram,
        max_gap,
        core,
        min_words,
        MERGE_GAP,
        MAX_CELLS,
    )
    return ok, Found(flat, at)


def align_tokens(
    ta: Tokens,
    sa: np.ndarray,
    ia: Index,
    tb: Tokens,
    sb: np.ndarray,
    ib: Index,
    ngram: int,
    max_gap: int,
    min_words: int,
) -> list[Block]:
    """Shared passages between two tokenized documents, as token-range blocks with the regions
    and separator differences ``explain`` reads. From the seeds on, one compiled call
    (``_pair_blocks``); ``align_batch`` makes the same call for each pair of a batch."""
    if sa.shape[0] == 0 or sb.shape[0] == 0:
        return []
    core = max(1, min_words - ngram + 1)
    ha, hb = ta.hashes, tb.hashes
    width = max_gap + ngram
    runs, chain_spans = _seed_chains(
        ia.sorted, ia.order, ia.occ, ib.sorted, ib.order, ha.shape[0], hb.shape[0], ngram, max_gap, core
    )
    if chain_spans.shape[0] == 0:
        # a passage needs ``core`` words inside exact n-gram runs: none can form here
        return []
    may = _may_extend(ha, hb, chain_spans, width)
    flat = _pair_blocks(
        ha,
        hb,
        ta.seps,
        tb.seps,
        runs,
        chain_spans,
        may,
        width,
        max_gap,
        core,
        min_words,
        MERGE_GAP,
        MAX_CELLS,
    )
    return _finish(*_unpack_blocks(flat.tolist(), 0), ta, tb, min_words)


def _finish(
    blocks: list[Block], pending: list[list[int]], ta: Tokens, tb: Tokens, min_words: int
) -> list[Block]:
    """The blocks of a pair, those of its pending spans added, in order of (a0, b0)."""
    for lo_a, hi_a, lo_b, hi_b in pending:  # spans too far apart for the compiled alignment
        block = _refine_wide(ta, tb, lo_a, hi_a, lo_b, hi_b)
        if block is not None and block.matched >= min_words:
            blocks.append(block)
    if len(blocks) > 1:
        blocks.sort(key=_BLOCK_ORDER)
    return blocks


_BLOCK_ORDER = attrgetter("a0", "b0")


def _unpack_blocks(flat: list[int], at: int) -> tuple[list[Block], list[list[int]]]:
    """The blocks and the pending spans of ``_pair_blocks``' flat layout, starting at ``at``."""
    nb, npend = flat[at], flat[at + 1]
    at += 2
    blocks = []
    for _ in range(nb):
        a0, a1, b0, b1, matched, nr, ns = flat[at : at + 7]
        at += 7
        end = at + 4 * nr
        regions = [flat[t : t + 4] for t in range(at, end, 4)]
        at, end = end, end + 2 * ns
        seps = [flat[t : t + 2] for t in range(at, end, 2)]
        at = end
        blocks.append(new_block(a0, a1, b0, b1, matched, regions, seps))
    pending = [flat[t : t + 4] for t in range(at, at + 4 * npend, 4)]
    return blocks, pending


def block_of(runs: np.ndarray, ta: Tokens, tb: Tokens) -> Block | None:
    """The block of equal runs (i1, i2, j1, j2) of an alignment of ``ta`` and ``tb`` (None for no
    run), with the regions and separator differences ``explain`` reads."""
    if runs.shape[0] == 0:
        return None
    regions, seps = _explain_rows(runs, ta.hashes, tb.hashes, ta.seps, tb.seps, MERGE_GAP)
    r = runs.tolist()
    matched = sum(i2 - i1 for i1, i2, _, _ in r)
    return Block(r[0][0], r[-1][1], r[0][2], r[-1][3], matched, regions.tolist(), seps.tolist())


def whole_block(ta: Tokens, tb: Tokens) -> Block:
    """The one block of two texts with the same word sequence."""
    n = len(ta)
    block = block_of(np.array([[0, n, 0, n]], dtype=np.int64), ta, tb)
    assert block is not None
    return block


def _refine_wide(ta: Tokens, tb: Tokens, lo_a: int, hi_a: int, lo_b: int, hi_b: int) -> Block | None:
    """A span whose compiled alignment needs more than ``MAX_CELLS`` entries (some thousands of
    edits): aligned by RapidFuzz (Hirschberg's linear-space alignment), its equal runs kept."""
    seg_a = ta.hashes[lo_a:hi_a].tolist()
    seg_b = tb.hashes[lo_b:hi_b].tolist()
    runs = [
        (op.src_start + lo_a, op.src_end + lo_a, op.dest_start + lo_b, op.dest_end + lo_b)
        for op in Levenshtein.opcodes(seg_a, seg_b)
        if op.tag == "equal"
    ]
    return block_of(np.array(runs, dtype=np.int64).reshape(-1, 4), ta, tb)


# X-drop extension (as in BLAST, Altschul et al. 1990) at word level: match +1, other -0.5 a word.
_MATCH, _MISMATCH, _XDROP, _MIN_GAIN = 1.0, 0.5, 4.0, 2.0


@numba.njit(cache=True)
def _xdrop_end(x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """How far an alignment of two segments can be extended from their start: (words of x, of y).

    The segments' optimal alignment (``levenshtein.equal_runs``) is scored along its length,
    +1 a matched word and -0.5 a word of each region between runs (its longer side), and cut
    where the score falls ``_XDROP`` below its best; the end of the best prefix is returned if
    it gained at least ``_MIN_GAIN``."""
    if x.shape[0] == 0 or y.shape[0] == 0:
        return 0, 0
    runs = equal_runs(x, y)
    score = best = 0.0
    bi = bj = 0
    pi = pj = 0
    for t in range(runs.shape[0]):
        i1, i2, j1, j2 = runs[t, 0], runs[t, 1], runs[t, 2], runs[t, 3]
        if i1 > pi or j1 > pj:
            score -= _MISMATCH * max(i1 - pi, j1 - pj)
            if score < best - _XDROP:
                break
        score += _MATCH * (i2 - i1)
        if score > best:
            best, bi, bj = score, i2, j2
        pi, pj = i2, j2
    if best >= _MIN_GAIN:
        return bi, bj
    return 0, 0


@numba.njit(cache=True)
def _extend(ha: np.ndarray, hb: np.ndarray, span: np.ndarray, width: int, fwd: bool, bwd: bool) -> None:
    """``span`` [lo_a, hi_a, lo_b, hi_b] extended in place forward and backward (only where
    ``_may_extend`` allows it) by ``_xdrop_end`` over windows of ``width`` words."""
    lo_a, hi_a, lo_b, hi_b = span[0], span[1], span[2], span[3]
    if fwd:
        fa, fb = _xdrop_end(ha[hi_a : hi_a + width], hb[hi_b : hi_b + width])
        span[1], span[3] = hi_a + fa, hi_b + fb
    if bwd:
        ra, rb = _xdrop_end(
            ha[max(0, lo_a - width) : lo_a][::-1].copy(), hb[max(0, lo_b - width) : lo_b][::-1].copy()
        )
        span[0], span[2] = lo_a - ra, lo_b - rb


@numba.njit(cache=True)
def _row_less(x: np.ndarray, y: np.ndarray) -> bool:
    for t in range(x.shape[0]):
        if x[t] != y[t]:
            return bool(x[t] < y[t])
    return False


@numba.njit(cache=True)
def _merge_close(spans: np.ndarray, max_gap: int) -> np.ndarray:
    """Extended spans in order (as rows), merged where collinear and within ``max_gap`` words on
    both sides."""
    k = spans.shape[0]
    srt = spans.copy()
    for t in range(1, k):  # insertion sort of a few rows
        row = srt[t].copy()
        q = t - 1
        while q >= 0 and _row_less(row, srt[q]):
            srt[q + 1] = srt[q]
            q -= 1
        srt[q + 1] = row
    out = np.empty((k, 4), dtype=np.int64)
    m = 0
    for t in range(k):
        lo_a, hi_a, lo_b, hi_b = srt[t, 0], srt[t, 1], srt[t, 2], srt[t, 3]
        if m > 0:
            ga, gb = lo_a - out[m - 1, 1], lo_b - out[m - 1, 3]
            if (
                -max_gap <= ga <= max_gap
                and -max_gap <= gb <= max_gap
                and hi_a > out[m - 1, 1]
                and hi_b > out[m - 1, 3]
            ):
                out[m - 1, 1], out[m - 1, 3] = hi_a, hi_b
                out[m - 1, 0] = min(out[m - 1, 0], lo_a)
                out[m - 1, 2] = min(out[m - 1, 2], lo_b)
                continue
        out[m, 0], out[m, 1], out[m, 2], out[m, 3] = lo_a, hi_a, lo_b, hi_b
        m += 1
    return out[:m]


@numba.njit(cache=True)
def _share_a_word(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether two short hash sequences hold a common word."""
    if x.shape[0] * y.shape[0] <= 4096:
        for u in range(x.shape[0]):
            for v in range(y.shape[0]):
                if x[u] == y[v]:
                    return True
        return False
    sx, sy = np.sort(x), np.sort(y)
    u = v = 0
    while u < sx.shape[0] and v < sy.shape[0]:
        if sx[u] == sy[v]:
            return True
        if sx[u] < sy[v]:
            u += 1
        else:
            v += 1
    return False


@numba.njit(cache=True)
def _explain_rows(
    runs: np.ndarray, ha: np.ndarray, hb: np.ndarray, seps_a: np.ndarray, seps_b: np.ndarray, merge_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """What ``explain`` reads of a block with these equal runs: its regions [i1, i2, j1, j2] (the
    words between two runs; regions at most ``merge_gap`` words apart merged when they reorder
    the same words, so a swapped phrase reads as one edit) and the (token in a, token in b) of
    matched words followed by different separators (punctuation, quotes)."""
    nr = runs.shape[0]
    regions = np.empty((max(nr - 1, 0), 4), dtype=np.int64)
    m = 0
    for t in range(1, nr):
        i1, i2, j1, j2 = runs[t - 1, 1], runs[t, 0], runs[t - 1, 3], runs[t, 2]
        between = runs[t - 1, 1] - runs[t - 1, 0]  # equal words since the last region
        if m > 0 and between <= merge_gap:
            p0, p1, q0, q1 = regions[m - 1, 0], regions[m - 1, 1], regions[m - 1, 2], regions[m - 1, 3]
            xs = np.concatenate((ha[p0:p1], ha[i1:i2]))
            ys = np.concatenate((hb[q0:q1], hb[j1:j2]))
            if _share_a_word(xs, ys):
                regions[m - 1, 1], regions[m - 1, 3] = i2, j2
                continue
        regions[m, 0], regions[m, 1], regions[m, 2], regions[m, 3] = i1, i2, j1, j2
        m += 1
    count = 0
    for t in range(nr):
        i1, i2, j1 = runs[t, 0], runs[t, 1], runs[t, 2]
        for k in range(i2 - i1 - 1):
            if seps_a[i1 + k] != seps_b[j1 + k]:
                count += 1
    seps = np.empty((count, 2), dtype=np.int64)
    count = 0
    for t in range(nr):
        i1, i2, j1 = runs[t, 0], runs[t, 1], runs[t, 2]
        for k in range(i2 - i1 - 1):
            if seps_a[i1 + k] != seps_b[j1 + k]:
                seps[count, 0], seps[count, 1] = i1 + k, j1 + k
                count += 1
    return regions[:m], seps


@numba.njit(cache=True)
def _pair_blocks(
    ha: np.ndarray,
    hb: np.ndarray,
    seps_a: np.ndarray,
    seps_b: np.ndarray,
    runs: np.ndarray,
    chain_spans: np.ndarray,
    may: np.ndarray,
    width: int,
    max_gap: int,
    core: int,
    min_words: int,
    merge_gap: int,
    max_cells: int,
) -> np.ndarray:
    """The passages of one pair from its seeds (exact runs, rows a0, a1, b0, b1, cover of a
    (5, n) array, as ``_seed_chains`` gives them; chain spans; which ends may extend), in one
    flat array (one array to box, read by ``_unpack_blocks``): the block count and the pending
    span count, then per block (a0, a1, b0, b1, matched words, regions, separator differences)
    and those rows, then the pending spans (too far apart for ``max_cells``: aligned in Python).

    Each chain span is extended (X-drop), spans within ``max_gap`` words merge, and a merged span
    whose exact runs cover at least ``core`` words is aligned word by word
    (``levenshtein.equal_runs``); the alignment's first and last equal runs bound the block, kept
    when it matches at least ``min_words`` words."""
    k = chain_spans.shape[0]
    spans = chain_spans.copy()
    for c in range(k):
        if may[c, 0] or may[c, 1]:
            _extend(ha, hb, spans[c], width, may[c, 0], may[c, 1])
    merged = _merge_close(spans, max_gap)
    parts = []
    pending = []
    inside = _covers(runs, merged)
    nb = 0
    for s in range(merged.shape[0]):
        lo_a, hi_a, lo_b, hi_b = merged[s, 0], merged[s, 1], merged[s, 2], merged[s, 3]
        if inside[s] < core:
            continue
        eq = equal_runs(ha[lo_a:hi_a], hb[lo_b:hi_b], max_cells)
        if eq.shape[0] == 1 and eq[0, 0] < 0:
            pending.append(merged[s].copy())
            continue
        if eq.shape[0] == 0:
            continue
        eq[:, 0] += lo_a
        eq[:, 1] += lo_a
        eq[:, 2] += lo_b
        eq[:, 3] += lo_b
        matched = 0
        for t in range(eq.shape[0]):
            matched += eq[t, 1] - eq[t, 0]
        if matched < min_words:
            continue
        regions, seps = _explain_rows(eq, ha, hb, seps_a, seps_b, merge_gap)
        head = np.array(
            [eq[0, 0], eq[-1, 1], eq[0, 2], eq[-1, 3], matched, regions.shape[0], seps.shape[0]],
            dtype=np.int64,
        )
        parts.append(head)
        parts.append(regions.ravel())
        parts.append(seps.ravel())
        nb += 1
    size = 2 + 4 * len(pending)
    for x in parts:
        size += x.shape[0]
    out = np.empty(size, dtype=np.int64)
    out[0], out[1] = nb, len(pending)
    at = 2
    for x in parts:
        out[at : at + x.shape[0]] = x
        at += x.shape[0]
    for x in pending:
        out[at : at + 4] = x
        at += 4
    return out


@numba.njit(cache=True)
def _gain_possible(
    ha: np.ndarray,
    a_at: int,
    a_len: int,
    hb: np.ndarray,
    b_at: int,
    b_len: int,
    step: int,
    scratch: np.ndarray,
) -> bool:
    """Whether ``_xdrop_end`` can return more than (0, 0) for the windows ``ha[a_at + step * k]``
    (k < a_len) and ``hb[b_at + step * k]`` (k < b_len), ``step`` -1 for a backward window
    (``scratch``: room for ``a_len + b_len`` hashes).

    A necessary condition, whatever optimal alignment is picked: at the end of an equal block at
    (i, j) words with M words matched so far, the other blocks cover ``i - M`` words of a and
    ``j - M`` of b and cost half a word each at least, so the score is at most
    ``M - (max(i, j) - M) / 2``; it must reach ``_MIN_GAIN`` (2), so ``3 M - max(i, j) >= 4``
    for some (i, j), where M is at most the longest common subsequence of the prefixes."""
    if a_len == 0 or b_len == 0:
        return False
    x = scratch[:a_len]
    for i in range(a_len):
        x[i] = ha[a_at + step * i]
    y = scratch[a_len : a_len + b_len]
    for j in range(b_len):
        y[j] = hb[b_at + step * j]
    if a_len <= 64 and b_len <= 64:
        # the cells with j <= i, then (the table transposed) those with i <= j
        return _gain_rows(x, y) or _gain_rows(y, x)
    return _gain_table(x, y)


@numba.njit(cache=True)
def _gain_table(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``3 L(i, j) - max(i, j) >= 4`` in some cell of the LCS table ``L`` of ``x`` and
    ``y`` (1-based prefix lengths): the table filled row by row."""
    row = np.zeros(y.shape[0] + 1, dtype=np.int64)
    for i in range(1, x.shape[0] + 1):
        diag = 0  # L(i-1, j-1)
        for j in range(1, y.shape[0] + 1):
            up = row[j]  # L(i-1, j)
            if y[j - 1] == x[i - 1]:
                v = diag + 1
            else:
                v = max(up, row[j - 1])
            row[j] = v
            diag = up
            if 3 * v - max(i, j) >= 4:
                return True
    return False


_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


@numba.njit(cache=True)
def _popcount(v: np.uint64) -> int:
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((v * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True)
def _gain_rows(x: np.ndarray, y: np.ndarray) -> bool:
    """``_gain_table`` over the cells with ``j <= i`` only, for ``len(y) <= 64``: the rows of
    the LCS table as bit vectors (the bit-parallel LCS of Allison & Dix 1986, in Hyyrö's 2004
    form: bit j-1 of ``v`` is 0 where L(i, j) = L(i, j-1) + 1). In a row, ``max(i, j) = i`` for
    every j <= i and L grows with j, so the row's best such cell is j = min(i, len(y))."""
    m = y.shape[0]
    v = _ONES
    for i in range(x.shape[0]):
        match = np.uint64(0)  # bit j: y[j] == x[i]
        for j in range(m):
            match |= np.uint64(y[j] == x[i]) << np.uint64(j)
        u = v & match
        v = (v + u) | (v - u)
        k = min(i + 1, m)
        if 3 * _popcount(~v & (_ONES >> np.uint64(64 - k))) - (i + 1) >= 4:
            return True
    return False


@numba.njit(cache=True)
def _may_extend(ha: np.ndarray, hb: np.ndarray, spans: np.ndarray, width: int) -> np.ndarray:
    """Per chain span [lo_a, hi_a, lo_b, hi_b]: whether its forward and its backward extension
    can be non-empty (``_gain_possible`` of the windows ``_extend`` reads). Most can not: the
    texts part where the chain ends, and this spares those the RapidFuzz call."""
    na, nb = ha.shape[0], hb.shape[0]
    out = np.zeros((spans.shape[0], 2), dtype=np.bool_)
    scratch = np.empty(2 * width, dtype=np.uint64)
    for k in range(spans.shape[0]):
        lo_a, hi_a, lo_b, hi_b = spans[k, 0], spans[k, 1], spans[k, 2], spans[k, 3]
        out[k, 0] = _gain_possible(
            ha, hi_a, min(width, na - hi_a), hb, hi_b, min(width, nb - hi_b), 1, scratch
        )
        out[k, 1] = _gain_possible(
            ha, lo_a - 1, min(width, lo_a), hb, lo_b - 1, min(width, lo_b), -1, scratch
        )
    return out
