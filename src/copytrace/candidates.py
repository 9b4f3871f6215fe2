"""Candidate pairs from an inverted index of fingerprints.

Postings are (fingerprint hash, document index, n-gram position). A fingerprint held by more than
``max_df`` documents is boilerplate (datelines, "Reporting by", agency footers): its postings are
dropped before any pair is formed, so it can neither create pairs nor blow up this stage (the
document-frequency cap of passim and of Broder's shingling). Every other posting list of size
``c`` emits its ``c(c-1)/2`` hits: (pair, position in a, position in b).

A pair is a candidate when at least ``min_shared`` of its hits lie close together in *both*
documents, within ``window`` n-grams, as the fingerprints of one shared passage do. Two common
phrases far apart in each document (the bulk of chance matches in a large corpus) make no
candidate. Identical texts share a whole-document fingerprint (position -1) and are always
candidates, however short. This is the "local density" test of seed-based aligners (BLAST's two-hit rule,
Altschul et al. 1997) applied to winnowed fingerprints.

Evidence (a rewritten copy). A journalist's rewrite of a wire story keeps names, numbers, quoted
words and short fragments but rewords the rest, and often shares no two nearby n-grams with its
source. Beside its fingerprints a scanned document posts its evidence keys
(``fingerprint.evidence_keys``: hash-sampled pairs of neighbouring content words) in the same
postings, at position ``EVIDENCE - b`` (``b``: the document's number of content-word pairs, from
which its sampling rate follows): the same sort, merge and hits, so both engines and the memory
bound take them as they take fingerprints. A key in more than ``max_df`` documents is dropped, as
a fingerprint is; a key in ``c`` documents, more than ``EVIDENCE_RARE``, counts only for about
``(EVIDENCE_RARE / c) ** 2`` of such keys (``_evidence_kept``: a common name or stock phrase says
little, and its ``c (c - 1) / 2`` hits would cost the most). A pair is then also a candidate when it
shares at least ``min_evidence`` keys, and at least one in ``EVIDENCE_SHARE`` of those the shorter
document may share (``_may_share``: two stories on one topic share a few rare pairs by chance, a
rewrite a good part of its own). Counting shared rare terms, each weighed by its rarity, to find
reused text whose wording differs is the IDF-weighted overlap of Metzler et al. (2005,
"Similarity measures for tracking information flow"); sampling the terms by hash is Broder's
(1997). Figures: README, "How it works" item 4.

Postings are turned into hits one posting list batch at a time (``posting_lists``,
``hit_batches``, ``emit_hits``), so an engine can bound memory by a setting; the local engine's
``candidates_from_postings`` and the Spark engine split the work by hash and pair-key ranges.
"""

from __future__ import annotations

import numba
import numpy as np

from . import fingerprint
from .fingerprint import evidence_rate

# positions of the postings that are not n-grams: a document's whole-text fingerprint, and its
# evidence keys (at EVIDENCE - b for a document of b content-word pairs; -2 and below)
WHOLE = -1
EVIDENCE = -2
# an evidence pair shares at least one in EVIDENCE_SHARE of the keys the shorter document may
# share (its pairs sampled at the lower of the two documents' rates)
EVIDENCE_SHARE = 7
# an evidence key in c documents, more than EVIDENCE_RARE, makes hits only when its hash lies in
# the lowest (EVIDENCE_RARE / c) ** 2 of the sampled range (``_evidence_kept``)
EVIDENCE_RARE = 10


def kept_postings(docs: np.ndarray, drop: np.ndarray) -> np.ndarray | None:
    """Which postings to keep: those of documents not in ``drop`` (sorted document indices: the
    members of large groups of identical texts, ``cluster.mass_copies``); None keeps all."""
    if drop.shape[0] == 0 or docs.shape[0] == 0:
        return None
    at = np.minimum(np.searchsorted(drop, docs), drop.shape[0] - 1)
    keep = drop[at] != docs
    return None if keep.all() else keep


