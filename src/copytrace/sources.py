"""Split inputs into chunks that workers can read on their own.

A JSONL file is cut into byte ranges at line ends, so workers parse it in parallel (reading the
bytes is the only serial step). Every other input (text files, folders, CSV, Parquet) is read by
``copytrace.read`` in the parent and handed out in batches of documents. Chunks keep input order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .read import JSONL_SUFFIXES, make_document, read_inputs
from .types import Document

CHUNK_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class JsonlSlice:
    """Lines of a JSONL file between byte offsets ``lo`` (a line start) and ``hi`` (a line end)."""

    path: str
    lo: int
    hi: int


Chunk = JsonlSlice | list[Document]


def _line_number(path: str, offset: int) -> int:
    """1-based number of the line starting at byte ``offset`` (counted only when reporting)."""
    n = 1
    with open(path, "rb") as fh:
        remaining = offset
        while remaining > 0:
            block = fh.read(min(remaining, 1 << 20))
            if not block:
                break
            n += block.count(b"\n")
            remaining -= len(block)
    return n


def slices(path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[JsonlSlice]:
    size = os.path.getsize(path)
    if size == 0:
        raise InputError(path, "empty file")
    lo = 0
    with open(path, "rb") as fh:
        while lo < size:
            target = min(lo + chunk_bytes, size)
            if target < size:
                fh.seek(target)
                fh.readline()
                hi = min(fh.tell(), size)
            else:
                hi = size
            yield JsonlSlice(path, lo, hi)
            lo = hi


def read_slice(sl: JsonlSlice) -> list[Document]:
    """Documents of one slice; errors name the file and line."""
    with open(sl.path, "rb") as fh:
        fh.seek(sl.lo)
        data = fh.read(sl.hi - sl.lo)
    docs = []
    pos = 0
    for k, raw in enumerate(data.split(b"\n")):
        start = pos
        pos += len(raw) + 1
        if not raw.strip():
            continue
        if sl.lo == 0 and k == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            record = json.loads(raw)
        except UnicodeDecodeError as exc:
            line = _line_number(sl.path, sl.lo + start)
            raise InputError(sl.path, f"invalid UTF-8 at byte {exc.start}", f"line {line}") from None
        except json.JSONDecodeError as exc:
            line = _line_number(sl.path, sl.lo + start)
            raise InputError(sl.path, f"not valid JSON ({exc.msg})", f"line {line}") from None
        if not isinstance(record, dict) or "text" not in record or "id" not in record or record["id"] is None:
            line = _line_number(sl.path, sl.lo + start)
            make_document(record, sl.path, f"line {line}")  # raises the precise error
        docs.append(_fast_document(record, sl.path))
    return docs


def _fast_document(record: dict[str, object], path: str) -> Document:
    text = record["text"]
    if not isinstance(text, str):
        return make_document(record, path, "record")
    rid = record["id"]
    if len(record) == 2:
        return Document(id=str(rid), text=text, path=path)
    return make_document(record, path, "record")


def chunks(
    paths: list[str], batch_size: int, warn: Callable[[str], None] | None, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Chunk]:
    """Chunks of all inputs in input order: JSONL slices, or batches of documents read here."""
    pending: list[str] = []

    def flush() -> Iterator[Chunk]:
        batch: list[Document] = []
        for doc in read_inputs(pending, warn):
            batch.append(doc)
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
        pending.clear()

    for path in paths:
        p = Path(path)
        if p.is_file() and p.suffix.lower() in JSONL_SUFFIXES:
            yield from flush()
            yield from slices(path, chunk_bytes)
        else:
            pending.append(path)
    yield from flush()
