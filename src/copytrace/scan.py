"""``scan``: find every pair of documents sharing a passage in a corpus and write the outputs.

Outputs in ``out_dir`` (each written under a temporary name and renamed when complete):
``pairs.jsonl``, ``documents.jsonl``, ``clusters.jsonl`` and, on request, ``stats.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .cluster import Edges, components, families
from .errors import ConfigError
from .progress import make_progress
from .read import read_inputs
from .relate import is_wire_original
from .store import StoreReader
from .types import Document, Settings
from .write import dumps, staging

ENGINES = ("local", "spark")


def scan(
    inputs: Iterable[str] | Iterable[Document],
    out_dir: str,
    settings: Settings | None = None,
    *,
    engine: str = "local",
    quiet: bool = True,
    spark_master: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Scan paths (or Documents) and write the outputs to ``out_dir``; returns the stats dict."""
    s = settings or Settings()
    if engine not in ENGINES:
        raise ConfigError("engine", "one of " + ", ".join(ENGINES), engine)
    items = list(inputs)
    docs: Iterable[Document]
    if items and all(isinstance(x, Document) for x in items):
        docs = items  # type: ignore[assignment]
    else:
        docs = read_inputs([str(x) for x in items], warn)
    started = time.perf_counter()
    with staging(out_dir) as tmp, make_progress(quiet) as progress:
        pairs_path = tmp / "pairs.jsonl"
        if engine == "spark":
            from .engines.spark import scan_spark

            state, cols = scan_spark(docs, tmp, pairs_path, s, progress, master=spark_master)
        else:
            from .engines.local import scan_local

            state, cols = scan_local(docs, tmp, pairs_path, s, progress)
        t0 = time.perf_counter()
        write_documents_and_clusters(tmp, cols, s)
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
        }
        (tmp / "_stats.json").write_text(json.dumps(stats, indent=2))
    return stats


def write_documents_and_clusters(tmp: Path, cols: dict[str, Any], s: Settings) -> None:
    """Families from the pair edges, then documents.jsonl and clusters.jsonl."""
    ids: list[str] = cols["ids"]
    ea, eb, es, ew = cols["edges"]
    edges = Edges(ea, eb, es, ew)
    labels = components(len(ids), edges, s.min_words)
    store = StoreReader(cols["store"])
    try:
        wire = [is_wire_original(t) for b in range(store.num_batches) for t in store.heads(b)]
        fams = families(labels, ids, cols["dates"], wire, edges)
        family_of = {m: fam.id for fam in fams for m in fam.members}
        with open(tmp / "documents.jsonl", "w", encoding="utf-8") as fh:
            for b in range(store.num_batches):
                for doc in store.batch_docs(b):
                    fh.write(dumps(document_record(doc, family_of.get(doc.id))) + "\n")
    finally:
        store.close()
    with open(tmp / "clusters.jsonl", "w", encoding="utf-8") as fh:
        for fam in fams:
            fh.write(dumps(fam.to_dict()) + "\n")


def document_record(doc: Document, cluster: str | None) -> dict[str, Any]:
    rec = doc.to_dict()
    rec["cluster"] = cluster
    return rec
