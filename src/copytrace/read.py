"""Read documents: text files, folders (recursive), JSONL, CSV and Parquet.

Text files (``.txt``, ``.md``, ``.html``/``.htm``, or no extension) become one document each,
id = the path relative to the folder given (or the file name). Tables (``.jsonl``/``.ndjson``,
``.csv``, ``.parquet``) hold one document a record with ``id`` and ``text``, optional
``date``, ``source``, ``title``, ``url``; other fields are carried through as ``meta``.

Decoding: UTF-8 (a BOM is stripped); otherwise cp1252 with a warning naming the file.
Every problem raises ``InputError`` naming the file and line/record. The text is kept exactly as
decoded: every offset in every output indexes it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import InputError
from .types import Document

TEXT_SUFFIXES = {".txt", ".md", ".html", ".htm", ".text", ""}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
TABLE_SUFFIXES = JSONL_SUFFIXES | {".csv", ".parquet", ".json"}
KNOWN_FIELDS = ("id", "text", "date", "source", "title", "url")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\x1f\x8b", b"PK\x03\x04", b"GIF8", b"\xff\xd8\xff", b"\x7fELF")


class DecodeWarning(UserWarning):
    """A file was not UTF-8 and was decoded as cp1252."""


def decode(data: bytes, path: str, warn: Callable[[str], None] | None = None) -> str:
    """UTF-8 (BOM stripped), UTF-16 with a BOM, else cp1252 with a warning; binary data is an error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(path, f"invalid UTF-16 at byte {exc.start}") from None
    if data.startswith(_BINARY_MAGIC):
        raise InputError(path, "binary file (not text); give text, JSONL, CSV or Parquet")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if data.count(b"\x00") > max(8, len(data) // 100):
        raise InputError(path, "binary file (not text); give text, JSONL, CSV or Parquet")
    text = data.decode("cp1252", errors="replace")
    message = f"{path}: not valid UTF-8, decoded as cp1252"
    if warn is not None:
        warn(message)
    else:
        warnings.warn(message, DecodeWarning, stacklevel=2)
    return text


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from CSV/Parquet
        return None
    return str(value)


def make_document(record: dict[str, Any], path: str, where: str) -> Document:
    """A Document from one table record; ``where`` names the line or record for errors."""
    if not isinstance(record, dict):
        raise InputError(path, "record is not an object", where)
    if "text" not in record or record["text"] is None:
        raise InputError(path, "record has no 'text' field", where)
    text = record["text"]
    if not isinstance(text, str):
        raise InputError(path, f"'text' must be a string, got {type(text).__name__}", where)
    rid = record.get("id")
    if rid is None or (isinstance(rid, str) and not rid.strip()):
        raise InputError(path, "record has no 'id' field", where)
    meta = {k: v for k, v in record.items() if k not in KNOWN_FIELDS}
    return Document(
        id=str(rid),
        text=text,
        date=_str_or_none(record.get("date")),
        source=_str_or_none(record.get("source")),
        title=_str_or_none(record.get("title")),
        url=_str_or_none(record.get("url")),
        path=path,
        meta=meta,
    )


def _read_jsonl(path: str, warn: Callable[[str], None] | None) -> Iterator[Document]:
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(path, f"invalid UTF-8 at byte {exc.start}", f"line {lineno}") from None
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(path, f"not valid JSON ({exc.msg})", f"line {lineno}") from None
            yield make_document(record, path, f"line {lineno}")


def _read_json(path: str) -> Iterator[Document]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise InputError(path, "a .json input must hold a list of records")
    for k, record in enumerate(data):
        yield make_document(record, path, f"record {k}")


def _read_csv(path: str, warn: Callable[[str], None] | None) -> Iterator[Document]:
    with open(path, "rb") as fh:
        text = decode(fh.read(), path, warn)
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(text.splitlines(keepends=True))
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise InputError(path, "CSV has no 'text' column", "header")
    try:
        for k, row in enumerate(reader, 1):
            yield make_document(dict(row), path, f"record {k}")
    except csv.Error as exc:
        raise InputError(path, f"bad CSV ({exc})", f"line {reader.line_num}") from None


def _read_parquet(path: str) -> Iterator[Document]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(path, f"not a readable Parquet file ({exc})") from None
    names = pf.schema_arrow.names
    if "text" not in names:
        raise InputError(path, "Parquet file has no 'text' column")
    k = 0
    for batch in pf.iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            k += 1
            yield make_document(record, path, f"record {k}")


def _walk(root: Path) -> Iterator[Path]:
    """Files under a folder, sorted, following no symlinked folder twice (no loops)."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(str(folder), f"cannot list folder ({exc.strerror})") from None
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            p = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                subdirs.append(p)
            elif entry.is_file():
                yield p
        stack.extend(reversed(subdirs))


def _read_text_file(path: Path, doc_id: str, warn: Callable[[str], None] | None) -> Document:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None
    if not data.strip():
        raise InputError(str(path), "empty file")
    text = decode(data, str(path), warn)
    return Document(id=doc_id, text=text, path=str(path))


def read_path(path: str, warn: Callable[[str], None] | None = None) -> Iterator[Document]:
    """Documents from one path: a text file, a table file, or a folder (recursive)."""
    p = Path(path)
    if not p.exists():
        raise InputError(path, "no such file or folder")
    suffix = p.suffix.lower()
    if p.is_dir():
        found = False
        for f in _walk(p):
            fs = f.suffix.lower()
            if fs in TABLE_SUFFIXES:
                found = True
                yield from read_path(str(f), warn)
            elif fs in TEXT_SUFFIXES:
                found = True
                yield _read_text_file(f, f.relative_to(p).as_posix(), warn)
        if not found:
            raise InputError(path, "folder holds no text files (.txt, .md, .html, .jsonl, .csv, .parquet)")
        return
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(path, warn)
    elif suffix == ".json":
        yield from _read_json(path)
    elif suffix == ".csv":
        yield from _read_csv(path, warn)
    elif suffix == ".parquet":
        yield from _read_parquet(path)
    else:
        yield _read_text_file(p, p.name, warn)


def read_inputs(paths: Iterable[str], warn: Callable[[str], None] | None = None) -> Iterator[Document]:
    """Documents from every path in order; a repeated id is an error naming both places."""
    seen: dict[str, str] = {}
    for path in paths:
        for doc in read_path(path, warn):
            where = doc.path or path
            if doc.id in seen:
                raise InputError(where, f"duplicate id {doc.id!r} (first seen in {seen[doc.id]})")
            seen[doc.id] = where
            yield doc
