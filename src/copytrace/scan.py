"""``scan``: find every pair of documents sharing a passage in a corpus and write the outputs.

Outputs in ``out_dir`` (each written under a temporary name and renamed when complete):
``pairs.jsonl``, ``documents.jsonl``, ``clusters.jsonl``, ``texts.parquet`` (texts of paired
documents read from tables, for ``copytrace report``), ``report.html`` and, on request, ``stats.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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
from .cluster import Edges, components, families
from .errors import ConfigError, InputError, OutputError
from .progress import make_progress
from .read import read_inputs
from .relate import is_wire_original
from .store import StoreReader
from .types import Document, Settings
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
    if not work.done("written"):
        write_documents_and_clusters(tmp, cols, s)
        work.mark("written")
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


def write_documents_and_clusters(tmp: Path, cols: dict[str, Any], s: Settings) -> None:
    """Families from the pair edges, then documents.jsonl and texts.parquet (one pass over the
    store), clusters.jsonl and report.html."""
    import numpy as np
    import pyarrow.parquet as pq

    from .report import TEXTS_FILE

    ids: list[str] = cols["ids"]
    ea, eb, es, ew = cols["edges"]
    edges = Edges(ea, eb, es, ew)
    labels = components(len(ids), edges, s.min_words)
    paired = np.zeros(len(ids), dtype=np.bool_)
    paired[edges.a] = True
    paired[edges.b] = True
    store = StoreReader(cols["store"])
    try:
        wire: list[bool] = []
        sources: list[str | None] = []
        for b in range(store.num_batches):
            wire.extend(is_wire_original(t) for t in store.heads(b))
            sources.extend(store.batch(b).column("source").to_pylist())
            store.release()
        fams = families(labels, ids, cols["dates"], wire, edges, sources)
        family_of = {m: fam.id for fam in fams for m in fam.members}
        with (
            open(tmp / "documents.jsonl", "w", encoding="utf-8") as fh,
            pq.ParquetWriter(tmp / TEXTS_FILE, TEXTS_SCHEMA) as texts,
        ):
            for b in range(store.num_batches):
                rb = store.batch(b)
                for doc in store.batch_docs(b):
                    fh.write(dumps(document_record(doc, family_of.get(doc.id))) + "\n")
                first = int(store.offsets[b])
                stored = _stored_texts(rb, paired[first : first + rb.num_rows])
                if stored is not None:
                    texts.write_table(stored)
                del rb
                store.release()
        with open(tmp / "clusters.jsonl", "w", encoding="utf-8") as fh:
            for fam in fams:
                fh.write(dumps(fam.to_dict()) + "\n")
        write_report_from_store(tmp, store, ids, paired)
    finally:
        store.close()


def _stored_texts(rb: Any, paired: Any) -> Any:
    """``texts.parquet`` rows of one store batch: the texts of paired documents that have no file
    of their own (table records, Documents), so ``copytrace report DIR`` can rebuild the report."""
    import pyarrow as pa

    from .report import needs_stored_text

    keep = paired.copy()
    for k, path in enumerate(rb.column("path").to_pylist()):
        keep[k] = keep[k] and needs_stored_text(path)
    if not keep.any():
        return None
    return pa.Table.from_batches([rb.select(["id", "text"]).filter(pa.array(keep))], TEXTS_SCHEMA)


def write_report_from_store(tmp: Path, store: StoreReader, ids: list[str], paired: Any) -> None:
    """``report.html``, its texts looked up in the run's store."""
    import numpy as np

    from .report import write_report

    index = {ids[k]: k for k in np.nonzero(paired)[0].tolist()}

    def texts(want: set[str]) -> dict[str, str]:
        got = store.get(index[i] for i in want if i in index)
        return {d.id: d.text for d in got.values()}

    write_report(tmp, texts)


def document_record(doc: Document, cluster: str | None) -> dict[str, Any]:
    rec = doc.to_dict()
    rec["cluster"] = cluster
    return rec
