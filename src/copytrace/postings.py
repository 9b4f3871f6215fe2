"""Postings of a chunk of documents: (fingerprint hash, document, n-gram position) rows, the input
of the candidate stage. Made by the workers of every engine (``engines/local.py``,
``engines/spark.py``) and by ``dedup``; a module of its own so the local engine's parent, which only
coordinates, never loads the compiled kernels (numba and LLVM)."""

from __future__ import annotations

import numba
import numpy as np

from .candidates import EVIDENCE, bucket_sort_pairs
from .fingerprint import _winnowed, batch_fingerprints, evidence_keys
from .normalize import tokenize_batch
from .types import Document, Settings


def fingerprint_postings(
    docs: list[Document], first_index: int, s: Settings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Postings (hash, doc index, n-gram position) of a batch of documents, one row per
    distinct fingerprint of a document."""
    if not docs:
        return np.empty(0, np.uint64), np.empty(0, np.int32), np.empty(0, np.int32)
    tok, counts = tokenize_batch([d.text for d in docs])
    h, d, pos = batch_fingerprints(tok.hashes, counts, s.ngram, s.winnow_window)
    return h, d + np.int32(first_index), pos


@numba.njit(cache=True)
def _sorted_postings(
    hashes: np.ndarray, counts: np.ndarray, n: int, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    all_h, all_d, all_p, k = _winnowed(hashes, counts, n, w)  # in document order
    return _sort_postings(all_h, all_d, all_p, k)


@numba.njit(cache=True)
def _sorted_postings_with_evidence(
    hashes: np.ndarray,
    counts: np.ndarray,
    n: int,
    w: int,
    ev_h: np.ndarray,
    ev_d: np.ndarray,
    ev_p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_sorted_postings`` with the evidence postings (in document order) sorted in among them."""
    all_h, all_d, all_p, k = _winnowed(hashes, counts, n, w)
    m = ev_h.shape[0]
    h = np.empty(k + m, dtype=np.uint64)
    d = np.empty(k + m, dtype=np.int32)
    p = np.empty(k + m, dtype=np.int32)
    h[:k], d[:k], p[:k] = all_h[:k], all_d[:k], all_p[:k]
    h[k:], d[k:], p[k:] = ev_h, ev_d, ev_p
    return _sort_postings(h, d, p, k + m)


@numba.njit(cache=True)
def _sort_postings(
    all_h: np.ndarray, all_d: np.ndarray, all_p: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # one stable sort by hash: documents ascend within a hash, and within a document the
    # whole-text fingerprint comes first, then the n-gram's positions in order; a document's
    # repeated n-gram keeps its first position, a repeated evidence key is kept once.
    # (document, position) ride along packed in one uint64, the document in the high half, the
    # position's 32 bits in the low half
    packed = np.empty(k, dtype=np.uint64)
    for i in range(k):
        packed[i] = (np.uint64(all_d[i]) << np.uint64(32)) | np.uint64(np.uint32(all_p[i]))
    sh, sv = bucket_sort_pairs(all_h[:k], packed)
    out_h = np.empty(k, dtype=np.uint64)
    out_d = np.empty(k, dtype=np.int32)
    out_p = np.empty(k, dtype=np.int32)
    m = 0
    for t in range(k):
        v = sh[t]
        d = np.int32(sv[t] >> np.uint64(32))
        if m > 0 and out_h[m - 1] == v and out_d[m - 1] == d and out_p[m - 1] != -1:
            continue  # (a repeated n-gram or evidence key of the document)
        out_h[m] = v
        out_d[m] = d
        out_p[m] = np.int32(np.uint32(sv[t] & np.uint64(0xFFFFFFFF)))
        m += 1
    return out_h[:m], out_d[:m], out_p[:m]


def sorted_postings(
    docs: list[Document], s: Settings, evidence: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``fingerprint_postings(docs, 0, s)`` in the order ``save_postings`` stores them (by hash,
    documents ascending within a hash), made in one pass: the per-document sort of the unique
    fingerprints and the chunk-wide sort become one bucket sort of the winnowed n-grams. With
    ``evidence`` (a scan's postings, unless ``s.min_evidence`` is 0), each document's
    ``fingerprint.evidence_keys`` too, at position ``candidates.EVIDENCE - b`` (``b``: the
    document's number of content-word pairs), for the candidate stage's evidence rule."""
    if not docs:
        return np.empty(0, np.uint64), np.empty(0, np.int32), np.empty(0, np.int32)
    tok, counts = tokenize_batch([d.text for d in docs])
    hashes = np.ascontiguousarray(tok.hashes, dtype=np.uint64)
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    if not evidence or s.min_evidence == 0:
        return _sorted_postings(hashes, counts, s.ngram, max(1, s.winnow_window))
    ev_h, ev_d, ev_n = evidence_keys(hashes, tok.ends - tok.starts, counts)
    return _sorted_postings_with_evidence(
        hashes, counts, s.ngram, max(1, s.winnow_window), ev_h, ev_d, (EVIDENCE - ev_n).astype(np.int32)
    )


def whole_fingerprints(h: np.ndarray, d: np.ndarray, p: np.ndarray, n_docs: int) -> str:
    """Each of ``n_docs`` documents' whole-text fingerprint from its postings (the one at position
    -1; 0 for a text with no word), as little-endian uint64s in hex (it travels in a chunk's JSON
    record): what the parent needs to find large groups of identical texts (``cluster.mass_copies``)."""
    whole = np.zeros(n_docs, dtype="<u8")
    at = p == -1
    whole[d[at]] = h[at]
    return whole.tobytes().hex()


def fingerprint_batch(docs: list[Document], first_index: int, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Postings (hash, doc index) of a batch of documents, one row per distinct fingerprint."""
    h, d, _ = fingerprint_postings(docs, first_index, s)
    return h, d
