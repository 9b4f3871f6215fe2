"""A newcomer's first minute, measured (issue 26): a fresh clone, ``./dev.sh demo``, the first
``compare`` and the first 10k scan after an install.

    python benchmarks/first_run.py [--repo .] [--corpus benchmarks/.work/c10000_s1/corpus.jsonl]

Steps, each timed on its own:
1. ``git clone REPO`` into a temporary folder, then ``./dev.sh demo`` there: the time until the
   comparison is on screen (the last line the demo writes to stdout; the package registry is
   reached, no pip cache), the venv's size, then the warm-up the demo runs after it.
2. The first ``compare`` after an install (``NUMBA_CACHE_DIR`` an empty folder: what a
   ``pip install`` leaves) and one on the filled cache.
3. With ``--corpus``: ``scan --workers 2`` of it on an empty cache (it fills the cache on its
   workers first) and on the filled one, and their ratio.

Prints one JSON object. Wall times depend on the host's load: say what else ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

A = "examples/ghouta/000_e51377812b574cd4.txt"
B = "examples/ghouta/001_b01e3d22d82a00e4.txt"


def size_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())
    return round(total / 1e6, 1)


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return round(time.perf_counter() - t0, 2)


def demo(clone: Path) -> dict[str, float]:
    """``./dev.sh demo``: seconds until its last stdout line (the comparison), and in all."""
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "COLUMNS": "120"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        ["./dev.sh", "demo"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    last = t0
    lines = 0
    for _ in proc.stdout:
        last = time.perf_counter()
        lines += 1
    proc.wait()
    if proc.returncode != 0:
        sys.exit(f"./dev.sh demo failed: {proc.stderr.read() if proc.stderr else ''}")
    return {
        "result_shown_s": round(last - t0, 2),
        "demo_with_warmup_s": round(time.perf_counter() - t0, 2),
        "lines": lines,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default=".", help="the repository to clone (its committed state)")
    ap.add_argument("--corpus", default=None, help="a JSONL corpus for the first-scan figures (10k)")
    args = ap.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="copytrace-first-run-") as tmp:
        clone = Path(tmp) / "copytrace"
        subprocess.run(["git", "clone", "-q", str(Path(args.repo).resolve()), str(clone)], check=True)
        out["demo"] = demo(clone)
        out["venv_mb"] = size_mb(clone / ".venv")
        exe = str(clone / ".venv" / "bin" / "copytrace")
        empty = Path(tmp) / "empty-cache"
        empty.mkdir()
        cold = {**os.environ, "NUMBA_CACHE_DIR": str(empty)}
        out["compare_cold_s"] = timed([exe, "compare", A, B], clone, cold)
        out["compare_warm_s"] = timed([exe, "compare", A, B], clone)
        if args.corpus:
            corpus = str(Path(args.corpus).resolve())
            scan = [exe, "scan", corpus, "--workers", "2", "--quiet", "--out"]
            fresh = Path(tmp) / "scan-cache"
            fresh.mkdir()
            out["scan_cold_s"] = timed(
                [*scan, str(Path(tmp) / "s1")], clone, {**os.environ, "NUMBA_CACHE_DIR": str(fresh)}
            )
            out["scan_warm_s"] = timed([*scan, str(Path(tmp) / "s2")], clone)
            out["scan_cold_over_warm"] = round(out["scan_cold_s"] / out["scan_warm_s"], 2)  # type: ignore[operator]
            out["scan_outputs_identical"] = all(
                (Path(tmp) / "s1" / f).read_bytes() == (Path(tmp) / "s2" / f).read_bytes()
                for f in ("pairs.jsonl", "documents.jsonl", "clusters.jsonl")
            )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
