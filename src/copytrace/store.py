"""A columnar document store for one run: Arrow IPC on disk, memory-mapped for random access.

The parent writes documents once in input order (fixed-size record batches); workers read any
row by index without the parent holding the texts in Python objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from .types import Document

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.large_string()),
        ("date", pa.string()),
        ("source", pa.string()),
        ("title", pa.string()),
        ("url", pa.string()),
        ("path", pa.string()),
        ("meta", pa.string()),
    ]
)


def _columns(docs: list[Document]) -> dict[str, list[Any]]:
    return {
        "id": [d.id for d in docs],
        "text": [d.text for d in docs],
        "date": [d.date for d in docs],
        "source": [d.source for d in docs],
        "title": [d.title for d in docs],
        "url": [d.url for d in docs],
        "path": [d.path for d in docs],
        "meta": [json.dumps(d.meta, sort_keys=True, ensure_ascii=False, default=str) if d.meta else None for d in docs],
    }


def write_store(path: str, docs: Iterable[Document], rows_per_batch: int) -> Iterator[list[Document]]:
    """Write documents to ``path``; yields each batch after writing it (for progress/streaming)."""
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == rows_per_batch:
                writer.write_batch(pa.RecordBatch.from_pydict(_columns(batch), schema=SCHEMA))
                yield batch
                batch = []
        if batch:
            writer.write_batch(pa.RecordBatch.from_pydict(_columns(batch), schema=SCHEMA))
            yield batch


def _doc(row: dict[str, Any]) -> Document:
    meta = json.loads(row["meta"]) if row["meta"] else {}
    return Document(
        id=row["id"],
        text=row["text"],
        date=row["date"],
        source=row["source"],
        title=row["title"],
        url=row["url"],
        path=row["path"],
        meta=meta,
    )


class StoreReader:
    """Random access to documents by input index."""

    def __init__(self, path: str) -> None:
        self._source = pa.memory_map(path, "r")
        self._reader = pa.ipc.open_file(self._source)
        self.num_batches = self._reader.num_record_batches
        self._rows = self._reader.get_batch(0).num_rows if self.num_batches else 1

    def batch(self, i: int) -> pa.RecordBatch:
        return self._reader.get_batch(i)

    def batch_docs(self, i: int) -> list[Document]:
        return [_doc(r) for r in self._reader.get_batch(i).to_pylist()]

    def heads(self, i: int, chars: int = 400) -> list[str]:
        """The first ``chars`` characters of every text in batch ``i``."""
        import pyarrow.compute as pc

        return pc.utf8_slice_codeunits(self._reader.get_batch(i).column("text"), 0, chars).to_pylist()

    def get(self, indices: Iterable[int]) -> dict[int, Document]:
        """Documents by input index (each batch is sliced once)."""
        out: dict[int, Document] = {}
        by_batch: dict[int, list[int]] = {}
        for idx in sorted(set(indices)):
            by_batch.setdefault(idx // self._rows, []).append(idx)
        for b, idxs in by_batch.items():
            rb = self._reader.get_batch(b)
            local = pa.array([i - b * self._rows for i in idxs], type=pa.int64())
            for i, row in zip(idxs, rb.take(local).to_pylist(), strict=True):
                out[i] = _doc(row)
        return out

    def close(self) -> None:
        self._source.close()
