"""Fingerprints: hashed word n-grams, winnowing, and a MinHash sketch.

* ``shingles``: 64-bit hash of every run of ``n`` consecutive token hashes.
* ``winnow``: the position-robust subset of Schleimer, Wilkerson & Aiken (SIGMOD 2003):
  in every window of ``w`` consecutive n-gram hashes the minimum is selected (rightmost on ties),
  so any shared run of ``w + n - 1`` words shares at least one fingerprint.
* ``minhash``: a ``k``-permutation MinHash sketch (Broder 1997) of the n-gram set for
  whole-document similarity, vectorised in numpy.
* ``evidence_keys``: a hash-sampled set of neighbouring content-word pairs per document, what a
  rewritten copy keeps of its source (names, numbers, quoted words) when it shares no passage.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from .normalize import _mix64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_DOC_SEED = np.uint64(0xD0C0FFEE5EED1234)


@numba.njit(cache=True)
def _shingles(hashes: np.ndarray, n: int) -> np.ndarray:
    m = hashes.shape[0]
    if m == 0:
        return np.empty(0, dtype=np.uint64)
    if m < n:
        # a document shorter than n words gets one n-gram of all its words
        h = np.uint64(n)
        for i in range(m):
            h = _mix64(h * _GOLDEN + hashes[i])
        out = np.empty(1, dtype=np.uint64)
        out[0] = h
        return out
    # word j of every n-gram at once: the inner loop has independent iterations, which the
    # compiler turns into vector code (the same arithmetic as hashing each n-gram in turn)
    out = np.full(m - n + 1, np.uint64(n), dtype=np.uint64)
    for j in range(n):
        for i in range(m - n + 1):
            out[i] = _mix64(out[i] * _GOLDEN + hashes[i + j])
    return out


def shingles(token_hashes: np.ndarray, n: int) -> np.ndarray:
    """Hash of every word n-gram (a text shorter than n words gives one hash of all its words)."""
    return _shingles(np.ascontiguousarray(token_hashes, dtype=np.uint64), n)


@numba.njit(cache=True)
def _shingles_many(hashes: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    d = counts.shape[0]
    bounds = np.zeros(d + 1, dtype=np.int64)
    for k in range(d):
        m = counts[k]
        bounds[k + 1] = bounds[k] + (0 if m == 0 else (1 if m < n else m - n + 1))
    out = np.empty(bounds[d], dtype=np.uint64)
    t = 0
    for k in range(d):
        out[bounds[k] : bounds[k + 1]] = _shingles(hashes[t : t + counts[k]], n)
        t += counts[k]
    return out, bounds


def shingles_many(token_hashes: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``shingles`` of a batch of texts in one compiled call: ``token_hashes`` of all texts
    concatenated, ``counts`` tokens each. Returns the hashes concatenated and each text's bounds
    (text ``k``'s are ``[bounds[k], bounds[k + 1])``)."""
    return _shingles_many(
        np.ascontiguousarray(token_hashes, dtype=np.uint64), np.ascontiguousarray(counts, dtype=np.int64), n
    )


@numba.njit(cache=True)
def _winnow(h: np.ndarray, w: int) -> np.ndarray:
    m = h.shape[0]
    if m == 0:
        return np.empty(0, dtype=np.int64)
    if m <= w:
        best = 0
        for i in range(m):
            if h[i] <= h[best]:
                best = i
        out = np.empty(1, dtype=np.int64)
        out[0] = best
        return out
    # Each window selects its rightmost minimum. Sliding one step, the window's minimum changes
    # only when the entering hash is at most it (then the entering one is the rightmost minimum)
    # or when the minimum leaves (then the window is scanned again): about two comparisons a
    # position instead of w (the incremental form of Schleimer et al. 2003's algorithm).
    sel = np.empty(m, dtype=np.int64)
    best = 0
    for i in range(1, w):
        if h[i] <= h[best]:
            best = i
    sel[0] = best
    k = 1
    for s in range(1, m - w + 1):
        e = s + w - 1
        if best < s:
            best = s
            for i in range(s + 1, e + 1):
                if h[i] <= h[best]:
                    best = i
        elif h[e] <= h[best]:
            best = e
        if best != sel[k - 1]:
            sel[k] = best
            k += 1
    return sel[:k].copy()


def winnow(shingle_hashes: np.ndarray, w: int) -> np.ndarray:
    """Positions selected by winnowing with window ``w`` (increasing, no repeats)."""
    return _winnow(np.ascontiguousarray(shingle_hashes, dtype=np.uint64), max(1, int(w)))


def fingerprints(shingle_hashes: np.ndarray, w: int) -> np.ndarray:
    """The document's fingerprint set for the inverted index: winnowed hashes, sorted and unique."""
    if shingle_hashes.shape[0] == 0:
        return np.empty(0, dtype=np.uint64)
    return np.unique(shingle_hashes[winnow(shingle_hashes, w)])


