"""Local engine: the pipeline stages over all cores with multiprocessing, streaming in chunks.

Stages and where their data lives:

1. read + prepare  workers, one chunk each (a byte range of a JSONL file, or a batch of documents
                   the parent read): parse, store the documents as an Arrow IPC file, tokenize and
                   fingerprint; postings (hash, document) are spilled to disk sorted by hash
2. candidates      workers: hash ranges -> sorted hit runs, then pair-key ranges -> two-hit rule
                   (memory bounded by ``memory_mb``; see ``candidates_from_postings``)
3. align           workers, chunks of candidate pairs (sifted and aligned in one compiled call,
                   then encoded: ``encode_chunk``); results come back in chunk order, so the
                   output is byte-identical for any worker count
4. cluster         parent, on compact edge arrays (not Python objects per pair)

Every worker function is a plain function of its inputs; the Spark engine runs the same ones.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import functools
import gc
import itertools
import multiprocessing as mp
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import checkpoint
from ..cluster import STRONG, grouped_order, mass_copies, with_copies
from ..errors import EngineError, InputError
from ..relate import parse_date, wire_agencies, wire_dateline
from ..sources import Chunk, JsonlSlice, chunks, line_of, read_slice
from ..store import StoreReader, read_at, write_chunk
from ..types import Document, Pair, Settings, new_document
from ..write import dumps_pair

if TYPE_CHECKING:  # the parent coordinates only: it never loads the compiled kernels
    from ..align import Found
    from ..pipeline import Batch, Prepared

PAIRS_PER_TASK = 500
# an align worker's store reader may hold memory_mb / STORE_SHARE bytes (where each batch lies in
# its file, short columns read whole) before it drops them
STORE_SHARE = 64


@dataclass
class ScanState:
    """What one scan produced besides the files: counts and seconds per stage."""

    n_docs: int = 0
    n_candidates: int = 0
    n_pairs: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    relations: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- stage functions (engine-free)


def compare_chunk(
    pairs: list[tuple[int, int]],
    docs: dict[int, Document],
    s: Settings,
    wires: dict[int, str | None] | None = None,
) -> list[tuple[int, int, Pair]]:
    """Compare candidate pairs; keeps only related ones (at least one passage). ``wires``: each
    document's wire dateline agency, when the caller read them already."""
    from ..pipeline import compare_many, compare_prepared

    if s.semantic:  # one model call for the whole chunk (extra [semantic])
        preps, at, _ = _prepared(pairs, docs, s, wires, align=False)
        done = compare_many([(preps[at[a]], preps[at[b]]) for a, b in pairs], s)
        return [
            (a, b, pair) for (a, b), pair in zip(pairs, done, strict=True) if pair.relation != "unrelated"
        ]
    out = []
    for a, b, pa, pb, found in _may_relate(pairs, docs, s, wires):
        pair = compare_prepared(pa, pb, s, found)  # (a pair the sift drops: its derivation alone)
        if pair.relation != "unrelated":
            out.append((a, b, pair))
    return out


def encode_chunk(
    pairs: list[tuple[int, int]],
    docs: dict[int, Document],
    s: Settings,
    wires: dict[int, str | None] | None = None,
) -> list[tuple[int, int, str, str, int, bool]]:
    """``encode_pair`` of each related pair ``compare_chunk`` finds, made without the records
    (``pipeline.encode_prepared``): what a scan's align task returns."""
    from ..pipeline import encode_prepared

    if s.semantic:
        return [encode_pair(a, b, pair) for a, b, pair in compare_chunk(pairs, docs, s, wires)]
    out = []
    for a, b, pa, pb, found in _may_relate(pairs, docs, s, wires):
        got = encode_prepared(pa, pb, s, found)
        if got is not None:
            line, rel, words = got
            out.append((a, b, line, rel, words, rel in STRONG))
    return out


def _prepared(
    pairs: list[tuple[int, int]],
    docs: dict[int, Document],
    s: Settings,
    wires: dict[int, str | None] | None,
    align: bool = True,
) -> tuple[list[Prepared], dict[int, int], Batch]:
    """The documents of ``pairs`` prepared as one batch, each one's place in it, and the batch."""
    from ..pipeline import prepare_batch

    need = sorted({i for p in pairs for i in p})
    preps, batch = prepare_batch([docs[i] for i in need], s, index=align)
    if wires is not None:
        for p, i in zip(preps, need, strict=True):
            p.wire = wires[i]
    return preps, {idx: k for k, idx in enumerate(need)}, batch


