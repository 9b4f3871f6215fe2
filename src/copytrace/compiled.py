"""The compiled kernels as a whole: whether numba's cache holds them, running them interpreted,
and filling the cache on every core.

Every hot loop is a ``numba.njit(cache=True)`` kernel, compiled the first time it runs and then
loaded from numba's cache (``__pycache__`` beside the sources, or ``NUMBA_CACHE_DIR``). Compiling
them all costs about 100 CPU seconds on a 2-core host (numba's typing and LLVM, measured in
BENCHMARKS.md), so a fresh install would sit silent for minutes. Three things here keep that
from a newcomer:

- ``interpreted()`` runs the kernels as the plain Python functions they are written as (what
  ``NUMBA_DISABLE_JIT`` does, switched on for one call instead of a whole process): a news-sized
  pair takes about a second that way, byte-identical to the compiled result (tested), so
  ``copytrace compare`` on a cold cache answers at once instead of compiling first.
- ``warm()`` fills the cache with every kernel a command uses, on all cores: a small workload
  (``_workload``) is run interpreted once to record each top-level kernel call, and the calls
  are then replayed compiled, one call a task, largest first, over a process pool (each kernel
  compiled once, where the two workers of a cold scan would each compile all of them).
  ``copytrace warmup`` and ``./dev.sh`` call it; a cold local scan calls it on its own pool.
- ``notice_on_compile()`` prints one line on stderr the moment numba starts compiling in this
  process (numba announces only cache misses), so whatever compile remains is never silent.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

#: the modules holding kernels, in pipeline order
KERNEL_MODULES = (
    "normalize",
    "fingerprint",
    "candidates",
    "postings",
    "levenshtein",
    "align",
    "explain",
    "derive",
    "passages",
)
#: what ``compare`` runs compiled (``candidates``' insertion sort is a callee of ``align``)
COMPARE_MODULES = ("normalize", "fingerprint", "levenshtein", "align", "explain", "derive")

NOTICE = "compiling, first run only"
#: ``compare`` on a cold cache runs interpreted up to this many characters (both texts): about
#: 1.5 CPU seconds at 40,000 on the 2-core host, against a minute or more of compiling
INTERPRET_CHARS = 60_000


def _is_dispatcher(obj: Any) -> bool:
    from numba.core.registry import CPUDispatcher

    return isinstance(obj, CPUDispatcher)


def kernels(modules: Iterable[str] = KERNEL_MODULES) -> list[Any]:
    """The dispatchers defined in ``modules`` (imported here), in definition order."""
    found = []
    for name in modules:
        mod = importlib.import_module(f"copytrace.{name}")
        for obj in vars(mod).values():
            if _is_dispatcher(obj) and obj.py_func.__module__ == mod.__name__:
                found.append(obj)
    return found


def _cached(disp: Any) -> bool:
    """Whether numba's cache holds a current compiled overload of ``disp`` (its index file exists,
    was written by this numba for the source file as it is now, and lists an overload)."""
    cache = getattr(disp, "_cache", None)
    index = getattr(cache, "_cache_file", None)
    if index is None:  # another numba than this was written for: take the cache as warm
        return True
    try:
        return bool(index._load_index())
    except Exception:  # an unreadable index: numba recompiles, so the kernel is not cached
        return False


def cold_modules(modules: Iterable[str] = KERNEL_MODULES) -> list[str]:
    """The modules of which no kernel is in numba's cache (a fresh install, or a module edited
    since it was last compiled: numba keys its cache on the source file's time and size)."""
    by_module: dict[str, bool] = {}
    for disp in kernels(modules):
        name = disp.py_func.__module__.rsplit(".", 1)[-1]
        by_module[name] = by_module.get(name, False) or _cached(disp)
    return [m for m in modules if not by_module.get(m, True)]


def _bound(value: Any) -> Any:
    """A kernel's result as the compiled kernel hands it to Python: numpy scalars become
    ``int``/``float``/``bool`` (numba boxes them so), containers element by element."""
    if isinstance(value, np.generic) and not isinstance(value, np.void):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_bound(v) for v in value)
    if isinstance(value, list):
        return [_bound(v) for v in value]
    return value


