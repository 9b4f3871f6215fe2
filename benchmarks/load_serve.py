#!/usr/bin/env python3
"""Bounded load test of ``copytrace serve`` on 127.0.0.1: mixed queries, uploads, browsing and
malformed requests from concurrent clients; counts statuses, latencies and the server's memory.

    .venv/bin/python benchmarks/load_serve.py --corpus /tmp/c3k/corpus.jsonl --docs 400 \
        --clients 50 --seconds 60 --out load.json

It builds an index of the first ``--docs`` documents (``copytrace index add``), starts
``copytrace serve`` as a separate process, runs the clients (``--seconds`` or ``--requests`` each),
and prints a JSON summary: requests by kind and status, 5xx count, latency percentiles, the
server's resident memory (VmRSS) after the first quarter and at the end. ``run_load`` is reused by
``tests/test_load.py`` with a fixed number of requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CT = str(ROOT / ".venv" / "bin" / "copytrace")

# kind -> weight; malformed kinds must get a 4xx answer, never a 5xx
MIX = {
    "api_query": 30,
    "api_query_edited": 10,
    "upload": 10,
    "paste": 5,
    "api_pairs": 10,
    "api_document": 10,
    "page_home": 5,
    "bad_json": 4,
    "bad_field": 4,
    "bad_limit": 3,
    "bad_utf8_upload": 3,
    "binary_upload": 2,
    "unknown_id": 2,
    "huge_body": 2,
}
# bad_utf8_upload may be valid UTF-16 or cp1252 by chance (200 with a warning): not counted as malformed
MALFORMED = {
    "bad_json",
    "bad_field",
    "bad_limit",
    "binary_upload",
    "unknown_id",
    "huge_body",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def build_index(corpus: Path, n_docs: int, workdir: Path) -> tuple[Path, list[dict[str, Any]]]:
    docs = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            docs.append(json.loads(line))
            if len(docs) == n_docs:
                break
    sub = workdir / "docs.jsonl"
    sub.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    index = workdir / "index.duckdb"
    subprocess.run([CT, "index", "add", "--index", str(index), str(sub), "--quiet"], check=True)
    return index, docs


def start_server(index: Path, port: int, max_body: int = 1 << 20) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [CT, "serve", "--index", str(index), "--host", "127.0.0.1", "--port", str(port), "--quiet"]
        + ["--max-body", str(max_body)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("serve did not answer")


def _edited(text: str, rng: random.Random) -> str:
    words = text.split()
    for _ in range(max(1, len(words) // 30)):
        words[rng.randrange(len(words))] = rng.choice(["Centre", "780", "said", "officials", "Reuters"])
    return " ".join(words[: rng.randint(len(words) // 2, len(words))])


async def _one(client: httpx.AsyncClient, kind: str, docs: list[dict[str, Any]], rng: random.Random) -> int:
    d = rng.choice(docs)
    if kind == "api_query":
        r = await client.post("/api/query", json={"text": d["text"], "limit": 20})
    elif kind == "api_query_edited":
        r = await client.post("/api/query", json={"text": _edited(d["text"], rng)})
    elif kind == "upload":
        r = await client.post(
            "/query", files={"file": ("story.txt", d["text"].encode("utf-8"), "text/plain")}
        )
    elif kind == "paste":
        r = await client.post("/query", data={"text": d["text"][:3000]})
    elif kind == "api_pairs":
        r = await client.get("/api/pairs", params={"limit": 50, "offset": rng.randrange(0, 200)})
    elif kind == "api_document":
        r = await client.get(f"/api/documents/{d['id']}")
    elif kind == "page_home":
        r = await client.get("/")
    elif kind == "bad_json":
        r = await client.post(
            "/api/query", content=b'{"text": "unterminated', headers={"content-type": "application/json"}
        )
    elif kind == "bad_field":
        r = await client.post("/api/query", json={"txt": d["text"][:100]})
    elif kind == "bad_limit":
        r = await client.post("/api/query", json={"text": "x", "limit": -5})
    elif kind == "bad_utf8_upload":
        r = await client.post(
            "/query", files={"file": ("bad.txt", b"\xff\xfe\x00\xd8" + os.urandom(64), "text/plain")}
        )
    elif kind == "binary_upload":
        r = await client.post(
            "/query", files={"file": ("scan.pdf", b"%PDF-1.4\n" + os.urandom(2048), "application/pdf")}
        )
    elif kind == "unknown_id":
        r = await client.get(f"/api/documents/no-such-{rng.randrange(10**9)}")
    elif kind == "huge_body":
        r = await client.post("/api/query", json={"text": "word " * 400_000})
    else:
        raise ValueError(kind)
    return r.status_code


async def _client(
    base: str,
    docs: list[dict[str, Any]],
    seed: int,
    stop: float | None,
    n: int | None,
    out: list[tuple[str, int, float]],
) -> None:
    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        done = 0
        while (stop is None or time.monotonic() < stop) and (n is None or done < n):
            kind = rng.choices(kinds, weights)[0]
            t0 = time.perf_counter()
            try:
                status = await _one(client, kind, docs, rng)
            except httpx.HTTPError:
                status = 0  # connection reset / timeout: counted as a failure
            out.append((kind, status, time.perf_counter() - t0))
            done += 1


def run_load(
    port: int,
    pid: int,
    docs: list[dict[str, Any]],
    clients: int,
    seconds: float | None = None,
    requests: int | None = None,
) -> dict[str, Any]:
    """Run ``clients`` concurrent clients for ``seconds`` (or ``requests`` each) in two halves;
    returns the summary (memory after the first and the second half)."""
    results: list[tuple[str, int, float]] = []
    memory = []

    async def phase(seed0: int, secs: float | None, reqs: int | None) -> None:
        stop = time.monotonic() + secs if secs is not None else None
        await asyncio.gather(
            *(
                _client(f"http://127.0.0.1:{port}", docs, seed0 + k, stop, reqs, results)
                for k in range(clients)
            )
        )

    started = time.perf_counter()
    for half in range(2):
        asyncio.run(phase(half * 1000, seconds / 2 if seconds else None, requests // 2 if requests else None))
        memory.append(rss_kb(pid))
    wall = time.perf_counter() - started
    by = Counter((k, s) for k, s, _ in results)
    lat = sorted(t for _, _, t in results)

    def pct(q: float) -> float:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else 0.0

    return {
        "clients": clients,
        "requests": len(results),
        "seconds": round(wall, 1),
        "requests_per_second": round(len(results) / wall, 1),
        "status": dict(sorted(Counter(str(s) for _, s, _ in results).items())),
        "by_kind": {f"{k} {s}": c for (k, s), c in sorted(by.items())},
        "server_errors": sum(c for (_, s), c in by.items() if s >= 500 or s == 0),
        "malformed_not_4xx": sum(c for (k, s), c in by.items() if k in MALFORMED and not 400 <= s < 500),
        "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
        "rss_mb_after_half": round(memory[0] / 1024, 1),
        "rss_mb_at_end": round(memory[1] / 1024, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="a JSONL corpus (id, text), e.g. from make_corpus.py")
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out", default=None, help="also write the summary JSON here")
    args = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        index, docs = build_index(Path(args.corpus), args.docs, work)
        port = free_port()
        server = start_server(index, port)
        try:
            rss0 = rss_kb(server.pid)
            summary = run_load(port, server.pid, docs, args.clients, seconds=args.seconds)
            summary["rss_mb_idle"] = round(rss0 / 1024, 1)
            summary["documents"] = len(docs)
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 1 if summary["server_errors"] or summary["malformed_not_4xx"] else 0


if __name__ == "__main__":
    sys.exit(main())
