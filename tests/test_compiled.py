"""copytrace.compiled: a cold numba cache (a fresh install) gives the same output, fast, and says
so; the warm-up compiles what the commands run.

The cold runs are subprocesses with ``NUMBA_CACHE_DIR`` set to an empty folder, as a first run
after an install sees it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest
from conftest import GHOUTA_A, GHOUTA_B, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from copytrace import compiled
from copytrace.cli import main
from copytrace.pipeline import compare
from copytrace.types import Document

SRC = str(ROOT / "src")


def _cold_run(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "copytrace.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def _cached_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()]


def test_cold_cache_compare_is_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    cold = _cold_run(cache, "compare", str(GHOUTA_A), str(GHOUTA_B), "--json")
    assert cold.returncode == 0, cold.stderr
    monkeypatch.setattr(compiled, "INTERPRET_CHARS", 0)  # compiled here, whatever this cache holds
    assert main(["compare", str(GHOUTA_A), str(GHOUTA_B), "--json"]) == 0
    assert cold.stdout == capsys.readouterr().out
    assert json.loads(cold.stdout)["relation"] == "partial"
    assert cold.stderr == ""  # --json: no notice
    # it ran interpreted: nothing was compiled into the empty cache
    assert _cached_files(cache) == []


def test_cold_cache_terminal_view_says_it_ran_interpreted(tmp_path: Path) -> None:
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    cold = _cold_run(cache, "compare", str(GHOUTA_A), str(GHOUTA_B))
    assert cold.returncode == 0, cold.stderr
    assert "partial" in cold.stdout
    notes = cold.stderr.splitlines()
    assert len(notes) == 1 and "copytrace warmup" in notes[0], cold.stderr
    quiet = _cold_run(cache, "compare", str(GHOUTA_A), str(GHOUTA_B), "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout == cold.stdout


_WORDS = (
    "the forces pressed assault rebel enclave Ghouta Wednesday monitoring group said Defense Ministry "
    "780 people left corridor United Nations convoy 46 trucks food Douma Straße café naïve “quoted” "
    "co-operation U.S. Mr. Smith 3.5 per cent Reuters AFP"
).split()


def _text(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=0, max_size=120))
    seps = draw(
        st.lists(st.sampled_from([" ", " ", " ", ". ", ", ", "\n", "-\n", "\n\n"]), min_size=len(words))
    )
    return "".join(w + s for w, s in zip(words, seps, strict=False))


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[str, str]:
    shared = _text(draw)
    return _text(draw) + shared + _text(draw), _text(draw) + shared.replace("780", "68") + _text(draw)


@settings(max_examples=25, deadline=None)
@given(_pairs())
def test_interpreted_kernels_give_the_compiled_result(texts: tuple[str, str]) -> None:
    a, b = Document("a", texts[0], date="2018-03-07"), Document("b", texts[1])
    want = compare(a, b).to_dict()
    with compiled.interpreted():
        got = compare(a, b).to_dict()
    assert got == want


def test_interpreted_puts_the_kernels_back() -> None:
    from copytrace import derive, normalize

    before = normalize._scan_fast
    with compiled.interpreted():
        assert not compiled._is_dispatcher(normalize._scan_fast)
        assert not compiled._is_dispatcher(derive._classify)  # (imported from normalize)
        assert numba.config.DISABLE_JIT
    assert normalize._scan_fast is before and compiled._is_dispatcher(derive._classify)
    assert not numba.config.DISABLE_JIT


def test_warm_up_leaves_nothing_to_compile(tmp_path: Path) -> None:
    """After ``copytrace warmup``, compare and scan compile nothing: the recorded calls give the
    kernels the argument types the commands give them (a cache numba keeps is this checkout's,
    so ``./dev.sh test``'s warm-up has filled it and this only loads)."""
    script = f"""
import os, sys
from numba.core import event
from copytrace import compiled
from copytrace.cli import main
print(compiled.warm(workers=1)["kernels"])
missed = []
class Count(event.Listener):
    def on_start(self, ev): missed.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev): pass
event.register("numba:compile", Count())
from copytrace.cli import main
main(["compare", {str(GHOUTA_A)!r}, {str(GHOUTA_B)!r}, "--json"])
main(["scan", {str(GHOUTA_A.parent)!r}, "--out", {str(tmp_path / "out")!r}, "--workers", "1", "--quiet"])
print("missed", missed, file=sys.stderr)
"""
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.splitlines()[0]) >= 10  # the workload reached the kernels of every stage
    assert "missed []" in r.stderr, r.stderr
    assert (tmp_path / "out" / "pairs.jsonl").stat().st_size > 0


def test_notice_once_when_numba_compiles() -> None:
    from numba.core import event

    lines: list[str] = []

    @numba.njit
    def twice(x: int) -> int:
        return 2 * x

    @numba.njit
    def thrice(x: int) -> int:
        return 3 * x

    with event.install_listener("numba:compile", compiled.compile_notice(lines.append)):
        assert twice(2) == 4 and thrice(2) == 6
    assert len(lines) == 1 and compiled.NOTICE in lines[0]


def test_every_kernel_module_is_listed() -> None:
    """A module that gains a kernel is named in ``KERNEL_MODULES`` (the cold-cache check and the
    warm-up read that list)."""
    import importlib
    import pkgutil

    import copytrace

    with_kernels = set()
    for info in pkgutil.walk_packages(copytrace.__path__, "copytrace."):
        try:
            mod = importlib.import_module(info.name)
        except ImportError:  # an extra that is not installed (web, spark)
            continue
        if any(compiled._is_dispatcher(v) and v.py_func.__module__ == info.name for v in vars(mod).values()):
            with_kernels.add(info.name.rsplit(".", 1)[-1])
    assert with_kernels == set(compiled.KERNEL_MODULES)


def test_agency_names_found_alike_interpreted() -> None:
    """A kernel reading ASCII code points as uint8 must not wrap its arithmetic when it runs
    interpreted (``128 * c`` in the literal scan once lost every agency name on a cold cache)."""
    from copytrace import compiled as comp
    from copytrace.normalize import find_literals

    text = "The offer was first reported by Agencia Nova and ANN, then Reuters."
    names = ("Agencia Nova", "ANN", "Reuters")
    want = find_literals(text, names)
    assert len(want) == 3
    with comp.interpreted():
        assert find_literals(text, names) == want
