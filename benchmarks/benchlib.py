"""Small helpers shared by the benchmark scripts (paths, JSONL I/O)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(os.path.abspath(__file__)).parent.parent
WORK_DIR = REPO_ROOT / "benchmarks" / ".work"


def shared_bench_dir() -> Path:
    """Directory holding the shared make_corpus.py and common.py.

    $COPYTRACE_SHARED_BENCH wins; otherwise ../shared/bench next to the repository.
    """
    env = os.environ.get("COPYTRACE_SHARED_BENCH")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "bench"
    if not (path / "common.py").is_file() or not (path / "make_corpus.py").is_file():
        raise SystemExit(
            f"shared benchmark scripts not found in {path}: set COPYTRACE_SHARED_BENCH to the "
            "folder holding make_corpus.py and common.py"
        )
    return path


def use_shared_common() -> None:
    """Make `import common` resolve to the shared common.py (one shingle definition for all)."""
    path = str(shared_bench_dir())
    if path not in sys.path:
        sys.path.insert(0, path)


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc


def write_jsonl_atomic(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records one a line to a temporary name, then rename; returns the count."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def write_json_atomic(path: str | Path, obj: Any) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)
