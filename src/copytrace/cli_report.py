"""``copytrace report DIR``: rebuild ``report.html`` from a scan's output folder.

Texts come from ``texts.parquet`` (documents read from tables) and from the original files named
by ``path`` in ``documents.jsonl``; a file that changed since the scan is an error naming it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError


def cmd_report(args: argparse.Namespace) -> int:
    from .cli import warn
    from .report import texts_from_output, write_report

    if args.max_pairs < 1:
        raise ConfigError("--max-pairs", "an integer >= 1", args.max_pairs)
    out = Path(args.dir)
    if not (out / "pairs.jsonl").is_file():
        raise InputError(args.dir, "no pairs.jsonl here; give the --out folder of a scan")
    dest = Path(args.output) if args.output else out / "report.html"
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        write_report(out, texts_from_output(out, warn), tmp, max_pairs=args.max_pairs, title=args.title)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    if not args.quiet:
        print(f"wrote {dest}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="rebuild the single-file HTML report of a scan",
        description="Rebuild report.html (one self-contained file: an overview of every pair drawn as inline SVG "
        "whose bars filter the tables, families, reprint clusters, pairs, side-by-side view with "
        "edits and the sentences each text made from the other) from the output folder of `copytrace scan`.",
        epilog="examples:\n  copytrace report out/\n  copytrace report out/ --max-pairs 5000 --output big.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dir", help="output folder of a scan (pairs.jsonl, documents.jsonl, clusters.jsonl, passages.jsonl)"
    )
    p.add_argument("--output", default=None, help="where to write the report (default DIR/report.html)")
    p.add_argument(
        "--max-pairs", type=int, default=1000, help="pairs shown, those sharing the most words (1000)"
    )
    p.add_argument("--title", default="copytrace report", help="page title")
    p.set_defaults(func=cmd_report)
