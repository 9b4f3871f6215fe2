"""Reprint clusters (issue 25): planted passages, scored from passages.jsonl.

    python benchmarks/bench_passages.py --hosts synthetic [--n 5000] [--seed 1]
    python benchmarks/bench_passages.py --hosts reuters [--data ../shared/data/reuters-21578]
    python benchmarks/bench_passages.py --report-load OUT/report.html   # size, load and click time
    python benchmarks/bench_passages.py --cost OUT                      # CPU of passages.jsonl's steps

Host documents: the shared synthetic corpus (``../shared/bench/make_corpus.py``, with its own
reuse: copies, families, partial reuse) or the Reuters-21578 stories (research use only: read from
../shared/data, never copied into the repo). Passages to plant: paragraphs of 40-120 words from
Reuters stories held out of the hosts, kept only when no host shares an 8-word run with them (so a
planted passage's only occurrences are the planted ones). Each passage is reprinted in 2-200 hosts
(log-uniform), one passage a host, put between two of its paragraphs, each copy edited: about one
word in 12 replaced, dropped or doubled, digits changed, a letter changed (spelling), the first or
last sentence cut in a third of the copies, and a hard line wrap at 70 characters in a third.
A boilerplate sentence (``BOILERPLATE``, 26 words: longer than ``--min-words``, so that hosts of
two different passages sharing only it make pairs) follows the passage in a fifth of the copies,
in at most 150 hosts in all (below ``--max-df``, so its fingerprints are not dropped as boilerplate).

Scores (members are the spans of passages.jsonl; a member *carries* planted passage k when it
overlaps a planted occurrence of k in its document by at least half of the occurrence or of itself):

- purity: of the members carrying a planted passage in each cluster, the share carrying the
  cluster's most carried one, pooled over clusters (target >= 0.98);
- completeness: for each planted passage, the share of its hosts that are members, carrying it, of
  one cluster (the one holding most), averaged over passages (target >= 0.95);
- merged: clusters with members carrying two different planted passages (target 0), and whether
  the boilerplate made a cluster of its own (the pairs it links across passages are counted).

Writes ``benchmarks/.work/passages/<hosts>/`` (corpus, truth, scan output) and prints one JSON
object with the figures (``--json FILE`` writes it too).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reuters import stories  # noqa: E402

from copytrace import Settings  # noqa: E402
from copytrace.scan import scan  # noqa: E402

SHARED = ROOT.parent / "shared"
BOILERPLATE = (
    "This article was provided by the Regional News Service and may not be reproduced, "
    "redistributed, rewritten or broadcast without the written permission of the publisher."
)
_WORD = re.compile(r"\S+")


def passages_from(held_out: list[dict[str, str]], rng: random.Random, want: int) -> list[str]:
    """Paragraphs of 40-120 words from held-out stories (one a story), as one line each."""
    out = []
    for rec in held_out:
        paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n {2,}", rec["text"])]
        paras = [p for p in paras if 40 <= len(p.split()) <= 120 and not re.search(r"\d+\.\d+ vs", p)]
        if paras:
            out.append(rng.choice(paras))
        if len(out) >= want:
            break
    return out


def shingles(text: str, k: int = 8) -> set[int]:
    words = [w.lower().strip(".,;:\"'()") for w in text.split()]
    return {hash(tuple(words[i : i + k])) for i in range(max(0, len(words) - k + 1))}


def edit_copy(text: str, rng: random.Random) -> str:
    """One reprint of a passage, edited as copy desks do."""
    sentences = re.split(r"(?<=[.!?])\s+", text)
    if len(sentences) > 2 and rng.random() < 1 / 3:
        sentences = sentences[1:] if rng.random() < 0.5 else sentences[:-1]
    words = " ".join(sentences).split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < 0.02:
            continue  # dropped
        if r < 0.04:
            out += [w, w]  # doubled
            continue
        if r < 0.065 and any(c.isdigit() for c in w):
            w = "".join(str(rng.randrange(10)) if c.isdigit() else c for c in w)
        elif r < 0.085 and len(w) > 4 and w.isalpha():
            k = rng.randrange(1, len(w) - 1)
            w = w[:k] + rng.choice("aeiou") + w[k + 1 :]  # spelling
        out.append(w)
    copy = " ".join(out)
    if rng.random() < 1 / 3:  # hard line wraps
        lines, line = [], ""
        for w in copy.split(" "):
            if line and len(line) + 1 + len(w) > 70:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}" if line else w
        copy = "\n".join([*lines, line])
    return copy


def plant(hosts: list[dict], passages: list[str], rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Hosts with the passages put in; truth rows (doc, start, end, passage, boilerplate span)."""
    order = list(range(len(hosts)))
    rng.shuffle(order)
    free = iter(order)
    truth = []
    boiler_left = 150
    docs = [dict(h) for h in hosts]
    for k, passage in enumerate(passages):
        count = int(round(math.exp(rng.uniform(math.log(2), math.log(200)))))
        for _ in range(count):
            d = next(free, None)
            if d is None:
                break
            text = docs[d]["text"]
            copy = edit_copy(passage, rng)
            tail = ""
            if boiler_left > 0 and rng.random() < 0.2:
                tail = " " + BOILERPLATE
                boiler_left -= 1
            cuts = [m.end() for m in re.finditer(r"\n\s*\n", text)] or [len(text)]
            at = rng.choice(cuts)
            before = text[:at] if at == len(text) else text[:at]
            lead = "" if before.endswith("\n") or not before else "\n\n"
            start = len(before) + len(lead)
            new = before + lead + copy + tail + "\n\n" + text[at:]
            docs[d]["text"] = new
            row = {"id": docs[d]["id"], "start": start, "end": start + len(copy), "passage": k}
            if tail:
                row["boilerplate"] = [start + len(copy) + 1, start + len(copy) + len(tail)]
            # offsets of earlier plants in this document move: one passage a host, so none
            truth.append(row)
    return docs, truth


