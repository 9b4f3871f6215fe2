"""Interrupted scans (kill -9, SIGTERM, Ctrl-C) go on with ``--resume`` and end byte-identical.

Each test runs the real ``copytrace`` command on a synthetic corpus of 3,000 news-like documents
(``../shared/bench/make_corpus.py``), stops it part way, resumes it, and compares the outputs with
an uninterrupted run. A stop is placed either exactly (``COPYTRACE_CRASH_AT``: SIGKILL right after a
given chunk or align task is recorded) or from outside, once the work folder shows progress.
"""

from __future__ import annotations

import json
import os
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
# small chunks (text folder read in batches of 150) so that there is work before and after a stop
ARGS = ["--quiet", "--workers", "2", "--batch-size", "150"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MAKE_CORPUS.exists():
        pytest.skip(f"{MAKE_CORPUS} not present")
    d = tmp_path_factory.mktemp("corpus")
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), "--n", "3000", "--seed", "2", "--out", str(d)],
        check=True,
        capture_output=True,
    )
    return d / "corpus.jsonl"


@pytest.fixture(scope="module")
def folder(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same corpus as one text file per document (read in the parent, in batches)."""
    d = tmp_path_factory.mktemp("folder")
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            (d / f"{rec['id']}.txt").write_text(rec["text"], encoding="utf-8")
    return d


def scan(
    inputs: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CT, "scan", str(inputs), "--out", str(out), *ARGS, *extra],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def reference(folder: Path, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name, src in (("folder", folder), ("jsonl", corpus)):
        d = tmp_path_factory.mktemp(f"ref-{name}")
        r = scan(src, d)
        assert r.returncode == 0, r.stderr
        out[name] = d
    return out


def assert_same(out: Path, ref: Path) -> None:
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert not (out / ".copytrace-work").exists()


def resume(inputs: Path, out: Path) -> dict[str, object]:
    r = scan(inputs, out, "--resume", "--stats", str(out.parent / f"{out.name}.stats.json"))
    assert r.returncode == 0, r.stderr
    stats: dict[str, object] = json.loads((out.parent / f"{out.name}.stats.json").read_text())
    return stats


@pytest.mark.parametrize(
    "point",
    [
        pytest.param("chunk:3", marks=pytest.mark.slow),
        pytest.param("chunk:20", marks=pytest.mark.slow),
        "align:1",
        pytest.param("written", marks=pytest.mark.slow),
    ],
)
def test_kill9_at_a_known_point_then_resume(
    folder: Path, reference: dict[str, Path], tmp_path: Path, point: str
) -> None:
    out = tmp_path / "out"
    r = scan(folder, out, env={"COPYTRACE_CRASH_AT": point})
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert not (out / "pairs.jsonl").exists()  # nothing half-written in --out
    stats = resume(folder, out)
    assert_same(out, reference["folder"])
    resumed = stats["resumed"]
    assert isinstance(resumed, dict)
    if point.startswith("chunk"):
        # the chunk named was recorded (a second worker's chunk may have been cut off)
        assert resumed["chunks"] >= 1
    elif point == "align:1":
        assert resumed["chunks"] == 20 and resumed["align_tasks"] >= 1
    else:
        assert resumed["chunks"] == 20


def test_kill9_jsonl_slices(corpus: Path, reference: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = scan(corpus, out, env={"COPYTRACE_CRASH_AT": "chunk:1"})
    assert r.returncode == -signal.SIGKILL
    stats = resume(corpus, out)
    assert stats["resumed"] == {"chunks": 1, "align_tasks": 0} or stats["resumed"]["chunks"] >= 1  # type: ignore[index]
    assert_same(out, reference["jsonl"])


def _wait_for(path: Path, pattern: str, n: int, proc: subprocess.Popen[str]) -> None:
    """Wait (bounded) until ``path`` holds ``n`` files matching ``pattern``; polls, asserts nothing on time."""
    for _ in range(12000):
        if len(list(path.glob(pattern))) >= n:
            return
        if proc.poll() is not None:
            pytest.fail(
                f"the scan ended before it could be stopped: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.005)
    pytest.fail("the scan made no progress")


@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGKILL, -9), (signal.SIGTERM, 130), (signal.SIGINT, 130)]
)
def test_stop_from_outside_then_resume(
    folder: Path, reference: dict[str, Path], tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CT, "scan", str(folder), "--out", str(out), *ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a shell running pytest in the background (`cmd &`) leaves SIGINT ignored, and an ignored
        # signal is inherited: Python then installs no Ctrl-C handler. Give the scan the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for(out / ".copytrace-work", "_chunk-*.json", 4, proc)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole foreground group
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == status, err
    if status == 130:
        assert err.strip().splitlines() == [
            "copytrace: interrupted; run the same command with --resume to go on"
        ]
    # the workers ended with the parent: nothing holds the work folder's lock
    stats = resume(folder, out)
    assert stats["resumed"]["chunks"] >= 4  # type: ignore[index]
    assert_same(out, reference["folder"])


def test_resume_with_other_inputs_or_settings_is_an_error(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = scan(folder, out, env={"COPYTRACE_CRASH_AT": "chunk:2"})
    assert r.returncode == -signal.SIGKILL
    r = scan(folder, out, "--resume", "--min-words", "20")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "cannot resume: setting 'min_words' was 15, now 20" in r.stderr
    victim = sorted(folder.iterdir())[0]
    os.utime(victim, ns=(victim.stat().st_atime_ns, victim.stat().st_mtime_ns + 10**9))
    r = scan(folder, out, "--resume")
    assert r.returncode == 2 and f"the input {folder} changed" in r.stderr
    # more workers is fine to resume with; a run without --resume starts afresh
    r = scan(folder, out, "--workers", "1")
    assert r.returncode == 0 and "discarding an unfinished scan" in r.stderr


def test_resume_without_work_starts_afresh(folder: Path, reference: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = scan(folder, out, "--resume")
    assert r.returncode == 0 and "no unfinished scan to resume" in r.stderr
    assert_same(out, reference["folder"])
