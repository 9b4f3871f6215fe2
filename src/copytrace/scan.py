"""``scan``: find every pair of documents sharing a passage in a corpus and write the outputs.

Outputs in ``out_dir`` (each written under a temporary name and renamed when complete):
``pairs.jsonl``, ``documents.jsonl``, ``clusters.jsonl`` (with each family's ``tree`` and
``variants``), ``timelines.jsonl`` (versions of one article), ``passages.jsonl`` (reprint
clusters, ``copytrace.passages``), ``texts.parquet`` (texts of paired
documents read from tables, for ``copytrace report``), ``report.html`` and, on request, ``stats.json``.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from . import __version__
from .checkpoint import (
    WorkDir,
    align_tasks_logged,
    chunks_done,
    documents_digest,
    input_digests,
    interruptible,
    make_manifest,
)
from .cluster import Edges, components, families, family_id, family_numbers
from .errors import ConfigError, InputError, OutputError
from .genealogy import with_trees
from .progress import make_progress
from .read import read_inputs
from .relate import wire_agencies
from .store import StoreReader
from .timeline import TIMELINES_FILE, write_timelines
from .types import Document, Family, Settings
from .write import dumps, write_rejects

ENGINES = ("local", "spark")
ON_ERROR = ("stop", "skip")
TEXTS_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.large_string())])


def scan(
    inputs: Iterable[str] | Iterable[Document],
    out_dir: str,
    settings: Settings | None = None,
    *,
    engine: str = "local",
    quiet: bool = True,
    spark_master: str | None = None,
    warn: Callable[[str], None] | None = None,
    resume: bool = False,
    on_error: str = "stop",
) -> dict[str, Any]:
    """Scan paths (or Documents) and write the outputs to ``out_dir``; returns the stats dict.

    Work happens in ``out_dir/.copytrace-work`` (see ``copytrace.checkpoint``): an interrupted scan
    goes on with ``resume=True``. ``on_error="skip"`` passes over bad files and records, listing
    them in ``rejects.jsonl``; ``"stop"`` (default) raises ``InputError`` at the first."""
    s = settings or Settings()
    if engine not in ENGINES:
        raise ConfigError("engine", "one of " + ", ".join(ENGINES), engine)
    if on_error not in ON_ERROR:
        raise ConfigError("on_error", "one of " + ", ".join(ON_ERROR), on_error)
    items = list(inputs)
    given_docs = bool(items) and all(isinstance(x, Document) for x in items)
    digests = documents_digest(items) if given_docs else input_digests([str(x) for x in items])
    manifest = make_manifest(digests, s.to_dict(), engine=engine, on_error=on_error, copytrace=__version__)
    work = WorkDir(out_dir, manifest, resume, warn or (lambda _m: None))
    resumed = {"chunks": work.chunks_at_start, "align_tasks": align_tasks_logged(work.path)}
    started = time.perf_counter()
    try:
        with interruptible(), make_progress(quiet) as progress:
            stats = _run(items, given_docs, work, s, engine, progress, spark_master, warn, on_error, started)
            stats["resumed"] = resumed if work.resumed else None
        work.publish()
    except BaseException as exc:
        if chunks_done(work.path) == 0 and align_tasks_logged(work.path) == 0:
            work.discard()  # nothing worth resuming
        else:
            work.release()
        if isinstance(exc, OSError):
            where = exc.filename if isinstance(exc.filename, str) else out_dir
            raise OutputError(
                where, f"cannot write ({exc.strerror or exc}); make room and run again with --resume"
            ) from None
        raise
    return stats


def _run(
    items: list[Any],
    given_docs: bool,
    work: WorkDir,
    s: Settings,
    engine: str,
    progress: Any,
    spark_master: str | None,
    warn: Callable[[str], None] | None,
    on_error: str,
    started: float,
) -> dict[str, Any]:
    tmp = work.path
    rejected: list[InputError] = []
    if on_error == "skip" and not given_docs:
        # bad records are passed over in the parent, so documents are read here (in memory)
        items = list(read_inputs([str(x) for x in items], warn, rejected.append))
        given_docs = True
        write_rejects(tmp / "rejects.jsonl", rejected)
        if rejected and warn is not None:
            warn(f"skipped {len(rejected)} bad file(s) or record(s); see rejects.jsonl")
    pairs_path = tmp / "pairs.jsonl"
    if engine == "spark":
        from .engines.spark import scan_spark

        inputs = items if given_docs else [str(x) for x in items]
        state, cols = scan_spark(
            inputs, tmp, pairs_path, s, progress, master=spark_master, warn=warn, resumed=work.resumed
        )
    else:
        from .engines.local import scan_local

        paths = items if given_docs else [str(x) for x in items]
        state, cols = scan_local(paths, tmp, pairs_path, s, progress, warn)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    pool = cols.pop("pool", None)  # the local engine's workers, idle now: one writes texts.parquet
    try:
        if not work.done("written"):
            write_documents_and_clusters(tmp, cols, s, pool)
            work.mark("written")
            if "passages_seconds" in cols:
                state.stages["passages"] = cols["passages_seconds"]
        if cols.get("pairs_job") is not None:
            cols["pairs_job"].result()  # pairs.jsonl complete (the report waited for it already)
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    if pool is not None:
        pool.close()
    state.stages["cluster+write"] = time.perf_counter() - t0
    stats = {
        "documents": state.n_docs,
        "candidates": state.n_candidates,
        "pairs": state.n_pairs,
        "relations": dict(sorted(state.relations.items())),
        "stages": {k: round(v, 3) for k, v in state.stages.items()},
        "seconds": round(time.perf_counter() - started, 3),
        "engine": engine,
        "settings": s.to_dict(),
        "rejected": len(rejected),
    }
    (tmp / "_stats.json").write_text(json.dumps(stats, indent=2))
    return stats


def write_documents_and_clusters(tmp: Path, cols: dict[str, Any], s: Settings, pool: Any = None) -> None:
    """Families from the pair edges, then clusters.jsonl and report.html (its document rows,
    families and pair ranking from memory, not read back from the outputs), while texts.parquet
    and documents.jsonl are written beside, each by a worker process of ``pool`` (the local
    engine's, idle after the align stage: ``Pool.submit``); without a pool, texts.parquet by a
    thread (its Parquet encoding releases the GIL, the rest of its work does not) and
    documents.jsonl by this one; passages.jsonl (``passages.write_passages``, whose numbers the
    report shows) by a worker too. The families and the report are the longest part. The seconds passages.jsonl
    took (beside the rest: the report waits for it) go to ``cols["passages_seconds"]``."""
    from .report import TEXTS_FILE

    ids: list[str] = cols["ids"]
    edges = Edges(*cols["edges"])
    paired = np.zeros(len(ids), dtype=np.bool_)
    paired[edges.a] = True
    paired[edges.b] = True
    stop = threading.Event()
    with ThreadPoolExecutor(1) as thread:
        args = (tmp / TEXTS_FILE, cols["store"], cols.get("store_offsets"), paired)
        texts = pool.submit(write_stored_texts, *args) if pool is not None else None
        if texts is None:
            texts = thread.submit(write_stored_texts, *args, stop)
        try:
            labels = components(len(ids), edges, s.min_words)
            numbers = family_numbers(labels)
            lengths = cols.get("lengths")
            wire = [w is not None for w in cols["wires"]]  # opens with a wire dateline (read with the text)
            fams = families(
                labels, ids, cols["dates"], wire, edges, cols["sources"], wire_agencies(s.agencies)
            )
            if cols.get("pairs_job") is not None:
                # the family trees, the report and documents.jsonl read pairs.jsonl (the tree
                # its families' pairs, the report the pairs it shows, documents.jsonl each
                # document's derivation from its sources)
                cols["pairs_job"].result()
            # passages.jsonl (reprint clusters) and the overview's numbers, by an idle worker
            reprints = _reprints_job(tmp, cols, s, ids, pool)
            # documents.jsonl by the pool's other idle worker, if there is one
            doc_args = (
                tmp / "documents.jsonl",
                cols["store"],
                cols.get("store_offsets"),
                numbers,
                lengths,
                tmp / "pairs.jsonl",
                ids,
            )
            docs_job = pool.submit(write_documents, *doc_args) if pool is not None else None
            if docs_job is None:
                write_documents(*doc_args)
            # timelines.jsonl (versions of one article) by a worker too, or here
            tl_args = (tmp / TIMELINES_FILE, cols["store"], cols.get("store_offsets"), s)
            timelines_job = pool.submit(write_timelines, *tl_args) if pool is not None else None
            if timelines_job is None:
                write_timelines(*tl_args)
            # the family trees here meanwhile (neither reads them)
            fams = with_trees(
                fams,
                tmp / "pairs.jsonl",
                numbers,
                edges.a,
                edges.b,
                cols["dates"],
                lengths,
                (cols["store"], cols.get("store_offsets")),
            )
            with open(tmp / "clusters.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(family_line(fam) for fam in fams)
            if timelines_job is not None:
                timelines_job.result()  # the report draws the timelines
            store = StoreReader(cols["store"], cols.get("store_offsets"))
            try:
                write_report_from_store(
                    tmp,
                    store,
                    ids,
                    paired,
                    numbers,
                    fams,
                    edges.words,
                    cols.get("line_sizes"),
                    reprinted := reprints() if callable(reprints) else reprints.result(),
                )
            finally:
                store.close()
            if docs_job is not None:
                docs_job.result()
        except BaseException:
            stop.set()
            raise
        texts.result()
    cols["passages_seconds"] = float(reprinted["seconds"])


def _reprints_job(tmp: Path, cols: dict[str, Any], s: Settings, ids: list[str], pool: Any) -> Any:
    """``passages.write_passages`` on a worker of ``pool`` (a future), or a callable that runs it
    here when there is no pool (the local engine's parent never imports it: it loads numba)."""
    args = (
        tmp / PASSAGES_FILE,
        tmp / "pairs.jsonl",
        ids,
        cols["dates"],
        cols["sources"],
        cols["wires"],
        tuple(s.agencies),
        cols["store"],
        cols.get("store_offsets"),
    )
    job = pool.submit(write_passages, *args) if pool is not None else None
    return job if job is not None else (lambda: write_passages(*args))


PASSAGES_FILE = "passages.jsonl"  # (as copytrace.passages names it)


def write_passages(*args: Any) -> dict[str, Any]:
    """``passages.write_passages``, imported where it runs (a worker, or Spark's driver)."""
    from .passages import write_passages as write

    return write(*args)


def write_documents(
    path: Path,
    store_files: list[str],
    offsets: Any,
    numbers: Any,
    lengths: Any,
    pairs_path: Path | None = None,
    ids: list[str] | None = None,
) -> None:
    """``documents.jsonl`` from the document store (``numbers``: each document's family number
    or -1; ``lengths``: the texts' lengths, or None to count them), with a store reader of its own
    (by a worker process beside the rest of the writing, when there is one). With ``pairs_path``
    (and the documents' ``ids``), each document carries its own derivation from the documents
    the pairs' direction says it was made from (``derive.document_derivation``)."""
    sources: dict[int, list[Any]] = {}
    parents: dict[str, set[str]] = {}
    if pairs_path is not None and ids is not None:
        from .derive import sources_from_pairs

        with open(pairs_path, "rb") as fh:
            sources, parents = sources_from_pairs(fh, {x: k for k, x in enumerate(ids)})
    reader = StoreReader(store_files, offsets)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            for b in range(reader.num_batches):
                rb = reader.batch(b)
                first = int(reader.offsets[b])
                rows = slice(first, first + rb.num_rows)
                derived = _derivation_lines(rb, first, sources, parents) if pairs_path is not None else None
                fh.write(
                    document_lines(rb, numbers[rows], None if lengths is None else lengths[rows], derived)
                )
                del rb
                reader.release()
    finally:
        reader.close()


def _derivation_lines(
    rb: pa.RecordBatch, first: int, sources: dict[int, list[Any]], parents: dict[str, set[str]]
) -> list[str]:
    """The ``derivation`` JSON of each document of a store batch (``first``: its first input index)."""
    from .derive import NO_SOURCE, document_derivation

    none = dumps(NO_SOURCE)
    out = [none] * rb.num_rows
    have = [k for k in range(rb.num_rows) if first + k in sources]
    if have:
        from .normalize import tokenize_many

        texts = rb.column("text").take(pa.array(have, pa.int64())).to_pylist()
        for k, tok in zip(have, tokenize_many(texts), strict=True):
            out[k] = dumps(document_derivation(tok, sources[first + k], parents))
    return out


def write_stored_texts(
    path: Path, store_files: list[str], offsets: Any, paired: Any, stop: threading.Event | None = None
) -> None:
    """``texts.parquet``: the texts of paired documents that have no file of their own (table
    records, Documents), so ``copytrace report DIR`` can rebuild the report. Runs beside the rest
    of the writing (a thread or a worker process) with a store reader of its own (``offsets``: as
    ``StoreReader`` takes them, or None); returns early once ``stop`` (a thread's) is set."""
    import pyarrow.parquet as pq

    store = StoreReader(store_files, offsets)
    stored: dict[str | None, bool] = {}  # needs_stored_text per path (a table's records share one)
    try:
        # not compressed, no dictionaries (ids and texts are distinct) and no statistics of the
        # texts (nothing filters on them): this is the last job of the stage to finish. For 100k
        # documents' paired texts (136 MB) on a 2-core host: 0.15 s and 136 MB as they are,
        # 0.55-0.6 s and 80 MB with snappy, 0.75-0.85 s and 52 MB with zstd at level 1 (what it
        # was), while the report, written beside it, takes about 1 s; statistics of the texts
        # cost 0.1 s more. The file only serves ``copytrace report DIR``.
        with pq.ParquetWriter(
            path,
            TEXTS_SCHEMA,
            compression="none",
            use_dictionary=False,
            write_statistics=["id"],
        ) as texts:
            for b in range(store.num_batches):
                if stop is not None and stop.is_set():
                    return
                rb = store.batch(b)
                first = int(store.offsets[b])
                keep = _stored_rows(rb, paired[first : first + rb.num_rows], stored)
                if keep is not None:
                    texts.write_table(
                        pa.Table.from_batches([rb.select(["id", "text"]).filter(_mask(keep))], TEXTS_SCHEMA)
                    )
                del rb
                store.release()
    finally:
        store.close()


def _mask(keep: Any) -> pa.Array:
    """A boolean Arrow array from a numpy one, built from its bits (``pa.array`` would import pandas)."""
    bits = np.packbits(np.asarray(keep, dtype=np.bool_), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), int(keep.shape[0]), [None, pa.py_buffer(bits)])


def _stored_rows(rb: pa.RecordBatch, paired: Any, stored: dict[str | None, bool]) -> Any:
    """Which rows of a store batch go to ``texts.parquet`` (None if none)."""
    from .report import needs_stored_text

    if not paired.any():
        return None
    paths = rb.column("path").to_pylist()
    for path in set(paths) - stored.keys():
        stored[path] = needs_stored_text(path)
    keep = paired & np.fromiter((stored[p] for p in paths), dtype=np.bool_, count=len(paths))
    return keep if keep.any() else None


_str = json.encoder.encode_basestring  # type: ignore[attr-defined]  # the escaping of json.dumps(ensure_ascii=False)
_OPTIONAL = ("date", "source", "title", "url", "path")


def document_lines(
    rb: pa.RecordBatch, numbers: Any, lengths: Any = None, derived: list[str] | None = None
) -> str:
    """The ``documents.jsonl`` lines of one store batch (``numbers``: each row's family number or -1;
    ``lengths``: each text's length if known, else counted here): ``dumps(document_record(doc,
    cluster))`` byte for byte, assembled from the columns (a record has a fixed shape) without
    decoding the texts or making a ``Document`` per row."""
    import pyarrow.compute as pc

    n = rb.num_rows
    ids = rb.column("id").to_pylist()
    if lengths is None:
        lengths = pc.utf8_length(rb.column("text")).to_pylist()
    else:
        lengths = lengths.tolist()
    optional = [
        (f', "{name}": ', col.to_pylist()) for name in _OPTIONAL if (col := rb.column(name)).null_count < n
    ]
    meta = rb.column("meta")
    metas = meta.to_pylist() if meta.null_count < n else None
    clusters = [', "cluster": null' if c < 0 else f', "cluster": "{family_id(c)}"' for c in numbers.tolist()]
    if derived is None:
        clusters = [c + "}\n" for c in clusters]
    else:
        clusters = [f'{c}, "derivation": {d}}}\n' for c, d in zip(clusters, derived, strict=True)]
    out = []
    for k in range(n):
        parts = ['{"id": ', _str(ids[k]), ', "length": ', str(lengths[k])]
        for key, values in optional:
            if (v := values[k]) is not None:
                parts += (key, _str(v))
        if metas is not None and (m := metas[k]) is not None:
            parts += (', "meta": ', _meta(m))
        parts.append(clusters[k])
        out.append("".join(parts))
    return "".join(out)


def family_line(fam: Family) -> str:
    """The ``clusters.jsonl`` line of a family: ``dumps(fam.to_dict())`` byte for byte, written out
    directly (a fixed shape; strings escaped by the json module's own function)."""
    earliest = "null" if fam.earliest is None else _str(fam.earliest)
    tail = ""
    if fam.tree is not None:
        tail += ', "tree": ' + dumps_list(fam.tree)
    if fam.variants is not None:
        tail += ', "variants": ' + dumps_list(fam.variants)
    return (
        f'{{"cluster": {_str(fam.id)}, "size": {len(fam.members):d}, '
        f'"members": [{", ".join([_str(m) for m in fam.members])}], '
        f'"representative": {_str(fam.representative)}, "earliest": {earliest}, '
        f'"earliest_reason": {_str(fam.earliest_reason)}{tail}}}\n'
    )


def dumps_list(items: Iterable[dict[str, Any]]) -> str:
    """A JSON list of objects as ``dumps`` writes each (the separators of a ``dumps`` line)."""
    return "[" + ", ".join(map(dumps, items)) + "]"


def _meta(stored: str) -> str:
    """A stored ``meta`` (JSON with sorted keys, as ``dumps`` writes its decoded form) as written
    to ``documents.jsonl``; the stored text itself unless it holds a non-finite number (``dumps``
    refuses those) or something that looks like one."""
    if "NaN" in stored or "Infinity" in stored:
        return dumps(json.loads(stored))
    return stored


def write_report_from_store(
    tmp: Path,
    store: StoreReader,
    ids: list[str],
    paired: Any,
    numbers: Any,
    fams: list[Family],
    pair_words: Any,
    line_sizes: Any = None,
    reprints: dict[str, Any] | None = None,
) -> None:
    """``report.html``: texts and document rows read from the run's store (only the documents the
    shown pairs need, each read where it lies), families and the shared words of each pair from
    memory (and, with ``line_sizes``, the shown pairs' lines read where they lie in pairs.jsonl)."""
    from .report import MAX_FAMILIES, write_report

    index = {ids[k]: k for k in np.nonzero(paired)[0].tolist()}
    rows: dict[str, dict[str, Any]] = {}

    def fetch(want: set[str]) -> None:
        # (a thousand shown pairs hold a few percent of the documents: each is read with pread,
        # not its whole batch)
        for k, doc in sorted(store.get(index[i] for i in want if i in index and i not in rows).items()):
            c = int(numbers[k])
            rows[doc.id] = {
                "id": doc.id,
                "text": doc.text,
                "date": doc.date,
                "source": doc.source,
                "title": doc.title,
                "cluster": family_id(c) if c >= 0 else None,
            }
        store.release()

    def texts(want: set[str]) -> dict[str, str]:
        fetch(want)
        return {i: rows[i]["text"] for i in want if i in rows}

    def documents(want: set[str]) -> dict[str, dict[str, Any]]:
        fetch(want)
        return {i: rows[i] for i in want if i in rows}

    write_report(
        tmp,
        texts,
        # the largest families, as the report picks them, made into records (not all of them)
        families=[
            fam.to_dict()
            for fam in heapq.nsmallest(MAX_FAMILIES, fams, key=lambda f: (-len(f.members), f.id))
        ],
        n_families=len(fams),
        documents=(len(ids), documents),
        pair_words=pair_words,
        line_sizes=line_sizes,
        reprints=reprints,
    )


def document_record(doc: Document, cluster: str | None) -> dict[str, Any]:
    rec = doc.to_dict()
    rec["cluster"] = cluster
    return rec