def synthetic_hosts(n: int, seed: int, work: Path) -> list[dict]:
    out = work / "synthetic_base"
    if not (out / "corpus.jsonl").exists():
        subprocess.run(
            [sys.executable, str(SHARED / "bench" / "make_corpus.py"), "--n", str(n), "--seed", str(seed)]
            + ["--out", str(out), "--workers", "2"],
            check=True,
            capture_output=True,
        )
    with open(out / "corpus.jsonl", encoding="utf-8") as fh:
        return [json.loads(x) for x in fh]


def score(out: Path, truth: list[dict], n_passages: int) -> dict:
    occ: dict[str, list[dict]] = defaultdict(list)
    for t in truth:
        occ[t["id"]].append(t)
    hosts_of: dict[int, set[str]] = defaultdict(set)
    for t in truth:
        hosts_of[t["passage"]].add(t["id"])
    carried_total = majority_total = 0
    merged = []
    best: dict[int, int] = defaultdict(int)
    boiler_clusters = []
    n_clusters = 0
    with open(out / "passages.jsonl", encoding="utf-8") as fh:
        for line in fh:
            c = json.loads(line)
            n_clusters += 1
            carrying: dict[int, set[str]] = defaultdict(set)
            carried_members = 0
            boiler_members = 0
            for m in c["members"]:
                hit = None
                for t in occ.get(m["id"], ()):
                    overlap = min(m["end"], t["end"]) - max(m["start"], t["start"])
                    if overlap > 0 and overlap >= 0.5 * min(t["end"] - t["start"], m["end"] - m["start"]):
                        hit = t["passage"]
                    b = t.get("boilerplate")
                    if (
                        b
                        and hit is None
                        and min(m["end"], b[1]) - max(m["start"], b[0]) >= 0.5 * (b[1] - b[0])
                    ):
                        boiler_members += 1
                if hit is not None:
                    carrying[hit].add(m["id"])
                    carried_members += 1
            if boiler_members >= 2 and not carrying:
                boiler_clusters.append(c["size"]["documents"])
            if not carrying:
                continue
            counts = Counter({k: len(v) for k, v in carrying.items()})
            top = counts.most_common(1)[0][1]
            carried_total += sum(counts.values())
            majority_total += top
            if len(counts) > 1:
                merged.append({"cluster": c["cluster"], "passages": dict(counts)})
            for k, docs in carrying.items():
                best[k] = max(best[k], len(docs))
    completeness = [best[k] / len(hosts_of[k]) for k in hosts_of]
    return {
        "planted_passages": len(hosts_of),
        "planted_copies": len(truth),
        "copies_per_passage": [
            min(len(v) for v in hosts_of.values()),
            max(len(v) for v in hosts_of.values()),
        ],
        "boilerplate_copies": sum(1 for t in truth if "boilerplate" in t),
        "clusters": n_clusters,
        "purity": round(majority_total / max(carried_total, 1), 4),
        "completeness": round(sum(completeness) / max(len(completeness), 1), 4),
        "completeness_pooled": round(sum(best.values()) / max(len(truth), 1), 4),
        "passages_complete": sum(1 for x in completeness if x >= 0.999),
        "merged_clusters": merged,
        "boilerplate_clusters": sorted(boiler_clusters, reverse=True)[:5],
    }