@numba.njit(cache=True)
def radix_sort_pairs(keys: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``keys`` and ``vals`` (uint64) stably sorted by key: LSD radix sort, 11-bit digits, all
    six digit counts in one pass, a digit all keys share skipped (Knuth, TAOCP vol. 3, 5.2.5). The values
    travel with their keys, so nothing is gathered afterwards. Sorts in the given arrays or in
    new ones: use the returned pair."""
    n = keys.shape[0]
    k = keys
    v = vals
    k_spare = np.empty(n, dtype=np.uint64)
    v_spare = np.empty(n, dtype=np.uint64)
    counts = np.zeros((6, 2048), dtype=np.int64)
    for i in range(n):
        x = k[i]
        for p in range(6):
            counts[p, (x >> np.uint64(11 * p)) & np.uint64(2047)] += 1
    for p in range(6):
        c = counts[p]
        if c.max() == n:
            continue
        total = 0
        for digit in range(2048):
            size = c[digit]
            c[digit] = total
            total += size
        shift = np.uint64(11 * p)
        for i in range(n):
            digit = (k[i] >> shift) & np.uint64(2047)
            j = c[digit]
            c[digit] = j + 1
            k_spare[j] = k[i]
            v_spare[j] = v[i]
        k, k_spare = k_spare, k
        v, v_spare = v_spare, v
    return k, v


# an insertion pass of ``bucket_sort_pairs`` may move keys this many places a key in all
_SHIFTS_PER_KEY = 8


@numba.njit(cache=True)
def bucket_sort_pairs(
    keys: np.ndarray, vals: np.ndarray, pair_keys: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``radix_sort_pairs`` (the same stable order) in about two passes instead of six, for keys
    spread over the 64-bit range, as hashes are, or with ``pair_keys`` over the pairs
    ``a << 32 | b`` of a range of documents: a counting sort on the top ``log2(n)`` bits of the
    key (of a pair key's rank ``(a - min a) * (span of b) + (b - min b)``, which orders them
    alike) leaves a few keys a bucket (the scatter keeps input order), and one stable insertion
    pass puts each bucket in order (the bucket sort of uniform keys, Knuth, TAOCP vol. 3,
    5.2.5; the same two steps as ``align._sort_into``). Keys that crowd a few buckets (many
    distinct keys in one: the insertion pass would move too much) are sorted by
    ``radix_sort_pairs`` instead. Leaves the given arrays as they are; returns new ones."""
    n = keys.shape[0]
    bits = 1
    while (1 << bits) < n:
        bits += 1
    low = np.uint64(0xFFFFFFFF)
    half = np.uint64(32)
    a0, b0, span, shift = np.uint64(0), np.uint64(0), np.uint64(1) << half, np.uint64(64 - bits)
    if pair_keys and n > 1:
        a0, a1, b0, b1 = low, np.uint64(0), low, np.uint64(0)
        for i in range(n):
            a0, a1 = min(a0, keys[i] >> half), max(a1, keys[i] >> half)
            b0, b1 = min(b0, keys[i] & low), max(b1, keys[i] & low)
        span = b1 - b0 + np.uint64(1)
        top = (a1 - a0) * span + (b1 - b0)  # the largest rank
        width = 0
        while width < 64 and (top >> np.uint64(width)) > 0:
            width += 1
        shift = np.uint64(max(0, width - bits))
    start = np.zeros((1 << bits) + 2, dtype=np.int64)
    for i in range(n):
        start[((((keys[i] >> half) - a0) * span + ((keys[i] & low) - b0)) >> shift) + 1] += 1
    for b in range(start.shape[0] - 1):
        start[b + 1] += start[b]
    k = np.empty(n, dtype=np.uint64)
    v = np.empty(n, dtype=np.uint64)
    for i in range(n):
        b = (((keys[i] >> half) - a0) * span + ((keys[i] & low) - b0)) >> shift
        j = start[b]
        k[j] = keys[i]
        v[j] = vals[i]
        start[b] = j + 1
    if not insertion_pass(k, v, _SHIFTS_PER_KEY * n):
        k[:] = keys  # (the radix sort starts over in these arrays: no more are made for it)
        v[:] = vals
        return radix_sort_pairs(k, v)
    return k, v


@numba.njit(cache=True)
def insertion_pass(k: np.ndarray, v: np.ndarray, budget: int) -> bool:
    """The last step of a bucket sort: ``k`` put in order by one stable insertion pass (equal keys
    keep their order), each ``v`` moving with its key; True when done, False as soon as it has
    moved keys more than ``budget`` places in all (then ``k`` and ``v`` are half sorted: the
    caller sorts another way)."""
    for i in range(1, k.shape[0]):
        x = k[i]
        if k[i - 1] <= x:
            continue
        y = v[i]
        q = i - 1
        while q >= 0 and k[q] > x:  # (strictly greater: equal keys keep their order)
            k[q + 1] = k[q]
            v[q + 1] = v[q]
            q -= 1
        k[q + 1] = x
        v[q + 1] = y
        budget -= i - 1 - q
        if budget < 0:
            return False
    return True


@numba.njit(cache=True)
def radix_order(keys: np.ndarray) -> np.ndarray:
    """The stable sorting order of uint64 keys (``bucket_sort_pairs`` carrying the positions):
    equal keys keep their input order."""
    n = keys.shape[0]
    _, order = bucket_sort_pairs(keys, np.arange(n).astype(np.uint64))
    return order.astype(np.int64)


@numba.njit(cache=True)
def _count_hits(sizes: np.ndarray, max_df: int) -> int:
    total = 0
    for c in sizes:
        if 2 <= c <= max_df:
            total += c * (c - 1) // 2
    return total


@numba.njit(cache=True)
def _emit(
    docs: np.ndarray,
    pos: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    max_df: int,
    keys: np.ndarray,
    pa: np.ndarray,
    pb: np.ndarray,
) -> None:
    k = 0
    for g in range(starts.shape[0]):
        c = sizes[g]
        if c < 2 or c > max_df:
            continue
        s = starts[g]
        for x in range(s, s + c):
            for y in range(x + 1, s + c):
                a, b = docs[x], docs[y]
                qa, qb = pos[x], pos[y]
                if a > b:
                    a, b = b, a
                    qa, qb = qb, qa
                keys[k] = (np.uint64(a) << np.uint64(32)) | np.uint64(b)
                pa[k] = qa
                pb[k] = qb
                k += 1


def posting_lists(
    hashes: np.ndarray, docs: np.ndarray, pos: np.ndarray, max_df: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Postings ordered by (hash, document) as (docs, positions) and the (start, size) of every
    list that makes hits (2..``max_df`` documents; an evidence key's list only if
    ``_evidence_kept``). Each (hash, doc) posting must be unique."""
    # postings usually arrive as runs sorted by hash with documents ascending: a stable sort on
    # the hash alone then orders them by (hash, document) (a bucket sort: numpy's stable argsort of
    # 64-bit keys is a timsort, five times slower here)
    order = radix_order(np.ascontiguousarray(hashes, dtype=np.uint64))
    h, d = hashes[order], docs[order]
    if np.any((h[1:] == h[:-1]) & (d[1:] < d[:-1])):
        order = np.lexsort((docs, hashes))
    h = hashes[order]
    d = docs[order].astype(np.int64, copy=False)
    p = pos[order].astype(np.int32, copy=False)
    del order
    boundaries = np.flatnonzero(h[1:] != h[:-1]) + 1
    starts = np.concatenate(([0], boundaries)).astype(np.int64)
    del boundaries
    sizes = np.diff(np.concatenate((starts, [d.shape[0]]))).astype(np.int64)
    keep = (sizes >= 2) & (sizes <= max_df)  # only these lists make hits
    limit, rare = _evidence_lists()  # (``_evidence_kept``)
    q = rare / np.maximum(sizes, 1)
    common = (sizes > rare) & (h[starts].astype(np.float64) >= limit * (q * q))
    keep &= (p[starts] > EVIDENCE) | ~common
    return d, p, starts[keep], sizes[keep]


@numba.njit(cache=True, inline="always")
def _run_heap(keys: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The heap of a k-way merge of runs ``[bounds[r], bounds[r + 1])`` of ``keys``, each
    sorted: (each run's next position, the heap's head keys and runs, its size), ordered by
    (key, run) (Knuth, TAOCP vol. 3, 5.4.1)."""
    k = bounds.shape[0] - 1
    cur = bounds[:-1].copy()
    key = np.empty(k, dtype=np.uint64)
    run = np.empty(k, dtype=np.int64)
    size = 0
    for r in range(k):
        if cur[r] < bounds[r + 1]:
            key[size] = keys[cur[r]]
            run[size] = r
            size += 1
    for i in range(size // 2 - 1, -1, -1):
        _sift(key, run, size, i)
    return cur, key, run, size


@numba.njit(cache=True, inline="always")
def _run_heap_pop(
    keys: np.ndarray, bounds: np.ndarray, cur: np.ndarray, key: np.ndarray, run: np.ndarray, size: int
) -> int:
    """Advance the head run of the heap past the item just taken (``cur[run[0]]``); returns the
    heap's new size (a run that ends leaves it)."""
    r = run[0]
    t = cur[r] + 1
    cur[r] = t
    if t < bounds[r + 1]:
        key[0] = keys[t]
    else:
        size -= 1
        key[0] = key[size]
        run[0] = run[size]
    _sift(key, run, size, 0)
    return size


def _evidence_lists() -> tuple[float, int]:
    """(the top of the hash range every document samples its evidence keys from, as a float (most
    sample more: ``fingerprint.evidence_rate``), ``EVIDENCE_RARE``): ``_evidence_kept``'s."""
    return float(fingerprint.EVIDENCE_RATE) * 2.0**64, EVIDENCE_RARE


@numba.njit(cache=True, inline="always")
def _evidence_kept(h: np.uint64, c: int, lists: tuple[float, int]) -> bool:
    """Whether the evidence key ``h``, in ``c`` documents, makes hits (``lists``: ``limit, rare``
    of ``_evidence_lists``): always in at most ``rare`` documents; in more, when it lies in the
    lowest ``(rare / c) ** 2`` of the range below ``limit``. The rarer a key, the more it counts,
    as an inverse document frequency weighs a term (Sparck Jones 1972), decided by its hash so
    that the same keys count in every pair and every engine; and a list of any size makes about
    ``rare ** 2 / 2`` hits on average (with ``rare / c``, a list of ``c`` made ``rare * c / 2``:
    the lists of common keys made two thirds of the hits at 50k synthetic documents)."""
    limit, rare = lists
    q = rare / c
    return c <= rare or float(h) < limit * (q * q)


@numba.njit(cache=True)
def _merge_lists(
    hashes: np.ndarray,
    docs: np.ndarray,
    pos: np.ndarray,
    bounds: np.ndarray,
    max_df: int,
    lists: tuple[float, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``posting_lists`` of runs already sorted, by a k-way merge (a binary heap of the runs'
    heads keyed by (hash, run), as in the merge phase of external sorting; Knuth, TAOCP vol. 3,
    5.4.1): equal hashes come out in run order. Only lists that make hits are kept, compacted
    (``lists``: ``_evidence_lists()``)."""
    n = hashes.shape[0]
    cur, key, run, size = _run_heap(hashes, bounds)
    out_d = np.empty(n, dtype=np.int64)
    out_p = np.empty(n, dtype=np.int32)
    starts = np.empty(n, dtype=np.int64)
    sizes = np.empty(n, dtype=np.int64)
    m = 0  # postings kept
    g = 0  # lists kept
    first = 0  # where the open list starts in out_*
    last = np.uint64(0)
    while size > 0:
        v = key[0]
        r = run[0]
        t = cur[r]
        if m > first and v != last:  # the open list ends: keep it if it makes hits
            c = m - first
            if 2 <= c <= max_df and (out_p[first] > EVIDENCE or _evidence_kept(last, c, lists)):
                starts[g] = first
                sizes[g] = c
                g += 1
                first = m
            else:
                m = first
        last = v
        out_d[m] = docs[t]
        out_p[m] = pos[t]
        m += 1
        size = _run_heap_pop(hashes, bounds, cur, key, run, size)
    c = m - first
    if 2 <= c <= max_df and (out_p[first] > EVIDENCE or _evidence_kept(last, c, lists)):
        starts[g] = first
        sizes[g] = c
        g += 1
    else:
        m = first
    return out_d[:m].copy(), out_p[:m].copy(), starts[:g].copy(), sizes[:g].copy()


@numba.njit(cache=True, inline="always")
def _sift(key: np.ndarray, run: np.ndarray, size: int, i: int) -> None:
    """Restore the heap order (by key, then run) below ``i``."""
    kv, rv = key[i], run[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and (key[c + 1] < key[c] or (key[c + 1] == key[c] and run[c + 1] < run[c])):
            c += 1
        if key[c] < kv or (key[c] == kv and run[c] < rv):
            key[i] = key[c]
            run[i] = run[c]
            i = c
        else:
            break
    key[i] = kv
    run[i] = rv


@numba.njit(cache=True)
def _maybe_shared(
    hashes: np.ndarray, docs: np.ndarray, pos: np.ndarray, bounds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The postings (and the runs' new bounds) whose hash may occur more than once: each hash
    counts in the slot of its offset from the smallest hash, cut to a table of at least 4 slots
    a posting (saturating at 2), and a posting whose slot counted one is the only posting of its
    hash. Every posting of a repeated hash is
    kept, in order, and most singletons go before the merge: in a scan 60% of a candidate task's
    postings are the only ones of their hash (n-grams no other document has), and the filter
    drops 4 in 5 of them. (The idea of a counting filter that keeps only what is seen twice is the
    k-mer counters', e.g. Melsted & Pritchard 2011, BFCounter.)"""
    n = hashes.shape[0]
    bits = 4
    while (1 << bits) < 4 * n:
        bits += 1
    # a slot is a range of hashes (their high bits above the smallest): each run, sorted, walks
    # the table from start to end, which the cache follows (low bits as the slot: 3x slower)
    lo = hashes[bounds[0]] if n > 0 else np.uint64(0)
    hi = lo
    for r in range(bounds.shape[0] - 1):
        if bounds[r] < bounds[r + 1]:
            lo = min(lo, hashes[bounds[r]])
            hi = max(hi, hashes[bounds[r + 1] - 1])
    shift = 0
    while shift < 64 and ((hi - lo) >> np.uint64(shift)) >= np.uint64(1 << bits):
        shift += 1
    sh = np.uint64(shift)
    seen = np.zeros(1 << bits, dtype=np.uint8)
    for k in range(n):  # (branch-free: the counts are as unpredictable as the hashes)
        i = (hashes[k] - lo) >> sh
        c = seen[i]
        seen[i] = c + (c < 2)
    out_h = np.empty(n, dtype=np.uint64)
    out_d = np.empty(n, dtype=np.int64)
    out_p = np.empty(n, dtype=np.int32)
    out_b = np.empty_like(bounds)
    m = 0
    for r in range(bounds.shape[0] - 1):
        out_b[r] = m
        for k in range(bounds[r], bounds[r + 1]):  # (each posting written, kept or not)
            out_h[m] = hashes[k]
            out_d[m] = docs[k]
            out_p[m] = pos[k]
            m += seen[(hashes[k] - lo) >> sh] > 1
    out_b[bounds.shape[0] - 1] = m
    return out_h[:m], out_d[:m], out_p[:m], out_b


def merged_posting_lists(
    hashes: np.ndarray, docs: np.ndarray, pos: np.ndarray, bounds: np.ndarray, max_df: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``posting_lists`` of runs ``[bounds[r], bounds[r + 1])`` of the arrays, each sorted by
    (hash, document), where a hash's documents ascend from run to run (a scan's chunks in
    order): the same lists, from a merge instead of a sort, with only the lists that make hits
    kept (``starts`` index the compacted arrays). Most postings of hashes no other posting has
    are dropped first (``_maybe_shared``): they make no list, and the merge is the costly part."""
    h, d, p, b = _maybe_shared(
        np.ascontiguousarray(hashes, dtype=np.uint64),
        np.ascontiguousarray(docs, dtype=np.int64),
        np.ascontiguousarray(pos, dtype=np.int32),
        np.ascontiguousarray(bounds, dtype=np.int64),
    )
    return _merge_lists(h, d, p, b, max_df, _evidence_lists())


def run_bounds(sizes: list[int] | np.ndarray) -> np.ndarray:
    """``[0, s0, s0 + s1, ...]``: where each of consecutive runs of these sizes starts (and the end)."""
    bounds = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    return bounds


def emit_hits(
    d: np.ndarray, p: np.ndarray, starts: np.ndarray, sizes: np.ndarray, max_df: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits (pair key, position in a, position in b) of the given posting lists."""
    n = _count_hits(sizes, max_df)
    keys = np.empty(n, dtype=np.uint64)
    pa = np.empty(n, dtype=np.int32)
    pb = np.empty(n, dtype=np.int32)
    _emit(d, p, starts, sizes, max_df, keys, pa, pb)
    return keys, pa, pb


def _sort_hits(keys: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits stably sorted by key, the two positions carried as one 64-bit value by the bucket sort
    (nothing gathered afterwards). ``keys`` may be overwritten."""
    packed = (pa.astype(np.int64) << 32) | (pb.astype(np.int64) & 0xFFFFFFFF)
    k, v = bucket_sort_pairs(np.ascontiguousarray(keys, dtype=np.uint64), packed.view(np.uint64), True)
    v = v.view(np.int64)
    return k, (v >> 32).astype(np.int32), v.astype(np.int32)


def sorted_hits(
    d: np.ndarray, p: np.ndarray, starts: np.ndarray, sizes: np.ndarray, max_df: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``emit_hits``, sorted by pair key (stably: a pair's hits in the order they were made)."""
    return _sort_hits(*emit_hits(d, p, starts, sizes, max_df))


def hit_batches(sizes: np.ndarray, max_hits: int) -> list[tuple[int, int]]:
    """Consecutive slices [g0, g1) of posting lists making at most ``max_hits`` hits each (a
    single list that makes more stands alone)."""
    if sizes.shape[0] == 0:
        return []
    made = np.cumsum(sizes * (sizes - 1) // 2)
    out, g0, done = [], 0, 0
    while g0 < sizes.shape[0]:
        g1 = int(np.searchsorted(made, done + max_hits, side="right"))
        g1 = max(g1, g0 + 1)
        out.append((g0, g1))
        done = int(made[g1 - 1])
        g0 = g1
    return out


def pair_hits(
    hashes: np.ndarray, docs: np.ndarray, pos: np.ndarray, max_df: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits (pair key, position in a, position in b) from postings (hash, doc, position).

    key = a << 32 | b with a < b (input order). Each (hash, doc) posting must be unique."""
    if hashes.shape[0] == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int32), np.empty(0, np.int32)
    return emit_hits(*posting_lists(hashes, docs, pos, max_df), max_df)


@numba.njit(cache=True)
def _supported(
    keys: np.ndarray,
    pa: np.ndarray,
    pb: np.ndarray,
    min_shared: int,
    window: int,
    min_evidence: int,
    rule: tuple[float, int, int, int],
) -> np.ndarray:
    """``keys`` sorted (hits of a pair together, in any order). True at the first hit of every
    supported pair: one whole-text hit, or ``min_shared`` n-gram hits close together (``_close``),
    or, with ``min_evidence`` above 0, at least that many evidence hits (positions ``EVIDENCE``
    and below) and one in ``share`` of the keys the shorter document may share (``_may_share``;
    ``rule``: ``_evidence_rule()``, the rate, floor and most of ``fingerprint.evidence_rate`` and
    ``EVIDENCE_SHARE``)."""
    n = keys.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    g = 0
    while g < n:
        e = g
        while e < n and keys[e] == keys[g]:
            e += 1
        whole = False
        ev = 0
        ea = eb = 0  # an evidence hit's positions: the documents' numbers of content-word pairs
        for t in range(g, e):
            if pa[t] == WHOLE:
                whole = True
            elif pa[t] <= EVIDENCE:
                ev += 1
                ea, eb = EVIDENCE - pa[t], EVIDENCE - pb[t]
        if whole:
            out[g] = True  # the whole-document fingerprint: identical texts
        elif min_evidence > 0 and ev >= min_evidence and ev * rule[3] >= _may_share(ea, eb, rule):
            out[g] = True
        elif ev == 0:
            out[g] = _close(pa[g:e], pb[g:e], min_shared, window)
        elif e - g - ev >= min_shared:
            grams = pa[g:e] > EVIDENCE
            out[g] = _close(pa[g:e][grams], pb[g:e][grams], min_shared, window)
        g = e
    return out


@numba.njit(cache=True, inline="always")
def _may_share(pairs_a: int, pairs_b: int, rule: tuple[float, int, int, int]) -> float:
    """The evidence keys two documents of ``pairs_a`` and ``pairs_b`` content-word pairs may share:
    the shorter one's pairs sampled at the lower of their two rates (a key is kept in both when it
    lies below both)."""
    rate, floor, most, _ = rule
    common = min(evidence_rate(pairs_a, rate, floor, most), evidence_rate(pairs_b, rate, floor, most))
    return min(pairs_a, pairs_b) * common


def _evidence_rule() -> tuple[float, int, int, int]:
    """The evidence rule's constants: ``fingerprint``'s sampling (rate, floor, most) and
    ``EVIDENCE_SHARE`` (read at each call, so that a changed constant takes effect: a compiled
    function would keep the value it was compiled with)."""
    return (
        float(fingerprint.EVIDENCE_RATE),
        fingerprint.EVIDENCE_FLOOR,
        fingerprint.EVIDENCE_KEYS,
        EVIDENCE_SHARE,
    )


@numba.njit(cache=True, inline="always")
def _close(pa: np.ndarray, pb: np.ndarray, min_shared: int, window: int) -> bool:
    """The two-hit rule on one pair's n-gram hits: ``min_shared`` of them within ``window``
    n-grams of each other in both documents (consecutive hits in order of position in a)."""
    m = pa.shape[0]
    if m == 2 and min_shared == 2:
        # two hits (most pairs that have more than one): close in both documents or not
        return abs(np.int64(pa[0]) - pa[1]) <= window and abs(np.int64(pb[0]) - pb[1]) <= window
    if m < min_shared:
        return False
    combined = (pa.astype(np.int64) << 32) | pb.astype(np.int64)
    order = np.argsort(combined)
    qa = pa[order]
    qb = pb[order]
    for i in range(0, m - min_shared + 1):
        j = i + min_shared - 1
        if qa[j] - qa[i] > window:
            continue
        lo = qb[i]
        hi = qb[i]
        for t in range(i + 1, j + 1):
            lo = min(lo, qb[t])
            hi = max(hi, qb[t])
        if hi - lo <= window:
            return True
    return False


@numba.njit(cache=True)
def _merge_runs(
    keys: np.ndarray, pa: np.ndarray, pb: np.ndarray, bounds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits given as runs ``[bounds[r], bounds[r + 1])``, each sorted by key, merged into one
    sequence sorted by key (equal keys in run order): a k-way merge by a binary heap of the runs'
    heads (``_merge_lists``' heap), O(n log k) instead of a sort's passes over every key."""
    n = keys.shape[0]
    cur, key, run, size = _run_heap(keys, bounds)
    out_k = np.empty(n, dtype=np.uint64)
    out_a = np.empty(n, dtype=pa.dtype)
    out_b = np.empty(n, dtype=pb.dtype)
    m = 0
    while size > 0:
        r = run[0]
        t = cur[r]
        out_k[m] = key[0]
        out_a[m] = pa[t]
        out_b[m] = pb[t]
        m += 1
        size = _run_heap_pop(keys, bounds, cur, key, run, size)
    return out_k, out_a, out_b


def supported_runs(
    keys: list[np.ndarray],
    pa: list[np.ndarray],
    pb: list[np.ndarray],
    min_shared: int,
    window: int,
    min_evidence: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``supported_pairs`` of hits given as runs, each sorted by key (slices of the hit tasks'
    run files): the runs are merged, not sorted again (a pair's hits only need to be together)."""
    if not keys or sum(k.shape[0] for k in keys) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    k = np.ascontiguousarray(np.concatenate(keys), dtype=np.uint64)
    qa, qb = np.concatenate(pa), np.concatenate(pb)
    if len(keys) > 1:
        k, qa, qb = _merge_runs(k, qa, qb, run_bounds([x.shape[0] for x in keys]))
    ok = _supported(k, qa, qb, max(1, min_shared), window, min_evidence, _evidence_rule())
    sel = k[ok]
    return (sel >> np.uint64(32)).astype(np.int64), (sel & np.uint64(0xFFFFFFFF)).astype(np.int64)


def supported_pairs(
    keys: np.ndarray, pa: np.ndarray, pb: np.ndarray, min_shared: int, window: int, min_evidence: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (a, b) index arrays, sorted: pairs with ``min_shared`` hits within ``window``
    n-grams of each other in both documents (consecutive hits in order of position in a), or
    identical texts, or (``min_evidence`` above 0) pairs with enough evidence hits (``_supported``).
    All hits of a pair must be present; their order does not matter."""
    if keys.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    k, qa, qb = _sort_hits(np.array(keys, dtype=np.uint64), pa, pb)  # a copy; stable: hits keep their order
    ok = _supported(k, qa, qb, max(1, min_shared), window, min_evidence, _evidence_rule())
    sel = k[ok]
    return (sel >> np.uint64(32)).astype(np.int64), (sel & np.uint64(0xFFFFFFFF)).astype(np.int64)
