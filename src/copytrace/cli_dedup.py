"""``copytrace dedup``: keep one copy of each duplicate group and say why the others went."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cli import add_settings, settings_from, warn, write_stats
from .dedup import KEEP_POLICIES, MODES


def cmd_dedup(args: argparse.Namespace) -> int:
    from .dedup import dedup

    prefer = [x.strip() for x in (args.prefer or "").split(",") if x.strip()]
    stats = dedup(
        args.inputs,
        args.out,
        settings_from(args),
        threshold=args.threshold,
        keep=args.keep,
        mode=args.mode,
        passage_words=args.passage_words,
        prefer=prefer,
        against=args.against,
        prefilter=args.prefilter,
        measure=args.measure,
        quiet=args.quiet,
        warn=warn,
    )
    write_stats(args.stats, stats)
    if not args.quiet:
        why = ", ".join(f"{k} {v}" for k, v in stats["removed_by"].items()) or "nothing"
        print(
            f"{stats['documents']} documents: kept {stats['kept']}, removed {stats['removed']}, "
            f"trimmed {stats['trimmed']} ({why}) in {stats['seconds']:.1f}s -> {args.out}/{stats['kept_file']}",
            file=sys.stderr,
        )
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "dedup",
        help="remove duplicates from a corpus: keep one copy, list the others with the reason",
        description="Deduplicate files, folders or JSONL/CSV/Parquet tables. Writes kept.jsonl (kept.parquet "
        "when every input is Parquet; every input field preserved), removed.jsonl (each removed id, the kept "
        "id it duplicates, relation, containment, cluster and reason) and stats.json to --out.",
        epilog="examples:\n  copytrace dedup corpus.jsonl --out clean/\n"
        "  copytrace dedup corpus.parquet --out clean/ --keep earliest --mode contained\n"
        "  copytrace dedup crawl/ --out clean/ --mode passage --passage-words 50\n"
        "  copytrace dedup new.jsonl --out clean/ --against news.duckdb",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", help="files, folders or tables")
    p.add_argument("--out", required=True, help="output folder")
    d = p.add_argument_group("dedup")
    d.add_argument(
        "--threshold", type=float, default=0.8, help="containment a copy needs to count as a duplicate (0.8)"
    )
    d.add_argument(
        "--measure",
        choices=("coverage", "ngrams"),
        default="coverage",
        help="coverage: share of words inside aligned passages, edits bridged (default); ngrams: exact "
        "word n-gram Jaccard / containment, what MinHash dedup tools estimate",
    )
    d.add_argument(
        "--keep",
        choices=KEEP_POLICIES,
        default="first",
        help="which copy stays: first (input order), earliest (date), longest, source (--prefer, "
        "then wire datelines, then date)",
    )
    d.add_argument(
        "--mode",
        choices=MODES,
        default="near",
        help="near: duplicates and near-duplicates; contained: also documents wholly inside another; "
        "passage: cut repeated passages of --passage-words or more",
    )
    d.add_argument("--passage-words", type=int, default=50, help="shortest passage cut in passage mode (50)")
    d.add_argument(
        "--prefer", default=None, help="--keep source: source names in order of preference, comma-separated"
    )
    d.add_argument(
        "--against", default=None, metavar="INDEX", help="also remove what an index (`index add`) holds"
    )
    d.add_argument(
        "--prefilter",
        type=float,
        default=0.25,
        help="skip aligning pairs sharing fewer than this share of the needed side's fingerprints (0 = align all)",
    )
    d.add_argument("--stats", default=None, help="also write the run statistics to this JSON file")
    add_settings(p)
    p.set_defaults(func=cmd_dedup)
