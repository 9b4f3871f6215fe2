"""A scan's persistent work folder, so that an interrupted scan can go on with ``--resume``.

``scan --out DIR`` works in ``DIR/.copytrace-work/`` and moves its outputs into ``DIR`` only when
everything is complete (so ``DIR`` never holds a half-written output). The work folder holds:

* ``_manifest.json``: the settings that change the output, the engine, the error mode and a digest
  of every input file (path, size, modification time). ``--resume`` with anything different is a
  ``ResumeError``; a run without ``--resume`` starts afresh.
* per chunk of input, a ``_chunk-NNNNNN.json`` completion marker written (atomically) after the
  chunk's documents and postings are on disk: a resumed run loads it instead of redoing the chunk;
* ``_pairs.spill`` and ``_edges.bin`` appended one align task at a time, and ``_align.log``, one
  line per finished task (bytes and edges written so far). A resumed run cuts both files back to
  the last complete line and goes on with the next task, so the result equals an uninterrupted run.
  Tasks hold candidate pairs grouped by what documents they share, not in output order; once the
  last task is in, ``pairs.jsonl`` is written from the spill in output order (by ``a``, then ``b``).

Interruptions: Ctrl-C and SIGTERM stop the scan with ``KeyboardInterrupt`` (exit status 130) and
leave the work folder; ``kill -9`` leaves it too. Forked worker processes ignore SIGINT (the parent
stops them) and die with the parent (Linux ``PR_SET_PDEATHSIG``), so no orphan keeps running.
A crash of the machine itself may lose the last tasks before the OS wrote them; the log is checked
against the file sizes and the align stage restarts when they disagree.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import itertools
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from .errors import OutputError, ResumeError
from .types import RELATIONS

WORK_DIR = ".copytrace-work"
MANIFEST = "_manifest.json"
OUTPUT_SUFFIXES = (".jsonl", ".json", ".parquet", ".html")
FORMAT = 1
# settings that change how work is split or computed; ``workers`` and ``memory_mb`` do not
_IGNORED_SETTINGS = ("workers", "memory_mb")
CRASH_ENV = "COPYTRACE_CRASH_AT"
"""Fault injection for tests: ``chunk:N`` or ``align:N`` kills the process (SIGKILL) right after
the Nth chunk or align task is recorded (1-based); ``write`` after the outputs are written;
``spark-candidates`` / ``spark-align`` after the Spark engine keeps that stage's output."""


# ---------------------------------------------------------------- manifest


def _file_digest(h: Any, path: Path, name: str) -> None:
    st = path.stat()
    h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))


def input_digests(paths: Iterable[str]) -> dict[str, str]:
    """A digest per input path of the names, sizes and modification times of its files."""
    from .read import _walk

    out: dict[str, str] = {}
    for path in paths:
        p = Path(path)
        h = hashlib.blake2b(digest_size=16)
        try:
            if p.is_dir():
                for f in _walk(p):
                    _file_digest(h, f, f.relative_to(p).as_posix())
            elif p.exists():
                _file_digest(h, p, p.name)
        except OSError:
            pass  # the reader names the problem
        out[os.path.abspath(path)] = h.hexdigest()
    return out


def documents_digest(docs: Iterable[Any]) -> dict[str, str]:
    """The digest of documents given as objects (``scan(list_of_documents)``)."""
    h = hashlib.blake2b(digest_size=16)
    for d in docs:
        h.update(json.dumps([d.id, d.text, d.date, d.source], ensure_ascii=False).encode("utf-8", "replace"))
    return {"<documents>": h.hexdigest()}


