"""Read documents: text files, folders (recursive), JSONL, CSV and Parquet.

Text files (``.txt``, ``.md``, ``.html``/``.htm``, or no extension) become one document each,
id = the path relative to the folder given (or the file name). Tables (``.jsonl``/``.ndjson``,
``.csv``, ``.parquet``) hold one document a record with ``id`` and ``text``, optional
``date``, ``source``, ``title``, ``url``; other fields are carried through as ``meta``.

Decoding: UTF-8 (a BOM is stripped), UTF-16 (with a BOM, or without one when its zero bytes
show it); otherwise cp1252 with a warning naming the file. Binary files (PDF, images, archives,
mostly control bytes) are refused. Unpaired surrogates (``"\\ud800"`` in JSON) become U+FFFD, one
for one, with a warning, so they can be written as UTF-8 and offsets do not move.
Every problem raises ``InputError`` naming the file and line/record; with a ``reject`` callback
(``--on-error skip``) the bad file or record is passed to it and reading goes on. The text is kept exactly as
decoded: every offset in every output indexes it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
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
    nuls = data.count(b"\x00")
    if nuls > max(8, len(data) // 100):
        utf16 = _utf16_without_bom(data, nuls)
        if utf16 is None:
            raise InputError(path, "binary file (not text); give text, JSONL, CSV or Parquet")
        _warn(f"{path}: no byte-order mark but UTF-16 by its zero bytes, decoded as {utf16}", warn)
        return data.decode(utf16, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    if _control_share(text) > 0.05:
        raise InputError(path, "binary file (not text); give text, JSONL, CSV or Parquet")
    _warn(f"{path}: not valid UTF-8, decoded as cp1252", warn)
    return text


def _warn(message: str, warn: Callable[[str], None] | None) -> None:
    if warn is not None:
        warn(message)
    else:
        warnings.warn(message, DecodeWarning, stacklevel=3)


def _utf16_without_bom(data: bytes, nuls: int) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the zero bytes sit on one parity (Latin text in UTF-16)."""
    if len(data) % 2 or nuls < len(data) // 4:
        return None
    odd = data[1::2].count(b"\x00")
    even = nuls - odd
    if odd >= 0.9 * nuls:
        return "utf-16-le"
    if even >= 0.9 * nuls:
        return "utf-16-be"
    return None


_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def _control_share(text: str) -> float:
    """Share of control characters and undecodable bytes: high for binary data."""
    if not text:
        return 0.0
    return len(_CONTROL.findall(text, 0, 65536)) / min(len(text), 65536)


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from CSV/Parquet
        return None
    return str(value)


