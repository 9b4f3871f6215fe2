"""Dedup benchmark: copytrace dedup vs text-dedup's and datatrove's MinHash, in one run.

    .venv/bin/python benchmarks/bench_dedup.py --n 10000          # quick
    .venv/bin/python benchmarks/bench_dedup.py --n 100000         # the reference size

Each tool runs as its own process tree, one after another; wall time and the tree's peak RSS
(summed over processes, polled every 0.1 s) are measured. The peers run from their own virtual
environment (``--peer-python``, default ``benchmarks/.work/venv-dedup/bin/python``, set up from
``benchmarks/requirements-dedup.txt``). Scoring against ``truth.jsonl``:

* a removed document is a **right removal** when it has a truth pair of a duplicate kind
  (exact, syndicate, rewrap, subst, drop, insert, mixed, transitive) with a kept document;
* otherwise it is a **wrong removal**, split by what links it to a kept document: only a
  ``heavy`` pair (a copy with 3-10% of words replaced and sentences dropped and added), only a
  ``partial``/``partial_family`` pair, or nothing at all;
* **possible** is the most right removals any tool can make: per connected group of
  duplicate-kind truth pairs, its size minus one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
DUP_KINDS = {"exact", "syndicate", "rewrap", "subst", "drop", "insert", "mixed", "transitive"}
MD_BEGIN, MD_END = "<!-- dedup:begin -->", "<!-- dedup:end -->"


def measure(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.1)
    return {
        "rc": proc.returncode,
        "wall_s": round(time.perf_counter() - t0, 2),
        "peak_rss_mib": round(peak / 2**20),
    }


def score(corpus: Path, kept_ids: set[str]) -> dict[str, int]:
    ids = [json.loads(x)["id"] for x in open(corpus / "docs.jsonl", encoding="utf-8")]
    links: dict[str, list[tuple[str, str]]] = defaultdict(list)
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for line in open(corpus / "truth.jsonl", encoding="utf-8"):
        t = json.loads(line)
        links[t["a"]].append((t["b"], t["kind"]))
        links[t["b"]].append((t["a"], t["kind"]))
        if t["kind"] in DUP_KINDS:
            parent[find(t["a"])] = find(t["b"])
    groups: dict[str, int] = defaultdict(int)
    for i in ids:
        groups[find(i)] += 1
    out = {"documents": len(ids), "kept": 0, "removed": 0, "right": 0, "wrong": 0,
           "wrong_heavy_only": 0, "wrong_partial_only": 0, "wrong_unrelated": 0,
           "possible": sum(n - 1 for n in groups.values())}  # fmt: skip
    for i in ids:
        if i in kept_ids:
            out["kept"] += 1
            continue
        out["removed"] += 1
        kinds = {k for other, k in links[i] if other in kept_ids}
        if kinds & DUP_KINDS:
            out["right"] += 1
            continue
        out["wrong"] += 1
        if "heavy" in kinds:
            out["wrong_heavy_only"] += 1
        elif kinds:
            out["wrong_partial_only"] += 1
        else:
            out["wrong_unrelated"] += 1
    return out


def run_tools(
    corpus: Path, tools: list[str], workers: int, threshold: float, peer_py: str
) -> list[dict[str, Any]]:
    runs = corpus / "dedup_runs"
    runs.mkdir(exist_ok=True)
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    rows = []
    for tool in tools:
        out = runs / tool
        subprocess.run(["rm", "-rf", str(out)], check=True)
        out.mkdir(parents=True)
        if tool in ("copytrace", "copytrace-ngrams"):
            cmd = [str(ROOT / ".venv/bin/copytrace"), "dedup", str(corpus / "corpus.jsonl"), "--out", str(out),
                   "--quiet", "--workers", str(workers), "--threshold", str(threshold), "--stats", str(out / "stats.json")]  # fmt: skip
            if tool == "copytrace-ngrams":
                cmd += ["--measure", "ngrams"]
        elif tool == "text-dedup":
            cmd = [peer_py, "-m", "text_dedup.minhash", "--path", "json", "--data_files", str(corpus / "corpus.jsonl"),
                   "--split", "train", "--cache_dir", str(out / "cache"), "--output", str(out / "ds"), "--column", "text",
                   "--threshold", str(threshold), "--ngram", "5", "--num_perm", "128", "--num_proc", str(workers)]  # fmt: skip
        elif tool == "datatrove":
            cmd = [peer_py, str(ROOT / "benchmarks/dedup_peers.py"), "datatrove", str(corpus), "--out", str(out),
                   "--workers", str(workers)]  # fmt: skip
        else:
            raise SystemExit(f"unknown tool {tool!r}: copytrace, copytrace-ngrams, text-dedup, datatrove")
        print(f"running {tool}: {' '.join(cmd)}", file=sys.stderr)
        row: dict[str, Any] = {"tool": tool, "command": " ".join(cmd)}
        row.update(measure(cmd, runs / f"{tool}.log", env))
        if row["rc"] == 0:
            if tool.startswith("copytrace"):
                kept = {json.loads(x)["id"] for x in open(out / "kept.jsonl", encoding="utf-8")}
                row["stages"] = json.loads((out / "stats.json").read_text())["stages"]
            else:
                if tool == "text-dedup":
                    subprocess.run([peer_py, str(ROOT / "benchmarks/dedup_peers.py"), "text-dedup-ids", str(out)],
                                   check=True, env=env)  # fmt: skip
                kept = set((out / "kept_ids.txt").read_text(encoding="utf-8").split())
            row.update(score(corpus, kept))
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "command"}), file=sys.stderr)
    return rows


def markdown(rows: list[dict[str, Any]], n: int, seed: int, workers: int, threshold: float) -> str:
    ok = [r for r in rows if r["rc"] == 0]
    base = {r["tool"]: r["wall_s"] for r in ok}
    lines = [
        f"### n = {n:,} documents, seed {seed}, threshold {threshold}, {workers} workers",
        "",
        f"Machine: {os.cpu_count()} CPUs, load average before the run {os.getloadavg()[0]:.1f}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"Command: `.venv/bin/python benchmarks/bench_dedup.py --n {n} --workers {workers}`",
        "",
        "| tool | wall s | × copytrace | peak RSS MiB | removed | right removals (of possible) "
        "| wrong removals | of which heavy-only | partial-only | unrelated |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        if r["rc"] != 0:
            lines.append(f"| {r['tool']} | failed: exit status {r['rc']} |  |  |  |  |  |  |  |  |")
            continue
        ratio = r["wall_s"] / base["copytrace"] if "copytrace" in base else float("nan")
        lines.append(
            f"| {r['tool']} | {r['wall_s']:.1f} | {ratio:.2f} | {r['peak_rss_mib']:,} | {r['removed']:,} | "
            f"{r['right']:,} ({r['possible']:,}) | {r['wrong']:,} | {r['wrong_heavy_only']:,} | "
            f"{r['wrong_partial_only']:,} | {r['wrong_unrelated']:,} |"
        )
    lines.append("")
    for r in rows:
        lines.append(f"- {r['tool']}: `{r['command'].replace(str(ROOT) + '/', '')}`")
        if "stages" in r:
            lines.append("  stages (s): " + ", ".join(f"{k} {v}" for k, v in r["stages"].items()))
    return "\n".join(lines) + "\n"


def update_md(md: Path, section: str) -> None:
    text = md.read_text(encoding="utf-8") if md.exists() else "# Benchmarks\n"
    if MD_BEGIN in text and MD_END in text:
        head, rest = text.split(MD_BEGIN, 1)
        old, tail = rest.split(MD_END, 1)
        intro = old.split("### n = ", 1)[0] if "### n = " in old else "\n"
        text = head + MD_BEGIN + intro + section + MD_END + tail
    else:
        text = text.rstrip("\n") + "\n\n" + MD_BEGIN + "\n" + section + MD_END + "\n"
    md.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--tools", default="copytrace,copytrace-ngrams,text-dedup,datatrove")
    ap.add_argument("--peer-python", default=str(WORK / "venv-dedup" / "bin" / "python"))
    ap.add_argument("--md", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--no-md", action="store_true")
    args = ap.parse_args()
    corpus = WORK / f"c{args.n}_s{args.seed}"
    if not (corpus / "truth.jsonl").exists():
        gen = ROOT.parent / "shared" / "bench" / "make_corpus.py"
        subprocess.run([sys.executable, str(gen), "--n", str(args.n), "--seed", str(args.seed), "--out", str(corpus)],
                       check=True)  # fmt: skip
    rows = run_tools(corpus, args.tools.split(","), args.workers, args.threshold, args.peer_python)
    (corpus / "dedup_results.json").write_text(json.dumps(rows, indent=1))
    section = markdown(rows, args.n, args.seed, args.workers, args.threshold)
    print(section)
    if not args.no_md:
        update_md(Path(args.md), section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