def make_manifest(inputs: dict[str, str], settings: dict[str, Any], **extra: Any) -> dict[str, Any]:
    # as JSON gives them back (a tuple, ``agencies``, as a list): a resume compares the two
    kept = {
        k: list(v) if isinstance(v, tuple) else v for k, v in settings.items() if k not in _IGNORED_SETTINGS
    }
    return {"format": FORMAT, "inputs": inputs, "settings": kept, **extra}


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What differs between two manifests, for the error message."""
    if old.get("inputs") != new.get("inputs"):
        oi, ni = old.get("inputs", {}), new.get("inputs", {})
        changed = [k for k in ni if oi.get(k) != ni[k]] + [k for k in oi if k not in ni]
        return f"the input {changed[0]} changed" if changed else "the inputs changed"
    os_, ns = old.get("settings", {}), new.get("settings", {})
    for k in sorted(set(os_) | set(ns)):
        if os_.get(k) != ns.get(k):
            return f"setting {k!r} was {os_.get(k)!r}, now {ns.get(k)!r}"
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            return f"{k!r} was {old.get(k)!r}, now {new.get(k)!r}"
    return "the work folder is from another version"


# ---------------------------------------------------------------- small atomic files


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def crash_point(name: str, n: int | None = None) -> None:
    """Kill this process with SIGKILL when ``COPYTRACE_CRASH_AT`` names this point (tests only)."""
    want = os.environ.get(CRASH_ENV)
    if want and want == (name if n is None else f"{name}:{n}"):
        os.kill(_OWNER or os.getpid(), signal.SIGKILL)  # the scan's main process, also from a worker


def _chunk_marker(workdir: str, chunk_no: int) -> Path:
    return Path(workdir) / f"_chunk-{chunk_no:06d}.json"


def save_chunk(workdir: str, chunk_no: int, fields: dict[str, Any], files: Iterable[str] = ()) -> None:
    """Mark chunk ``chunk_no`` complete; ``fields`` (JSON-able) is what ``load_chunk`` returns.
    The ``files`` fields name files in ``workdir``: stored by name, so the folder may move."""
    names = set(files)
    kept = {k: (os.path.basename(v) if k in names else v) for k, v in fields.items()}
    write_atomic(_chunk_marker(workdir, chunk_no), json.dumps(kept, ensure_ascii=False).encode("utf-8"))
    crash_point("chunk", chunk_no + 1)


def load_chunk(workdir: str, chunk_no: int, files: Iterable[str] = ()) -> dict[str, Any] | None:
    """The fields saved for a complete chunk, or None (also when one of its ``files`` is gone)."""
    try:
        fields: dict[str, Any] = json.loads(_chunk_marker(workdir, chunk_no).read_bytes())
    except (OSError, ValueError):
        return None
    for k in files:
        fields[k] = os.path.join(workdir, fields[k])
        if not os.path.exists(fields[k]):
            return None
    return fields


def chunks_done(workdir: Path) -> int:
    """How many input chunks the work folder holds complete."""
    return sum(1 for _ in workdir.glob("_chunk-*.json"))


def align_tasks_logged(workdir: Path) -> int:
    """How many align tasks the work folder's log records as done."""
    try:
        lines = (workdir / "_align.log").read_bytes().split(b"\n")[1:-1]
    except OSError:
        return 0
    return len([x for x in lines if len(x.split()) == 3])


# ---------------------------------------------------------------- the pair log

# a pair's edge: documents, shared words, strong link, relation, and its line's bytes in the spill
_EDGE = np.dtype([("a", "<i8"), ("b", "<i8"), ("w", "<i8"), ("s", "u1"), ("r", "u1"), ("n", "<u4")])
_REL_CODE = {r: i for i, r in enumerate(RELATIONS)}


def _output_order(rec: np.ndarray) -> np.ndarray:
    """The order of edge records by (a, b), the order of ``pairs.jsonl`` (a pair is in one task
    only: no ties)."""
    return np.lexsort((rec["b"], rec["a"]))


def write_pairs(spill_path: str, edges_path: str, n_edges: int, pairs_path: str) -> None:
    """Write ``pairs.jsonl``: the spill's lines in output order (each read with ``pread``, so
    memory holds the line offsets only, not the lines), to a temporary name renamed when
    complete."""
    with open(edges_path, "rb") as fh:
        rec = np.frombuffer(fh.read(n_edges * _EDGE.itemsize), dtype=_EDGE)
    order = _output_order(rec)
    sizes = rec["n"].astype(np.int64)
    at = np.zeros(sizes.shape[0], dtype=np.int64)
    np.cumsum(sizes[:-1], out=at[1:])
    tmp = pairs_path + ".part"
    fd = os.open(spill_path, os.O_RDONLY)
    try:
        with open(tmp, "wb", buffering=1 << 20) as out:
            for k in range(0, order.shape[0], 4096):
                part = order[k : k + 4096]
                out.write(
                    b"".join(map(os.pread, itertools.repeat(fd), sizes[part].tolist(), at[part].tolist()))
                )
    finally:
        os.close(fd)
    os.replace(tmp, pairs_path)


