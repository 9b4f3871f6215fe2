"""Command line for the persistent index: ``copytrace index add``, ``copytrace query``, ``copytrace serve``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .cli import add_settings, settings_from, warn
from .errors import InputError, StoreError
from .types import Document

DEFAULT_PORT = 8484


def cmd_index_add(args: argparse.Namespace) -> int:
    from .index import Index
    from .progress import make_progress
    from .read import read_inputs

    requested = settings_from(args)
    ix = Index(args.index, requested, lock_timeout=args.lock_timeout)
    ix.settings = ix.check_settings(requested)
    with make_progress(args.quiet) as progress:
        stats = ix.add(read_inputs(args.inputs, warn), replace=args.replace, progress=progress)
    counts = ix.count()
    ix.close()
    if args.json:
        print(json.dumps({**stats.to_dict(), "index": counts}, indent=2))
    elif not args.quiet:
        rel = ", ".join(f"{k} {v}" for k, v in sorted(stats.relations.items())) or "none"
        print(
            f"added {stats.added}, replaced {stats.replaced}, unchanged {stats.unchanged}; "
            f"{stats.candidates} candidates, {stats.pairs} new pairs ({rel}) in {stats.seconds:.1f}s; "
            f"index now {counts['documents']} documents, {counts['pairs']} pairs -> {args.index}",
            file=sys.stderr,
        )
    return 0


def _query_document(args: argparse.Namespace) -> Document:
    from .read import read_path

    if args.doc == "-":
        return Document("stdin", sys.stdin.read())
    docs = list(read_path(args.doc, warn))
    if len(docs) != 1:
        raise InputError(args.doc, f"query takes one document; this holds {len(docs)}")
    return docs[0]


def derivation_line(doc_id: str, own: dict[str, Any]) -> str:
    """A document's own derivation in one line of rich markup: its level, shares and sources."""
    from rich.markup import escape

    shares = ", ".join(f"{k} {float(own[k]):.0%}" for k in ("verbatim", "rewritten", "new"))
    if not own["sources"]:
        return f"[b]{escape(doc_id)}[/]: derived from no stored document ({shares})"
    sources = ", ".join(f"{escape(x['id'])} ({float(x['share']):.0%})" for x in own["sources"])
    return f"[b]{escape(doc_id)}[/]: [b]{escape(str(own['level']))}[/] derived ({shares}) from {sources}"


def span_lines(text: str, spans: list[dict[str, Any]]) -> list[str]:
    """One line of rich markup for each span of a query: where it is, its reprint cluster and how
    many stored documents carry it, and its first words."""
    from rich.markup import escape

    from .passages import snippet

    out = []
    for sp in spans:
        where = f"[{sp['start']}:{sp['end']}]"
        cluster = f"reprint cluster [b]{sp['cluster']}[/]" if sp["cluster"] else "in no reprint cluster"
        words = escape(snippet(text[sp["start"] : sp["end"]], 70))
        out.append(f"span {where} {cluster}, carried by [b]{sp['documents']}[/] stored document(s): {words}")
    return out


