"""Reprint clusters (``passages.jsonl``): one passage of text and every place it was reprinted.

A scan's pairs say which two documents share which passages (``pairs.jsonl``, offsets on both
sides). A reader of a large scan asks another question first: which passages travelled
furthest ("this paragraph appears in 57 documents, here, here and here"), the unit of output of
passim and of the Viral Texts and impresso projects (Smith, Cordell & Dillon 2013, "Infectious
texts"). Here the aligned passages of every pair become one graph:

* a *span* is one side of an aligned passage: a document and ``[start, end)`` in its text;
* spans of one document that hold the same stretch of text are one *node*;
* every aligned passage links the node of its ``a`` span with the node of its ``b`` span;
* a *cluster* is a connected component of nodes; its members are the nodes' extents, one per
  document and stretch of text.

The rule that keeps clusters from chaining (one shared boilerplate sentence must not glue two
different passages into one cluster) has two steps (docs/passages.md).

1. Spans of one document are one node only when all of them hold a common stretch of text (the
   node's *core*) that covers at least ``CORE`` (4/5) of each of them. Spans are taken in order of
   start (longer first on a tie); each joins the open node of its document whose core it overlaps
   most, if the overlap is at least ``CORE`` of the span and of the longest span in the node (so
   the shrunken core still covers ``CORE`` of every member), or starts a node of its own. Nodes
   linked by passages make the first clusters. (passim merges overlapping spans of a document by
   their relative overlap too; here the overlap is measured against a common core, not span by
   span, so that no chain of overlapping spans can drift from one passage to another.)
2. A copy that kept only part of a passage makes a cluster whose nodes lie inside the passage's
   longer nodes; such a cluster joins the one cluster that holds it in more than half of its
   documents, and in at least twice as many as any other (``_attach``). A sentence S that passages
   P+S and Q+S share is a cluster of its own after step 1 (its span overlaps a span of P+S by less
   than 4/5 of it), and it lies inside P in some documents and inside Q in others: it joins
   neither, and P's and Q's clusters stay apart.

A member's extent is the union of its node's spans; two nodes of one document in the same
cluster whose extents overlap are one member. The representative member is the one with the
most alignments (ties: first in input order, then offset); its text, cut to about ``SNIPPET``
characters, is the cluster's snippet. The earliest member follows the evidence order of
``cluster.earliest_member`` (date, then the only wire agency by source, then the only wire
dateline). Clusters are numbered in the order of their first member (input order, then offset).

Hot paths are compiled (numba): reading the passages out of ``pairs.jsonl`` (a byte scan that
stops at each line's ``flags``: the derivation, most of a line's bytes, is skipped to its end)
and the node sweep; the rest is array work. The local engine runs this in one of its workers (the
parent never loads numba), Spark's driver runs the same function: both write the same bytes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np

from .cluster import _union_find, earliest_member
from .errors import InputError
from .relate import WIRE, Agencies, is_agency_source

CORE = 0.8
SNIPPET = 200
BLOCK = 1 << 24  # pairs.jsonl is read in blocks of 16 MB (cut at line ends)
PASSAGES_FILE = "passages.jsonl"


def cluster_id(k: int) -> str:
    """The id of the ``k``-th reprint cluster (``p000000``, ``p000001``, ...)."""
    return f"p{k:06d}"


# ---------------------------------------------------------------- reading pairs.jsonl


def _pattern(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8).copy()


# in JSON a quote inside a string is escaped, so these (each opening with a quote or a brace
# followed by a quote) occur only as the structure of a line, never inside a value
_KEYS = (
    _pattern('"relation": "'),
    _pattern('"direction": "'),
    _pattern('"containment_a": '),
    _pattern('"containment_b": '),
    _pattern('"passages": ['),
    _pattern('{"a_start": '),
    _pattern('"flags": '),
    _pattern(', "b": "'),
    _pattern(', "a_end": '),
    _pattern(', "b_start": '),
    _pattern(', "b_end": '),
    _pattern(', "words": '),
)


@numba.njit(cache=True)
def _at(buf: np.ndarray, i: int, pat: np.ndarray) -> bool:
    if i + pat.shape[0] > buf.shape[0]:
        return False
    for k in range(pat.shape[0]):
        if buf[i + k] != pat[k]:
            return False
    return True


@numba.njit(cache=True)
def _find(buf: np.ndarray, i: int, pat: np.ndarray) -> int:
    """Where ``pat`` starts at or after ``i`` on the same line; -1 if the line ends first."""
    first = pat[0]
    n = buf.shape[0]
    while i < n:
        c = buf[i]
        if c == 10:
            return -1
        if c == first and _at(buf, i, pat):
            return i
        i += 1
    return -1


@numba.njit(cache=True)
def _string_end(buf: np.ndarray, i: int) -> int:
    """The closing quote of a JSON string whose text starts at ``i``; -1 if the line ends first."""
    n = buf.shape[0]
    while i < n:
        c = buf[i]
        if c == 92:  # backslash: the next byte is escaped
            i += 2
            continue
        if c == 34:
            return i
        if c == 10:
            return -1
        i += 1
    return -1


@numba.njit(cache=True)
def _integer(buf: np.ndarray, i: int) -> tuple[int, int]:
    """(value, end) of the non-negative integer at ``i``; end == i when there is none."""
    v = 0
    j = i
    while j < buf.shape[0] and 48 <= buf[j] <= 57:
        v = v * 10 + (buf[j] - 48)
        j += 1
    return v, j


@numba.njit(cache=True)
def _float(buf: np.ndarray, i: int) -> tuple[float, int]:
    """(value, end) of the JSON number at ``i`` (sign, fraction and exponent read)."""
    j = i
    sign = 1.0
    if j < buf.shape[0] and buf[j] == 45:
        sign = -1.0
        j += 1
    # digits as one integer, divided once by a power of ten: one correctly rounded division, so
    # the float is the one Python's float() reads (for up to 15 digits, as pairs.jsonl writes them)
    whole, j2 = _integer(buf, j)
    digits = 0
    if j2 < buf.shape[0] and buf[j2] == 46:
        j2 += 1
        while j2 < buf.shape[0] and 48 <= buf[j2] <= 57:
            whole = whole * 10 + (buf[j2] - 48)
            digits += 1
            j2 += 1
    v = float(whole) / (10.0**digits) if digits else float(whole)
    if j2 < buf.shape[0] and (buf[j2] == 101 or buf[j2] == 69):
        j2 += 1
        esign = 1
        if j2 < buf.shape[0] and (buf[j2] == 45 or buf[j2] == 43):
            esign = -1 if buf[j2] == 45 else 1
            j2 += 1
        ex, j2 = _integer(buf, j2)
        v *= 10.0 ** (esign * ex)
    return sign * v, j2


@numba.njit(cache=True)
def _grow(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` (2-d) with room for row ``n``: doubled when full."""
    if n < a.shape[0]:
        return a
    b = np.empty((max(16, 2 * a.shape[0]), a.shape[1]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@numba.njit(cache=True)
def _scan_lines(
    buf: np.ndarray, keys: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The fields of every pair line in ``buf`` (whole lines): per line, the byte ranges of the
    ``a`` and ``b`` ids (their JSON strings, quotes included), of the relation and the direction
    (the values, no quotes), and the two containments; per passage, its line and a_start, a_end,
    b_start, b_end, words. The last value is the number of the first malformed line (-1: none)."""
    rel_key, dir_key, ca_key, cb_key, pass_key, start_key, flags_key, b_key = keys[:8]
    a_end_key, b_start_key, b_end_key, words_key = keys[8:]
    lines = np.empty((1024, 8), dtype=np.int64)
    cont = np.empty((1024, 2), dtype=np.float64)
    rows = np.empty((1024, 6), dtype=np.int64)
    n_lines = 0
    n_rows = 0
    i = 0
    n = buf.shape[0]
    while i < n:
        if buf[i] == 10 or buf[i] == 13 or buf[i] == 32:  # blank line or stray space
            i += 1
            continue
        # {"a": "<id>", "b": "<id>", "relation": "<r>", "direction": "<d>", ...
        if not (i + 7 <= n and buf[i] == 123 and buf[i + 1] == 34 and buf[i + 2] == 97 and buf[i + 3] == 34):
            return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
        a_end = _string_end(buf, i + 7)
        if a_end < 0 or not _at(buf, a_end + 1, b_key):
            return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
        b_lo = a_end + 1 + b_key.shape[0] - 1
        b_end = _string_end(buf, b_lo + 1)
        r = _find(buf, max(b_end, 0), rel_key) if b_end >= 0 else -1
        r_end = _string_end(buf, r + rel_key.shape[0]) if r >= 0 else -1
        d = _find(buf, max(r_end, 0), dir_key) if r_end >= 0 else -1
        d_end = _string_end(buf, d + dir_key.shape[0]) if d >= 0 else -1
        ca = _find(buf, max(d_end, 0), ca_key) if d_end >= 0 else -1
        if ca < 0:
            return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
        va, j = _float(buf, ca + ca_key.shape[0])
        cb = _find(buf, j, cb_key)
        if cb < 0:
            return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
        vb, j = _float(buf, cb + cb_key.shape[0])
        p = _find(buf, j, pass_key)
        if p < 0:
            return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
        j = p + pass_key.shape[0]
        f = _find(buf, j, flags_key)  # the passages end before the flags
        if f < 0:
            return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
        while True:
            s = _find(buf[:f], j, start_key)
            if s < 0:
                break
            a0, j = _integer(buf, s + start_key.shape[0])
            if not _at(buf, j, a_end_key):
                return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
            a1, j = _integer(buf, j + a_end_key.shape[0])
            if not _at(buf, j, b_start_key):
                return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
            b0, j = _integer(buf, j + b_start_key.shape[0])
            if not _at(buf, j, b_end_key):
                return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
            b1, j = _integer(buf, j + b_end_key.shape[0])
            if not _at(buf, j, words_key):
                return lines[:n_lines], cont[:n_lines], rows[:n_rows], n_lines
            w, j = _integer(buf, j + words_key.shape[0])
            rows = _grow(rows, n_rows)
            rows[n_rows, 0] = n_lines
            rows[n_rows, 1] = a0
            rows[n_rows, 2] = a1
            rows[n_rows, 3] = b0
            rows[n_rows, 4] = b1
            rows[n_rows, 5] = w
            n_rows += 1
        lines = _grow(lines, n_lines)
        cont = _grow(cont, n_lines)
        lines[n_lines, 0] = i + 6
        lines[n_lines, 1] = a_end + 1
        lines[n_lines, 2] = b_lo
        lines[n_lines, 3] = b_end + 1
        lines[n_lines, 4] = r + rel_key.shape[0]
        lines[n_lines, 5] = r_end
        lines[n_lines, 6] = d + dir_key.shape[0]
        lines[n_lines, 7] = d_end
        cont[n_lines, 0] = va
        cont[n_lines, 1] = vb
        n_lines += 1
        i = f
        while i < n and buf[i] != 10:  # the rest of the line (flags, derivation)
            i += 1
        i += 1
    return lines[:n_lines], cont[:n_lines], rows[:n_rows], -1


@dataclass(frozen=True, slots=True)
class PairTable:
    """What the overview and the reprint clusters read of ``pairs.jsonl``, one entry a line:
    document indices, relation and direction (codes into ``relations`` / ``directions``) and
    containments; and one row a passage: its line and offsets on both sides."""

    a: np.ndarray  # int64, input index of a (-1: an id not among the documents)
    b: np.ndarray
    relation: np.ndarray  # int8 codes
    relations: tuple[str, ...]
    direction: np.ndarray  # int8 codes
    directions: tuple[str, ...]
    containment_a: np.ndarray  # float64
    containment_b: np.ndarray
    line: np.ndarray  # per passage: its pair (line number)
    a_start: np.ndarray
    a_end: np.ndarray
    b_start: np.ndarray
    b_end: np.ndarray
    words: np.ndarray


def _decode_id(raw: bytes) -> str:
    if b"\\" not in raw:
        return raw[1:-1].decode("utf-8", "surrogatepass")
    return str(json.loads(raw))


def read_pair_table(path: Path, index: dict[str, int]) -> PairTable:
    """The ``PairTable`` of a ``pairs.jsonl`` (``index``: input index by document id), read in
    blocks of ``BLOCK`` bytes cut at line ends. A line that is not a pair as copytrace writes it
    is an ``InputError`` naming the file and line."""

    def blocks() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            rest = b""
            while True:
                chunk = fh.read(BLOCK)
                data = rest + chunk if rest else chunk
                if not chunk:
                    if data:
                        yield data
                    return
                cut = data.rfind(b"\n") + 1
                block, rest = data[:cut], data[cut:]
                if block:
                    yield block

    return pair_table(blocks(), index, str(path))


def pair_table(blocks: Iterable[bytes], index: dict[str, int], where: str) -> PairTable:
    """The ``PairTable`` of pair lines given as blocks of whole lines (``where``: the file, or
    what holds the lines, for an error)."""
    codes: dict[bytes, int] = {}
    dcodes: dict[bytes, int] = {}
    parts: list[tuple[np.ndarray, ...]] = []
    first_line = 0
    for block in blocks:
        buf = np.frombuffer(block, dtype=np.uint8)
        lines, cont, rows, bad = _scan_lines(buf, _KEYS)
        if bad >= 0:
            raise InputError(where, "not a pair line as copytrace writes it", f"line {first_line + bad + 1}")
        spans = lines.tolist()
        n = len(spans)
        a = np.fromiter(
            (index.get(_decode_id(block[x[0] : x[1]]), -1) for x in spans), dtype=np.int64, count=n
        )
        b = np.fromiter(
            (index.get(_decode_id(block[x[2] : x[3]]), -1) for x in spans), dtype=np.int64, count=n
        )
        rel = np.fromiter(
            (codes.setdefault(block[x[4] : x[5]], len(codes)) for x in spans), dtype=np.int8, count=n
        )
        dirs = np.fromiter(
            (dcodes.setdefault(block[x[6] : x[7]], len(dcodes)) for x in spans), dtype=np.int8, count=n
        )
        rows = rows.copy()
        rows[:, 0] += first_line
        parts.append((a, b, rel, dirs, cont[:, 0].copy(), cont[:, 1].copy(), rows))
        first_line += n
    if parts:
        cols = [np.concatenate([p[k] for p in parts]) for k in range(6)]
        rows = np.concatenate([p[6] for p in parts])
    else:
        cols = [np.zeros(0, np.int64)] * 2 + [np.zeros(0, np.int8)] * 2 + [np.zeros(0, np.float64)] * 2
        rows = np.zeros((0, 6), np.int64)
    return PairTable(
        cols[0],
        cols[1],
        cols[2],
        tuple(k.decode("utf-8") for k in codes),
        cols[3],
        tuple(k.decode("utf-8") for k in dcodes),
        cols[4],
        cols[5],
        rows[:, 0].copy(),
        rows[:, 1].copy(),
        rows[:, 2].copy(),
        rows[:, 3].copy(),
        rows[:, 4].copy(),
        rows[:, 5].copy(),
    )


# ---------------------------------------------------------------- clusters


@numba.njit(cache=True)
def _nodes(doc: np.ndarray, start: np.ndarray, end: np.ndarray, core: float) -> tuple[np.ndarray, int]:
    """The node of each span (spans sorted by document, then start, longer first): a span joins
    the open node of its document whose core it overlaps most, when the overlap is at least
    ``core`` of the span and of the node's longest span; the core becomes the overlap. Otherwise
    it starts a node. Every span of a node then contains the node's core, and the core is at
    least ``core`` of each of them."""
    n = doc.shape[0]
    node = np.empty(n, dtype=np.int64)
    core_lo = np.empty(n, dtype=np.int64)
    core_hi = np.empty(n, dtype=np.int64)
    longest = np.empty(n, dtype=np.int64)
    open_nodes = np.empty(n, dtype=np.int64)
    n_open = 0
    count = 0
    for i in range(n):
        if i == 0 or doc[i] != doc[i - 1]:
            n_open = 0
        s, e = start[i], end[i]
        length = e - s
        best = -1
        best_overlap = 0
        kept = 0
        for j in range(n_open):
            m = open_nodes[j]
            if core_hi[m] <= s:  # spans come in order of start: no later span reaches this core
                continue
            open_nodes[kept] = m
            kept += 1
            overlap = min(e, core_hi[m]) - max(s, core_lo[m])
            if overlap > best_overlap and overlap >= core * max(length, longest[m]):
                best = m
                best_overlap = overlap
        n_open = kept
        if best < 0:
            best = count
            count += 1
            core_lo[best] = s
            core_hi[best] = e
            longest[best] = length
            open_nodes[n_open] = best
            n_open += 1
        else:
            core_lo[best] = max(core_lo[best], s)
            core_hi[best] = min(core_hi[best], e)
            longest[best] = max(longest[best], length)
        node[i] = best
    return node, count


@numba.njit(cache=True)
def _inside(
    doc: np.ndarray, lo: np.ndarray, hi: np.ndarray, label: np.ndarray, core: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes sorted by (document, start): each (label of u, label of v, document) where node u
    lies inside a longer node v of another cluster in the same document (at least ``core`` of u
    inside v)."""
    n = doc.shape[0]
    cap = 64
    out = np.empty((cap, 3), dtype=np.int64)
    m = 0
    first = 0
    for i in range(n):
        if i > 0 and doc[i] != doc[i - 1]:
            first = i
        # the nodes of this document that start before node i ends
        j = first
        while j < n and doc[j] == doc[i] and lo[j] < hi[i]:
            if j != i and label[j] != label[i] and hi[j] - lo[j] > hi[i] - lo[i]:
                overlap = min(hi[i], hi[j]) - max(lo[i], lo[j])
                if overlap >= core * (hi[i] - lo[i]):
                    if m == cap:
                        grown = np.empty((2 * cap, 3), dtype=np.int64)
                        grown[:cap] = out
                        out = grown
                        cap *= 2
                    out[m, 0] = label[i]
                    out[m, 1] = label[j]
                    out[m, 2] = doc[i]
                    m += 1
            j += 1
    return out[:m, 0].copy(), out[:m, 1].copy(), out[:m, 2].copy()


def _attach(label: np.ndarray, ndoc: np.ndarray, nlo: np.ndarray, nhi: np.ndarray, core: float) -> np.ndarray:
    """Labels after the second step: a cluster whose nodes lie inside longer nodes of other
    clusters joins the one cluster that holds it in more than half of its documents and in at
    least twice as many as any other; a cluster held by several (a boilerplate sentence inside
    different passages) joins none."""
    by = np.lexsort((nlo, ndoc))
    inner, outer, where = _inside(ndoc[by], nlo[by], nhi[by], label[by], float(core))
    if inner.shape[0] == 0:
        return label
    # documents of each (inner, outer) cluster pair, and of each cluster
    trip = np.unique(np.stack((inner, outer, where), axis=1), axis=0)
    pair, votes = np.unique(trip[:, :2], axis=0, return_counts=True)
    ld = np.unique(np.stack((label, ndoc), axis=1), axis=0)
    labels, docs = np.unique(ld[:, 0], return_counts=True)
    docs_of = dict(zip(labels.tolist(), docs.tolist(), strict=True))
    order = np.lexsort((pair[:, 1], -votes, pair[:, 0]))  # per inner cluster: most votes first
    pair, votes = pair[order], votes[order]
    first = np.concatenate(([True], pair[1:, 0] != pair[:-1, 0]))
    starts = np.flatnonzero(first)
    second = np.zeros(starts.shape[0], dtype=np.int64)
    has_second = np.append(starts[1:], pair.shape[0]) - starts > 1
    second[has_second] = votes[starts[has_second] + 1]
    best = votes[starts]
    c, d = pair[starts, 0], pair[starts, 1]
    need = np.array([docs_of[x] for x in c.tolist()], dtype=np.int64)
    ok = (2 * best > need) & (best >= 2 * second)
    if not ok.any():
        return label
    # union of the attachments (cluster labels are node numbers)
    n = int(label.max()) + 1
    root = _union_find(n, c[ok], d[ok])
    return root[label]


@numba.njit(cache=True)
def _members(
    label: np.ndarray, doc: np.ndarray, lo: np.ndarray, hi: np.ndarray, degree: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes sorted by (label, doc, lo) merged into members: a node overlapping the member before
    it (same label and document) extends that member."""
    n = label.shape[0]
    out_label = np.empty(n, dtype=np.int64)
    out_doc = np.empty(n, dtype=np.int64)
    out_lo = np.empty(n, dtype=np.int64)
    out_hi = np.empty(n, dtype=np.int64)
    out_degree = np.empty(n, dtype=np.int64)
    m = -1
    for i in range(n):
        if m >= 0 and label[i] == out_label[m] and doc[i] == out_doc[m] and lo[i] < out_hi[m]:
            out_hi[m] = max(out_hi[m], hi[i])
            out_degree[m] += degree[i]
            continue
        m += 1
        out_label[m] = label[i]
        out_doc[m] = doc[i]
        out_lo[m] = lo[i]
        out_hi[m] = hi[i]
        out_degree[m] = degree[i]
    m += 1
    return out_label[:m], out_doc[:m], out_lo[:m], out_hi[:m], out_degree[:m]


@dataclass(frozen=True, slots=True)
class Clusters:
    """Reprint clusters as arrays: members sorted by (cluster, document, start); cluster ``k``
    holds members ``bounds[k]:bounds[k + 1]``; ``representative[k]`` is a member index."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    degree: np.ndarray  # alignments of each member
    bounds: np.ndarray
    representative: np.ndarray

    def __len__(self) -> int:
        return int(self.bounds.shape[0] - 1)

    def documents(self) -> np.ndarray:
        """Distinct documents of each cluster."""
        k = np.repeat(np.arange(len(self)), np.diff(self.bounds))
        if k.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        first = np.concatenate(([True], (k[1:] != k[:-1]) | (self.doc[1:] != self.doc[:-1])))
        return np.bincount(k[first], minlength=len(self)).astype(np.int64)


def passage_clusters(
    a: np.ndarray,
    b: np.ndarray,
    a_start: np.ndarray,
    a_end: np.ndarray,
    b_start: np.ndarray,
    b_end: np.ndarray,
    core: float = CORE,
    attach: bool = True,
) -> Clusters:
    """Reprint clusters of aligned passages: passage ``k`` lies at ``[a_start[k], a_end[k])`` of
    document ``a[k]`` and ``[b_start[k], b_end[k])`` of document ``b[k]`` (input indices)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    a_start, a_end = np.asarray(a_start, dtype=np.int64), np.asarray(a_end, dtype=np.int64)
    b_start, b_end = np.asarray(b_start, dtype=np.int64), np.asarray(b_end, dtype=np.int64)
    ok = (a_end > a_start) & (b_end > b_start) & (a >= 0) & (b >= 0)  # (an id not in the scan: none)
    if not ok.all():
        a, b, a_start, a_end, b_start, b_end = (x[ok] for x in (a, b, a_start, a_end, b_start, b_end))
    p = int(a.shape[0])
    if p == 0:
        z = np.zeros(0, dtype=np.int64)
        return Clusters(z, z, z, z, np.zeros(1, dtype=np.int64), z)
    doc = np.concatenate((a, b))
    lo = np.concatenate((a_start, b_start))
    hi = np.concatenate((a_end, b_end))
    order = np.lexsort((np.arange(2 * p), lo - hi, lo, doc))
    node_sorted, n_nodes = _nodes(doc[order], lo[order], hi[order], float(core))
    node = np.empty(2 * p, dtype=np.int64)
    node[order] = node_sorted
    label = _union_find(n_nodes, node[:p], node[p:])
    # each node: its document, extent and alignments
    ndoc = np.empty(n_nodes, dtype=np.int64)
    ndoc[node] = doc
    nlo = np.full(n_nodes, np.iinfo(np.int64).max, dtype=np.int64)
    nhi = np.zeros(n_nodes, dtype=np.int64)
    np.minimum.at(nlo, node, lo)
    np.maximum.at(nhi, node, hi)
    ndeg = np.bincount(node, minlength=n_nodes).astype(np.int64)
    if attach:
        label = _attach(label, ndoc, nlo, nhi, core)
    by = np.lexsort((nhi, nlo, ndoc, label))
    mlabel, mdoc, mlo, mhi, mdeg = _members(label[by], ndoc[by], nlo[by], nhi[by], ndeg[by])
    # clusters in the order of their first member (document, start, end)
    starts = np.flatnonzero(np.concatenate(([True], mlabel[1:] != mlabel[:-1])))
    sizes = np.diff(np.append(starts, mlabel.shape[0]))
    rank = np.lexsort((mhi[starts], mlo[starts], mdoc[starts]))
    place = np.empty(rank.shape[0], dtype=np.int64)
    place[rank] = np.arange(rank.shape[0])
    take = np.argsort(np.repeat(place, sizes), kind="stable")
    mdoc, mlo, mhi, mdeg = mdoc[take], mlo[take], mhi[take], mdeg[take]
    bounds = np.concatenate(([0], np.cumsum(sizes[rank]))).astype(np.int64)
    # representative: most alignments, then first member (members are in document, start order)
    k = np.repeat(np.arange(rank.shape[0]), sizes[rank])
    best = np.lexsort((np.arange(k.shape[0]), -mdeg, k))
    rep = best[bounds[:-1]]
    return Clusters(mdoc, mlo, mhi, mdeg, bounds, rep)


# ---------------------------------------------------------------- passages.jsonl

_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def snippet(text: str, limit: int = SNIPPET) -> str:
    """A span's text on one line, cut at a word before ``limit`` characters (with "…")."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit] + "…"


TextsOf = Callable[[list[int]], dict[int, str]]


def cluster_records(
    clusters: Clusters,
    ids: list[str],
    dates: list[str | None],
    sources: list[str | None],
    wire: list[bool],
    texts: TextsOf,
    agencies: Agencies = WIRE,
    numbers: list[int] | None = None,
) -> Iterator[str]:
    """The ``passages.jsonl`` lines of ``clusters``, in their order (``texts``: the texts of some
    documents by input index, read a thousand clusters at a time; ``numbers``: each cluster's
    number for its id, when ``clusters`` is a ``subset``)."""
    n = len(clusters)
    docs_of = clusters.documents()
    bounds = clusters.bounds.tolist()
    mdoc = clusters.doc.tolist()
    mlo = clusters.start.tolist()
    mhi = clusters.end.tolist()
    reps = clusters.representative.tolist()
    # members' fields, made once a document
    member_tail: dict[int, str] = {}

    def tail(d: int) -> str:
        t = member_tail.get(d)
        if t is None:
            t = ""
            date, source = dates[d], sources[d]
            if date is not None:
                t += f', "date": {_str(date)}'
            if source is not None:
                t += f', "source": {_str(source)}'
            t += "}"
            member_tail[d] = t
        return t

    # which clusters may have evidence of an earliest member (as ``cluster.families`` counts it)
    m = clusters.doc
    dated = np.fromiter((dates[d] is not None for d in m.tolist()), dtype=np.int64, count=m.shape[0])
    agency = np.fromiter(
        (is_agency_source(sources[d], agencies) for d in m.tolist()), dtype=np.int64, count=m.shape[0]
    )
    wired = np.fromiter((bool(wire[d]) for d in m.tolist()), dtype=np.int64, count=m.shape[0])
    at = clusters.bounds[:-1]
    if m.shape[0]:
        evidence = (
            (np.add.reduceat(dated, at) > 0)
            | (np.add.reduceat(agency, at) == 1)
            | (np.add.reduceat(wired, at) == 1)
        ).tolist()
    else:
        evidence = []
    step = 1000
    for first in range(0, n, step):
        last = min(n, first + step)
        found = texts(sorted({mdoc[reps[k]] for k in range(first, last)}))
        for k in range(first, last):
            lo, hi = bounds[k], bounds[k + 1]
            members = ", ".join(
                f'{{"id": {_str(ids[mdoc[j]])}, "start": {mlo[j]:d}, "end": {mhi[j]:d}{tail(mdoc[j])}'
                for j in range(lo, hi)
            )
            r = reps[k]
            text = found.get(mdoc[r], "")
            earliest = "null"
            reason = "no evidence"
            if evidence[k]:
                docs = sorted(set(mdoc[lo:hi]))
                who, reason = earliest_member(docs, ids, dates, wire, sources, agencies)
                if who is not None:
                    j = next(j for j in range(lo, hi) if ids[mdoc[j]] == who)
                    earliest = f'{{"id": {_str(who)}, "start": {mlo[j]:d}, "end": {mhi[j]:d}}}'
            yield (
                f'{{"cluster": "{cluster_id(k if numbers is None else numbers[k])}", '
                f'"size": {{"documents": {int(docs_of[k]):d}, '
                f'"passages": {hi - lo:d}}}, "members": [{members}], '
                f'"representative": {{"id": {_str(ids[mdoc[r]])}, "start": {mlo[r]:d}, "end": {mhi[r]:d}}}, '
                f'"snippet": {_str(snippet(text[mlo[r] : mhi[r]]))}, '
                f'"earliest": {earliest}, "earliest_reason": {_str(reason)}}}\n'
            )


def subset(clusters: Clusters, chosen: np.ndarray) -> Clusters:
    """The clusters numbered ``chosen``, in that order."""
    chosen = np.asarray(chosen, dtype=np.int64)
    lo, hi = clusters.bounds[chosen], clusters.bounds[chosen + 1]
    sizes = hi - lo
    take = (
        np.repeat(lo - np.cumsum(np.concatenate(([0], sizes[:-1]))), sizes) + np.arange(int(sizes.sum()))
    ).astype(np.int64)
    bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    rep = clusters.representative[chosen] - lo + bounds[:-1]
    return Clusters(
        clusters.doc[take], clusters.start[take], clusters.end[take], clusters.degree[take], bounds, rep
    )


def member_index(clusters: Clusters) -> tuple[np.ndarray, np.ndarray]:
    """Members ordered by (document, start), and each one's cluster: what ``spans_of`` searches."""
    k = np.repeat(np.arange(len(clusters)), np.diff(clusters.bounds))
    order = np.lexsort((clusters.start, clusters.doc))
    return order, k[order]


def spans_of(
    start: np.ndarray,
    end: np.ndarray,
    doc: np.ndarray,
    doc_start: np.ndarray,
    doc_end: np.ndarray,
    clusters: Clusters,
    found: tuple[np.ndarray, np.ndarray],
    doc_sets: list[set[int]],
    core: float = CORE,
) -> list[dict[str, Any]]:
    """A text's reprinted spans, for a query of an index: passage ``k`` of its matches lies at
    ``[start[k], end[k])`` of the text and ``[doc_start[k], doc_end[k])`` of stored document
    ``doc[k]`` (a document number of ``clusters``). The text's spans make nodes as in a scan
    (``_nodes``); each node's stored spans are looked up among the clusters' members (the member
    of that document overlapping most, by at least ``core`` of both); the node belongs to the
    cluster most of them are in (ties: the lower number), and is carried by the documents of that
    cluster (``doc_sets``: ``clusters_documents``) and the matched documents aligned to it. Returns ``{"start", "end", "cluster" (a
    number or None), "documents"}`` for each node, in order of start."""
    n = int(start.shape[0])
    if n == 0:
        return []
    order = np.lexsort((np.arange(n), start - end, start))
    node_sorted, n_nodes = _nodes(np.zeros(n, dtype=np.int64), start[order], end[order], float(core))
    node = np.empty(n, dtype=np.int64)
    node[order] = node_sorted
    by_doc, cluster_of = found
    mdoc = clusters.doc[by_doc]
    lo_at = np.searchsorted(mdoc, doc, side="left")
    hi_at = np.searchsorted(mdoc, doc, side="right")
    out = []
    for m in range(n_nodes):
        ks = np.flatnonzero(node == m).tolist()
        votes: dict[int, int] = {}
        carriers = set()
        for k in ks:
            carriers.add(int(doc[k]))
            best, best_overlap = -1, 0
            length = int(doc_end[k] - doc_start[k])
            for j in range(int(lo_at[k]), int(hi_at[k])):
                member = by_doc[j]
                ms, me = int(clusters.start[member]), int(clusters.end[member])
                overlap = min(int(doc_end[k]), me) - max(int(doc_start[k]), ms)
                if overlap > best_overlap and overlap >= core * max(length, me - ms):
                    best, best_overlap = int(cluster_of[j]), overlap
            if best >= 0:
                votes[best] = votes.get(best, 0) + 1
        chosen = min(votes, key=lambda c: (-votes[c], c)) if votes else None
        if chosen is not None:
            carriers |= doc_sets[chosen]
        out.append(
            {
                "start": int(start[ks].min()),
                "end": int(end[ks].max()),
                "cluster": chosen,
                "documents": len(carriers),
            }
        )
    out.sort(key=lambda x: (x["start"], x["end"]))
    return out


def clusters_documents(clusters: Clusters) -> list[set[int]]:
    """Each cluster's documents."""
    docs = clusters.doc.tolist()
    bounds = clusters.bounds.tolist()
    return [set(docs[bounds[k] : bounds[k + 1]]) for k in range(len(clusters))]


TOP = 200  # clusters the report lists (the largest)


def top_order(clusters: Clusters, limit: int = TOP) -> np.ndarray:
    """The ``limit`` clusters with the most documents (ties: more passages, then cluster order)."""
    n = len(clusters)
    docs = clusters.documents()
    passages = np.diff(clusters.bounds)
    return np.lexsort((np.arange(n), -passages, -docs))[:limit]


def write_passages(
    path: Path,
    pairs_path: Path,
    ids: list[str],
    dates: list[str | None],
    sources: list[str | None],
    wires: list[str | None],
    agency_names: tuple[str, ...],
    store_files: list[str],
    offsets: Any,
    limit: int = TOP,
) -> dict[str, Any]:
    """``passages.jsonl`` from a scan's ``pairs.jsonl`` (``ids``, ``dates``, ``sources``,
    ``wires``: the documents' columns in input order; texts for the snippets from the run's store,
    read by a reader of its own). Returns what the report shows: the ``limit`` largest clusters'
    records (``clusters``) and the overview's numbers over every pair (``overview``). Runs in a
    worker of the local engine (or Spark's driver); ``seconds``: how long it took."""
    from .relate import wire_agencies
    from .store import StoreReader

    started = time.perf_counter()
    table = read_pair_table(pairs_path, {x: k for k, x in enumerate(ids)})
    clusters = passage_clusters(
        table.a[table.line], table.b[table.line], table.a_start, table.a_end, table.b_start, table.b_end
    )
    chosen = top_order(clusters, limit)
    rank = {int(k): r for r, k in enumerate(chosen.tolist())}
    kept: list[str] = [""] * len(rank)
    reader = StoreReader(store_files, offsets)
    try:

        def texts(want: list[int]) -> dict[int, str]:
            got = reader.texts(want)
            reader.release()
            return got

        wire = [w is not None for w in wires]
        with open(path, "w", encoding="utf-8") as fh:
            for k, line in enumerate(
                cluster_records(clusters, ids, dates, sources, wire, texts, wire_agencies(agency_names))
            ):
                fh.write(line)
                r = rank.get(k)
                if r is not None:
                    kept[r] = line
    finally:
        reader.close()
    records = [json.loads(x) for x in kept]
    facts = pair_facts(table, dates, sources, records)
    return {"clusters": records, "overview": facts, "seconds": time.perf_counter() - started}


def pair_facts(
    table: PairTable, dates: list[str | None], sources: list[str | None], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """``overview.facts`` of a ``PairTable``."""
    from .overview import facts

    return facts(
        table.a,
        table.b,
        [table.relations[c] for c in table.relation.tolist()],
        [table.directions[c] for c in table.direction.tolist()],
        table.containment_a,
        table.containment_b,
        dates,
        sources,
        records,
    )


def read_top(path: Path, limit: int = TOP) -> list[dict[str, Any]]:
    """The ``limit`` largest clusters' records of a ``passages.jsonl`` (as ``write_passages``
    returns them), or none when the file is missing (a scan from before reprint clusters)."""
    if not path.exists():
        return []
    recs = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(str(path), f"not valid JSON ({exc.msg})", f"line {lineno}") from None
    recs.sort(key=lambda r: (-r["size"]["documents"], -r["size"]["passages"], r["cluster"]))
    return recs[:limit]
