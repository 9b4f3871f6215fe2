"""Command line: ``copytrace compare|scan|...``.

Every ``CopytraceError`` becomes one line on stderr and exit status 2; ``--debug`` shows the
traceback. Subcommands register through ``COMMANDS``: each entry adds its parser and names the
function that runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from . import __version__
from .errors import CopytraceError, InputError
from .types import Settings


def warn(message: str) -> None:
    print(f"copytrace: warning: {message}", file=sys.stderr)


def write_stats(path: str | None, stats: dict[str, Any]) -> None:
    """``--stats FILE``: the run's statistics as JSON."""
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(stats, fh, indent=2)


def add_settings(p: argparse.ArgumentParser) -> None:
    """Options that map to ``Settings``."""
    g = p.add_argument_group("matching")
    g.add_argument(
        "--min-words", type=int, default=15, help="shortest shared passage reported, in words (15)"
    )
    g.add_argument(
        "--min-fragment",
        type=int,
        default=4,
        help="shortest verbatim fragment reported inside aligned sentences, in words (4)",
    )
    g.add_argument("--ngram", type=int, default=5, help="words per fingerprint n-gram (5)")
    g.add_argument("--min-shared", type=int, default=2, help="fingerprints a candidate pair must share (2)")
    g.add_argument(
        "--max-df", type=int, default=200, help="a fingerprint in more documents is boilerplate (200)"
    )
    g.add_argument(
        "--min-evidence",
        type=int,
        default=3,
        help="rare pairs of neighbouring content words a pair without shared fingerprints must share "
        "to be compared, so rewritten copies are found (3; 0 turns this off)",
    )
    g.add_argument(
        "--max-gap", type=int, default=20, help="largest edit bridged inside a passage, in words (20)"
    )
    g.add_argument(
        "--near-duplicate", type=float, default=0.8, help="containment of both sides for near_duplicate"
    )
    g.add_argument(
        "--contains", type=float, default=0.8, help="containment of one side for a_contains_b / b_contains_a"
    )
    g.add_argument("--date-window", type=int, default=None, help="only pair documents at most N days apart")
    g.add_argument(
        "--exclude-same-source", action="store_true", help="never pair two documents of one source"
    )
    g.add_argument(
        "--agency",
        action="append",
        default=[],
        metavar="NAME",
        help="a wire agency direction reads besides the built-in ones, as its credits spell it, "
        "case included (repeatable): --agency 'Agencia Nova' --agency ANN",
    )
    g.add_argument(
        "--version-key",
        default="url",
        metavar="FIELD",
        help="documents sharing this field (url, or a metadata field) are versions of one article: "
        "timelines.jsonl orders them by date with the diff between consecutive versions (url)",
    )
    g.add_argument(
        "--semantic",
        action="store_true",
        help="align rewritten sentences and find same_event pairs with a small embedding model "
        "(needs: pip install 'copytrace[semantic]')",
    )
    r = p.add_argument_group("resources")
    r.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    r.add_argument("--batch-size", type=int, default=2000, help="documents per batch")
    r.add_argument("--memory-mb", type=int, default=1024, help="memory budget of the candidate stage in MB")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        ngram=args.ngram,
        min_words=args.min_words,
        min_fragment=args.min_fragment,
        min_shared=args.min_shared,
        max_df=args.max_df,
        min_evidence=args.min_evidence,
        max_gap=args.max_gap,
        near_duplicate=args.near_duplicate,
        contains=args.contains,
        workers=args.workers,
        batch_size=args.batch_size,
        memory_mb=args.memory_mb,
        date_window_days=args.date_window,
        exclude_same_source=args.exclude_same_source,
        semantic=getattr(args, "semantic", False),
        agencies=tuple(args.agency),
        version_key=getattr(args, "version_key", "url"),
    )


def _read_one(path: str) -> Any:
    from .read import read_path

    docs = list(read_path(path, warn))
    if len(docs) != 1:
        raise InputError(path, f"compare takes one document a side; this holds {len(docs)}")
    return docs[0]