Reject = Callable[[InputError], None]
"""Called with each bad record or file under ``--on-error skip``; reading goes on after it."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: str) -> tuple[str, int]:
    """``value`` with unpaired surrogates (invalid Unicode, e.g. from JSON ``"\\ud800"``) replaced by
    U+FFFD, one for one, so lengths and offsets are unchanged; and how many were replaced."""
    if value.isascii():
        return value, 0
    try:
        value.encode("utf-8")  # a C loop that fails only on a surrogate (a third of the regex's time)
    except UnicodeEncodeError:
        return _SURROGATE.subn("\ufffd", value)
    return value, 0


def _clean_meta(meta: dict[str, Any]) -> tuple[dict[str, Any], int]:
    dumped = json.dumps(meta, ensure_ascii=False, default=str)
    fixed, n = _clean(dumped)
    return (json.loads(fixed) if n else meta), n


def make_document(
    record: dict[str, Any],
    path: str,
    where: str | Callable[[], str],
    warn: Callable[[str], None] | None = None,
) -> Document:
    """A Document from one table record; ``where`` names the line or record for errors, or gives
    the name when called (then only for a message: a JSONL slice's line numbers are counted from
    the start of the file, too slow to do for every record)."""

    def at() -> str:
        return where() if callable(where) else where

    if not isinstance(record, dict):
        raise InputError(path, "record is not an object", at())
    if "text" not in record or record["text"] is None:
        raise InputError(path, "record has no 'text' field", at())
    text = record["text"]
    if not isinstance(text, str):
        raise InputError(path, f"'text' must be a string, got {type(text).__name__}", at())
    rid = record.get("id")
    if rid is None or (isinstance(rid, str) and not rid.strip()):
        raise InputError(path, "record has no 'id' field", at())
    if isinstance(rid, (dict, list)):
        raise InputError(path, f"'id' must be a string or number, got {type(rid).__name__}", at())
    meta = {k: v for k, v in record.items() if k not in KNOWN_FIELDS}
    fields = {k: _str_or_none(record.get(k)) for k in ("date", "source", "title", "url")}
    fixed = 0
    text, n = _clean(text)
    fixed += n
    doc_id, n = _clean(str(rid))
    fixed += n
    for k, v in fields.items():
        if v is not None:
            fields[k], n = _clean(v)
            fixed += n
    if meta:
        meta, n = _clean_meta(meta)
        fixed += n
    if fixed:
        _warn(f"{path}: {at()}: {fixed} unpaired surrogate(s) (invalid Unicode) replaced by U+FFFD", warn)
    return Document(id=doc_id, text=text, path=path, meta=meta, **fields)


Located = tuple[Document, str]
"""A document and where it was read (``line 3``, ``record 7``, or the file itself)."""


def _records(
    path: str, rows: Iterator[tuple[str, Any]], warn: Callable[[str], None] | None, reject: Reject | None
) -> Iterator[Located]:
    """Documents from (where, record) rows; a bad record raises, or goes to ``reject`` and is skipped."""
    for where, record in rows:
        try:
            if isinstance(record, InputError):
                raise record
            yield make_document(record, path, where, warn), where
        except InputError as exc:
            if reject is None:
                raise
            reject(exc)


def _jsonl_rows(path: str) -> Iterator[tuple[str, Any]]:
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            where = f"line {lineno}"
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield where, InputError(path, f"invalid UTF-8 at byte {exc.start}", where)
                continue
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                what = "" if raw.endswith(b"\n") else "truncated last line, "
                yield where, InputError(path, f"{what}not valid JSON ({exc.msg})", where)
            except RecursionError:
                yield where, InputError(path, "JSON nested too deeply", where)


def _json_rows(path: str) -> Iterator[tuple[str, Any]]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise InputError(path, "a .json input must hold a list of records")
    for k, record in enumerate(data):
        yield f"record {k}", record


def _csv_rows(path: str, warn: Callable[[str], None] | None) -> Iterator[tuple[str, Any]]:
    with open(path, "rb") as fh:
        text = decode(fh.read(), path, warn)
    csv.field_size_limit(sys.maxsize)
    # newline="": quoted fields keep their own line breaks (\n, \r\n, \r, U+2028 ...)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        names = reader.fieldnames
    except csv.Error as exc:
        raise InputError(path, f"bad CSV ({exc})", "header") from None
    if names is None or "text" not in names:
        raise InputError(path, "CSV has no 'text' column", "header")
    k = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(path, f"bad CSV ({exc})", f"line {reader.line_num}") from None
        k += 1
        if None in row:  # more fields than the header names
            yield (
                f"record {k}",
                InputError(
                    path,
                    f"{len(names) + len(row[None])} fields, header has {len(names)}",
                    f"record {k} (line {reader.line_num})",
                ),
            )
            continue
        yield f"record {k}", dict(row)


def open_parquet(path: str) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` with a ``text`` column, or the one-line input error."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(path, f"not a readable Parquet file ({exc})") from None
    if "text" not in pf.schema_arrow.names:
        raise InputError(path, "Parquet file has no 'text' column")
    return pf


def _parquet_rows(path: str) -> Iterator[tuple[str, Any]]:
    pf = open_parquet(path)
    k = 0
    for batch in pf.iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            k += 1
            yield f"record {k}", record


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
                if entry.is_dir():
                    subdirs.append(p)
                elif entry.is_file():
                    yield p
            except OSError:  # a dangling or looping symlink
                continue
        stack.extend(reversed(subdirs))


def _read_text_file(path: Path, doc_id: str, warn: Callable[[str], None] | None) -> Document:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None
    if not data.strip():
        raise InputError(str(path), "empty file")
    text = decode(data, str(path), warn)
    if not text.strip():
        raise InputError(str(path), "empty file (only white space)")
    text, n = _clean(text)  # UTF-16 with unpaired surrogates
    if n:
        _warn(f"{path}: {n} unpaired surrogate(s) (invalid Unicode) replaced by U+FFFD", warn)
    return Document(id=doc_id, text=text, path=str(path))


def _located(path: str, warn: Callable[[str], None] | None, reject: Reject | None) -> Iterator[Located]:
    p = Path(path)
    if not p.exists():
        raise InputError(path, "no such file or folder")
    if p.is_dir():
        found = False
        for f in _walk(p):
            fs = f.suffix.lower()
            if fs in TABLE_SUFFIXES or fs in TEXT_SUFFIXES:
                found = True
                try:
                    if fs in TABLE_SUFFIXES:
                        yield from _located(str(f), warn, reject)
                    else:
                        yield _read_text_file(f, f.relative_to(p).as_posix(), warn), str(f)
                except InputError as exc:
                    if reject is None:
                        raise
                    reject(exc)
        if not found:
            raise InputError(path, "folder holds no text files (.txt, .md, .html, .jsonl, .csv, .parquet)")
        return
    suffix = p.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _records(path, _jsonl_rows(path), warn, reject)
    elif suffix == ".json":
        yield from _records(path, _json_rows(path), warn, reject)
    elif suffix == ".csv":
        yield from _records(path, _csv_rows(path, warn), warn, reject)
    elif suffix == ".parquet":
        yield from _records(path, _parquet_rows(path), warn, reject)
    else:
        yield _read_text_file(p, p.name, warn), path


def read_path(
    path: str, warn: Callable[[str], None] | None = None, reject: Reject | None = None
) -> Iterator[Document]:
    """Documents from one path: a text file, a table file, or a folder (recursive).

    A bad file or record raises ``InputError``; with ``reject`` it is passed there and skipped."""
    for doc, _where in _located(path, warn, reject):
        yield doc


def read_inputs(
    paths: Iterable[str], warn: Callable[[str], None] | None = None, reject: Reject | None = None
) -> Iterator[Document]:
    """Documents from every path in order; a repeated id is an error naming both places.

    With ``reject``, a bad file or record (a repeated id included: the later one) is passed there
    and skipped; without it, the first one raises ``InputError``."""
    seen: dict[str, str] = {}
    for path in paths:
        try:
            for doc, where in _located(path, warn, reject):
                place = f"{doc.path or path}: {where}" if where != doc.path else where
                if doc.id in seen:
                    exc = InputError(
                        doc.path or path,
                        f"duplicate id {doc.id!r} (first seen in {seen[doc.id]})",
                        where if where != doc.path else None,
                    )
                    if reject is None:
                        raise exc
                    reject(exc)
                    continue
                seen[doc.id] = place
                yield doc
        except InputError as exc:
            if reject is None:
                raise
            reject(exc)