def _may_relate(
    pairs: list[tuple[int, int]],
    docs: dict[int, Document],
    s: Settings,
    wires: dict[int, str | None] | None,
) -> Iterator[tuple[int, int, Prepared, Prepared, tuple[Found, int]]]:
    """(a, b, their prepared documents, what the batch alignment found) of each pair that may
    relate: one compiled call aligns all the pairs (most hold no passage: a cheap sift drops most
    of those first)."""
    preps, at, batch = _prepared(pairs, docs, s, wires)
    first = np.fromiter((at[a] for a, _ in pairs), dtype=np.int64, count=len(pairs))
    second = np.fromiter((at[b] for _, b in pairs), dtype=np.int64, count=len(pairs))
    _, found = batch.align(first, second, s)
    # every pair: one where no passage can form (the sift's verdict; ``found`` holds no block for
    # it) may still hold rewritten sentences, which only the derivation sees
    for k in range(len(pairs)):
        a, b = pairs[k]
        yield a, b, preps[at[a]], preps[at[b]], (found, k)


def encode_pair(a: int, b: int, pair: Pair) -> tuple[int, int, str, str, int, bool]:
    """(a index, b index, JSON line, relation, shared words, strong link) for the parent."""
    words = sum(p.words for p in pair.passages)
    return a, b, dumps_pair(pair), pair.relation, words, pair.relation in STRONG


# ---------------------------------------------------------------- worker tasks

_WORKER: dict[str, Any] = {}


def _init_worker(settings: Settings) -> None:
    _WORKER["settings"] = settings
    _WORKER["store"] = None
    _WORKER["store_key"] = None


