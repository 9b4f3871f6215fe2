"""Candidate pairs from an inverted index of fingerprints.

Postings are (fingerprint hash, document index) rows sorted by hash. A fingerprint held by more
than ``max_df`` documents is boilerplate (datelines, "Reporting by", agency footers): its
postings are dropped before any pair is formed, so it can neither create pairs nor blow up this
stage (the document-frequency cap of passim and of Broder's shingling). Every other posting list
of size ``c`` emits its ``c(c-1)/2`` document pairs; a pair needs at least ``min_shared`` shared
fingerprints.

The hash space is split into ranges (``partition_bounds``) so that memory is bounded by a
setting: each range is sorted and counted on its own, and the per-range pair counts are summed.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _count_pairs(sizes: np.ndarray, max_df: int) -> int:
    total = 0
    for c in sizes:
        if 2 <= c <= max_df:
            total += c * (c - 1) // 2
    return total


@numba.njit(cache=True)
def _emit(docs: np.ndarray, starts: np.ndarray, sizes: np.ndarray, max_df: int, out: np.ndarray) -> None:
    k = 0
    for g in range(starts.shape[0]):
        c = sizes[g]
        if c < 2 or c > max_df:
            continue
        s = starts[g]
        for x in range(s, s + c):
            for y in range(x + 1, s + c):
                a = docs[x]
                b = docs[y]
                if a > b:
                    a, b = b, a
                out[k] = (np.uint64(a) << np.uint64(32)) | np.uint64(b)
                k += 1


def pair_counts(hashes: np.ndarray, docs: np.ndarray, max_df: int) -> tuple[np.ndarray, np.ndarray]:
    """Shared-fingerprint counts of document pairs from postings (hash, doc).

    Returns (keys, counts): key = a << 32 | b with a < b, sorted by key. Each (hash, doc) posting
    must be unique (one fingerprint counts once per document)."""
    if hashes.shape[0] == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    order = np.lexsort((docs, hashes))
    h = hashes[order]
    d = docs[order].astype(np.int64)
    boundaries = np.flatnonzero(np.diff(h)) + 1
    starts = np.concatenate(([0], boundaries)).astype(np.int64)
    sizes = np.diff(np.concatenate((starts, [h.shape[0]]))).astype(np.int64)
    n = _count_pairs(sizes, max_df)
    keys = np.empty(n, dtype=np.uint64)
    _emit(d, starts, sizes, max_df, keys)
    return reduce_counts(keys, np.ones(n, dtype=np.int64))


def reduce_counts(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum counts of equal keys; returns keys sorted ascending."""
    if keys.shape[0] == 0:
        return keys.astype(np.uint64), counts.astype(np.int64)
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    c = counts[order]
    first = np.concatenate(([True], k[1:] != k[:-1]))
    idx = np.flatnonzero(first)
    return k[idx], np.add.reduceat(c, idx).astype(np.int64)


def select(keys: np.ndarray, counts: np.ndarray, min_shared: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (a, b) index arrays with at least ``min_shared`` shared fingerprints, sorted."""
    keep = counts >= min_shared
    k = keys[keep]
    return (k >> np.uint64(32)).astype(np.int64), (k & np.uint64(0xFFFFFFFF)).astype(np.int64)


def partition_bounds(parts: int) -> np.ndarray:
    """``parts + 1`` boundaries splitting the uint64 hash space into equal ranges."""
    edges = [(i * (1 << 64)) // parts for i in range(parts)]
    return np.array(edges + [(1 << 64) - 1], dtype=np.uint64)
