#!/usr/bin/env bash
# copytrace developer entry point.
#   ./dev.sh demo   create .venv (if needed) with the core package only, compare the bundled
#                   example pair, then compile the kernels for the next runs (first run only)
#   ./dev.sh test   add the extras and dev tools to .venv (if needed), run ruff, mypy on src, pytest
#   ./dev.sh setup  only create/refresh the full environment (what test uses)
# One .venv serves both: test adds its extras on top of the demo's core install, and the demo
# runs on a venv that test made.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv

# install "$1" (a pip requirement on this folder) once, again when pyproject.toml changes.
# The packages go in through uv (from PyPI, installed by pip into .venv first): it resolves,
# downloads and unpacks in parallel, where pip took 88 s for the core packages alone and about
# 15 min for the test extras on the loaded 2-core host (uv: 15 s and 2 min 15 s); pip does it
# where uv cannot be had or fails. pip's find-links (a local wheel folder, such as the CPU build of torch
# on this kind of machine) are passed on to uv, which does not read pip's configuration.
install() {
  local spec=$1 stamp=$VENV/.installed-$2
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    local links=${PIP_FIND_LINKS:-$("$VENV/bin/python" -m pip config get global.find-links 2>/dev/null || true)}
    local args=()
    for link in $links; do args+=(--find-links "$link"); done
    if ! { { [ -x "$VENV/bin/uv" ] || "$VENV/bin/python" -m pip install -q --disable-pip-version-check uv; } &&
      "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" ${args[@]+"${args[@]}"} -e "$spec"; }; then
      echo "dev.sh: uv could not install; pip does" >&2
      "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$spec"
    fi
    touch "$stamp"
  fi
}

core() { install . core; }
full() {
  install ".[dev,web,spark,semantic]" full
  touch "$VENV/.installed-core"  # (the full install holds the core one)
  # numba's cache filled on every core now, not test by test (quiet when already filled)
  "$VENV/bin/copytrace" warmup
}

case "${1:-}" in
  setup)
    full ;;
  demo)
    core
    "$VENV/bin/copytrace" compare examples/ghouta/000_e51377812b574cd4.txt examples/ghouta/001_b01e3d22d82a00e4.txt
    "$VENV/bin/copytrace" warmup ;;
  test)
    full
    "$VENV/bin/ruff" check src tests benchmarks
    "$VENV/bin/ruff" format --check src tests benchmarks
    "$VENV/bin/mypy" src
    shift
    "$VENV/bin/pytest" -q "$@" ;;
  *)
    echo "usage: ./dev.sh demo|test|setup" >&2; exit 2 ;;
esac
