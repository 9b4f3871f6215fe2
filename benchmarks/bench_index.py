"""Benchmark the persistent index: build time, file size, query latency, QPS against ``serve``.

    .venv/bin/python benchmarks/bench_index.py --n 10000          # corpus made if missing
    .venv/bin/python benchmarks/bench_index.py --n 100000 --batch 20000

Builds a fresh index from ``benchmarks/.work/cN_s1/corpus.jsonl`` with ``Index.add`` (one
transaction per ``--batch`` documents), then times 1,000 queries through the Python API (half
corpus documents, half new edited copies of corpus documents), then runs ``serve`` (uvicorn on
127.0.0.1) and measures queries per second with 8 concurrent clients posting to ``/api/query``.
Results go to ``benchmarks/.work/cN_s1/index_results.json`` and to the index section of
``BENCHMARKS.md`` (between ``<!-- index:begin -->`` and ``<!-- index:end -->``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from copytrace import Document  # noqa: E402
from copytrace.index import Index  # noqa: E402
from copytrace.read import read_inputs  # noqa: E402

SHARED_BENCH = Path(os.environ.get("COPYTRACE_SHARED_BENCH", ROOT.parent / "shared" / "bench"))
BEGIN, END = "<!-- index:begin -->", "<!-- index:end -->"


def corpus(n: int, seed: int) -> Path:
    work = ROOT / "benchmarks" / ".work" / f"c{n}_s{seed}"
    path = work / "corpus.jsonl"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(SHARED_BENCH / "make_corpus.py"),
                "--n",
                str(n),
                "--seed",
                str(seed),
                "--out",
                str(work),
            ],
            check=True,
        )
    return path


def edited_copy(doc: Document, rng: random.Random) -> Document:
    """A new article reusing two thirds of ``doc`` with small edits (a word changed every ~25 words)."""
    paras = [p for p in doc.text.split("\n\n") if p.strip()]
    keep = paras[: max(1, (2 * len(paras)) // 3)]
    words = "\n\n".join(keep).split(" ")
    for i in range(0, len(words), 25):
        j = min(len(words) - 1, i + rng.randrange(25))
        words[j] = words[j].upper() if rng.random() < 0.5 else words[j] + "s"
    text = "Our correspondent reports.\n\n" + " ".join(words) + "\n\nThis article was edited for our readers."
    return Document(f"edited-{doc.id}", text)


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_qps(index_path: Path, texts: list[str], clients: int, seconds: float) -> dict[str, float]:
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "copytrace.cli",
            "serve",
            "--index",
            str(index_path),
            "--port",
            str(port),
            "--quiet",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.post(base + "/api/query", json={"text": texts[0]}, timeout=120).raise_for_status()
                break
            except httpx.TransportError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "serve did not start: " + (proc.stderr.read().decode() if proc.stderr else "")
                    ) from exc
                time.sleep(0.2)
        done = 0
        lat: list[float] = []
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def client(k: int) -> None:
            nonlocal done
            with httpx.Client(base_url=base, timeout=60) as c:
                i = k
                while time.monotonic() < stop:
                    t = time.perf_counter()
                    c.post("/api/query", json={"text": texts[i % len(texts)]}).raise_for_status()
                    with lock:
                        lat.append(time.perf_counter() - t)
                        done += 1
                    i += clients

        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
        elapsed = time.monotonic() - started
        return {
            "clients": clients,
            "seconds": round(elapsed, 2),
            "requests": done,
            "qps": round(done / elapsed, 1),
            "p50_ms": round(percentile(lat, 50) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=10000, help="documents per Index.add (one transaction each)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--qps-seconds", type=float, default=20.0)
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args()

    path = corpus(args.n, args.seed)
    work = path.parent
    index_path = work / "index.duckdb"
    for p in work.glob("index.duckdb*"):
        p.unlink()
    docs = list(read_inputs([str(path)]))
    print(f"{len(docs)} documents from {path}", file=sys.stderr)

    # build
    started = time.perf_counter()
    ix = Index(index_path)
    batches = []
    for i in range(0, len(docs), args.batch):
        st = ix.add(docs[i : i + args.batch])
        batches.append(st.to_dict())
        print(
            f"  add {i + len(docs[i : i + args.batch])}: {st.seconds:.1f}s, {st.pairs} pairs", file=sys.stderr
        )
    build_s = time.perf_counter() - started
    counts = ix.count()
    ix.close()
    size_mb = index_path.stat().st_size / 1e6

    # queries through the Python API, read-only connection kept open
    rng = random.Random(args.seed)
    picked = rng.sample(docs, min(args.queries, len(docs)))
    half = len(picked) // 2
    queries = [d for d in picked[:half]] + [edited_copy(d, rng) for d in picked[half:]]
    ro = Index(index_path, read_only=True)
    t = time.perf_counter()
    ro.query(queries[0])  # loads the postings into memory
    load_s = time.perf_counter() - t
    lat: dict[str, list[float]] = {"corpus": [], "edited": []}
    found = {"corpus": 0, "edited": 0}
    for k, q in enumerate(queries):
        kind = "corpus" if k < half else "edited"
        t = time.perf_counter()
        matches = ro.query(q)
        lat[kind].append(time.perf_counter() - t)
        source = q.id if kind == "corpus" else q.id.removeprefix("edited-")
        found[kind] += any(m.doc.id == source for m in matches)
    ro.close()
    all_lat = lat["corpus"] + lat["edited"]

    def ms(xs: list[float], q: float) -> float:
        return round(percentile(xs, q) * 1000, 2)

    result = {
        "n": len(docs),
        "seed": args.seed,
        "corpus_mb": round(path.stat().st_size / 1e6, 1),
        "build_s": round(build_s, 1),
        "batch": args.batch,
        "batches": batches,
        "index": counts,
        "file_mb": round(size_mb, 1),
        "postings_load_s": round(load_s, 2),
        "queries": len(queries),
        "latency_ms": {
            "all": {
                "p50": ms(all_lat, 50),
                "p99": ms(all_lat, 99),
                "mean": round(statistics.mean(all_lat) * 1000, 2),
            },
            "corpus": {"p50": ms(lat["corpus"], 50), "p99": ms(lat["corpus"], 99)},
            "edited": {"p50": ms(lat["edited"], 50), "p99": ms(lat["edited"], 99)},
        },
        "source_found": {k: f"{v}/{len(lat[k])}" for k, v in found.items()},
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps(result["latency_ms"]), file=sys.stderr)
    texts = [q.text for q in queries]
    result["serve"] = serve_qps(index_path, texts, args.clients, args.qps_seconds)
    print(json.dumps(result["serve"]), file=sys.stderr)
    (work / "index_results.json").write_text(json.dumps(result, indent=2))
    if not args.no_write:
        write_section(result)
    print(json.dumps(result, indent=2))


def section(r: dict[str, object]) -> str:
    lat = r["latency_ms"]
    sv = r["serve"]
    assert isinstance(lat, dict) and isinstance(sv, dict)
    cmd = f".venv/bin/python benchmarks/bench_index.py --n {r['n']} --batch {r['batch']}"
    return (
        f"<!-- index-run n={r['n']} -->\n"
        f"### n = {r['n']:,} documents, seed {r['seed']}\n\n"
        f"Machine: {r['machine']}; {r['date']}.  \nCommand: `{cmd}`\n\n"
        "| figure | value |\n|---|--:|\n"
        f"| corpus (JSONL) | {r['corpus_mb']} MB |\n"
        f"| build (`Index.add`, {r['batch']:,} documents a transaction) | {r['build_s']} s |\n"
        f"| index file | {r['file_mb']} MB |\n"
        f"| stored: documents / fingerprints / pairs | {r['index']['documents']:,} / "  # type: ignore[index]
        f"{r['index']['fingerprints']:,} / {r['index']['pairs']:,} |\n"  # type: ignore[index]
        f"| postings loaded into the reader (first query) | {r['postings_load_s']} s |\n"
        f"| query p50 / p99, all {r['queries']:,} (Python API) | {lat['all']['p50']} / {lat['all']['p99']} ms |\n"
        f"| query p50 / p99, corpus documents | {lat['corpus']['p50']} / {lat['corpus']['p99']} ms |\n"
        f"| query p50 / p99, new edited copies | {lat['edited']['p50']} / {lat['edited']['p99']} ms |\n"
        f"| source document among the matches (corpus / edited) | {r['source_found']['corpus']} / "  # type: ignore[index]
        f"{r['source_found']['edited']} |\n"  # type: ignore[index]
        f"| `serve`, {sv['clients']} concurrent clients, POST /api/query | {sv['qps']} queries/s "
        f"(p50 {sv['p50_ms']} ms, p99 {sv['p99_ms']} ms) |\n"
        "<!-- /index-run -->\n"
    )


def write_section(r: dict[str, object]) -> None:
    bench = ROOT / "BENCHMARKS.md"
    text = bench.read_text(encoding="utf-8") if bench.exists() else "# Benchmarks\n"
    intro = (
        "## Persistent index: `index add`, `query`, `serve`\n\n"
        "Made by `benchmarks/bench_index.py` on the synthetic corpus of the shared `make_corpus.py`. The index is "
        "built from empty with `Index.add`; queries go through the Python API on a read-only index (the reader "
        "keeps the postings in memory, loaded on the first query), half of them corpus documents and half new "
        "edited copies (two thirds of a corpus document, a word changed about every 25 words, a new first and "
        "last line). Latency is per query: fingerprint, candidate lookup, fetch and alignment of the top 20 "
        "candidates. QPS: 8 client threads posting to `/api/query` of `copytrace serve` (one uvicorn process) "
        "for 20 s. Targets: p50 <= 20 ms, p99 <= 100 ms on 100k documents.\n\n"
    )
    if BEGIN not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{intro}{END}\n"
    head, rest = text.split(BEGIN, 1)
    body, tail = rest.split(END, 1)
    runs = re.findall(r"<!-- index-run n=(\d+) -->\n.*?<!-- /index-run -->\n", body, flags=re.S)
    blocks = dict(
        zip(
            runs,
            re.findall(r"<!-- index-run n=\d+ -->\n.*?<!-- /index-run -->\n", body, flags=re.S),
            strict=True,
        )
    )
    blocks[str(r["n"])] = section(r)
    ordered = "\n".join(blocks[k] for k in sorted(blocks, key=int))
    bench.write_text(f"{head}{BEGIN}\n{intro}{ordered}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