@contextmanager
def interpreted(record: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] | None = None) -> Iterator[None]:
    """Run every kernel of the loaded copytrace modules as plain Python inside the block.

    Each dispatcher that a module's globals name is replaced by a stand-in calling its Python
    function (kernels call each other through those globals, so nested calls are interpreted
    too), and put back on exit. Integer arithmetic wraps as in the compiled code (numpy's
    overflow warnings are off inside). With ``record``, each call from outside any kernel is
    appended as (dispatcher, args, kwargs), arrays copied before the call, for ``warm()``."""
    from numba.core import config

    depth = [0]

    def stand_in(disp: Any) -> Callable[..., Any]:
        py = disp.py_func

        def call(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return py(*args, **kwargs)
            if record is not None:
                record.append((disp, _copied(args), {k: _copied((v,))[0] for k, v in kwargs.items()}))
            depth[0] += 1
            try:
                return _bound(py(*args, **kwargs))
            finally:
                depth[0] -= 1

        return call

    swapped: list[tuple[dict[str, Any], str, Any]] = []
    stand_ins: dict[int, Callable[..., Any]] = {}
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name == "copytrace" or name.startswith("copytrace.")):
            continue
        space = vars(mod)
        for key, obj in list(space.items()):
            if _is_dispatcher(obj):
                fn = stand_ins.setdefault(id(obj), stand_in(obj))
                swapped.append((space, key, obj))
                space[key] = fn
    was = config.DISABLE_JIT  # type: ignore[attr-defined]
    config.DISABLE_JIT = True  # type: ignore[attr-defined]  # (numba's typed containers, were a kernel to make one)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        config.DISABLE_JIT = was  # type: ignore[attr-defined]
        for space, key, obj in swapped:
            space[key] = obj