def _init_worker_process(settings: Settings) -> None:
    """A pool process's start: ``_init_worker``, the allocator told to keep freed memory
    (``keep_freed_memory``), then numba's compiler set up without its BLAS probe."""
    _init_worker(settings)
    keep_freed_memory()
    if settings.semantic or "scipy" in sys.modules:
        return
    # numba sets up its compiler the first time a kernel is loaded (0.5 s in every process) and
    # imports scipy.linalg then, when scipy is installed, only to learn whether np.dot may be
    # compiled (0.2 s of it; no kernel here calls np.dot or np.linalg). In a worker process,
    # which runs only copytrace's kernels, scipy is hidden while numba sets up (an import of it
    # fails at once) and is importable again afterwards.
    sys.modules["scipy"] = None  # type: ignore[assignment]
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    finally:
        del sys.modules["scipy"]


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What a prepared chunk tells the parent."""

    chunk: int
    ids: list[str]
    dates: list[str | None]
    sources: list[str | None]
    where: str
    docs_file: str
    postings_file: str
    lo: int = -1  # byte offset of a JSONL slice, -1 for documents read by the parent
    hi: int = -1
    lines: list[int] = field(default_factory=list)  # line of each document within the slice
    warnings: list[str] = field(
        default_factory=list
    )  # for the parent to show (workers' stderr may be elsewhere)
    lengths: list[int] = field(default_factory=list)  # characters of each text (documents.jsonl)
    # each document's whole-text fingerprint (0: no word), little-endian uint64s in hex (a chunk
    # marker is JSON): the parent finds large groups of identical texts with them
    whole: str = ""
    # the agency of each document's wire dateline ("MOSCOW (Reuters) -"), or None: read here, by
    # the workers, for the families' earliest member and the pairs' direction
    wires: list[str | None] = field(default_factory=list)

    def locate(self, k: int) -> str:
        """Where document ``k`` of this chunk was read: ``line N`` of a JSONL file, else ``record``."""
        if self.lo >= 0:
            return f"line {line_of(JsonlSlice(self.where, self.lo, self.hi), self.lines[k])}"
        return "record"


def prepare_chunk(chunk_no: int, source: Chunk, workdir: str, s: Settings) -> ChunkResult:
    """Read (if a JSONL slice), store and fingerprint one chunk. Postings use chunk-local indices."""
    from ..postings import sorted_postings, whole_fingerprints

    warnings: list[str] = []
    docs, lines = read_slice(source, warnings.append) if isinstance(source, JsonlSlice) else (source, [])
    docs_file = os.path.join(workdir, f"_docs-{chunk_no:06d}.arrow")
    write_chunk(docs_file, docs)
    postings_file = os.path.join(workdir, f"_fp-{chunk_no:06d}.postings")
    h, d, p = sorted_postings(docs, s, evidence=True)  # (evidence keys for rewritten copies)
    write_postings(postings_file, h, d, p)
    where = source.path if isinstance(source, JsonlSlice) else (docs[0].path or "input" if docs else "input")
    agencies = wire_agencies(s.agencies)
    return ChunkResult(
        chunk_no,
        [x.id for x in docs],
        [x.date for x in docs],
        [x.source for x in docs],
        where,
        docs_file,
        postings_file,
        source.lo if isinstance(source, JsonlSlice) else -1,
        source.hi if isinstance(source, JsonlSlice) else -1,
        lines,
        warnings,
        [len(x.text) for x in docs],
        whole_fingerprints(h, d, p, len(docs)),
        [wire_dateline(x.text, agencies) for x in docs],
    )


def _prepare_task(args: tuple[int, Chunk, str]) -> ChunkResult:
    chunk_no, source, workdir = args
    files = ("docs_file", "postings_file")
    done = checkpoint.load_chunk(workdir, chunk_no, files)  # finished before an interruption
    # (a marker from before whole-text fingerprints or wire datelines were kept is redone)
    if done is not None and "whole" in done and "wires" in done:
        return ChunkResult(**done)
    res = prepare_chunk(chunk_no, source, workdir, _WORKER["settings"])
    # the fields as they are (``dataclasses.asdict`` deep-copied every id and offset: 2.6% of a
    # 100k scan's CPU, for a marker that is only written as JSON)
    checkpoint.save_chunk(
        workdir, chunk_no, {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}, files
    )
    return res


DocMeta = tuple[int, str, "str | None", "str | None", "str | None"]
"""(input index, id, date, source, wire dateline's agency) of a document an align task compares:
what the comparison reads besides the text, sent by the parent, which holds these columns."""


def align_task_args(
    files: list[str],
    pairs: list[tuple[int, int]],
    ids: list[str],
    dates: list[str | None],
    sources: list[str | None],
    wires: list[str | None],
) -> tuple[list[str], list[tuple[int, int]], list[DocMeta]]:
    """An align task: the store files, its candidate pairs and its documents' metadata."""
    need = sorted({i for p in pairs for i in p})
    return files, pairs, [(i, ids[i], dates[i], sources[i], wires[i]) for i in need]


def _align_task(
    args: tuple[list[str], list[tuple[int, int]], list[DocMeta]],
) -> list[tuple[int, int, str, str, int, bool]]:
    files, pairs, meta = args
    key = tuple(files)
    if _WORKER.get("store_key") != key:
        if _WORKER.get("store") is not None:
            _WORKER["store"].close()
        _WORKER["store"] = StoreReader(files)
        _WORKER["store_key"] = key
    s: Settings = _WORKER["settings"]
    store: StoreReader = _WORKER["store"]
    texts = store.texts(m[0] for m in meta)
    docs = {
        i: new_document(doc_id, texts[i], date, source, None, None, None, {})
        for i, doc_id, date, source, _ in meta
    }
    wires = {m[0]: m[4] for m in meta}
    del texts
    # The texts are read with pread (``StoreReader.texts``); the rest of a document comes with the
    # task. What the reader learnt of each file (where its batches' texts lie) is kept for the next
    # tasks (learning it again each task cost more than reading the task's documents) while it
    # fits a share of the memory budget (16 MB of the default 1 GB: the text layouts of about
    # 2M documents; tasks take pairs by connected component, so a task reads from most files).
    if store.held() > (s.memory_mb << 20) // STORE_SHARE:
        store.release()
    with no_cyclic_gc():
        out = encode_chunk(pairs, docs, s, wires)
    del docs
    # the heap is trimmed when the worker's resident memory has grown by a share of the budget
    # since it was last trimmed (64 MB of the default 1 GB: about what one task allocates)
    if resident_bytes() > _WORKER.get("trimmed", 0) + (s.memory_mb << 20) // TRIM_SHARE:
        trim_heap()
        _WORKER["trimmed"] = resident_bytes()
    return out


# an align worker trims its heap when its resident memory has grown by memory_mb / TRIM_SHARE
TRIM_SHARE = 16


def resident_bytes() -> int:
    """This process's resident memory (``/proc/self/statm``), or 0 where there is none."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> None:
    """Have glibc's allocator reuse freed memory instead of handing it back at once: blocks up to
    32 MB (its largest setting) come from the heap, not from a memory map of their own, and the
    heap's free top is kept. Each stage's tasks allocate and free arrays of megabytes (postings,
    hits, token columns); given back and mapped again, every page was zeroed and faulted in anew:
    at 100k the workers spent 3.5 s of their 28 CPU seconds in the kernel, mostly on those
    faults (2.3 s kept). Memory stays bounded: the largest arrays are still mapped and unmapped,
    and align workers trim their heap (``trim_heap``). Nothing happens with another C library."""
    import ctypes
    import ctypes.util

    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def trim_heap() -> None:
    """Hand the heap's free pages back to the system (glibc ``malloc_trim``; nothing elsewhere).
    An align task allocates and frees some 50 MB of small objects and compiled-code arrays; glibc
    keeps freed pages and its heap fragments, so a worker's resident memory crept up by about
    100 MB over a 100k scan. Trimming after every task cost 9% of the align CPU (the next task
    faults its pages in again). Trimmed after every 8th task, the align tasks of a 100k scan
    faulted 151k pages in (0.6 s of the kernel's time); trimmed when the resident memory has
    grown by 64 MB (``_align_task``), 59k pages and 4 trims, 8% less align CPU, the same peak
    memory (715 MiB for the scan's processes)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection inside an align task: a task allocates millions of small
    objects (token lists, edits) and makes no reference cycles worth collecting before it ends,
    but the collector's passes over the task's live lists (and, in its full passes, over every
    loaded module) cost about a tenth of the task. Collection resumes after the task."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _close_store() -> None:
    """Unmap the document store an in-process ``_align_task`` kept open (one worker)."""
    if _WORKER.get("store") is not None:
        _WORKER["store"].close()
    _WORKER["store"] = _WORKER["store_key"] = None


# ---------------------------------------------------------------- parent side


class Pool:
    """A process pool, or the current process when one worker is asked for.

    ``imap`` keeps input order and at most two tasks per worker in flight (memory stays bounded);
    a worker that dies (killed, out of memory) fails the run with an ``EngineError`` instead of
    hanging it."""

    def __init__(self, workers: int, s: Settings) -> None:
        _init_worker(s)
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            self._pool = ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_init_worker_process, initargs=(s,)
            )

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if self._pool is None:
            yield from map(fn, items)
            return
        pending: deque[Future[Any]] = deque()
        try:
            for item in items:
                pending.append(self._pool.submit(fn, item))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise EngineError(
                "a worker process died (killed or out of memory); run again with --resume"
            ) from None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """``fn(*args)`` on a worker process, or None when there is none (one worker: in process)."""
        return None if self._pool is None else self._pool.submit(fn, *args)

    def close(self) -> None:
        _close_store()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def terminate(self) -> None:
        _close_store()
        if self._pool is not None:
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)


def warm_up(s: Settings) -> None:
    """Load every compiled function once (the Spark driver, before its Python workers fork)."""
    from ..pipeline import compare
    from ..postings import sorted_postings

    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    compare(Document("w1", text), Document("w2", text + " more"), s)
    sorted_postings([Document("w", text)], s)


def _cold_kernels() -> list[str]:
    from ..compiled import cold_modules

    return cold_modules()


def fill_cache(pool: Pool, progress: Any) -> None:
    """On a cold numba cache (a fresh install), compile every kernel once, spread over the
    workers, before the first stage: otherwise each worker compiles each kernel it meets (two
    workers, twice the compile time). Announced on the progress console (silent with --quiet)."""
    job = pool.submit(_cold_kernels)
    if not (job.result() if job is not None else _cold_kernels()):
        return
    from ..compiled import NOTICE, warm

    console = getattr(progress, "console", None)
    if console is not None:
        console.print(
            f"copytrace: {NOTICE} (numba is compiling the kernels on {pool.workers} "
            f"process{'es' if pool.workers > 1 else ''}, about a minute)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    warm(pool=pool)


def _worker_count(s: Settings) -> int:
    return s.workers if s.workers > 0 else (os.cpu_count() or 1)


_POSTINGS_MAGIC = b"CTPOST01"


def _write_arrays(path: str, arrays: list[np.ndarray]) -> None:
    """Equal-length arrays one after the other behind a 16-byte header (magic, length), written
    under a temporary name and renamed: the layout ``load_postings`` maps (postings, hit runs)."""
    tmp = path + ".part"
    with open(tmp, "wb") as fh:
        fh.write(_POSTINGS_MAGIC + np.int64(arrays[0].shape[0]).tobytes())
        for a in arrays:
            fh.write(np.ascontiguousarray(a).data)  # the buffer itself, no tobytes() copy
    os.replace(tmp, path)


def save_postings(path: str, h: np.ndarray, d: np.ndarray, p: np.ndarray) -> None:
    """Postings of one chunk, sorted by hash, as one file of three contiguous arrays (hash u8,
    doc i4, position i4) after a 16-byte header, so each can be memory-mapped on its own and
    ``searchsorted`` on the hashes touches only a few pages."""
    order = np.argsort(h, kind="stable")
    write_postings(path, h[order], d[order], p[order])


def write_postings(path: str, h: np.ndarray, d: np.ndarray, p: np.ndarray) -> None:
    """``save_postings`` of postings already sorted by hash (documents ascending within a hash)."""
    _write_arrays(
        path, [h.astype("<u8", copy=False), d.astype("<i4", copy=False), p.astype("<i4", copy=False)]
    )


def _postings_count(path: str, fd: int) -> int:
    head = os.pread(fd, 16, 0)
    if len(head) != 16 or head[:8] != _POSTINGS_MAGIC:
        raise EngineError(f"{path}: not a postings file")
    return int(np.frombuffer(head[8:], dtype="<i8")[0])


def load_postings(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hash, doc, position) of a postings file, read whole."""
    return read_postings(path, None, None)


def read_postings(path: str, lo: int | None, hi: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of a postings (or hit run) file whose first column lies in [lo, hi) (None: no
    bound), read with ``pread``: the bounds by a binary search of 8-byte reads, then only the
    rows' bytes of each array. (A memory map of the file would do the same in fewer lines, but
    on kernels that map whole large page-cache folios on a fault, every probe of the search maps
    megabytes: mapped, the candidate stage's workers held most of every postings file.)"""
    fd = os.open(path, os.O_RDONLY)
    try:
        n = _postings_count(path, fd)
        i0 = 0 if lo is None else _pread_search(fd, n, lo)
        i1 = n if hi is None else _pread_search(fd, n, hi)
        m = max(0, i1 - i0)
        h = np.frombuffer(read_at(fd, 8 * m, 16 + 8 * i0), dtype="<u8")
        d = np.frombuffer(read_at(fd, 4 * m, 16 + 8 * n + 4 * i0), dtype="<i4")
        q = np.frombuffer(read_at(fd, 4 * m, 16 + 12 * n + 4 * i0), dtype="<i4")
    finally:
        os.close(fd)
    return h, d, q


def _first_at(fd: int, i: int) -> int:
    """Row ``i``'s value of a postings file's first (u8) column."""
    return int.from_bytes(os.pread(fd, 8, 16 + 8 * i), "little")


def _pread_search(fd: int, n: int, value: int) -> int:
    """``searchsorted(first column, value, side="left")`` over a file's sorted u8 first column."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if _first_at(fd, mid) < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _sample_postings(path: str, count: int) -> tuple[int, np.ndarray]:
    """(rows, about ``count`` evenly spaced values of the first column) of a postings file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        n = _postings_count(path, fd)
        at = range(0, n, max(1, n // count))
        return n, np.array([_first_at(fd, i) for i in at], np.uint64)
    finally:
        os.close(fd)


# bytes the candidate stage holds at its peak: a posting being paired (hash, doc, position,
# their sorted copies) and a hit being sorted or checked (key, two positions, order, copies)
_BYTES_PER_POSTING = 64  # measured at 100k (hits are made and written in batches of their own)
_BYTES_PER_HIT = 64


def _quantiles(samples: list[np.ndarray], parts: int) -> list[int]:
    """``parts - 1`` distinct cut values splitting the sampled (sorted-run) values evenly."""
    allv = np.sort(np.concatenate(samples)) if samples else np.empty(0, np.uint64)
    if parts <= 1 or allv.shape[0] == 0:
        return []
    cuts = allv[(np.arange(1, parts) * allv.shape[0]) // parts]
    return sorted(set(int(c) for c in cuts.tolist()) - {0})


def _hits_task(
    args: tuple[list[str], list[int], int | None, int | None, int, int, str, np.ndarray],
) -> tuple[list[str], int, np.ndarray]:
    """Hits of the fingerprints (and evidence keys) in hash range [lo, hi), sorted by pair key, as
    run files of at most ``max_hits`` hits each; returns (paths, hits, a sample of the keys for
    the merge)."""
    from .. import candidates as cand

    files, offsets, lo, hi, max_df, max_hits, path, drop = args
    hs, ds, ps = [], [], []
    for f, off in zip(files, offsets, strict=True):
        h, d, q = read_postings(f, lo, hi)
        d = d.astype(np.int64) + off
        keep = cand.kept_postings(d, drop)  # (a subset keeps each file's order)
        if keep is not None:
            h, d, q = h[keep], d[keep], q[keep]
        hs.append(h)
        ds.append(d)
        ps.append(q)
    if not hs or sum(x.shape[0] for x in hs) == 0:
        return [], 0, np.empty(0, np.uint64)
    # each file's postings are sorted by (hash, document) and files hold ascending documents
    bounds = cand.run_bounds([x.shape[0] for x in hs])
    d, p, starts, sizes = cand.merged_posting_lists(
        np.concatenate(hs), np.concatenate(ds), np.concatenate(ps), bounds, max_df
    )
    del hs, ds, ps
    paths, total, samples = [], 0, []
    for b, (g0, g1) in enumerate(cand.hit_batches(sizes, max_hits)):
        keys, pa, pb = cand.sorted_hits(d, p, starts[g0:g1], sizes[g0:g1], max_df)
        run = f"{path}-{b:04d}"
        _write_arrays(run, [keys, pa, pb])
        paths.append(run)
        total += int(keys.shape[0])
        samples.append(keys[:: max(1, keys.shape[0] // 1024)].copy())
    return paths, total, np.concatenate(samples) if samples else np.empty(0, np.uint64)


def _support_task(
    args: tuple[list[str], int | None, int | None, int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs whose key lies in [lo, hi): every hit of such a pair, from every run."""
    from .. import candidates as cand

    runs, lo, hi, min_shared, window, min_evidence = args
    ks, qa, qb = [], [], []
    for f in runs:
        k, a, b = read_postings(f, lo, hi)  # same three-array layout: key, position in a, position in b
        if k.shape[0]:
            ks.append(k)
            qa.append(a)
            qb.append(b)
    return cand.supported_runs(ks, qa, qb, min_shared, window, min_evidence)


def _whole_rounds(tasks: int, workers: int) -> int:
    """``tasks`` rounded up to a multiple of ``workers`` (when more than one is needed): tasks of
    equal size then end together, instead of one worker running the last alone (9 tasks on 2
    workers took 5 task-times; 10 smaller ones take 5 of nine-tenths the time)."""
    return tasks if tasks <= 1 else -(-tasks // workers) * workers


def candidates_from_postings(
    files: list[str],
    offsets: list[int],
    s: Settings,
    workdir: str | None = None,
    pool: Pool | None = None,
    drop: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (sorted by a, then b) from spilled postings (chunk-local doc numbers +
    chunk offsets; the postings of the documents in ``drop``, sorted, are left out: see
    ``cluster.mass_copies``), in two rounds of tasks, run by ``pool``'s workers when given:

    1. hash ranges holding equal shares of the postings (cut at quantiles of a sample: winnowed
       fingerprints are window minima, so their hashes crowd the low end of the hash space):
       each range's hits, sorted by pair key, go to a run file;
    2. pair-key ranges holding equal shares of the hits: each gathers its slice of every run and
       applies the two-hit rule, and the evidence rule to the hits of evidence keys (a scan's
       postings hold them: ``prepare_chunk``) (``candidates.supported_pairs``).

    Postings and runs are memory-mapped and only a task's own slice is read, so what one task
    holds is bounded by ``memory_mb`` shared among the workers (this is the external-memory
    sort-merge of inverted-index construction, with the ranges as partitions)."""
    workers = pool.workers if pool is not None else 1
    # a task's arrays get a quarter of its worker's share: the process itself (interpreter, numba,
    # Arrow, about 200 MB) and the allocator's slack take the rest (measured at 100k, 2 workers)
    budget = max(8, s.memory_mb // (4 * workers)) * 1024 * 1024
    work = workdir or "."
    samples, total = [], 0
    for f in files:
        n, sample = _sample_postings(f, 256)
        total += n
        samples.append(sample)
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    parts = _whole_rounds(
        max(workers if total > 100_000 else 1, -(-total * _BYTES_PER_POSTING // budget)), workers
    )
    cuts: list[int | None] = [None, *_quantiles(samples, parts), None]
    run = map if pool is None else pool.imap
    max_hits = max(1024, budget // _BYTES_PER_HIT)
    hit_tasks = [
        (
            files,
            offsets,
            cuts[i],
            cuts[i + 1],
            s.max_df,
            max_hits,
            os.path.join(work, f"_hits-{i:05d}"),
            np.zeros(0, np.int64) if drop is None else drop,
        )
        for i in range(len(cuts) - 1)
    ]
    runs: list[str] = []
    try:
        key_samples, hits = [], 0
        for paths, n, sample in run(_hits_task, hit_tasks):
            runs.extend(paths)
            hits += n
            key_samples.append(sample)
        groups = _whole_rounds(
            max(workers if hits > 100_000 else 1, -(-hits * _BYTES_PER_HIT // budget)), workers
        )
        kcuts: list[int | None] = [None, *_quantiles(key_samples, groups), None]
        support_tasks = [
            (runs, kcuts[i], kcuts[i + 1], s.min_shared, s.support_window, s.min_evidence)
            for i in range(len(kcuts) - 1)
        ]
        out = list(run(_support_task, support_tasks))
    finally:
        for path in runs:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return np.concatenate([a for a, _ in out]), np.concatenate([b for _, b in out])


def filter_candidates(
    a: np.ndarray, b: np.ndarray, dates: list[str | None], sources: list[str | None], s: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the optional date window and same-source exclusion to candidate pairs."""
    keep = np.ones(a.shape[0], dtype=np.bool_)
    if s.date_window_days is not None:
        missing = -(1 << 40)
        days = np.array(
            [(d.toordinal() if (d := parse_date(x)) is not None else missing) for x in dates], np.int64
        )
        da, db = days[a], days[b]
        known = (da > missing) & (db > missing)
        keep &= ~known | (np.abs(da - db) <= s.date_window_days)
    if s.exclude_same_source:
        codes: dict[str, int] = {}
        src = np.array(
            [codes.setdefault(x, len(codes)) if x is not None else -1 - i for i, x in enumerate(sources)]
        )
        keep &= src[a] != src[b]
    return a[keep], b[keep]


def scan_local(
    inputs: list[str] | list[Document],
    workdir: Path,
    pairs_out: Path,
    s: Settings,
    progress: Any,
    warn: Callable[[str], None] | None = None,
) -> tuple[ScanState, dict[str, Any]]:
    """Run read → prepare → candidates → align; write ``pairs_out``; return state and doc columns."""
    state = ScanState()
    work = str(workdir)
    # no warm-up here: the workers load the compiled kernels they use (the parent never does, so
    # its memory stays that of a coordinator)
    pool = Pool(_worker_count(s), s)
    try:
        fill_cache(pool, progress)
        t0 = time.perf_counter()
        if inputs and isinstance(inputs[0], Document):
            docs = list(inputs)  # type: ignore[arg-type]
            source: Iterable[Chunk] = [docs[i : i + s.batch_size] for i in range(0, len(docs), s.batch_size)]
        else:
            source = chunks([str(x) for x in inputs], s.batch_size, warn)
        ids: list[str] = []
        dates: list[str | None] = []
        sources: list[str | None] = []
        wires: list[str | None] = []
        lengths: list[int] = []
        wholes: list[np.ndarray] = []
        first_seen: dict[str, int] = {}  # id -> input index (an int, not a tuple: 1M ids fit)
        prepared: list[ChunkResult] = []
        doc_files: list[str] = []
        fp_files: list[str] = []
        offsets: list[int] = []
        task = progress.add_task("read+prepare", total=None)
        for res in pool.imap(_prepare_task, ((k, c, work) for k, c in enumerate(source))):
            offsets.append(len(ids))
            prepared.append(res)
            for message in res.warnings:
                if warn is not None:
                    warn(message)
            if first_seen.keys().isdisjoint(res.ids) and len(set(res.ids)) == len(res.ids):
                first_seen.update(zip(res.ids, range(len(ids), len(ids) + len(res.ids)), strict=True))
            else:  # a repeated id: the first one, named with where it was first seen
                for k, doc_id in enumerate(res.ids):
                    if doc_id in first_seen:
                        c0 = bisect.bisect_right(offsets, first_seen[doc_id]) - 1
                        k0 = first_seen[doc_id] - offsets[c0]
                        first = prepared[c0]
                        raise InputError(
                            res.where,
                            f"duplicate id {doc_id!r} (first seen in {first.where}: {first.locate(k0)})",
                            res.locate(k),
                        )
                    first_seen[doc_id] = len(ids) + k
            ids.extend(res.ids)
            dates.extend(res.dates)
            sources.extend(res.sources)
            wires.extend(res.wires)
            lengths.extend(res.lengths)
            wholes.append(np.frombuffer(bytes.fromhex(res.whole), dtype="<u8"))
            doc_files.append(res.docs_file)
            fp_files.append(res.postings_file)
            progress.advance(task, len(res.ids))
        state.n_docs = len(ids)
        # what only the read needed (duplicate ids and where each document was read): at 1M
        # documents about 150 MB of the parent's memory for the rest of the run
        del first_seen, prepared
        lengths_array = np.array(lengths, dtype=np.int64) if len(lengths) == len(ids) else None
        del lengths
        copy_of, copies = mass_copies(np.concatenate(wholes) if wholes else np.zeros(0, "<u8"), s.max_df)
        del wholes
        state.stages["read+fingerprint"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if fp_files:
            ca, cb = candidates_from_postings(fp_files, offsets, s, work, pool, copies)
        else:
            ca, cb = np.empty(0, np.int64), np.empty(0, np.int64)
        ca, cb = with_copies(ca, cb, copy_of, copies)
        if s.semantic:  # same_event candidates: nearest neighbours of lead embeddings (extra [semantic])
            from ..semantic import add_neighbours

            ca, cb = add_neighbours(ca, cb, doc_files, dates, s)
        ca, cb = filter_candidates(ca, cb, dates, sources, s)
        state.n_candidates = int(ca.shape[0])
        state.stages["candidates"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        task = progress.add_task("align", total=state.n_candidates)
        # the pairs and edges are appended task by task (a resumed run skips finished tasks) and
        # put in output order at the end; tasks take the pairs grouped by connected component, so
        # that a task reads and indexes each document once for all its pairs there (in output
        # order a task of 500 pairs held ~710 documents at 100k, grouped ~410)
        key = checkpoint.PairLog.key_for(ca, cb, PAIRS_PER_TASK)
        order = grouped_order(state.n_docs, ca, cb, PAIRS_PER_TASK)
        ca, cb = ca[order], cb[order]
        del order
        tasks = (
            align_task_args(
                doc_files,
                list(
                    zip(ca[i : i + PAIRS_PER_TASK].tolist(), cb[i : i + PAIRS_PER_TASK].tolist(), strict=True)
                ),
                ids,
                dates,
                sources,
                wires,
            )
            for i in range(0, state.n_candidates, PAIRS_PER_TASK)
        )
        with checkpoint.PairLog(workdir, pairs_out, key) as log:
            done = min(log.tasks_done * PAIRS_PER_TASK, state.n_candidates)
            progress.advance(task, done)
            for results in pool.imap(_align_task, itertools.islice(tasks, log.tasks_done, None)):
                log.add(results)
                step = min(PAIRS_PER_TASK, state.n_candidates - done)
                done += step
                progress.advance(task, step)
            # pairs.jsonl is put in output order by a worker (idle now) while this process goes
            # on to the outputs that do not read it (the report waits for it: ``pairs_job``)
            pairs_job = pool.submit(checkpoint.write_pairs, *log.finish_args())
            if pairs_job is None:
                log.finish()
            edges = log.edges()
            line_sizes = log.line_sizes()
            state.relations = log.relations()
        state.n_pairs = sum(state.relations.values())
        state.stages["align"] = time.perf_counter() - t0
    except BaseException:
        pool.terminate()
        raise

    columns = {
        "ids": ids,
        "dates": dates,
        "sources": sources,
        "wires": wires,
        "store": doc_files,
        "store_offsets": np.array([*offsets, len(ids)], dtype=np.int64),  # a record batch a file
        # text lengths, unless a chunk marker from before they were kept lacks them
        "lengths": lengths_array,
        "edges": edges,
        "line_sizes": line_sizes,  # of pairs.jsonl's lines: the report reads only those it shows
        "pairs_job": pairs_job,  # pairs.jsonl being written by a worker, or None (written)
        # still running: the caller writes the outputs with its help (``Pool.submit``) and closes it
        "pool": pool,
    }
    return state, columns