def cmd_query(args: argparse.Namespace) -> int:
    from .index import Index

    if (args.doc is None) == (args.id is None):
        raise InputError("query", "give one document (a file, or - for stdin) or --id ID")
    own: dict[str, Any] | None = None  # a stored document's own derivation (``Index.derivation_of``)
    with Index(args.index, read_only=True, lock_timeout=args.lock_timeout) as ix:
        if args.id is not None:
            query_doc = ix.get(args.id)
            if query_doc is None:
                raise StoreError(f"{args.index}: no document with id {args.id!r} in the index")
            matches = ix.matches_of(args.id)
            own = ix.derivation_of(args.id)
            found = matches[: args.limit]
        else:
            query_doc = _query_document(args)
            found = [(m.doc, m.pair) for m in ix.query(query_doc, limit=args.limit)]
        # each span of the query: its reprint cluster and how many stored documents carry it
        spans = ix.reprint_spans(found, exclude=args.id)
    if args.json:
        out: dict[str, Any] = {"query": query_doc.to_dict()}
        if own is not None:
            out["derivation"] = own
        out["spans"] = spans
        out["matches"] = [{"document": d.to_dict(), "pair": p.to_dict()} for d, p in found]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    from rich.console import Console

    from .view import render_pair

    console = Console()
    if own is not None:
        console.print(derivation_line(query_doc.id, own))
    if not found:
        console.print(f"no stored document shares a passage with [b]{query_doc.id}[/]")
    for line in span_lines(query_doc.text, spans):
        console.print(line)
    for doc, pair in found:
        render_pair(pair, query_doc, doc, console)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .errors import EngineError

    try:
        import uvicorn

        from .web import create_app
    except ModuleNotFoundError as exc:
        raise EngineError(
            f"serve needs the web extra ({exc.name} is missing): pip install 'copytrace[web]'"
        ) from None
    app = create_app(args.index, max_body=args.max_body)
    if not args.quiet:
        print(
            f"copytrace: serving {args.index} on http://{args.host}:{args.port}/ (API docs: /docs)",
            file=sys.stderr,
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0


def _index_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", required=True, help="the index file (DuckDB)")
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=30.0,
        help="seconds to wait while another process writes the index (30)",
    )


def register(sub: Any) -> None:
    index = sub.add_parser(
        "index",
        help="a persistent index: add documents to it",
        description="A persistent index of documents in one DuckDB file.",
    )
    isub = index.add_subparsers(dest="index_command", metavar="ACTION")
    add = isub.add_parser(
        "add",
        help="add documents; each is matched against the stored ones and the other new ones",
        description="Add files, folders or JSONL/CSV/Parquet tables to the index. New documents are matched "
        "against the stored ones and each other; the pairs found are stored. One run is one transaction: "
        "an interrupted run leaves the index as it was.",
        epilog="examples:\n  copytrace index add examples/ghouta --index news.duckdb\n"
        "  copytrace index add today.jsonl --index news.duckdb --replace",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("inputs", nargs="+", help="files, folders or tables")
    add.add_argument("--quiet", action="store_true", help="no progress bars")
    add.add_argument("--debug", action="store_true", help="show tracebacks")
    _index_option(add)
    add.add_argument("--replace", action="store_true", help="replace documents whose id is already stored")
    add.add_argument("--json", action="store_true", help="print what was done as JSON")
    add_settings(add)
    add.set_defaults(func=cmd_index_add)
    index.set_defaults(func=lambda _args: index.print_help() or 2)

    q = sub.add_parser(
        "query",
        help="where else did this text appear? matches from an index",
        description="Every stored document sharing a passage with DOC, with relation, passages and edits.",
        epilog="examples:\n  copytrace query article.txt --index news.duckdb\n"
        "  pbpaste | copytrace query - --index news.duckdb --json\n"
        "  copytrace query --id 000_e51377812b574cd4.txt --index news.duckdb",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("doc", nargs="?", help="a text file, or - to read the text from stdin")
    q.add_argument(
        "--id", help="a stored document's id instead of DOC (its stored pairs and its own derivation)"
    )
    _index_option(q)
    q.add_argument("--limit", type=int, default=20, help="most matches shown (20)")
    q.add_argument("--json", action="store_true", help="print the matches as JSON")
    q.set_defaults(func=cmd_query)

    s = sub.add_parser(
        "serve",
        help="a web page and JSON API over an index",
        description="Serve a page to paste or upload an article and see its matches side by side, pages to "
        "browse documents, pairs and families, and a JSON API (/api/query, /api/documents/{id}, /api/pairs; "
        "OpenAPI at /docs). Needs the web extra.",
        epilog="example:\n  copytrace serve --index news.duckdb --port 8484",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _index_option(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    s.add_argument(
        "--max-body", type=int, default=2_000_000, help="largest request body in bytes; larger get 413"
    )
    s.set_defaults(func=cmd_serve)
