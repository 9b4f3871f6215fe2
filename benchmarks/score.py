#!/usr/bin/env python3
"""Score a pairs JSONL against the ground truth of a corpus made by make_corpus.py.

    .venv/bin/python benchmarks/score.py OUT/pairs.jsonl benchmarks/.work/c10000_s1

PAIRS is any JSONL with "a" and "b" (copytrace's pairs.jsonl, a peer's pairs.jsonl). Pairs are
unordered and counted once. Lines whose "relation" is "unrelated" are not counted as reported
(copytrace may write a pair only to say it is unrelated); --keep-unrelated counts them.
TRUTH is truth.jsonl or the corpus directory holding it. A corpus directory without truth.jsonl
(make_corpus.py is killed for memory while computing it at 1M documents on a 24 GB machine, after
writing corpus.jsonl and docs.jsonl) is scored on the direct pairs docs.jsonl lists (each copy
and the document it was made from, by kind): no Jaccard is known then, and precision is null
(a pair of two copies of one source is right but not listed).

Prints a JSON object:
    reported               distinct pairs reported
    precision              reported pairs present in truth (any kind) / reported
    recall_all             truth pairs found / truth pairs
    recall_j50             same, over truth pairs with exact word-5-gram Jaccard >= 0.5
    recall_partial         same, over truth pairs of kind "partial" (host vs its actual source)
    recall_partial_family  same, over kind "partial_family" (host vs other copies of the source)
    by_kind                {kind: {"truth", "found", "recall"}}
A recall or precision over an empty set is null.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchlib import read_jsonl

Pair = tuple[str, str]


def pair_key(a: Any, b: Any) -> Pair:
    sa, sb = str(a), str(b)
    return (sa, sb) if sa <= sb else (sb, sa)


def load_reported(path: str | Path, keep_unrelated: bool = False) -> tuple[set[Pair], int]:
    """Distinct unordered pairs in a pairs JSONL, and how many lines were skipped as unrelated."""
    pairs: set[Pair] = set()
    skipped = 0
    for rec in read_jsonl(path):
        if not keep_unrelated and rec.get("relation") == "unrelated":
            skipped += 1
            continue
        if rec["a"] == rec["b"]:
            continue
        pairs.add(pair_key(rec["a"], rec["b"]))
    return pairs, skipped


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _recall(truth: Iterable[Pair], reported: set[Pair]) -> tuple[int, int, float | None]:
    keys = set(truth)
    found = len(keys & reported)
    return len(keys), found, _ratio(found, len(keys))


def score_pairs(reported: set[Pair], truth: list[dict[str, Any]], j_min: float = 0.5) -> dict[str, Any]:
    kind_of: dict[Pair, str] = {}
    jaccard_of: dict[Pair, float] = {}
    for rec in truth:
        key = pair_key(rec["a"], rec["b"])
        kind_of[key] = rec["kind"]
        if rec.get("jaccard") is not None:
            jaccard_of[key] = float(rec["jaccard"])

    by_kind: dict[str, dict[str, Any]] = {}
    truth_counts = Counter(kind_of.values())
    found_counts = Counter(kind_of[k] for k in reported if k in kind_of)
    for kind in sorted(truth_counts):
        n, f = truth_counts[kind], found_counts[kind]
        by_kind[kind] = {"truth": n, "found": f, "recall": _ratio(f, n)}

    true_pos = sum(1 for k in reported if k in kind_of)
    n_all, f_all, r_all = _recall(kind_of, reported)
    n_j, f_j, r_j = _recall((k for k, j in jaccard_of.items() if j >= j_min), reported)
    partial = by_kind.get("partial", {"truth": 0, "found": 0, "recall": None})
    family = by_kind.get("partial_family", {"truth": 0, "found": 0, "recall": None})
    return {
        "reported": len(reported),
        "true_positives": true_pos,
        "precision": _ratio(true_pos, len(reported)),
        "truth_pairs": n_all,
        "recall_all": r_all,
        "truth_j50": n_j,
        "found_j50": f_j,
        "recall_j50": r_j,
        "recall_partial": partial["recall"],
        "recall_partial_family": family["recall"],
        "j_min": j_min,
        "by_kind": by_kind,
    }


def truth_path(path: str | Path) -> Path:
    p = Path(path)
    return p / "truth.jsonl" if p.is_dir() else p


def direct_truth(corpus: str | Path) -> list[dict[str, Any]]:
    """The direct pairs of a corpus as truth records: each document made from another (docs.jsonl's
    ``source``) with that one, by kind, without a Jaccard."""
    return [
        {"a": rec["id"], "b": rec["source"], "kind": rec["kind"], "jaccard": None}
        for rec in read_jsonl(Path(corpus) / "docs.jsonl")
        if rec.get("source")
    ]


def has_truth(truth: str | Path) -> bool:
    """Whether ``truth`` (a file or a corpus directory) holds truth.jsonl."""
    return truth_path(truth).is_file()


def score(pairs: str | Path, truth: str | Path, keep_unrelated: bool = False) -> dict[str, Any]:
    reported, skipped = load_reported(pairs, keep_unrelated)
    if has_truth(truth):
        result = score_pairs(reported, list(read_jsonl(truth_path(truth))))
    else:  # direct pairs only (see the module's docstring): of the folder, or of the missing file's
        folder = Path(truth) if Path(truth).is_dir() else Path(truth).parent
        result = score_pairs(reported, direct_truth(folder))
        result["precision"] = None
        result["truth"] = "direct pairs (docs.jsonl)"
    result["skipped_unrelated"] = skipped
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", type=Path, help="pairs JSONL with a, b")
    ap.add_argument("truth", type=Path, help="truth.jsonl or the corpus directory")
    ap.add_argument("--keep-unrelated", action="store_true", help='count pairs with relation "unrelated"')
    args = ap.parse_args(argv)
    truth = truth_path(args.truth) if has_truth(args.truth) else Path(args.truth) / "docs.jsonl"
    for p in (args.pairs, truth):
        if not p.is_file():
            raise SystemExit(f"file not found: {p}")
    json.dump(score(args.pairs, args.truth, args.keep_unrelated), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
