"""Outputs written atomically: every file goes to a temporary name and is renamed when complete."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import InputError


def dumps(obj: dict[str, Any]) -> str:
    """One JSON line, stable across runs (key order as built, no NaN, UTF-8 kept)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


@contextmanager
def staging(out_dir: str) -> Iterator[Path]:
    """A temporary folder inside ``out_dir``; on success its files replace those in ``out_dir``.

    On any error the temporary folder is removed and ``out_dir`` keeps what it had."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out_dir, f"cannot create output folder ({exc.strerror})") from None
    tmp = Path(tempfile.mkdtemp(prefix=".copytrace-", dir=out))
    try:
        yield tmp
        for f in sorted(tmp.iterdir()):
            if f.is_file() and not f.name.startswith("_"):
                os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_jsonl_atomic(path: str, rows: list[dict[str, Any]]) -> None:
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(dumps(row) + "\n")
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(path: Path, jsonl_path: Path) -> None:
    """A Parquet copy of a JSONL output (nested fields kept as JSON strings for a stable schema)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    with open(jsonl_path, encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            rows.append(
                {
                    k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                    for k, v in obj.items()
                }
            )
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    pq.write_table(table, path)


def write_rejects(path: Path, rejected: list[Any]) -> None:
    """``rejects.jsonl``: one line per skipped file or record (``path``, ``record``, ``reason``)."""
    rows = [{"path": e.path, "record": e.record, "reason": e.reason} for e in rejected]
    write_jsonl_atomic(str(path), rows)
