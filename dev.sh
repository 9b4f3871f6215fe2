#!/usr/bin/env bash
# copytrace developer entry point.
#   ./dev.sh demo   create .venv (if needed) and compare the bundled example pair
#   ./dev.sh test   create .venv (if needed) and run ruff, mypy on src, pytest
#   ./dev.sh setup  only create/refresh the environment
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[dev,web,spark,semantic]"
    touch "$stamp"
  fi
}

case "${1:-}" in
  setup)
    setup ;;
  demo)
    setup
    "$VENV/bin/copytrace" compare examples/ghouta/000_e51377812b574cd4.txt examples/ghouta/001_b01e3d22d82a00e4.txt ;;
  test)
    setup
    "$VENV/bin/ruff" check src tests benchmarks
    "$VENV/bin/ruff" format --check src tests benchmarks
    "$VENV/bin/mypy" src
    shift
    "$VENV/bin/pytest" -q "$@" ;;
  *)
    echo "usage: ./dev.sh demo|test|setup" >&2; exit 2 ;;
esac
