"""Spark engine vs local engine: wall time, peak memory of driver and executors, identical output.

    .venv/bin/python benchmarks/bench_spark.py --n 100000            # the reference size
    .venv/bin/python benchmarks/bench_spark.py --n 1000000 --timeout 7200

Generates the corpus with the shared make_corpus.py (cached in benchmarks/.work/c{n}_s{seed}),
runs ``copytrace scan`` with the local engine (``--workers W``) and with ``--engine spark
--spark-master local[W]``, one after another, each as its own process tree polled with psutil
every 0.2 s, checks that pairs.jsonl, documents.jsonl and clusters.jsonl are byte-identical, and
writes the spark section of BENCHMARKS.md (between ``<!-- spark:begin -->`` and ``<!-- spark:end -->``).

Memory is split by role. Local engine: *driver* = the parent process, *executors* = its pool
workers. Spark: *driver* = the copytrace Python process plus the JVM (in ``local[W]`` mode the
JVM is driver and executor at once: scheduler, shuffle, cache), *executors* = the Python workers
the JVM forks (pyspark.daemon and its children).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import REPO_ROOT, WORK_DIR, shared_bench_dir  # noqa: E402

MIB = 1024 * 1024
POLL_S = 0.2
OUTPUTS = ("pairs.jsonl", "documents.jsonl", "clusters.jsonl")
BEGIN, END = "<!-- spark:begin -->", "<!-- spark:end -->"


@dataclass
class Run:
    engine: str
    command: str
    returncode: int
    wall_s: float
    peak_total_mib: float
    peak_driver_mib: float
    peak_executors_mib: float
    stages: dict[str, float]
    pairs: int
    cpu_s: float = 0.0  # user + system seconds of the whole process tree (polled: a lower bound)


def ensure_corpus(n: int, seed: int, workers: int) -> Path:
    corpus = WORK_DIR / f"c{n}_s{seed}"
    if (corpus / "meta.json").is_file():
        return corpus
    tmp = corpus.with_name(corpus.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [sys.executable, str(shared_bench_dir() / "make_corpus.py"), "--n", str(n), "--seed", str(seed)]
    subprocess.run([*cmd, "--out", str(tmp), "--workers", str(workers)], check=True)
    shutil.rmtree(corpus, ignore_errors=True)
    tmp.rename(corpus)
    return corpus


def _roles(root: psutil.Process, spark: bool) -> tuple[int, int]:
    """(driver RSS, executors RSS) of a process tree, by role (see the module docstring)."""
    driver = executors = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    java = set()
    for p in procs:
        try:
            if spark and p.name().startswith("java"):
                java.add(p.pid)
        except psutil.Error:
            pass
    for p in procs:
        try:
            rss = p.memory_info().rss
            if p.pid == root.pid or p.pid in java:
                driver += rss
            elif spark and not any(a.pid in java for a in p.parents()):
                driver += rss  # spark-submit launcher and other helpers of the driver
            else:
                executors += rss
        except psutil.Error:
            pass
    return driver, executors


def _cpu(root: psutil.Process, seen: dict[int, float]) -> None:
    """Record the CPU seconds (user + system) of every process of the tree by pid; a process that
    ends between polls keeps its last reading. On a shared machine the wall time depends on the
    others' load, the CPU seconds much less."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        try:
            t = p.cpu_times()
            seen[p.pid] = t.user + t.system
        except psutil.Error:
            pass


