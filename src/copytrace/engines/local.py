"""Local engine: the pipeline stages over all cores with multiprocessing, streaming in batches.

Stages and where their data lives:

1. read      parent, streaming; documents go to an Arrow IPC file (``docs.arrow``) in input order
2. prepare   workers, one batch of rows each: tokenize + fingerprint; postings spilled per batch
3. candidates parent, one hash range at a time (memory bounded by ``memory_mb``)
4. align     workers, chunks of candidate pairs; results come back in chunk order, so the output
             is byte-identical for any worker count
5. cluster   parent, on compact edge arrays (not Python objects per pair)

Every worker function is a plain function of its inputs; the Spark engine runs the same ones.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import candidates as cand
from ..cluster import STRONG
from ..pipeline import Prepared, compare_prepared, doc_fingerprints, prepare_many
from ..relate import parse_date
from ..store import StoreReader, write_store
from ..types import Document, Pair, Settings
from ..write import dumps

PAIRS_PER_TASK = 1000


@dataclass
class ScanState:
    """What one scan produced besides the files: counts and seconds per stage."""

    n_docs: int = 0
    n_candidates: int = 0
    n_pairs: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    relations: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- worker state (per process)

_WORKER: dict[str, Any] = {}


def _init_worker(store_path: str, settings: Settings) -> None:
    _WORKER["store"] = StoreReader(store_path)
    _WORKER["settings"] = settings


def fingerprint_batch(docs: list[Document], first_index: int, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Postings (hash, doc index) of a batch of documents, one row per distinct fingerprint."""
    prepared = prepare_many(docs, s)
    hs, ds = [], []
    for k, p in enumerate(prepared):
        fp = doc_fingerprints(p, s)
        hs.append(fp)
        ds.append(np.full(fp.shape[0], first_index + k, dtype=np.int32))
    if not hs:
        return np.empty(0, np.uint64), np.empty(0, np.int32)
    return np.concatenate(hs), np.concatenate(ds)


def _fingerprint_task(args: tuple[int, str]) -> tuple[int, str, int]:
    batch_no, spill_dir = args
    store: StoreReader = _WORKER["store"]
    s: Settings = _WORKER["settings"]
    rb = store.batch(batch_no)
    first = batch_no * s.batch_size
    docs = store.batch_docs(batch_no)
    h, d = fingerprint_batch(docs, first, s)
    order = np.argsort(h, kind="stable")
    path = os.path.join(spill_dir, f"fp-{batch_no:06d}.npz")
    np.savez(path, h=h[order], d=d[order])
    return batch_no, path, rb.num_rows


def compare_chunk(pairs: list[tuple[int, int]], docs: dict[int, Document], s: Settings) -> list[tuple[int, int, Pair]]:
    """Compare candidate pairs; keeps only related ones (at least one passage)."""
    cache: dict[int, Prepared] = {}
    need = sorted({i for p in pairs for i in p})
    for idx, prep in zip(need, prepare_many([docs[i] for i in need], s), strict=True):
        cache[idx] = prep
    out = []
    for a, b in pairs:
        pair = compare_prepared(cache[a], cache[b], s)
        if pair.relation != "unrelated":
            out.append((a, b, pair))
    return out


def _align_task(pairs: list[tuple[int, int]]) -> list[tuple[int, int, str, str, int, bool]]:
    store: StoreReader = _WORKER["store"]
    s: Settings = _WORKER["settings"]
    docs = store.get({i for p in pairs for i in p})
    return [encode_pair(a, b, pair) for a, b, pair in compare_chunk(pairs, docs, s)]


def encode_pair(a: int, b: int, pair: Pair) -> tuple[int, int, str, str, int, bool]:
    """(a index, b index, JSON line, relation, shared words, strong link) for the parent."""
    words = sum(p.words for p in pair.passages)
    return a, b, dumps(pair.to_dict()), pair.relation, words, pair.relation in STRONG


# ---------------------------------------------------------------- parent side