@numba.njit(cache=True)
def _winnowed(
    hashes: np.ndarray, counts: np.ndarray, n: int, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per document, in document order: its whole-text fingerprint (position -1: identical texts
    always meet, however short), then its winnowed n-grams in position order, repeats included.
    The arrays are filled up to the returned count."""
    size = hashes.shape[0] + 2 * counts.shape[0]
    all_h = np.empty(size, dtype=np.uint64)
    all_d = np.empty(size, dtype=np.int32)
    all_p = np.empty(size, dtype=np.int32)
    k = 0
    offset = 0
    for d in range(counts.shape[0]):
        c = counts[d]
        if c > 0:
            dh = _DOC_SEED
            for t in range(offset, offset + c):
                dh = _mix64(dh * _GOLDEN + hashes[t])
            all_h[k] = dh
            all_d[k] = d
            all_p[k] = -1
            k += 1
        sh = _shingles(hashes[offset : offset + c], n)
        offset += c
        if sh.shape[0] == 0:
            continue
        pos = _winnow(sh, w)
        for t in range(pos.shape[0]):
            all_h[k] = sh[pos[t]]
            all_d[k] = d
            all_p[k] = pos[t]
            k += 1
    return all_h, all_d, all_p, k


@numba.njit(cache=True)
def _batch_fingerprints(
    hashes: np.ndarray, counts: np.ndarray, n: int, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    all_h, all_d, all_p, size = _winnowed(hashes, counts, n, w)
    out_h = np.empty(size, dtype=np.uint64)
    out_d = np.empty(size, dtype=np.int32)
    out_p = np.empty(size, dtype=np.int32)
    k = 0
    lo = 0
    while lo < size:  # one document's run: its whole-text fingerprint, then its n-grams
        hi = lo
        while hi < size and all_d[hi] == all_d[lo]:
            hi += 1
        if all_p[lo] < 0:
            out_h[k], out_d[k], out_p[k] = all_h[lo], all_d[lo], -1
            k += 1
            lo += 1
        vals = all_h[lo:hi]
        order = np.argsort(vals, kind="mergesort")  # stable: the first position of a value wins
        last = np.uint64(0)
        for t in range(order.shape[0]):
            v = vals[order[t]]
            if t > 0 and v == last:
                continue
            last = v
            out_h[k] = v
            out_d[k] = all_d[lo]
            out_p[k] = all_p[lo + order[t]]
            k += 1
        lo = hi
    return out_h[:k].copy(), out_d[:k].copy(), out_p[:k].copy()


def batch_fingerprints(
    token_hashes: np.ndarray, counts: np.ndarray, n: int, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fingerprint sets of a batch of documents from their concatenated token hashes and token
    counts: (hashes, document number within the batch, n-gram position of the first occurrence).
    Per document: first a whole-document fingerprint (position -1, so exact copies of any length
    meet), then the winnowed n-gram hashes of ``fingerprints(shingles(...), w)``, unique and sorted."""
    return _batch_fingerprints(
        np.ascontiguousarray(token_hashes, dtype=np.uint64),
        np.ascontiguousarray(counts, dtype=np.int64),
        n,
        max(1, w),
    )


_MERSENNE = np.uint64((1 << 61) - 1)


def minhash_params(num_perm: int = 128, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, (1 << 61) - 1, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, (1 << 61) - 1, size=num_perm, dtype=np.uint64)
    return a, b


@numba.njit(cache=True)
def _minhash(h: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    k = a.shape[0]
    out = np.full(k, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    for i in range(h.shape[0]):
        x = h[i]
        for j in range(k):
            v = _mix64(x * a[j] + b[j])
            if v < out[j]:
                out[j] = v
    return out


def minhash(shingle_hashes: np.ndarray, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """MinHash signature (``num_perm`` uint64 values) of a set of n-gram hashes."""
    a, b = minhash_params(num_perm, seed)
    return _minhash(np.ascontiguousarray(shingle_hashes, dtype=np.uint64), a, b)


def minhash_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two MinHash signatures."""
    return float(np.mean(sig_a == sig_b))


# Evidence keys: what a rewritten copy keeps of its source when it shares no passage (names,
# numbers, quoted words, short fragments), for the candidate stage's evidence rule
# (``candidates.py``). A key is a pair of neighbouring content words (stopwords and one-character
# tokens skipped, so "Ministry of Defense" gives "ministry defense"), unordered ("Defense
# Ministry" gives the same key). Keys are sampled by value: a document of ``b`` such pairs keeps a
# key when its hash lies in the lowest ``evidence_rate(b)`` of the hash range, so a key two
# documents share is kept in both exactly when it lies below the lower of their two rates, and
# the shared sample estimates the containment of either side (Broder 1997's MOD_m sampling,
# unbiased for containment, where a fixed-size MIN_s sketch of a long document is not). The rate
# is EVIDENCE_RATE, raised for a short text to keep about EVIDENCE_FLOOR keys (a brief has few
# words to share) and lowered for a very long one to keep about EVIDENCE_KEYS (each document
# contributes a bounded number). Figures: README, "How it works" item 4.
EVIDENCE_RATE = 0.125
EVIDENCE_FLOOR = 48
EVIDENCE_KEYS = 256
_EVIDENCE_SEED = np.uint64(0x5EED0E71DE1CE5ED)
# words no evidence key is made of: the function words and reporting verbs of news English
# (``explain.STOPWORDS`` among them, tested): they carry no evidence, and skipping them makes a
# pair of the content words around them ("the ministry said on Monday that" gives "ministry
# monday"). (Listed here, not imported: ``explain`` loads the aligner, seconds of a worker's
# start-up that the read stage would wait for.)
EVIDENCE_STOPWORDS = frozenset(
    """a about above after again against all also am among an and any are as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here his how i if in into is it its just many may me
    might more most much must my no nor not now of off on once one only or other our out over own
    said same says she should so some such than that the their there these they this those
    through to too under until up upon very was we were what when where which while who whom
    whose why will with would yet you your""".split()
)


@numba.njit(cache=True)
def evidence_rate(pairs: int, rate: float, floor: int, most: int) -> float:
    """The share of its ``pairs`` content-word pairs a document keeps as evidence keys: ``rate``,
    but at least ``floor`` keys' worth and at most ``most`` keys' worth, at most all."""
    if pairs <= 0:
        return 1.0
    return min(1.0, max(rate, floor / pairs), most / pairs)


@numba.njit(cache=True)
def _evidence_keys(
    hashes: np.ndarray,
    lengths: np.ndarray,
    counts: np.ndarray,
    stop: np.ndarray,
    stop_mult: np.uint64,
    stop_shift: int,
    rate: float,
    floor: int,
    most: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per document, in document order: its evidence keys (a key repeated in a document is kept
    each time: the postings' sort drops the repeats), and each key's document's number of
    content-word pairs. ``stop``: the skipped words' token hashes, each in its slot
    ``(h * stop_mult) >> stop_shift`` (``_stop_table``)."""
    total = hashes.shape[0]
    out_h = np.empty(total, dtype=np.uint64)
    out_d = np.empty(total, dtype=np.int32)
    out_n = np.empty(total, dtype=np.int32)
    content = np.empty(counts.max() if counts.shape[0] else 0, dtype=np.bool_)
    shift = np.uint64(stop_shift)
    k = 0
    offset = 0
    for d in range(counts.shape[0]):
        c = counts[d]
        pairs = -1
        for t in range(c):  # (branch-free: content words and stopwords alternate unpredictably)
            h = hashes[offset + t]
            is_content = (lengths[offset + t] >= 2) & (stop[(h * stop_mult) >> shift] != h)
            content[t] = is_content
            pairs += is_content
        share = evidence_rate(pairs, rate, floor, most)
        below = np.uint64(0xFFFFFFFFFFFFFFFF) if share >= 1.0 else np.uint64(share * 18446744073709551616.0)
        first = k
        prev = np.uint64(0)
        have = False
        for t in range(c):
            h = hashes[offset + t]
            key = _mix64((prev + h) ^ _EVIDENCE_SEED)  # (a sum: the pair unordered)
            out_h[k] = key
            k += have & content[t] & (key <= below)
            prev = h if content[t] else prev
            have |= content[t]
        offset += c
        out_d[first:k] = d
        out_n[first:k] = max(0, pairs)
    return out_h[:k], out_d[:k], out_n[:k]


def evidence_keys(
    token_hashes: np.ndarray, lengths: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evidence keys of a batch of documents from their concatenated token hashes, token lengths
    (characters) and token counts: (key, document number within the batch, the document's number
    of content-word pairs, from which its sampling rate follows: ``evidence_rate``), in document
    order."""
    table, mult, shift = _stop_table()
    return _evidence_keys(
        np.ascontiguousarray(token_hashes, dtype=np.uint64),
        np.ascontiguousarray(lengths, dtype=np.int32),
        np.ascontiguousarray(counts, dtype=np.int64),
        table,
        np.uint64(mult),
        shift,
        float(EVIDENCE_RATE),
        EVIDENCE_FLOOR,
        EVIDENCE_KEYS,
    )


@functools.cache
def _stop_table() -> tuple[np.ndarray, int, int]:
    """The token hashes of ``EVIDENCE_STOPWORDS`` in a table of 2,048 slots (16 kB, in the
    first-level cache), each in slot ``(h * mult) >> shift`` with no two in one: the first odd
    multiplier of a fixed sequence that places them so (multiply-shift hashing, Dietzfelbinger et
    al. 1997, tried until perfect: a few dozen tries for 124 words). Empty slots hold 0, no
    word's hash. Returns (table, mult, shift)."""
    from .normalize import tokenize_batch

    tok, _ = tokenize_batch([" ".join(sorted(EVIDENCE_STOPWORDS))])
    hashes = np.unique(tok.hashes)
    bits = 11
    mult = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for _ in range(100_000):
            slots = (hashes * mult) >> np.uint64(64 - bits)
            if np.unique(slots).shape[0] == hashes.shape[0]:
                table = np.zeros(1 << bits, dtype=np.uint64)
                table[slots] = hashes
                return table, int(mult), 64 - bits
            mult = (mult * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)) | np.uint64(1)
    raise AssertionError("no multiplier places the stopwords' hashes apart")