class PairLog:
    """The pairs' lines and the clustering edges, appended one align task at a time; resumable.

    ``add(results)`` takes one task's encoded pairs ``(a, b, json line, relation, words, strong)``
    and records the task as done. Opening a log that holds finished tasks of the same candidate
    list (``key``) goes on after the last of them; ``tasks_done`` says how many. The lines go to a
    spill file in task order; ``finish`` writes ``pairs.jsonl`` from it in output order (by ``a``,
    then ``b``: the order of the candidate list), whatever order the tasks took the pairs in.
    """

    @staticmethod
    def key_for(a: np.ndarray, b: np.ndarray, per_task: int) -> str:
        """What identifies the list of candidate pairs and how it is cut into tasks."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(b, dtype=np.int64).tobytes())
        # (the name of the grouping: tasks of another grouping hold other pairs)
        return f"copytrace-align-breadth-first {FORMAT} {per_task} {a.shape[0]} {h.hexdigest()}"

    def __init__(self, workdir: Path, pairs_path: Path, key: str) -> None:
        self._pairs_path = pairs_path
        self._spill_path = workdir / "_pairs.spill"
        self._edges_path = workdir / "_edges.bin"
        self._log_path = workdir / "_align.log"
        self.tasks_done = 0
        pairs_bytes = edges = 0
        if self._log_path.exists():
            lines = self._log_path.read_bytes().split(b"\n")
            if lines and lines[0].decode("utf-8", "replace") == key:
                for line in lines[1:-1]:  # the last item is after the final newline (or partial)
                    parts = line.split()
                    if len(parts) == 3:
                        self.tasks_done, pairs_bytes, edges = (int(x) for x in parts)
        have_pairs = self._spill_path.stat().st_size if self._spill_path.exists() else 0
        have_edges = self._edges_path.stat().st_size if self._edges_path.exists() else 0
        if self.tasks_done and (have_pairs < pairs_bytes or have_edges < edges * _EDGE.itemsize):
            self.tasks_done = pairs_bytes = edges = 0  # the files lost data the log counts: redo
        self._pairs = open(self._spill_path, "r+b" if self.tasks_done else "wb")  # noqa: SIM115
        self._pairs.truncate(pairs_bytes)
        self._pairs.seek(pairs_bytes)
        self._edges = open(self._edges_path, "r+b" if self.tasks_done else "wb")  # noqa: SIM115
        self._edges.truncate(edges * _EDGE.itemsize)
        self._edges.seek(edges * _EDGE.itemsize)
        self._pairs_bytes = pairs_bytes
        self._n_edges = edges
        if self.tasks_done:
            self._log = open(self._log_path, "ab")  # noqa: SIM115
        else:
            self._log = open(self._log_path, "wb")  # noqa: SIM115
            self._log.write(key.encode("utf-8") + b"\n")
            self._log.flush()

    def add(self, results: list[tuple[int, int, str, str, int, bool]]) -> None:
        if results:
            lines = [(r[2] + "\n").encode("utf-8") for r in results]
            data = b"".join(lines)
            self._pairs.write(data)
            self._pairs_bytes += len(data)
            rec = np.empty(len(results), dtype=_EDGE)
            rec["n"] = [len(x) for x in lines]
            rec["a"] = [r[0] for r in results]
            rec["b"] = [r[1] for r in results]
            rec["w"] = [r[4] for r in results]
            rec["s"] = [r[5] for r in results]
            rec["r"] = [_REL_CODE[r[3]] for r in results]
            self._edges.write(rec.tobytes())
            self._n_edges += len(results)
        self._pairs.flush()
        self._edges.flush()
        self.tasks_done += 1
        self._log.write(f"{self.tasks_done} {self._pairs_bytes} {self._n_edges}\n".encode())
        self._log.flush()
        crash_point("align", self.tasks_done)

    def close(self) -> None:
        for fh in (self._pairs, self._edges, self._log):
            fh.close()

    def __enter__(self) -> PairLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _records(self) -> np.ndarray:
        with open(self._edges_path, "rb") as fh:
            return np.frombuffer(fh.read(self._n_edges * _EDGE.itemsize), dtype=_EDGE)

    def finish(self) -> None:
        """Write ``pairs.jsonl``: the spill's lines in output order (``write_pairs``)."""
        self._pairs.flush()
        write_pairs(*self.finish_args())

    def finish_args(self) -> tuple[str, str, int, str]:
        """What ``write_pairs`` needs to write ``pairs.jsonl`` from this log: a worker process can
        do it while this one goes on (the log's files are complete and no longer written)."""
        self._pairs.flush()
        self._edges.flush()
        return str(self._spill_path), str(self._edges_path), self._n_edges, str(self._pairs_path)

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, strong, shared words) of every pair written, in output order."""
        rec = self._records()
        rec = rec[_output_order(rec)]
        return (
            rec["a"].astype(np.int64),
            rec["b"].astype(np.int64),
            rec["s"].astype(np.bool_),
            rec["w"].astype(np.int64),
        )

    def line_sizes(self) -> np.ndarray:
        """The bytes of each line of ``pairs.jsonl`` (its newline included), in output order."""
        rec = self._records()
        return rec["n"][_output_order(rec)].astype(np.int64)

    def relations(self) -> dict[str, int]:
        codes = np.bincount(self._records()["r"], minlength=len(RELATIONS))
        return {RELATIONS[i]: int(c) for i, c in enumerate(codes.tolist()) if c}


# ---------------------------------------------------------------- the work folder


class WorkDir:
    """The work folder of one scan in ``out_dir``; see the module docstring."""

    def __init__(
        self, out_dir: str, manifest: dict[str, Any], resume: bool, warn: Callable[[str], None]
    ) -> None:
        self.out = Path(out_dir)
        self.path = self.out / WORK_DIR
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(self.out / f"{WORK_DIR}.lock")
        except OSError as exc:
            raise OutputError(out_dir, f"cannot create output folder ({exc.strerror})") from None
        self.resumed = False
        mpath = self.path / MANIFEST
        old: dict[str, Any] | None = None
        if self.path.exists():
            try:
                old = json.loads(mpath.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
        if resume and old is not None:
            if old != manifest:
                raise ResumeError(
                    str(self.path),
                    f"cannot resume: {_difference(old, manifest)}; run without --resume to start over",
                )
            self.resumed = True
        else:
            if resume:
                warn(f"{out_dir}: no unfinished scan to resume; starting from the beginning")
            elif old is not None:
                warn(f"{out_dir}: discarding an unfinished scan (use --resume to continue one)")
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir()
            write_atomic(mpath, json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))
        self.chunks_at_start = chunks_done(self.path)

    def done(self, stage: str) -> bool:
        return (self.path / f"_{stage}.done").exists()

    def mark(self, stage: str) -> None:
        write_atomic(self.path / f"_{stage}.done", b"")
        crash_point(stage)

    def publish(self) -> list[str]:
        """Move the outputs (``.jsonl``, ``.json``, ``.parquet`` and ``.html`` files not starting with
        ``_`` or ``.``) into the output folder and remove the work folder. Safe to repeat after an
        interruption half way."""
        moved = []
        for f in sorted(self.path.iterdir()):
            if f.is_file() and f.suffix in OUTPUT_SUFFIXES and not f.name.startswith(("_", ".")):
                os.replace(f, self.out / f.name)
                moved.append(f.name)
        self.discard()
        return moved

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.out / f"{WORK_DIR}.lock")
            os.close(self._lock)
            self._lock = None


def _lock(path: Path) -> int | None:
    """An exclusive lock on ``path`` (released when the process ends, even by SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputError(str(path.parent), "another scan is writing to this folder") from None
    return fd


# ---------------------------------------------------------------- signals and worker processes

_OWNER: int | None = None
_PR_SET_PDEATHSIG = 1


def _after_fork_in_child() -> None:
    if _OWNER is None:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != _OWNER:  # the parent died before prctl took effect
        os._exit(1)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _on_term(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _OWNER:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` like Ctrl-C, and forked workers stop with the parent."""
    global _OWNER
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_term) if main else None
    owner, _OWNER = _OWNER, os.getpid()
    try:
        yield
    finally:
        _OWNER = owner
        if main:
            signal.signal(signal.SIGTERM, previous)
