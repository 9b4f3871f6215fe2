"""A short, bounded load test of ``copytrace serve`` on 127.0.0.1 (``benchmarks/load_serve.py``).

20 concurrent clients send 40 requests each (a fixed count, not a duration): queries, uploads,
browsing and malformed requests. No request may get a 5xx or a dropped connection, every malformed
request gets a 4xx, and the server's memory after the second half stays near the first half.
The 50-client, 60-second run and its figures are in RELIABILITY.md.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"


def _load_module() -> object:
    spec = importlib.util.spec_from_file_location("load_serve", ROOT / "benchmarks" / "load_serve.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_serve_under_mixed_load(tmp_path: Path) -> None:
    if not MAKE_CORPUS.exists():
        pytest.skip(f"{MAKE_CORPUS} not present")
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), "--n", "300", "--seed", "3", "--out", str(tmp_path / "c")],
        check=True,
        capture_output=True,
    )
    ls = _load_module()
    index, docs = ls.build_index(tmp_path / "c" / "corpus.jsonl", 300, tmp_path)  # type: ignore[attr-defined]
    port = ls.free_port()  # type: ignore[attr-defined]
    server = ls.start_server(index, port)  # type: ignore[attr-defined]
    try:
        summary = ls.run_load(port, server.pid, docs, clients=20, requests=40)  # type: ignore[attr-defined]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert summary["requests"] == 800, json.dumps(summary)
    assert summary["server_errors"] == 0, json.dumps(summary)
    assert summary["malformed_not_4xx"] == 0, json.dumps(summary)
    assert summary["status"].get("200", 0) > 400
    assert summary["status"].get("413", 0) + summary["status"].get("422", 0) > 0
    # no growth between the two halves beyond allocator noise
    assert summary["rss_mb_at_end"] - summary["rss_mb_after_half"] < 64, json.dumps(summary)
