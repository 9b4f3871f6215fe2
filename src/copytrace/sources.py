"""Split inputs into chunks that workers can read on their own.

A JSONL file is cut into byte ranges at line ends, so workers parse it in parallel (reading the
bytes is the only serial step). Every other input (text files, folders, CSV, Parquet) is read by
``copytrace.read`` in the parent and handed out in batches of documents. Chunks keep input order.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .errors import InputError
from .read import JSONL_SUFFIXES, _clean, make_document, read_inputs
from .types import Document, new_document

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


def read_slice(sl: JsonlSlice, warn: Callable[[str], None] | None = None) -> tuple[list[Document], list[int]]:
    """Documents of one slice and the line of each (counted from the slice's first line, 0-based);
    errors name the file and line; warnings go to ``warn`` (stderr by default)."""
    with open(sl.path, "rb") as fh:
        fh.seek(sl.lo)
        data = fh.read(sl.hi - sl.lo)
    docs: list[Document] = []
    lines: list[int] = []
    first: list[int] = []  # the slice's first line number, counted once, when a message needs it

    def where(k: int) -> str:
        if not first:
            first.append(line_of(sl, 0))
        return f"line {first[0] + k}"

    for k, raw in enumerate(data.split(b"\n")):
        if not raw.strip():
            continue
        if sl.lo == 0 and k == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        record = _quick_record(raw)
        if record is None:
            try:
                # decoded as json.loads decodes bytes, less its guess of the encoding line by line
                record = _loads(raw.decode("utf-8", "surrogatepass"))
            except UnicodeDecodeError as exc:
                raise InputError(sl.path, f"invalid UTF-8 at byte {exc.start}", where(k)) from None
            except json.JSONDecodeError as exc:
                last = sl.hi == os.path.getsize(sl.path) and not data[data.rfind(raw) + len(raw) :].strip()
                cut = last and not data.endswith(b"\n")
                why = ("truncated last line, " if cut else "") + f"not valid JSON ({exc.msg})"
                raise InputError(sl.path, why, where(k)) from None
        doc = _fast_document(record, sl.path)
        if doc is None:  # the line's number is counted only if a message names it
            doc = make_document(record, sl.path, functools.partial(where, k), warn or _warn)
        docs.append(doc)
        lines.append(k)
    return docs, lines


_scan: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009


def _loads(text: str) -> Any:
    """``json.loads(text)``: the decoder's scanner called directly (json.loads adds a few
    microseconds a line around it); anything it does not take whole (leading whitespace, a BOM,
    extra data, an error) goes to ``json.loads``, which then answers or raises as always."""
    try:
        record, end = _scan(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    if end != len(text) and text[end:].strip(" \t\n\r"):
        return json.loads(text)
    return record


def _quick_record(raw: bytes) -> dict[str, Any] | None:
    """A line's record as ``json.loads`` gives it, parsed by orjson (about 2.5 times as fast over
    a news record), when that is certain to be the same: an object whose values are all strings,
    whole numbers orjson keeps exact (it makes floats of integers past 64 bits), booleans or
    nulls. None for anything else (nested values, floats, invalid JSON, lone surrogates, bytes
    that are not UTF-8), which the json module then reads, or rejects, as always."""
    try:
        record = orjson.loads(raw)
    except ValueError:  # (orjson.JSONDecodeError is one)
        return None
    if type(record) is not dict:
        return None
    for v in record.values():
        if not (type(v) is str or type(v) is int or v is None or type(v) is bool):
            return None
    return record


def _warn(message: str) -> None:
    print(f"copytrace: warning: {message}", file=sys.stderr)


def line_of(sl: JsonlSlice, k: int) -> int:
    """1-based line number in the file of line ``k`` (0-based) of a slice."""
    return _line_number(sl.path, sl.lo) + k


def _fast_document(record: object, path: str) -> Document | None:
    """The common case (a clean {"id", "text"} record) without the checks; None otherwise."""
    if not isinstance(record, dict) or len(record) != 2:
        return None
    text, rid = record.get("text"), record.get("id")
    if not isinstance(text, str) or not isinstance(rid, (str, int)) or isinstance(rid, bool):
        return None
    doc_id = str(rid)
    if not doc_id.strip() or not (text.isascii() or _clean(text)[1] == 0) or _clean(doc_id)[1]:
        return None
    return new_document(doc_id, text, None, None, None, None, path, {})


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