def run(engine: str, cmd: list[str], out: Path, timeout: float | None) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    log = open(out.with_suffix(".log"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    root = psutil.Process(proc.pid)
    peak_total = peak_driver = peak_exec = 0
    cpu: dict[int, float] = {}
    while proc.poll() is None:
        _cpu(root, cpu)
        d, e = _roles(root, engine == "spark")
        peak_total, peak_driver, peak_exec = max(peak_total, d + e), max(peak_driver, d), max(peak_exec, e)
        if timeout is not None and time.perf_counter() - t0 > timeout:
            os.killpg(proc.pid, 9)
            proc.wait()
            break
        time.sleep(POLL_S)
    wall = time.perf_counter() - t0
    log.close()
    stats_path = out / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    return Run(
        engine,
        shlex.join(cmd).replace(str(REPO_ROOT) + "/", ""),
        proc.returncode,
        wall,
        peak_total / MIB,
        peak_driver / MIB,
        peak_exec / MIB,
        stats.get("stages", {}),
        stats.get("pairs", -1),
        sum(cpu.values()),
    )


def render(n: int, seed: int, workers: int, corpus: Path, runs: list[Run], identical: dict[str, bool]) -> str:
    local = next(r for r in runs if r.engine == "local")
    lines = [
        f"<!-- spark-run n={n} seed={seed} -->",
        f"### n = {n:,} documents, seed {seed}",
        "",
        f"Machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 1024**3:.1f} GiB, "
        f"Python {platform.python_version()}, load average before {os.getloadavg()[0]:.1f}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.  ",
        f"Command: `.venv/bin/python benchmarks/bench_spark.py --n {n} --seed {seed} --workers {workers}`",
        "",
        "| engine | wall s | × local | CPU s | peak RSS MiB (all) | driver MiB | executors MiB | pairs | stages (s) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in runs:
        if r.returncode != 0:
            lines.append(f"| {r.engine} | failed: exit status {r.returncode} |  |  |  |  |  |  |  |")
            continue
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r.stages.items())
        lines.append(
            f"| {r.engine} | {r.wall_s:.1f} | {r.wall_s / local.wall_s:.2f} | {r.cpu_s:.1f} | {r.peak_total_mib:,.0f} | "
            f"{r.peak_driver_mib:,.0f} | {r.peak_executors_mib:,.0f} | {r.pairs:,} | {stages} |"
        )
    same = ", ".join(f"{k} {'identical' if v else 'DIFFERENT'}" for k, v in identical.items())
    lines += ["", f"Outputs of the two engines: {same}.", "", "Commands:", ""]
    lines += [f"- {r.engine}: `{r.command}`" for r in runs]
    lines.append("<!-- /spark-run -->")
    return "\n".join(lines)


def write_md(md: Path, block: str, n: int, seed: int) -> None:
    header = (
        "## Spark engine vs local engine\n\n"
        "Made by `benchmarks/bench_spark.py`: the same corpus scanned by `copytrace scan` with the local\n"
        "engine and with `--engine spark --spark-master local[W]` (W = `--workers`), one after the other.\n"
        "*driver*: local engine parent / Spark's Python driver plus the JVM (in local mode the JVM is\n"
        "driver and executor at once); *executors*: local pool workers / Spark's Python workers. Peak\n"
        "RSS is summed over the processes of each role, polled every 0.2 s; *CPU s*: user + system\n"
        "seconds of the whole process tree (polled, so a lower bound). Spark's time includes\n"
        "starting the JVM and the Python workers.\n"
    )
    text = md.read_text(encoding="utf-8") if md.is_file() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        pre, rest = text.split(BEGIN, 1)
        body, post = rest.split(END, 1)
    else:
        pre, body, post = text.rstrip("\n") + "\n\n", "", "\n"
    runs: dict[str, str] = {}
    for part in body.split("<!-- spark-run ")[1:]:
        key = part.split(" -->", 1)[0]
        runs[key] = "<!-- spark-run " + part.split("<!-- /spark-run -->", 1)[0] + "<!-- /spark-run -->"
    runs[f"n={n} seed={seed}"] = block
    ordered = sorted(runs.items(), key=lambda kv: int(kv[0].split()[0][2:]))
    new = BEGIN + "\n" + header + "\n" + "\n\n".join(v for _, v in ordered) + "\n" + END
    md.write_text(pre + new + post, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=None, help="kill a run after this many seconds")
    ap.add_argument("--engines", default="local,spark", help="one engine: merged with the other's last run")
    ap.add_argument("--corpus", help="an existing corpus folder (corpus.jsonl) instead of generating one")
    ap.add_argument("--md", default=str(REPO_ROOT / "BENCHMARKS.md"))
    ap.add_argument("--no-md", action="store_true")
    args = ap.parse_args()
    corpus = Path(args.corpus) if args.corpus else ensure_corpus(args.n, args.seed, args.workers)
    runs_dir = corpus / "runs-spark"
    runs_dir.mkdir(exist_ok=True)
    exe = str(REPO_ROOT / ".venv" / "bin" / "copytrace")  # commands are shown relative to the repository
    runs = []
    for engine in args.engines.split(","):
        out = runs_dir / engine
        cmd = [
            exe,
            "scan",
            str(corpus / "corpus.jsonl"),
            "--out",
            str(out),
            "--quiet",
            "--workers",
            str(args.workers),
        ]
        cmd += ["--stats", str(out / "stats.json")]
        if engine == "spark":
            cmd += ["--engine", "spark", "--spark-master", f"local[{args.workers}]"]
        r = run(engine, cmd, out, args.timeout)
        print(json.dumps(asdict(r)), flush=True)
        runs.append(r)
    # one engine at a time (1M: each run takes long): the other engine's last run is kept
    results = runs_dir / "results.json"
    if len(runs) == 1 and results.is_file():
        earlier = [Run(**r) for r in json.loads(results.read_text()) if isinstance(r, dict) and "engine" in r]
        runs = sorted(
            [r for r in earlier if r.engine != runs[0].engine] + runs, key=lambda r: r.engine != "local"
        )
    identical = {}
    if all(r.returncode == 0 for r in runs) and len(runs) == 2:
        identical = {
            f: filecmp.cmp(runs_dir / "local" / f, runs_dir / "spark" / f, shallow=False) for f in OUTPUTS
        }
    print(json.dumps(identical))
    results.write_text(json.dumps([asdict(r) for r in runs] + [identical], indent=2))
    if not args.no_md and any(r.engine == "local" for r in runs):
        write_md(
            Path(args.md), render(args.n, args.seed, args.workers, corpus, runs, identical), args.n, args.seed
        )
    return 0 if all(r.returncode == 0 for r in runs) and all(identical.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