def report_load(path: Path, rounds: int = 3) -> dict:
    """Size of a report.html and the time headless Chromium takes to show it: from navigation to
    the overview drawn and the tables filled (median of ``rounds``), and to a chart click
    filtering the pairs."""
    from playwright.sync_api import sync_playwright

    times, clicks = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for _ in range(rounds):
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                t0 = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_selector("#pairs tbody tr")
                times.append(time.perf_counter() - t0)
                if page.locator("#overview svg").count():  # (a report from before the overview has none)
                    t0 = time.perf_counter()
                    page.locator("#overview .ov-relations .ov-hit").first.click()
                    page.wait_for_selector("#ov-note button")
                    clicks.append(time.perf_counter() - t0)
                page.close()
        finally:
            browser.close()
    return {
        "report_mb": round(path.stat().st_size / 1e6, 2),
        "load_s": round(sorted(times)[len(times) // 2], 2),
        "filter_click_s": round(sorted(clicks)[len(clicks) // 2], 2) if clicks else None,
    }


def cost(out: Path, rounds: int = 2) -> dict:
    """CPU seconds of each step of ``passages.write_passages`` on a scan's output folder (texts
    for the snippets from its texts.parquet instead of the run's store, which the scan removed):
    the best of ``rounds``, after a first call that loads the compiled kernels."""
    import pyarrow.parquet as pq

    from copytrace.passages import cluster_records, pair_facts, passage_clusters, read_pair_table

    ids, dates, sources = [], [], []
    with open(out / "documents.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            ids.append(d["id"])
            dates.append(d.get("date"))
            sources.append(d.get("source"))
    table = pq.read_table(out / "texts.parquet")
    texts = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))
    index = {x: k for k, x in enumerate(ids)}
    best: dict = {}
    for _ in range(rounds):
        c0 = time.process_time()
        t = read_pair_table(out / "pairs.jsonl", index)
        c1 = time.process_time()
        cl = passage_clusters(t.a[t.line], t.b[t.line], t.a_start, t.a_end, t.b_start, t.b_end)
        c2 = time.process_time()
        for _line in cluster_records(
            cl, ids, dates, sources, [False] * len(ids), lambda want: {k: texts.get(ids[k], "") for k in want}
        ):
            pass
        c3 = time.process_time()
        pair_facts(t, dates, sources, [])
        c4 = time.process_time()
        got = {
            "read_s": c1 - c0,
            "cluster_s": c2 - c1,
            "records_s": c3 - c2,
            "overview_s": c4 - c3,
            "total_s": c4 - c0,
        }
        if not best or got["total_s"] < best["total_s"]:
            best = got
    return {
        "pairs": int(t.a.shape[0]),
        "passages": int(t.line.shape[0]),
        "clusters": len(cl),
        **{k: round(v, 2) for k, v in best.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report-load", default=None, help="only measure this report.html's size and load time")
    ap.add_argument(
        "--cost", default=None, help="only measure the CPU seconds of passages.jsonl on this scan output"
    )
    ap.add_argument("--hosts", choices=("synthetic", "reuters"))
    ap.add_argument("--n", type=int, default=5000, help="synthetic hosts (5000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--passages", type=int, default=40, help="passages planted (40)")
    ap.add_argument("--data", default=str(SHARED / "data" / "reuters-21578"))
    ap.add_argument("--work", default=str(ROOT / "benchmarks" / ".work" / "passages"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    ap.add_argument(
        "--skip-trees",
        action="store_true",
        help="skip the families' trees (genealogy.with_trees; passages.jsonl does not read them): at "
        "dfcf862 they fail on the Reuters hosts (KeyError in genealogy._search)",
    )
    args = ap.parse_args(argv)
    if args.cost:
        print(json.dumps(cost(Path(args.cost)), indent=2))
        return 0
    if args.report_load:
        print(json.dumps(report_load(Path(args.report_load)), indent=2))
        return 0
    if args.hosts is None:
        ap.error("--hosts is required")
    rng = random.Random(args.seed)
    work = Path(args.work) / args.hosts
    work.mkdir(parents=True, exist_ok=True)
    reuters = stories(Path(args.data))
    rng.shuffle(reuters)
    held_out, rest = reuters[:2000], reuters[2000:]
    if args.hosts == "synthetic":
        hosts = synthetic_hosts(args.n, args.seed, Path(args.work))
    else:
        hosts = rest
    seen: set[int] = set()
    for h in hosts:
        seen |= shingles(h["text"])
    candidates = [p for p in passages_from(held_out, rng, 4 * args.passages) if not (shingles(p) & seen)]
    # distinct passages: none sharing an 8-word run with another
    chosen: list[str] = []
    taken: set[int] = set()
    for p in candidates:
        sh = shingles(p)
        if not (sh & taken):
            chosen.append(p)
            taken |= sh
        if len(chosen) == args.passages:
            break
    docs, truth = plant(hosts, chosen, rng)
    corpus = work / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    (work / "truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth), encoding="utf-8")
    out = work / "out"
    if args.skip_trees:
        # (the package's ``scan`` attribute is the function: the module is in sys.modules)
        sys.modules["copytrace.scan"].with_trees = lambda fams, *_a, **_k: fams
    t0 = time.perf_counter()
    stats = scan([str(corpus)], str(out), Settings(workers=args.workers))
    seconds = time.perf_counter() - t0
    result = {
        "hosts": args.hosts,
        "documents": len(docs),
        "pairs": stats["pairs"],
        "scan_s": round(seconds, 2),
    }
    result["stages"] = stats["stages"]
    result.update(score(out, truth, len(chosen)))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
