"""``scan --engine spark --resume`` after a real Spark run is killed (issue 5).

Each test runs the real ``copytrace`` command with ``--engine spark --spark-master local[2]`` in
its own process group, kills the group with SIGKILL (driver, JVM and Python workers) once a stage
has finished, resumes, and compares the outputs with an uninterrupted run of the local engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

CT = [str(ROOT / ".venv" / "bin" / "copytrace")]
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
OUTPUTS = ("pairs.jsonl", "documents.jsonl", "clusters.jsonl")
SPARK = ["--quiet", "--engine", "spark", "--spark-master", "local[2]"]

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME") and not os.environ.get("CI"):
        pytest.skip("Spark needs Java (CI installs openjdk-17-jre-headless)")
    if not MAKE_CORPUS.exists():
        pytest.skip(f"{MAKE_CORPUS} not present")
    d = tmp_path_factory.mktemp("corpus")
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), "--n", "1500", "--seed", "4", "--out", str(d)],
        check=True,
        capture_output=True,
    )
    return d / "corpus.jsonl"


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    r = subprocess.run(
        [*CT, "scan", str(corpus), "--out", str(out), "--quiet"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    return out


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _resume(corpus: Path, out: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    stats_path = out.parent / f"{out.name}.stats.json"
    r = subprocess.run(
        [*CT, "scan", str(corpus), "--out", str(out), *SPARK, "--resume", "--stats", str(stats_path)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert r.returncode == 0, r.stderr
    stats: dict[str, object] = json.loads(stats_path.read_text())
    return stats


def _assert_same(out: Path, ref: Path) -> None:
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert not (out / ".copytrace-work").exists()


def test_kill_after_candidates_then_resume(corpus: Path, reference: Path, tmp_path: Path) -> None:
    """SIGKILL right after the candidate pairs are kept (``COPYTRACE_CRASH_AT``); the resumed run
    starts at the align stage: given the same crash point, it would die again if it recomputed
    the candidates."""
    out = tmp_path / "out"
    env = {**os.environ, "COPYTRACE_CRASH_AT": "spark-candidates"}
    proc = subprocess.Popen(
        [*CT, "scan", str(corpus), "--out", str(out), *SPARK],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=600)
    finally:
        _kill_group(proc.pid)  # the JVM and the Python workers too
    assert proc.returncode == -signal.SIGKILL, err
    assert not (out / "pairs.jsonl").exists()
    work = out / ".copytrace-work"
    assert (work / "_spark" / "cands" / "_copytrace-done.json").exists()
    stats = _resume(corpus, out, {"COPYTRACE_CRASH_AT": "spark-candidates"})
    _assert_same(out, reference)
    resumed = stats["resumed"]
    assert isinstance(resumed, dict) and resumed["chunks"] >= 1


def test_kill_group_from_outside_after_read_then_resume(
    corpus: Path, reference: Path, tmp_path: Path
) -> None:
    """The whole process group killed from outside once the read stage has recorded its chunks."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CT, "scan", str(corpus), "--out", str(out), *SPARK],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    work = out / ".copytrace-work"
    try:
        deadline = time.monotonic() + 600
        while not list(work.glob("_chunk-*.json")):
            if proc.poll() is not None:
                pytest.fail(
                    f"the scan ended before it could be stopped: {proc.stderr.read() if proc.stderr else ''}"
                )
            if time.monotonic() > deadline:
                pytest.fail("the scan made no progress")
            time.sleep(0.01)
        _kill_group(proc.pid)
        proc.communicate(timeout=120)
    finally:
        _kill_group(proc.pid)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "pairs.jsonl").exists()
    stats = _resume(corpus, out)
    _assert_same(out, reference)
    resumed = stats["resumed"]
    assert isinstance(resumed, dict) and resumed["chunks"] >= 1