def _like(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` that numba types alike: same layout (C, F or strided) and writability."""
    if a.flags.c_contiguous or a.flags.f_contiguous:
        b = a.copy(order="C" if a.flags.c_contiguous else "F")
    else:
        b = np.empty((*a.shape, 2), dtype=a.dtype)[..., 0]
        b[...] = a
    if not a.flags.writeable:
        b.flags.writeable = False
    return b


def _copied(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_like(a) if isinstance(a, np.ndarray) else a for a in args)


# ---------------------------------------------------------------- the warm-up


def _workload() -> None:
    """What the commands run, on a few small texts: ``compare`` (ASCII and other scripts, hard
    wraps, quotes, numbers, a rewritten sentence) and an in-process ``scan`` (prepare,
    candidates, align and derive, documents' derivations)."""
    import tempfile

    from .pipeline import compare
    from .scan import scan
    from .types import Document, Settings

    base = (
        "Syrian government forces pressed their assault on the rebel enclave of eastern Ghouta on "
        "Wednesday, splitting the besieged area in two, a monitoring group said. The Defense Ministry "
        'said that 780 people had left the enclave through a humanitarian corridor. "We will not leave," '
        "one resident told Reuters by telephone.\nThe United Nations said the convoy of 46 trucks carrying "
        "food and medicine for seventy thousand people could not unload all of its cargo because of "
        "heavy shel-\nling near the town of Douma on Monday evening. Mr. Smith, of the U.N. office, said "
        "aid would return."
    )
    edited = (
        "DAMASCUS (Reuters) - Syrian government forces pressed their assault on the rebel enclave of "
        "eastern Ghouta on Wednesday, splitting the besieged area in two, a monitoring group said. "
        "According to Russia's Ministry of Defense, a total of 68 residents fled the enclave via a safe "
        "corridor. “We will not leave,” one resident told Reuters by telephone. The United Nations "
        "said the convoy of 46 trucks carrying food and medicine for seventy thousand people could not "
        "unload all of its cargo because of heavy shelling near the town of Douma on Monday evening."
    )
    other = (
        "Die Regierungstruppen setzten ihren Angriff auf die Enklave Ost-Ghuta am Mittwoch fort und "
        "teilten das belagerte Gebiet in zwei Teile, sagte eine Beobachtungsgruppe. Der Konvoi der "
        "Vereinten Nationen mit Lebensmitteln für siebzigtausend Menschen konnte wegen schweren "
        "Beschusses nahe der Stadt Duma nicht vollständig entladen werden. Straße, Größe, naïve café."
    )
    s = Settings(workers=1)
    compare(Document("a", base, date="2018-03-07"), Document("b", edited), s)
    compare(Document("c", other), Document("d", other.replace("Mittwoch", "Dienstag") + " Ende."), s)
    docs = [
        Document("a", base, date="2018-03-07", source="x"),
        Document("b", edited, date="2018-03-08", source="y"),
        Document("c", other),
        Document("d", other + " Noch ein Satz über die Lage."),
        Document("e", base),
        Document("f", "A short note with nothing in common at all."),
    ]
    with tempfile.TemporaryDirectory(prefix="copytrace-warmup-") as tmp:
        scan(docs, os.path.join(tmp, "out"), s, quiet=True)


_CALLS: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []


def recorded_calls() -> list[tuple[Any, tuple[Any, ...], dict[str, Any]]]:
    """The workload's top-level kernel calls, each distinct (kernel, argument types) once; made
    once a process (it runs interpreted: about 2 s)."""
    if not _CALLS:
        from numba import typeof

        kernels()  # every kernel module loaded, so that ``interpreted`` sees them all
        from .engines import local

        calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
        saved = dict(local._WORKER)  # (a pool worker's state: the workload's scan sets its own)
        try:
            with interpreted(record=calls):
                _workload()
        finally:
            local._WORKER.clear()
            local._WORKER.update(saved)
        seen = set()
        for disp, args, kwargs in calls:
            key = (
                id(disp),
                tuple(typeof(a) for a in args),
                tuple(sorted((k, typeof(v)) for k, v in kwargs.items())),
            )
            if key not in seen:
                seen.add(key)
                _CALLS.append((disp, args, kwargs))
    return _CALLS


def _size(call: tuple[Any, tuple[Any, ...], dict[str, Any]]) -> int:
    """A kernel's compile cost, roughly: the bytecode of it and of the kernels it names."""
    disp = call[0]
    code = disp.py_func.__code__
    size = len(code.co_code)
    space = disp.py_func.__globals__
    for name in code.co_names:
        callee = space.get(name)
        if _is_dispatcher(callee):
            size += len(callee.py_func.__code__.co_code)
    return size


def call_order() -> list[int]:
    """The recorded calls' numbers, the costliest to compile first."""
    calls = recorded_calls()
    return sorted(range(len(calls)), key=lambda k: -_size(calls[k]))


def compile_call(k: int) -> int:
    """Compile (or load) the kernel of recorded call ``k`` by making it compiled; the compiles
    this process did for it."""
    disp, args, kwargs = recorded_calls()[k]
    before = sum(disp.stats.cache_misses.values())
    with np.errstate(all="ignore"):
        disp(*_copied(args), **kwargs)
    return sum(disp.stats.cache_misses.values()) - before


def warm(workers: int = 0, pool: Any = None) -> dict[str, Any]:
    """Fill numba's cache with every kernel the commands use; returns what it did.

    The recorded calls go out largest first, one a task, so that the cores stay busy until the
    end; ``pool`` (the local engine's ``Pool``: ``submit`` and ``imap``) runs them, its workers
    recording the calls themselves, else a pool of ``workers`` processes (0: all cores), else
    this process."""
    t0 = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    if pool is not None:  # (the engine's pool: its parent records nothing and loads no kernel)
        job = pool.submit(call_order)
        order = job.result() if job is not None else call_order()
        compiled = sum(pool.imap(compile_call, order))
        return {"kernels": len(order), "compiled": compiled, "seconds": round(time.perf_counter() - t0, 2)}
    order = call_order()  # (recorded here, before the fork: the workers inherit the calls)
    if workers > 1 and len(order) > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(workers) as procs:
            compiled = sum(procs.imap_unordered(compile_call, order, chunksize=1))
    else:
        compiled = sum(map(compile_call, order))
    return {"kernels": len(order), "compiled": compiled, "seconds": round(time.perf_counter() - t0, 2)}


# ---------------------------------------------------------------- the notice


_NOTICE_PID: list[int] = []


def compile_notice(write: Callable[[str], None]) -> Any:
    """A numba event listener calling ``write(NOTICE line)`` on the first compile it sees in the
    process that made it (not in processes forked from it, whose compiles their parent
    announces)."""
    from numba.core import event

    pid = os.getpid()

    class Notice(event.Listener):
        said = False

        def on_start(self, ev: Any) -> None:
            if not self.said and os.getpid() == pid:
                self.said = True
                write(f"copytrace: {NOTICE} (numba is compiling the kernels, about a minute)")

        def on_end(self, ev: Any) -> None:
            return None

    return Notice()


def notice_on_compile(write: Callable[[str], None]) -> None:
    """Announce this process's first compile with ``write`` (once a process, whoever asks)."""
    from numba.core import event

    if not _NOTICE_PID:
        _NOTICE_PID.append(os.getpid())
        event.register("numba:compile", compile_notice(write))
