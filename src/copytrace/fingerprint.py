"""Fingerprints: hashed word n-grams, winnowing, and a MinHash sketch.

* ``shingles``: 64-bit hash of every run of ``n`` consecutive token hashes.
* ``winnow``: the position-robust subset of Schleimer, Wilkerson & Aiken (SIGMOD 2003):
  in every window of ``w`` consecutive n-gram hashes the minimum is selected (rightmost on ties),
  so any shared run of ``w + n - 1`` words shares at least one fingerprint.
* ``minhash``: a ``k``-permutation MinHash sketch (Broder 1997) of the n-gram set for
  whole-document similarity, vectorised in numpy.
"""

from __future__ import annotations

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
