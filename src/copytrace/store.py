"""A columnar document store for one run: Arrow IPC on disk, memory-mapped for random access.

The parent writes documents once in input order (fixed-size record batches); workers read any
row by index without the parent holding the texts in Python objects.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
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
        "meta": [
            json.dumps(d.meta, sort_keys=True, ensure_ascii=False, default=str) if d.meta else None
            for d in docs
        ],
    }


def _strings(values: list[str | None], typ: pa.DataType) -> pa.Array:
    """A string column made from its buffers (UTF-8 bytes, offsets, validity bits). ``pa.array`` of a
    Python list imports pandas when it is installed (to look for pandas values in the list): 0.2 to
    0.3 s and some 50 MB in every worker process that writes a chunk of the store."""
    offsets = np.zeros(len(values) + 1, dtype=np.int64 if pa.types.is_large_string(typ) else np.int32)
    if values.count(None) == len(values):  # (most metadata columns of a plain JSONL input)
        bits = pa.py_buffer(bytes((len(values) + 7) // 8))  # the buffers made below: no value valid
        return pa.Array.from_buffers(typ, len(values), [bits, pa.py_buffer(offsets), pa.py_buffer(b"")])
    try:
        data = [b"" if v is None else v.encode("utf-8") for v in values]
    except (AttributeError, UnicodeEncodeError):  # not a str, or an unpaired surrogate: Arrow says why
        return pa.array(values, type=typ)
    np.cumsum([len(b) for b in data], out=offsets[1:])
    valid = None
    if None in values:
        bits = np.packbits(np.array([v is not None for v in values], dtype=np.bool_), bitorder="little")
        valid = pa.py_buffer(bits)
    return pa.Array.from_buffers(
        typ, len(values), [valid, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    )


def _batch(docs: list[Document]) -> pa.RecordBatch:
    """The store's record batch of ``docs`` (every column a string column)."""
    columns = _columns(docs)
    return pa.RecordBatch.from_arrays([_strings(columns[f.name], f.type) for f in SCHEMA], schema=SCHEMA)


def write_store(path: str, docs: Iterable[Document], rows_per_batch: int) -> Iterator[list[Document]]:
    """Write documents to ``path``; yields each batch after writing it (for progress/streaming)."""
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == rows_per_batch:
                writer.write_batch(_batch(batch))
                yield batch
                batch = []
        if batch:
            writer.write_batch(_batch(batch))
            yield batch


def documents_of(columns: Sequence[list[Any]]) -> list[Document]:
    """Documents from the store's columns as lists, in ``SCHEMA`` order (the one place a stored
    row becomes a ``Document``: ``StoreReader``, the Spark engine's staged chunks)."""
    ids, texts, dates, sources, titles, urls, paths, metas = columns
    return [
        Document(id=i, text=t, date=d, source=src, title=ti, url=u, path=p, meta=json.loads(m) if m else {})
        for i, t, d, src, ti, u, p, m in zip(
            ids, texts, dates, sources, titles, urls, paths, metas, strict=True
        )
    ]


def batch_documents(batch: pa.RecordBatch | pa.Table) -> list[Document]:
    """The documents of a batch (or table) of stored rows."""
    return documents_of([batch.column(name).to_pylist() for name in SCHEMA.names])


def write_chunk(path: str, docs: list[Document]) -> None:
    """One chunk of documents as one Arrow IPC file (written under a temporary name, then renamed)."""
    tmp = path + ".part"
    with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
        writer.write_batch(_batch(docs))
    os.replace(tmp, path)


class _Strings:
    """A string column of a record batch read in place: its offsets as numpy, its bytes as a
    ``memoryview``, its validity as a numpy mask (None when no value is null)."""

    __slots__ = ("offsets", "data", "valid")

    def __init__(self, arr: pa.Array) -> None:
        self.offsets, self.valid, data = _layout(arr)
        self.data = memoryview(data) if data is not None else memoryview(b"")

    def take(self, rows: np.ndarray) -> list[str | None]:
        """The values at ``rows`` (decoded as ``to_pylist`` decodes them)."""
        data = self.data
        got: list[str | None] = [
            str(data[lo:hi], "utf-8")
            for lo, hi in zip(self.offsets[rows].tolist(), self.offsets[rows + 1].tolist(), strict=True)
        ]
        return _nulls(got, self.valid, rows)