class Pool:
    """A process pool, or the current process when one worker is asked for."""

    def __init__(self, workers: int, store_path: str, s: Settings) -> None:
        self.workers = workers
        if workers > 1:
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            self._pool = ctx.Pool(workers, initializer=_init_worker, initargs=(store_path, s))
        else:
            _init_worker(store_path, s)
            self._pool = None

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if self._pool is None:
            return map(fn, items)
        return self._pool.imap(fn, items, chunksize=1)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()

    def terminate(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()


def _worker_count(s: Settings) -> int:
    return s.workers if s.workers > 0 else (os.cpu_count() or 1)


def _candidates(spill_files: list[str], s: Settings, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs from spilled postings, one hash range at a time."""
    total = 0
    for f in spill_files:
        with np.load(f) as z:
            total += z["h"].shape[0]
    # postings + sort buffers + pair keys take roughly 48 bytes a posting
    budget = max(16, s.memory_mb // 2) * 1024 * 1024
    parts = max(1, -(-total * 48 // budget))
    bounds = cand.partition_bounds(parts)
    keys_all, counts_all = [], []
    loaded = [np.load(f) for f in spill_files]
    try:
        arrays = [(z["h"], z["d"]) for z in loaded]
        for p in range(parts):
            lo, hi = bounds[p], bounds[p + 1]
            hs, ds = [], []
            for h, d in arrays:
                i0 = np.searchsorted(h, lo, side="left")
                i1 = h.shape[0] if p == parts - 1 else np.searchsorted(h, hi, side="left")
                hs.append(h[i0:i1])
                ds.append(d[i0:i1])
            k, c = cand.pair_counts(np.concatenate(hs), np.concatenate(ds), s.max_df)
            keys_all.append(k)
            counts_all.append(c)
    finally:
        for z in loaded:
            z.close()
    keys, counts = cand.reduce_counts(np.concatenate(keys_all), np.concatenate(counts_all))
    return cand.select(keys, counts, s.min_shared)


def _filter_candidates(
    a: np.ndarray, b: np.ndarray, dates: list[str | None], sources: list[str | None], s: Settings
) -> tuple[np.ndarray, np.ndarray]:
    keep = np.ones(a.shape[0], dtype=np.bool_)
    if s.date_window_days is not None:
        days = np.array(
            [(d.toordinal() if (d := parse_date(x)) is not None else -(1 << 40)) for x in dates], dtype=np.int64
        )
        da, db = days[a], days[b]
        known = (da > -(1 << 40)) & (db > -(1 << 40))
        keep &= ~known | (np.abs(da - db) <= s.date_window_days)
    if s.exclude_same_source:
        codes: dict[str, int] = {}
        src = np.array([codes.setdefault(x, len(codes)) if x is not None else -1 - i for i, x in enumerate(sources)])
        keep &= src[a] != src[b]
    return a[keep], b[keep]


def scan_local(
    docs: Iterable[Document],
    workdir: Path,
    pairs_out: Path,
    s: Settings,
    progress: Any,
) -> tuple[ScanState, dict[str, Any]]:
    """Run read → prepare → candidates → align; write ``pairs_out``; return state and doc columns."""
    state = ScanState()
    store_path = str(workdir / "_docs.arrow")
    spill = workdir / "_spill"
    spill.mkdir()
    t0 = time.perf_counter()
    ids: list[str] = []
    dates: list[str | None] = []
    sources: list[str | None] = []
    task = progress.add_task("read", total=None)
    for batch in write_store(store_path, docs, s.batch_size):
        for d in batch:
            ids.append(d.id)
            dates.append(d.date)
            sources.append(d.source)
        progress.advance(task, len(batch))
    state.n_docs = len(ids)
    state.stages["read"] = time.perf_counter() - t0

    workers = _worker_count(s)
    pool = Pool(workers, store_path, s)
    try:
        t0 = time.perf_counter()
        n_batches = -(-state.n_docs // s.batch_size)
        task = progress.add_task("fingerprint", total=state.n_docs)
        files: list[str] = []
        for _no, path, rows in pool.imap(_fingerprint_task, [(i, str(spill)) for i in range(n_batches)]):
            files.append(path)
            progress.advance(task, rows)
        state.stages["fingerprint"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        ca, cb = _candidates(files, s, state.n_docs) if files else (np.empty(0, np.int64), np.empty(0, np.int64))
        ca, cb = _filter_candidates(ca, cb, dates, sources, s)
        state.n_candidates = int(ca.shape[0])
        state.stages["candidates"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        task = progress.add_task("align", total=state.n_candidates)
        chunks = [
            list(zip(ca[i : i + PAIRS_PER_TASK].tolist(), cb[i : i + PAIRS_PER_TASK].tolist(), strict=True))
            for i in range(0, state.n_candidates, PAIRS_PER_TASK)
        ]
        edge_a: list[np.ndarray] = []
        edge_b: list[np.ndarray] = []
        edge_w: list[np.ndarray] = []
        edge_s: list[np.ndarray] = []
        with open(pairs_out, "w", encoding="utf-8") as fh:
            for chunk, results in zip(chunks, pool.imap(_align_task, chunks), strict=True):
                if results:
                    fh.write("".join(r[2] + "\n" for r in results))
                    edge_a.append(np.array([r[0] for r in results], dtype=np.int64))
                    edge_b.append(np.array([r[1] for r in results], dtype=np.int64))
                    edge_w.append(np.array([r[4] for r in results], dtype=np.int64))
                    edge_s.append(np.array([r[5] for r in results], dtype=np.bool_))
                    for r in results:
                        state.relations[r[3]] = state.relations.get(r[3], 0) + 1
                progress.advance(task, len(chunk))
        state.n_pairs = sum(state.relations.values())
        state.stages["align"] = time.perf_counter() - t0
        pool.close()
    except BaseException:
        pool.terminate()
        raise

    def cat(xs: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(xs) if xs else np.empty(0, dtype=dtype)

    columns = {
        "ids": ids,
        "dates": dates,
        "store": store_path,
        "edges": (cat(edge_a, np.int64), cat(edge_b, np.int64), cat(edge_s, np.bool_), cat(edge_w, np.int64)),
    }
    return state, columns