def cmd_compare(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from . import compiled
    from .pipeline import compare

    a, b = _read_one(args.a), _read_one(args.b)
    if args.a_date:
        a = type(a)(**{**{f: getattr(a, f) for f in a.__slots__}, "date": args.a_date})
    if args.b_date:
        b = type(b)(**{**{f: getattr(b, f) for f in b.__slots__}, "date": args.b_date})
    s = settings_from(args)
    # a cold numba cache (the first run after an install): a news-sized pair runs interpreted,
    # in about a second, rather than waiting a minute for the compiler; same output (tested)
    light = len(a.text) + len(b.text) <= compiled.INTERPRET_CHARS and bool(
        compiled.cold_modules(compiled.COMPARE_MODULES)
    )
    with compiled.interpreted() if light else nullcontext():
        pair = compare(a, b, s)
        if args.json:
            print(json.dumps(pair.to_dict(), ensure_ascii=False, indent=2))
        else:
            from .view import render_pair

            render_pair(pair, a, b)
    if light and not (args.json or args.quiet):
        print(
            "copytrace: ran interpreted (numba's cache is empty); `copytrace warmup` compiles the "
            "kernels for faster runs (first run only)",
            file=sys.stderr,
        )
    return 0


def cmd_warmup(args: argparse.Namespace) -> int:
    from . import compiled

    if not compiled.cold_modules():
        return 0  # (each module's kernels in the cache: nothing to say)
    if not args.quiet:
        print(
            f"copytrace: {compiled.NOTICE}: numba is compiling the kernels for the next runs "
            "(about a minute; an interrupted warm-up loses nothing)",
            file=sys.stderr,
        )
    done = compiled.warm(args.workers)
    if not args.quiet:
        print(
            f"copytrace: {done['kernels']} kernels ready ({done['compiled']} compiled) in "
            f"{done['seconds']:.1f}s",
            file=sys.stderr,
        )
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from .scan import scan

    try:
        stats = scan(
            args.inputs,
            args.out,
            settings_from(args),
            engine=args.engine,
            quiet=args.quiet,
            spark_master=args.spark_master,
            warn=warn,
            resume=args.resume,
            on_error=args.on_error,
        )
    except KeyboardInterrupt:
        print("copytrace: interrupted; run the same command with --resume to go on", file=sys.stderr)
        return 130
    write_stats(args.stats, stats)
    if not args.quiet:
        rel = ", ".join(f"{k} {v}" for k, v in stats["relations"].items()) or "none"
        print(
            f"{stats['documents']} documents, {stats['candidates']} candidates, {stats['pairs']} pairs ({rel}) "
            f"in {stats['seconds']:.1f}s -> {args.out}",
            file=sys.stderr,
        )
    return 0


def add_compare(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two articles: shared passages, edits, relation, direction",
        description="Compare two articles and show their shared passages side by side with the edits.",
        epilog="examples:\n  copytrace compare examples/ghouta/000_e51377812b574cd4.txt "
        "examples/ghouta/001_b01e3d22d82a00e4.txt\n  copytrace compare a.txt b.txt --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", help="first article (text file, or a table file holding one record)")
    p.add_argument("b", help="second article")
    p.add_argument("--json", action="store_true", help="print the pair object (DESIGN.md schema)")
    p.add_argument("--a-date", help="publication date of a (ISO), for direction")
    p.add_argument("--b-date", help="publication date of b (ISO), for direction")
    add_settings(p)
    p.set_defaults(func=cmd_compare)


def add_scan(sub: Any) -> None:
    p = sub.add_parser(
        "scan",
        help="find every pair of documents sharing a passage in a corpus",
        description="Scan files, folders (recursive) or JSONL/CSV/Parquet tables (id, text, optional date, "
        "source, title, url) and write pairs.jsonl, documents.jsonl, clusters.jsonl, passages.jsonl (reprint "
        "clusters), timelines.jsonl and report.html to --out.",
        epilog="examples:\n  copytrace scan examples/ghouta --out out/\n"
        "  copytrace scan corpus.jsonl --out out/ --workers 2 --min-words 20\n"
        "  copytrace scan corpus.parquet --out out/ --engine spark",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", help="files, folders or tables")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--engine", default="local", help="local (default) or spark")
    p.add_argument("--spark-master", default=None, help="Spark master URL (default local[*])")
    p.add_argument(
        "--stats", default=None, help="also write run statistics (seconds per stage) to this JSON file"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="go on with an interrupted scan into the same --out (same inputs)",
    )
    p.add_argument(
        "--on-error",
        choices=("stop", "skip"),
        default="stop",
        help="a bad file or record: stop with an error (default), or skip it and list it in rejects.jsonl",
    )
    add_settings(p)
    p.set_defaults(func=cmd_scan)


def add_warmup(sub: Any) -> None:
    p = sub.add_parser(
        "warmup",
        help="compile the kernels once, on all cores (the first run after an install is then fast)",
        description="Fill numba's cache with every compiled kernel the commands use. Runs by itself "
        "when needed; ./dev.sh runs it after installing.",
    )
    p.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    p.set_defaults(func=cmd_warmup)


COMMANDS: list[Callable[[Any], None]] = [add_compare, add_scan, add_warmup]


def _optional_commands() -> list[Callable[[Any], None]]:
    """Subcommands defined in their own modules (index, query, serve, dedup, report)."""
    import importlib

    found = []
    for mod, fn in (
        ("copytrace.cli_index", "register"),
        ("copytrace.cli_dedup", "register"),
        ("copytrace.cli_report", "register"),
    ):
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        found.append(getattr(module, fn))
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copytrace",
        description="Find where news text was reused: shared passages with offsets, edits, relation, "
        "direction and families.",
    )
    parser.add_argument("--version", action="version", version=f"copytrace {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    original = sub.add_parser

    def add_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
        kw.setdefault("parents", [common])
        return original(name, **kw)

    sub.add_parser = add_parser  # type: ignore[method-assign]
    for register in COMMANDS + _optional_commands():
        register(sub)
    return parser


#: commands that may compile kernels in this process (a local scan's parent never loads them:
#: its workers compile, announced by ``engines.local.fill_cache``)
IN_PROCESS = ("compare", "index", "query", "serve", "dedup")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    in_process = args.command in IN_PROCESS or (args.command == "scan" and args.engine == "spark")
    if in_process and not (getattr(args, "quiet", False) or getattr(args, "json", False)):
        from .compiled import notice_on_compile

        notice_on_compile(lambda line: print(line, file=sys.stderr, flush=True))
    try:
        return int(args.func(args) or 0)
    except CopytraceError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"copytrace: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("copytrace: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