def read_at(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes of a file at ``offset`` (``os.pread`` gives at most about 2 GB a call: read
    on until all are there; a file that ends first is an error)."""
    got = os.pread(fd, size, offset)
    if len(got) == size:
        return got
    parts = [got]
    done = len(got)
    while done < size:
        more = os.pread(fd, size - done, offset + done)
        if not more:
            raise OSError(f"file ends at byte {offset + done}, {size - done} bytes short")
        parts.append(more)
        done += len(more)
    return b"".join(parts)


def _layout(arr: pa.Array) -> tuple[np.ndarray, np.ndarray | None, Any]:
    """A string column's value offsets (a view of its buffer), its validity as a bool mask (None
    when no value is null) and its data buffer. The bitmap (least significant bit first) is
    unpacked with numpy, so no compute kernel library is loaded for it."""
    validity, offsets, data = arr.buffers()
    n = len(arr)
    wide = pa.types.is_large_string(arr.type)
    offs = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)[arr.offset : arr.offset + n + 1]
    valid = None
    if arr.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = bits[arr.offset : arr.offset + n].astype(np.bool_)
    return offs, valid, data


def _nulls(got: list[str | None], valid: np.ndarray | None, rows: np.ndarray) -> list[str | None]:
    if valid is not None:
        for k, ok in enumerate(valid[rows].tolist()):
            if not ok:
                got[k] = None
    return got


class _Placed:
    """A string column of a stored record batch located in its file, read with ``pread``: its
    offsets and validity (small) held as numpy, its character data left on disk at ``at``.

    Random access through a memory map maps far more than it reads on kernels that map whole
    large page-cache folios on a fault (about 0.4 MB of resident memory a 3 kB document here):
    reading the needed bytes into Python strings touches no mapping, so a worker's resident memory
    stays what it holds."""

    __slots__ = ("offsets", "valid", "at", "size", "whole")

    def __init__(self, arr: pa.Array, base: int) -> None:
        offsets, self.valid, data = _layout(arr)
        self.offsets = offsets.copy()  # the mapping it views is closed once the batch is placed
        self.size = 0 if data is None else data.size
        self.at = data.address - base if self.size else 0
        self.whole: bytes | None = None  # a short column's data, read once while the reader is open

    def take(self, fd: int, rows: np.ndarray, short: bool) -> list[str | None]:
        """The values at ``rows``; a ``short`` column's data is read whole (once), a long one's
        value by value."""
        lo = self.offsets[rows].tolist()
        hi = self.offsets[rows + 1].tolist()
        if short:
            if self.whole is None:
                self.whole = read_at(fd, self.size, self.at) if self.size else b""
            data = memoryview(self.whole)
            got: list[str | None] = [str(data[x:y], "utf-8") for x, y in zip(lo, hi, strict=True)]
        else:
            at = self.at
            got = [
                str(os.pread(fd, y - x, at + x), "utf-8") if y > x else ""
                for x, y in zip(lo, hi, strict=True)
            ]
        return _nulls(got, self.valid, rows)


_ALL = tuple(SCHEMA.names)


class StoreReader:
    """Random access to documents by input index over one or more Arrow IPC files, each holding
    consecutive rows (a chunk per record batch).

    Files are memory-mapped when first needed; ``release()`` unmaps them, so the pages a task
    touched leave the process's resident memory (the next access maps the file again)."""

    def __init__(self, paths: str | list[str], offsets: np.ndarray | None = None) -> None:
        """``offsets``: when each file is known to hold one record batch, the first input index of
        each file and the total (the files are then not opened until read)."""
        self._paths = [paths] if isinstance(paths, str) else list(paths)
        self._open: dict[int, tuple[pa.MemoryMappedFile, pa.ipc.RecordBatchFileReader]] = {}
        self._cols: dict[int, list[_Strings]] = {}  # string columns of each batch read, while mapped
        # where each batch's columns lie in its file, by (batch, columns asked for)
        self._placed: dict[tuple[int, tuple[str, ...]], list[_Placed] | None] = {}
        self._batches: list[tuple[int, int]] = []
        if offsets is not None:
            self._batches = [(f, 0) for f in range(len(self._paths))]
            self.num_batches = len(self._batches)
            self.offsets = np.asarray(offsets, dtype=np.int64)
            return
        sizes = []
        for f in range(len(self._paths)):
            reader = self._reader(f)
            for k in range(reader.num_record_batches):
                self._batches.append((f, k))
                sizes.append(reader.get_batch(k).num_rows)
            self.release()
        self.num_batches = len(self._batches)
        self.offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)

    def _reader(self, f: int) -> pa.ipc.RecordBatchFileReader:
        got = self._open.get(f)
        if got is None:
            src = pa.memory_map(self._paths[f], "r")
            got = self._open[f] = (src, pa.ipc.open_file(src))
        return got[1]

    def release(self) -> None:
        """Unmap every open file (Python objects made from them are copies and stay valid)."""
        self._cols.clear()  # drop the views first: a mapping lives while a buffer of it does
        self._placed.clear()
        for src, _ in self._open.values():
            src.close()
        self._open.clear()

    def batch(self, i: int) -> pa.RecordBatch:
        f, k = self._batches[i]
        return self._reader(f).get_batch(k)

    def batch_docs(self, i: int) -> list[Document]:
        return batch_documents(self.batch(i))

    def heads(self, i: int, chars: int = 400) -> list[str]:
        """The first ``chars`` characters of every text in batch ``i``."""
        import pyarrow.compute as pc

        return pc.utf8_slice_codeunits(self.batch(i).column("text"), 0, chars).to_pylist()

    def held(self) -> int:
        """Bytes of what ``get`` keeps between calls (batch layouts, short columns read whole)."""
        total = 0
        for cols in self._placed.values():
            for c in cols or ():
                total += c.offsets.nbytes + (0 if c.valid is None else c.valid.nbytes) + len(c.whole or b"")
        return total

    def _place(self, b: int, names: tuple[str, ...] = _ALL) -> list[_Placed] | None:
        """Where batch ``b``'s columns ``names`` lie in its file (found through a mapping that is
        closed at once, so only the batch's metadata is touched); None when a buffer is not stored
        as is (a compressed file: such a batch is read through the mapping)."""
        f, k = self._batches[b]
        src = pa.memory_map(self._paths[f], "r")
        try:
            src.seek(0)
            base = src.read_buffer(1).address
            batch = pa.ipc.open_file(src).get_batch(k)
            cols = [_Placed(batch.column(name), base) for name in names]
            del batch
            size = src.size()
        finally:
            src.close()
        return cols if all(0 <= c.at and c.at + c.size <= size for c in cols) else None

    def _read(
        self, indices: Iterable[int], names: tuple[str, ...]
    ) -> Iterator[tuple[np.ndarray, list[list[Any]]]]:
        """(input indices, the values of columns ``names`` at them) for each batch holding some of
        ``indices``, in index order. Values are read with ``pread`` into Python strings (see
        ``_Placed``: no mapping grows the reader's resident memory), each short column's data once
        per batch until ``release()``; a batch that cannot be placed is decoded from its mapped
        buffers."""
        idx = np.array(sorted(set(indices)), dtype=np.int64)
        if idx.shape[0] == 0:
            return
        which = np.searchsorted(self.offsets, idx, side="right") - 1
        cut = np.flatnonzero(np.diff(which)) + 1
        for b, sel in zip(which[np.concatenate(([0], cut))].tolist(), np.split(idx, cut), strict=True):
            local = sel - self.offsets[b]
            key = (b, names)
            if key not in self._placed:
                self._placed[key] = self._place(b, names)
            placed = self._placed[key]
            if placed is None:
                cols = self._cols.get(b)
                if cols is None:
                    batch = self.batch(b)
                    cols = self._cols[b] = [_Strings(batch.column(name)) for name in SCHEMA.names]
                values = [cols[SCHEMA.names.index(name)].take(local) for name in names]
            else:
                fd = os.open(self._paths[self._batches[b][0]], os.O_RDONLY)
                try:
                    values = [
                        c.take(fd, local, name != "text") for c, name in zip(placed, names, strict=True)
                    ]
                finally:
                    os.close(fd)
            yield sel, values

    def get(self, indices: Iterable[int]) -> dict[int, Document]:
        """Documents by input index (see ``_read``)."""
        out: dict[int, Document] = {}
        for sel, values in self._read(indices, _ALL):
            out.update(zip(sel.tolist(), documents_of(values), strict=True))
        return out

    def texts(self, indices: Iterable[int]) -> dict[int, str]:
        """Texts by input index: only the text column is located and read (a batch's layout is
        then about 16 kB, so a reader can keep those of a thousand batches)."""
        out: dict[int, str] = {}
        for sel, (values,) in self._read(indices, ("text",)):
            out.update(zip(sel.tolist(), values, strict=True))
        return out  # type: ignore[return-value]  # the text column has no nulls

    def close(self) -> None:
        self.release()
