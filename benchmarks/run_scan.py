#!/usr/bin/env python3
"""Corpus-scale benchmark: copytrace scan vs rensa vs datasketch on one synthetic corpus.

    .venv/bin/python benchmarks/run_scan.py --n 10000          # quick
    .venv/bin/python benchmarks/run_scan.py                    # --n 100000 --seed 1

1. Generates the corpus with the shared make_corpus.py into --work-dir/c{n}_s{seed} unless it
   is already there (meta.json is written last, so its presence marks a complete corpus).
2. Runs each tool as its own subprocess, one after another, and measures
   - wall seconds from start to exit,
   - peak RSS of the whole process tree: psutil polled every 0.1 s, RSS summed over the process
     and all its descendants (pages shared after fork are counted once per process),
   - the largest single-process max RSS in that tree from os.wait4 (kernel-exact cross-check),
   - resource.getrusage(RUSAGE_CHILDREN).ru_maxrss after the run (a running maximum over every
     child this script has waited for, corpus generation included),
   - user and system CPU seconds of the tree.
3. Scores every pairs file against truth.jsonl (score.py), writes the raw results to
   c{n}_s{seed}/scan_results.json and the tables to BENCHMARKS.md between
   <!-- scan:begin --> and <!-- scan:end -->, one sub-block per (n, seed), replacing only the
   sub-block of this run.

The copytrace command is a template (--copytrace-cmd) with {corpus}, {out} and {workers}; when
its program does not exist the tool is skipped with a note.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from benchlib import REPO_ROOT, WORK_DIR, read_jsonl, shared_bench_dir, write_json_atomic
from score import score

TOOLS = ("copytrace", "rensa", "datasketch")
PEER_TOOLS = ("rensa", "datasketch")
DEFAULT_COPYTRACE_CMD = (
    ".venv/bin/copytrace scan {corpus}/corpus.jsonl --out {out} --quiet --workers {workers} "
    "--stats {out}/stats.json"
)
POLL_S = 0.1
MIB = 1024 * 1024
BEGIN, END = "<!-- scan:begin -->", "<!-- scan:end -->"
RUN_RE = re.compile(r"<!-- scan-run n=(\d+) seed=(\d+) -->\n.*?<!-- /scan-run -->\n?", re.S)


@dataclass
class Measurement:
    returncode: int
    timed_out: bool
    wall_s: float
    peak_rss_tree_mib: float
    peak_pss_tree_mib: float | None  # only with --pss (reads smaps_rollup on every poll)
    samples: int
    wait4_maxrss_mib: float
    rusage_children_maxrss_mib: float
    cpu_user_s: float
    cpu_sys_s: float
    loadavg_before: list[float]


@dataclass
class ToolResult:
    tool: str
    command: str
    status: str  # "ok", "failed", "skipped"
    note: str = ""
    measurement: Measurement | None = None
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # variant label -> score dict
    stats: dict[str, Any] | None = None
    log: str = ""
    walls: list[float] = field(default_factory=list)  # wall s of every round (--repeat), in order


def median_run(results: list[ToolResult]) -> ToolResult:
    """Of one tool's runs (one a round), the run with the median wall time (the first failure, if
    any run failed), carrying every round's wall time."""
    failed = [r for r in results if r.status != "ok"]
    if failed:
        return failed[0]
    walls = [r.measurement.wall_s for r in results if r.measurement is not None]
    order = sorted(range(len(results)), key=lambda k: walls[k])
    chosen = results[order[(len(order) - 1) // 2]]
    chosen.walls = walls
    return chosen


# ---------------------------------------------------------------------------------------------
# Paths and corpus


def rel(path: Path | str) -> str:
    """Path relative to the repository root when inside it (short, copy-pasteable commands)."""
    p = Path(os.path.abspath(path))  # keep symlinks: .venv/bin/python must stay the venv's
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def ensure_corpus(corpus: Path, n: int, seed: int, workers: int, direct: bool = False) -> float | None:
    """Generate the corpus unless complete; returns generation seconds, or None when reused.
    With ``direct``, a folder holding corpus.jsonl and docs.jsonl is complete (no truth.jsonl:
    the direct pairs are scored, see score.py)."""
    if (corpus / "meta.json").is_file() and (corpus / "truth.jsonl").is_file():
        return None
    if direct and (corpus / "corpus.jsonl").is_file() and (corpus / "docs.jsonl").is_file():
        return None
    tmp = corpus.with_name(corpus.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    cmd = [
        sys.executable,
        str(shared_bench_dir() / "make_corpus.py"),
        "--n",
        str(n),
        "--seed",
        str(seed),
        "--out",
        str(tmp),
        "--workers",
        str(workers),
    ]
    print(f"generating corpus: {shlex.join(cmd)}", file=sys.stderr)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    elapsed = time.perf_counter() - t0
    if corpus.exists():
        shutil.rmtree(corpus)
    tmp.rename(corpus)
    return elapsed


# ---------------------------------------------------------------------------------------------
# Measuring one process tree


def tree_memory(proc: psutil.Process, pss: bool) -> tuple[int, int]:
    """(summed RSS, summed PSS or 0) over a process and all its descendants."""
    rss_total = pss_total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for p in members:
        try:
            if pss:
                full = p.memory_full_info()
                rss_total += full.rss
                pss_total += full.pss
            else:
                rss_total += p.memory_info().rss
        except psutil.Error:  # exited between listing and reading, or a zombie
            pass
    return rss_total, pss_total


def measure(cmd: list[str], log_path: Path, timeout: float | None, pss: bool = False) -> Measurement:
    loadavg = [round(x, 2) for x in os.getloadavg()]
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        ps = psutil.Process(proc.pid)
        peak = peak_pss = samples = 0
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                rss, pss_now = tree_memory(ps, pss)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss_now)
                samples += 1
                if timeout is not None and time.perf_counter() - t0 > timeout:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(POLL_S)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Measurement(
        returncode=proc.returncode,
        timed_out=timed_out,
        wall_s=wall,
        peak_rss_tree_mib=peak / MIB,
        peak_pss_tree_mib=peak_pss / MIB if pss else None,
        samples=samples,
        wait4_maxrss_mib=usage.ru_maxrss * 1024 / MIB,  # Linux reports kilobytes
        rusage_children_maxrss_mib=children.ru_maxrss * 1024 / MIB,
        cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime,
        loadavg_before=loadavg,
    )


# ---------------------------------------------------------------------------------------------
# Tools


def tool_command(tool: str, corpus: Path, out: Path, workers: int, copytrace_cmd: str) -> list[str]:
    if tool == "copytrace":
        return shlex.split(copytrace_cmd.format(corpus=rel(corpus), out=rel(out), workers=workers))
    return [
        rel(sys.executable),
        "benchmarks/peers.py",
        tool,
        rel(corpus),
        "--out",
        rel(out),
        "--processes",
        str(workers),
        "--quiet",
    ]


def pairs_variants(tool: str, out: Path) -> dict[str, Path]:
    if tool == "copytrace":
        return {"copytrace": out / "pairs.jsonl"}
    return {tool: out / "pairs.jsonl", f"{tool}, est J≥0.5": out / "pairs_est.jsonl"}


def program_exists(cmd: list[str]) -> bool:
    prog = cmd[0]
    if os.sep in prog:
        return (REPO_ROOT / prog).is_file() if not os.path.isabs(prog) else Path(prog).is_file()
    return shutil.which(prog) is not None


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def warm_up(corpus: Path, runs: Path, args: argparse.Namespace) -> None:
    """Run copytrace and the peers once each, untimed, on the corpus's first lines: numba
    compiles their functions (copytrace's kernels, peers.py's shingle hashing) into a cache on
    the first run after a checkout or an edit (copytrace 20-30 s), which would otherwise fall on
    the first timed round."""
    warm = runs / "_warm"
    shutil.rmtree(warm, ignore_errors=True)
    warm.mkdir(parents=True)
    with open(corpus / "corpus.jsonl", "rb") as src, open(warm / "corpus.jsonl", "wb") as dst:
        dst.writelines(itertools.islice(src, 2000))
    for tool in args.tools:
        out = warm / f"out_{tool}"
        if tool in PEER_TOOLS:
            out.mkdir()
        cmd = tool_command(tool, warm, out, args.workers, args.copytrace_cmd)
        if program_exists(cmd):
            print(f"{tool}: warm-up on 2,000 documents (not timed)", file=sys.stderr)
            subprocess.run(
                cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
    shutil.rmtree(warm, ignore_errors=True)


def run_tool(tool: str, corpus: Path, runs: Path, args: argparse.Namespace) -> ToolResult:
    out = runs / tool
    if out.exists():
        shutil.rmtree(out)
    if tool in PEER_TOOLS:
        out.mkdir(parents=True)
    cmd = tool_command(tool, corpus, out, args.workers, args.copytrace_cmd)
    result = ToolResult(tool=tool, command=shlex.join(cmd), status="ok")
    if not program_exists(cmd):
        result.status = "skipped"
        result.note = f"program {cmd[0]} not found"
        print(f"{tool}: skipped ({result.note})", file=sys.stderr)
        return result
    log = runs / f"{tool}.log"
    result.log = rel(log)
    print(f"{tool}: {result.command}", file=sys.stderr)
    m = measure(cmd, log, args.timeout, args.pss)
    result.measurement = m
    print(
        f"{tool}: exit {m.returncode}, {m.wall_s:.2f} s, peak tree RSS {m.peak_rss_tree_mib:.0f} MiB",
        file=sys.stderr,
    )
    if m.timed_out or m.returncode != 0:
        result.status = "failed"
        result.note = f"timed out after {args.timeout} s" if m.timed_out else f"exit status {m.returncode}"
        tail = log_tail(log)
        if tail:
            print(f"{tool} log tail ({rel(log)}):\n{tail}", file=sys.stderr)
        return result
    for label, path in pairs_variants(tool, out).items():
        if not path.is_file():
            result.status = "failed"
            result.note = f"no {rel(path)} written"
            return result
        result.scores[label] = score(path, corpus / "truth.jsonl")
    stats_path = out / "stats.json"
    if stats_path.is_file():
        try:
            result.stats = json.loads(stats_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            result.note = f"stats.json unreadable: {exc.msg}"
    return result


# ---------------------------------------------------------------------------------------------
# Machine and corpus description


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = psutil.virtual_memory().total
    versions: dict[str, str | None] = {}
    for pkg in ("copytrace", "rensa", "datasketch", "numpy", "psutil"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


def corpus_info(corpus: Path) -> dict[str, Any]:
    if not (corpus / "truth.jsonl").is_file():
        return direct_corpus_info(corpus)
    meta = json.loads((corpus / "meta.json").read_text(encoding="utf-8"))
    j50 = sum(1 for rec in read_jsonl(corpus / "truth.jsonl") if float(rec["jaccard"]) >= 0.5)
    return {
        "dir": rel(corpus),
        "n": meta["n"],
        "seed": meta["seed"],
        "bytes_total": meta["bytes_total"],
        "chars_mean": meta["chars_mean"],
        "truth_pairs": meta["truth_pairs"],
        "truth_pairs_j50": j50,
        "truth_pairs_by_kind": meta["truth_pairs_by_kind"],
        "lm_source_digest": meta["lm"]["source_digest"],
    }


def direct_corpus_info(corpus: Path) -> dict[str, Any]:
    """``corpus_info`` of a corpus without truth.jsonl (and without meta.json): documents and kinds
    from docs.jsonl, the size of corpus.jsonl; the truth is its direct pairs."""
    n, kinds = 0, Counter[str]()
    for rec in read_jsonl(corpus / "docs.jsonl"):
        n += 1
        if rec.get("source"):
            kinds[rec["kind"]] += 1
    name = corpus.name  # c{n}_s{seed}
    seed = int(name.rsplit("_s", 1)[1]) if "_s" in name else None
    return {
        "dir": rel(corpus),
        "n": n,
        "seed": seed,
        "bytes_total": (corpus / "corpus.jsonl").stat().st_size,
        "chars_mean": None,
        "truth_pairs": sum(kinds.values()),
        "truth_pairs_j50": None,
        "truth_pairs_by_kind": dict(sorted(kinds.items())),
        "lm_source_digest": None,
        "truth": "direct pairs (docs.jsonl)",
    }


# ---------------------------------------------------------------------------------------------
# Markdown


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def render_run(results: dict[str, Any]) -> str:
    c, mach = results["corpus"], results["machine"]
    kinds = c["truth_pairs_by_kind"]
    tools: list[dict[str, Any]] = results["tools"]
    rensa_wall = next(
        (t["measurement"]["wall_s"] for t in tools if t["tool"] == "rensa" and t["status"] == "ok"), None
    )
    lines = [
        f"<!-- scan-run n={c['n']} seed={c['seed']} -->",
        f"### n = {c['n']:,} documents, seed {c['seed']}",
        "",
        (
            f"Corpus: {c['bytes_total'] / 1e6:,.1f} MB of text, {c['chars_mean']:,.0f} characters a document; "
            f"{c['truth_pairs']:,} truth pairs, {c['truth_pairs_j50']:,} with Jaccard ≥ 0.5, "
            f"{kinds.get('partial', 0):,} partial, {kinds.get('partial_family', 0):,} partial_family.  "
            if c.get("truth") is None
            else f"Corpus: {c['bytes_total'] / 1e6:,.1f} MB of JSON lines; no truth.jsonl (make_corpus.py "
            f"is killed for memory computing it): recall is over the {c['truth_pairs']:,} direct pairs "
            f"of docs.jsonl ({kinds.get('partial', 0):,} partial), precision n/a.  "
        ),
        f"Machine: {mach['nproc']} CPUs ({mach['cpus_usable']} usable), {mach['cpu_model']}, "
        f"{mach['memory_gib']} GiB; Python {mach['python']}; rensa {mach['versions']['rensa']}, "
        f"datasketch {mach['versions']['datasketch']}; {results['date']}.  ",
        f"Command: `{results['command']}`",
        "",
    ]
    with_pss = any(t["measurement"] and t["measurement"]["peak_pss_tree_mib"] is not None for t in tools)
    header = ["tool", "wall s", "× rensa", "CPU s", "peak RSS MiB"] + (["peak PSS MiB"] if with_pss else [])
    header += ["recall J≥0.5", "recall partial", "recall partial_family", "recall all", "precision"]
    header += ["pairs reported"]
    lines += ["| " + " | ".join(header) + " |", "|---" + "|--:" * (len(header) - 1) + "|"]
    for t in tools:
        m = t["measurement"]
        if t["status"] != "ok":
            why = f"{t['status']}: {t['note']}" + (f" (log: `{t['log']}`)" if t["log"] else "")
            lines.append("| " + " | ".join([t["tool"], why] + [""] * (len(header) - 2)) + " |")
            continue
        ratio = _fmt(m["wall_s"] / rensa_wall, 2) if rensa_wall else "n/a"
        for label, s in t["scores"].items():
            cpu = m["cpu_user_s"] + m["cpu_sys_s"]
            cells = [label, f"{m['wall_s']:.2f}", ratio, f"{cpu:.2f}", f"{m['peak_rss_tree_mib']:,.0f}"]
            if with_pss:
                pss = m["peak_pss_tree_mib"]
                cells.append("n/a" if pss is None else f"{pss:,.0f}")
            cells += [_fmt(s["recall_j50"]), _fmt(s["recall_partial"]), _fmt(s["recall_partial_family"])]
            cells += [_fmt(s["recall_all"]), _fmt(s["precision"]), f"{s['reported']:,}"]
            lines.append("| " + " | ".join(cells) + " |")
    rounds = [t for t in tools if len(t.get("walls") or []) > 1]
    if rounds:
        lines += [
            "",
            f"Rounds ({len(rounds[0]['walls'])}, the tools in turn; the table shows each tool's median run), wall s:",
            "",
        ]
        for t in rounds:
            lines.append(f"- {t['tool']}: " + ", ".join(f"{w:.2f}" for w in t["walls"]))
        rensa_walls = next((t["walls"] for t in rounds if t["tool"] == "rensa"), None)
        if rensa_walls:
            for t in rounds:
                if t["tool"] != "rensa" and len(t["walls"]) == len(rensa_walls):
                    each = ", ".join(f"{w / r:.2f}" for w, r in zip(t["walls"], rensa_walls, strict=True))
                    lines.append(f"- {t['tool']} × rensa, round by round: {each}")
    lines += ["", "Commands and per-stage seconds:", ""]
    for t in tools:
        lines.append(f"- {t['tool']}: `{t['command']}`")
        stages = (t.get("stats") or {}).get("stages")
        if t["tool"] != "copytrace" and t["status"] == "ok" and isinstance(stages, dict) and stages:
            parts = ", ".join(f"{k} {float(v):.2f}" for k, v in stages.items() if isinstance(v, int | float))
            lines.append(f"  stages (s): {parts}")
    copytrace = next((t for t in tools if t["tool"] == "copytrace" and t["status"] == "ok"), None)
    stages = ((copytrace or {}).get("stats") or {}).get("stages")
    if isinstance(stages, dict) and stages:
        lines += ["", "copytrace stages:", "", "| stage | seconds |", "|---|--:|"]
        lines += [f"| {k} | {float(v):.2f} |" for k, v in stages.items() if isinstance(v, int | float)]
    lines += ["<!-- /scan-run -->", ""]
    return "\n".join(lines)


SECTION_HEADER = """## Corpus scale: copytrace scan vs rensa and datasketch

Made by `benchmarks/run_scan.py` (see `benchmarks/README.md`) on the synthetic corpus of the
shared `make_corpus.py`. Each tool runs as its own process tree, one after another, on the same
machine. *wall s*: start to exit, reading the corpus and writing the pairs included. *CPU s*:
user + system seconds of the whole tree (steadier than wall time when the machine is busy). *peak RSS*:
the process tree's summed RSS, polled every 0.1 s (`scan_results.json` also has the kernel's
per-process maximum). The peers use word 5-grams, 128 permutations, LSH threshold 0.5 and 2
hashing processes; their first row is every LSH candidate pair (what those tools report), the
*est J≥0.5* row keeps the candidates whose MinHash-estimated Jaccard is ≥ 0.5 (same run).
Recall is over the ground-truth pairs: exact word-5-gram Jaccard ≥ 0.5, kind `partial` (a host
article against the article it took 1-3 paragraphs from), `partial_family` (the host against
other copies of that article) and all. Precision counts a reported pair as right when it is a
truth pair of any kind. The machine is shared and noisy: compare ratios, not single seconds.
"""


def update_markdown(md_path: Path, run_block: str, n: int, seed: int) -> None:
    text = md_path.read_text(encoding="utf-8") if md_path.is_file() else "# Benchmarks\n"
    runs: dict[tuple[int, int], str] = {}
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        body, tail = rest.split(END, 1)
        for match in RUN_RE.finditer(body):
            runs[(int(match.group(1)), int(match.group(2)))] = match.group(0).rstrip("\n") + "\n"
    else:
        head, tail = text.rstrip("\n") + "\n\n", "\n"
    runs[(n, seed)] = run_block.rstrip("\n") + "\n"
    body = SECTION_HEADER + "\n" + "\n".join(runs[k] for k in sorted(runs))
    tmp = md_path.with_name(md_path.name + ".tmp")
    tmp.write_text(f"{head}{BEGIN}\n{body}{END}{tail}", encoding="utf-8")
    os.replace(tmp, md_path)


# ---------------------------------------------------------------------------------------------


def parse_tools(value: str) -> list[str]:
    tools = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown tool(s) {', '.join(unknown)}; valid: {', '.join(TOOLS)}")
    return tools


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="documents in the corpus (default 100000)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    ap.add_argument(
        "--work-dir", type=Path, default=WORK_DIR, help=f"cache for corpora and outputs ({rel(WORK_DIR)})"
    )
    ap.add_argument("--tools", type=parse_tools, default=list(TOOLS), help="comma list (default: all three)")
    ap.add_argument("--workers", type=int, default=2, help="processes per tool (default 2)")
    ap.add_argument(
        "--copytrace-cmd",
        default=DEFAULT_COPYTRACE_CMD,
        help="copytrace command template with {corpus}, {out}, {workers} (default: %(default)s)",
    )
    ap.add_argument("--timeout", type=float, default=None, help="seconds before a tool is killed")
    ap.add_argument(
        "--pss",
        action="store_true",
        help="also record the tree's peak PSS (shared pages split between processes)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of runs, the tools in turn each round; each tool is reported by its median run",
    )
    ap.add_argument(
        "--direct-truth",
        action="store_true",
        help="use a corpus folder with corpus.jsonl and docs.jsonl but no truth.jsonl (1M on a 24 GB "
        "machine) and score the direct pairs docs.jsonl lists",
    )
    ap.add_argument("--md", type=Path, default=REPO_ROOT / "BENCHMARKS.md", help="markdown file to update")
    ap.add_argument("--no-md", action="store_true", help="do not touch the markdown file")
    args = ap.parse_args(argv)

    argv_shown = sys.argv[1:] if argv is None else argv
    command = shlex.join([rel(sys.executable), "benchmarks/run_scan.py", *argv_shown])
    corpus = args.work_dir.resolve() / f"c{args.n}_s{args.seed}"
    gen_s = ensure_corpus(corpus, args.n, args.seed, args.workers, args.direct_truth)
    runs = corpus / "runs"
    runs.mkdir(exist_ok=True)

    # rounds of every tool in turn: a tool's runs meet the same changes of the host's load as the
    # others', and each tool is reported by its median run
    warm_up(corpus, runs, args)
    rounds = [[run_tool(tool, corpus, runs, args) for tool in args.tools] for _ in range(args.repeat)]
    tool_results = [median_run([r[k] for r in rounds]) for k in range(len(args.tools))]
    results = {
        "command": command,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "corpus": corpus_info(corpus),
        "corpus_generation_s": gen_s,
        "tools": [asdict(t) for t in tool_results],
    }
    write_json_atomic(corpus / "scan_results.json", results)
    print(f"results: {rel(corpus / 'scan_results.json')}", file=sys.stderr)
    if not args.no_md and any(t.status == "ok" for t in tool_results):
        update_markdown(args.md, render_run(results), args.n, args.seed)
        print(f"updated {rel(args.md)}", file=sys.stderr)
    for t in tool_results:
        for label, s in t.scores.items():
            print(
                f"{label:24s} wall {t.measurement.wall_s if t.measurement else float('nan'):8.2f} s  "
                f"recall J≥0.5 {_fmt(s['recall_j50'])}  partial {_fmt(s['recall_partial'])}  "
                f"precision {_fmt(s['precision'])}  pairs {s['reported']}",
                file=sys.stderr,
            )
    return 0 if all(t.status != "failed" for t in tool_results) else 1


if __name__ == "__main__":
    sys.exit(main())
