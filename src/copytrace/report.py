"""``report.html``: one self-contained file (inline CSS and JS, no network) to read a scan.

It lists the families and the pairs (sortable by relation, size, containment), and shows any pair
side by side: both texts whole, the shared passages marked, every edit highlighted by kind, and
changed numbers and names outlined. Passages standing in another order on the two sides
(``relate.moved_passages``) are marked as moved. Below them, the pair's derivation: each side's
verbatim / rewritten / new shares and level (also a column of the pairs table), and the sentences
side by side in ``a``'s order (``view.sentence_rows``), verbatim fragments marked, new sentences
in rows of their own.

Data is embedded as JSON inside ``<script type="application/json">`` (``<``, ``>``, ``&`` and the
line separators escaped) and put on the page with ``textContent`` only, so nothing in a document
can become markup.

Scale: the report holds the ``max_pairs`` pairs with the most shared words (default 1000) and the
``max_families`` largest families, with the texts of the documents in those pairs; the JSONL
outputs stay the complete record. Texts come from a callable (the scan's document store, or
``texts_from_output`` when ``copytrace report DIR`` rebuilds the file). A shown pair's
derivation is embedded compactly (``compact_derivation``: a letter and a few small numbers a
sentence row): at 100k documents the thousand pairs' rows add about 2 MB to the 12.6 MB report.
"""

from __future__ import annotations

import heapq
import html
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .errors import InputError
from .genealogy import changes_text, layout
from .overview import STYLE as OVERVIEW_STYLE
from .overview import containment_bin, day_numbers, flow_of, time_key
from .overview import svg as overview_svg
from .read import TABLE_SUFFIXES, decode
from .relate import moved_passages
from .timeline import read_timelines
from .types import Passage
from .view import Span, derivation_of, sentence_rows

MAX_PAIRS = 1000
MAX_FAMILIES = 5000
TEXTS_FILE = "texts.parquet"

KIND_CODES = {"verbatim": "v", "rewritten": "r", "partly_verbatim": "p"}

TextLookup = Callable[[set[str]], dict[str, str]]
DocumentLookup = Callable[[set[str]], dict[str, dict[str, Any]]]


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(str(path), f"not valid JSON ({exc.msg})", f"line {lineno}") from None


def _pair_words(p: dict[str, Any]) -> int:
    return int(sum(int(x.get("words", 0)) for x in p.get("passages", [])))


_WORDS = re.compile(r'"words":\s*(\d+)')
_DERIVATION = '"derivation":'


def top_pairs(pairs_path: Path, max_pairs: int) -> tuple[list[dict[str, Any]], int]:
    """The ``max_pairs`` pairs with the most shared words (ties: file order) and the total count."""
    heap: list[tuple[int, int, str]] = []
    total = 0
    if pairs_path.exists():
        with open(pairs_path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh):
                if not line.strip():
                    continue
                total += 1
                # the shared words without decoding the record: in JSON a key "words" cannot occur
                # inside a string value (its quotes would be escaped), so the matches before the
                # derivation (written last, its sides holding "words" of their own) are exactly
                # the passages' word counts
                cut = line.find(_DERIVATION)
                words = sum(int(w) for w in _WORDS.findall(line, 0, len(line) if cut < 0 else cut))
                item = (words, -lineno, line)
                if len(heap) < max_pairs:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
    rows = [json.loads(line) for _, _, line in sorted(heap, key=lambda t: (-t[0], -t[1]))]
    return rows, total


def top_pairs_by_words(
    pairs_path: Path, max_pairs: int, words: np.ndarray, sizes: np.ndarray | None = None
) -> tuple[list[dict[str, Any]], int] | None:
    """``top_pairs`` when the shared words of every line are known (a scan's edges, in file order):
    the ranking is made on the array and only the chosen lines are decoded. With ``sizes`` (each
    line's bytes, its newline included) only the chosen lines are read, at their offsets, if the
    file is as long as they say. None when the file holds another number of pairs."""
    n = int(words.shape[0])
    chosen = np.lexsort((np.arange(n), -np.asarray(words, dtype=np.int64)))[
        :max_pairs
    ]  # words, then file order
    if sizes is not None and sizes.shape[0] == n and pairs_path.exists():
        at = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=at[1:])
        fd = os.open(pairs_path, os.O_RDONLY)
        try:
            if os.fstat(fd).st_size == int(at[-1]):
                return [_loads(os.pread(fd, int(sizes[k]), int(at[k]))) for k in chosen.tolist()], n
        finally:
            os.close(fd)
    rank = {line: r for r, line in enumerate(chosen.tolist())}
    rows: list[Any] = [None] * len(rank)
    total = 0
    if pairs_path.exists():
        with open(pairs_path, "rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                r = rank.get(total)
                if r is not None:
                    rows[r] = _loads(line)
                total += 1
    return (rows, total) if total == n else None


def _loads(line: bytes) -> Any:
    """``json.loads`` of a pairs.jsonl line, by orjson (a thousand report lines: 0.08 -> 0.01 s
    of the scan's last stage) where it reads the line as the json module does; the json module
    where orjson refuses it (lone surrogates, non-finite numbers), which answers or raises as
    always, and for a line with 19 digits in a row (orjson makes a float of an integer past 64
    bits)."""
    if _LONG_DIGITS.search(line) is None:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return json.loads(line)


_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def new_spans(text: str, linked: Iterable[Span]) -> list[Span]:
    """The stretches of ``text`` outside every ``linked`` range that hold a word, whitespace
    trimmed: the runs of new sentences between the linked ones (sentences tile a text, so what
    no link holds is new)."""
    out: list[Span] = []
    pos = 0
    for s, e in [*sorted(linked), (len(text), len(text))]:
        if s > pos:
            piece = text[pos:s]
            if not piece.isspace() and _WORD.search(piece):  # (mostly the space between two links)
                out.append((pos + len(piece) - len(piece.lstrip()), s - len(piece) + len(piece.rstrip())))
        if e > pos:
            pos = e
    return out


_WORD = re.compile(r"\w")


def compact_derivation(derivation: dict[str, Any], text_a: str, text_b: str) -> dict[str, Any]:
    """A pair's derivation as the report embeds it: each side's shares and level (``a``, ``b``),
    and the sentence rows (``view.sentence_rows``) as one letter a row (``k``) and one list of
    numbers (``n``); ``expand_derivation`` (and the page's script) reads them back.

    A side's new sentences are shown as the runs of text between its linked sentences
    (``new_spans``), a row each, not cut into sentences: that would take the compiled sentence
    cut (``derive.sentence_spans``), which the scan's parent process never loads (about 1.5 s of
    CPU and 125 MB at 100k documents).

    Letters: ``v`` verbatim, ``p`` partly verbatim, ``r`` rewritten (upper case when the
    similarity rounds to 1.00), ``a`` / ``b`` new text of that side. Numbers, all small: a start
    is its distance from the end of the previous row's span on the same side (mostly 1, a space).
    A link: a_start, a's length, b_start, b's length minus a's; then its similarity in hundredths
    (lower-case letters only; -1 if it has none), its number of fragments and, for each, on ``a``
    then on ``b``, its distance from the sentence's start and from its end. New text: its start
    and length. (At 100k documents the thousand pairs' rows take 4.1 MB as arrays of offsets,
    about 1.7 MB so.)"""
    links = derivation.get("sentences", ())
    spans_a = new_spans(text_a, [(x["a_start"], x["a_end"]) for x in links])
    spans_b = new_spans(text_b, [(x["b_start"], x["b_end"]) for x in links])
    letters: list[str] = []
    n: list[int] = []
    end_a = end_b = 0
    for r in sentence_rows(derivation, spans_a, spans_b):
        if r.a is None or r.b is None:
            letters.append("a" if r.b is None else "b")
            if r.a is not None:
                n += (r.a[0] - end_a, r.a[1] - r.a[0])
                end_a = r.a[1]
            elif r.b is not None:
                n += (r.b[0] - end_b, r.b[1] - r.b[0])
                end_b = r.b[1]
            continue
        (a0, a1), (b0, b1) = r.a, r.b
        n += (a0 - end_a, a1 - a0, b0 - end_b, (b1 - b0) - (a1 - a0))
        end_a, end_b = a1, b1
        letter = KIND_CODES.get(r.kind, "r")
        sim = -1 if r.similarity is None else round(100 * r.similarity)
        if sim == 100:
            letter = letter.upper()
        else:
            n.append(sim)
        letters.append(letter)
        n.append(len(r.fragments))
        for fa0, fa1, fb0, fb1 in r.fragments:
            n += (fa0 - a0, a1 - fa1, fb0 - b0, b1 - fb1)
    keep = ("verbatim", "rewritten", "new", "level")
    return {
        "a": {k: derivation.get("a", {}).get(k) for k in keep},
        "b": {k: derivation.get("b", {}).get(k) for k in keep},
        "k": "".join(letters),
        "n": n,
    }


def expand_derivation(compact: dict[str, Any]) -> list[list[Any]]:
    """The rows of a ``compact_derivation``, as the page's script reads them: ``[a_start, a_end,
    b_start, b_end, kind]`` with -1 for the side a new sentence lacks and kind ``v``, ``p``, ``r``
    or ``n`` (new), a link's followed by its similarity and its fragments' offsets in one list
    (a_start, a_end, b_start, b_end of each)."""
    n, i, end_a, end_b = compact["n"], 0, 0, 0
    rows: list[list[Any]] = []
    for letter in compact["k"]:
        if letter == "a":
            a0 = end_a + n[i]
            end_a = a0 + n[i + 1]
            rows.append([a0, end_a, -1, -1, "n"])
            i += 2
            continue
        if letter == "b":
            b0 = end_b + n[i]
            end_b = b0 + n[i + 1]
            rows.append([-1, -1, b0, end_b, "n"])
            i += 2
            continue
        a0, b0 = end_a + n[i], end_b + n[i + 2]
        a1 = a0 + n[i + 1]
        b1 = b0 + n[i + 1] + n[i + 3]
        end_a, end_b, i = a1, b1, i + 4
        sim = 1.0
        if letter.islower():
            sim, i = n[i] / 100, i + 1
        frags: list[int] = []
        for _ in range(n[i]):
            frags += (a0 + n[i + 1], a1 - n[i + 2], b0 + n[i + 3], b1 - n[i + 4])
            i += 4
        rows.append([a0, a1, b0, b1, letter.lower(), sim, frags])
        i += 1
    return rows


def _passage(d: dict[str, Any]) -> Passage:
    return Passage(d["a_start"], d["a_end"], d["b_start"], d["b_end"], d["words"], d["similarity"])


def build_report(
    out_dir: Path,
    texts: TextLookup,
    *,
    max_pairs: int = MAX_PAIRS,
    max_families: int = MAX_FAMILIES,
    title: str = "copytrace report",
    families: Iterable[dict[str, Any]] | None = None,
    documents: tuple[int, DocumentLookup] | None = None,
    pair_words: np.ndarray | None = None,
    line_sizes: np.ndarray | None = None,
    n_families: int | None = None,
    reprints: dict[str, Any] | None = None,
) -> str:
    """The HTML of the report for the outputs in ``out_dir`` (pairs, documents, clusters JSONL).

    A scan that holds them in memory passes ``families`` (the clusters.jsonl records),
    ``documents`` (the number of documents and a lookup of documents.jsonl records by id) and
    ``pair_words`` (the shared words of each pair, in file order, and ``line_sizes``, each pair
    line's bytes, if known), and those files are not read (pairs.jsonl only where a shown pair lies).
    ``n_families``: how many families there are, when ``families`` holds only the largest.
    ``reprints``: what ``passages.write_passages`` returned (the largest reprint clusters and the
    overview's numbers); without it they are read from passages.jsonl, pairs.jsonl and
    documents.jsonl (``reprints_from_output``)."""
    ranked = (
        None
        if pair_words is None
        else top_pairs_by_words(out_dir / "pairs.jsonl", max_pairs, pair_words, line_sizes)
    )
    pairs, n_pairs = ranked if ranked is not None else top_pairs(out_dir / "pairs.jsonl", max_pairs)
    # streamed: only the largest families and the documents of the shown pairs are kept
    n_fams = 0

    def counted(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal n_fams
        for row in rows:
            n_fams += 1
            yield row

    fams = heapq.nsmallest(
        max_families,
        counted(_read_jsonl(out_dir / "clusters.jsonl") if families is None else families),
        key=lambda f: (-int(f.get("size", len(f.get("members", [])))), str(f.get("cluster"))),
    )
    if n_families is not None:
        n_fams = n_families
    need = {str(p["a"]) for p in pairs} | {str(p["b"]) for p in pairs}
    docs: dict[str, dict[str, Any]] = {}
    if documents is None:
        n_docs = 0
        for d in _read_jsonl(out_dir / "documents.jsonl"):
            n_docs += 1
            if str(d["id"]) in need:
                docs[str(d["id"])] = d
    else:
        n_docs, lookup = documents
        docs = lookup(need)
    found = texts(need)
    words_of: dict[str, int] = {}
    for p in pairs:
        derivation = derivation_of(p)
        if derivation is not None:
            p["derivation"] = compact_derivation(
                derivation, found.get(str(p["a"]), ""), found.get(str(p["b"]), "")
            )
        p["words"] = _pair_words(p)
        p["moved"] = sorted(moved_passages([_passage(x) for x in p["passages"]]))
        for side in ("a", "b"):
            words_of[p[side]] = words_of.get(p[side], 0) + p["words"]
    doc_rows = {
        i: {
            "id": i,
            "text": found.get(i, ""),
            "cluster": docs.get(i, {}).get("cluster"),
            "date": docs.get(i, {}).get("date"),
            "source": docs.get(i, {}).get("source"),
            "title": docs.get(i, {}).get("title"),
        }
        for i in sorted(need)
    }
    reasons: dict[str, int] = {}
    for f in fams:
        compact_genealogy(f, reasons)
    if reprints is None:
        reprints = reprints_from_output(out_dir)
    facts = reprints["overview"]
    _overview_keys(pairs, doc_rows, facts)
    clusters = [_cluster_row(c) for c in reprints["clusters"]]
    data = {
        "title": title,
        "counts": {"documents": n_docs, "pairs": n_pairs, "families": n_fams},
        "shown": {"pairs": len(pairs), "families": len(fams), "clusters": len(clusters)},
        "families": fams,
        "pairs": pairs,
        "docs": doc_rows,
        "timelines": compact_timelines(read_timelines(out_dir)),
        "reasons": list(reasons),
        "clusters": clusters,
    }
    page = _PAGE.replace("@@GENEALOGY_CSS@@", _GENEALOGY_CSS).replace("@@GENEALOGY_JS@@", _GENEALOGY_JS)
    page = page.replace("@@OVERVIEW_STYLE@@", OVERVIEW_STYLE)
    # the template is cut at its places before they are filled: text put in one (a snippet in the
    # overview, a title) is never read as another place
    head, rest = page.split("@@OVERVIEW@@", 1)
    middle, tail = rest.split("@@DATA@@", 1)
    t = html.escape(title)
    return (
        head.replace("@@TITLE@@", t)
        + overview_svg(facts)
        + middle.replace("@@TITLE@@", t)
        + embed_json(data)
        + tail.replace("@@TITLE@@", t)
    )


MAX_TIMELINES = 500
MAX_DIFF_EDITS = 200


def compact_genealogy(fam: dict[str, Any], reasons: dict[str, int]) -> None:
    """A family record's ``tree`` and ``variants`` as the page draws them, in place: the tree's
    layout (``genealogy.layout``; links as indices into its nodes), each member's edge as
    ``[parent, candidates, reason, changes in a line]`` (the reason as its index in ``reasons``,
    shared by all families: a few hundred distinct reasons at 100k documents) and each variant as
    ``[kind, replaces, reading, first, heirs]``."""
    tree = fam.pop("tree", None)
    variants = fam.pop("variants", None)
    if tree is None:
        return
    lay = layout(tree)
    at = {n[0]: k for k, n in enumerate(lay["nodes"])}
    lay["links"] = [[at[c], at[p], int(d)] for c, p, d in lay["links"]]
    fam["layout"] = lay
    fam["edges"] = {
        e["child"]: [
            e["parent"],
            e["parent_candidates"],
            reasons.setdefault(e["reason"], len(reasons)),
            changes_text(e["changes"]),
        ]
        for e in tree
    }
    fam["variants"] = [
        [v["kind"], v["replaces"], v["reading"], v["first"], len(v["inherited"])] for v in variants or []
    ]


def compact_timelines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first ``MAX_TIMELINES`` timelines, each diff's edits as ``[kind, a, b]`` (at most
    ``MAX_DIFF_EDITS`` of them) with its changes in a line."""
    out = []
    for t in lines[:MAX_TIMELINES]:
        out.append(
            {
                "key": t["key"],
                "versions": t["versions"],
                "diffs": [
                    {
                        "from": d["from"],
                        "to": d["to"],
                        "relation": d["relation"],
                        "changes": changes_text(d["changes"]),
                        "edits": [[e["kind"], e["a"], e["b"]] for e in d["edits"][:MAX_DIFF_EDITS]],
                        "more": max(0, len(d["edits"]) - MAX_DIFF_EDITS),
                    }
                    for d in t["diffs"]
                ],
            }
        )
    return out


MAX_CLUSTER_MEMBERS = 500  # documents of a cluster the report's filter knows (the largest first)


def _cluster_row(rec: dict[str, Any]) -> dict[str, Any]:
    """A reprint cluster as the report lists it: its documents' ids (for the filter) instead of
    every member span."""
    docs = list(dict.fromkeys(str(m["id"]) for m in rec["members"]))
    earliest = rec.get("earliest")
    return {
        "cluster": rec["cluster"],
        "documents": rec["size"]["documents"],
        "passages": rec["size"]["passages"],
        "snippet": rec["snippet"],
        "earliest": None if earliest is None else earliest["id"],
        "earliest_reason": rec.get("earliest_reason", ""),
        "members": docs[:MAX_CLUSTER_MEMBERS],
    }


def _overview_keys(
    pairs: list[dict[str, Any]], docs: dict[str, dict[str, Any]], facts: dict[str, Any]
) -> None:
    """Each shown pair's place in the overview's charts, as the page's filter reads them:
    ``cbin`` (containment tenth), ``when`` (time bin of the later date) and ``flow`` ([source
    copied, source copying])."""
    unit = (facts.get("when") or {}).get("unit", "month")
    for p in pairs:
        da, db = docs.get(str(p["a"]), {}), docs.get(str(p["b"]), {})
        p["cbin"] = containment_bin(float(p["containment_a"]), float(p["containment_b"]))
        days = day_numbers([da.get("date"), db.get("date")])
        p["when"] = time_key(int(days.max()), unit)
        p["flow"] = flow_of(str(p.get("direction")), da.get("source"), db.get("source"))


def reprints_from_output(out_dir: Path) -> dict[str, Any]:
    """The largest reprint clusters (passages.jsonl) and the overview's numbers (every line of
    pairs.jsonl, dates and sources from documents.jsonl) of a scan's output folder: what
    ``passages.write_passages`` returned to the scan."""
    from .passages import PASSAGES_FILE, pair_facts, read_pair_table, read_top

    ids: list[str] = []
    dates: list[str | None] = []
    sources: list[str | None] = []
    for d in _read_jsonl(out_dir / "documents.jsonl"):
        ids.append(str(d["id"]))
        dates.append(d.get("date"))
        sources.append(d.get("source"))
    records = read_top(out_dir / PASSAGES_FILE)
    table = read_pair_table(out_dir / "pairs.jsonl", {x: k for k, x in enumerate(ids)})
    return {"clusters": records, "overview": pair_facts(table, dates, sources, records)}


def embed_json(obj: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>``, no HTML-significant characters.
    Encoded by orjson (a 100k scan's report, 12.6 MB: 0.12 -> 0.02 s); what it refuses (a lone
    surrogate, an integer past 64 bits) by the json module. (orjson writes a non-finite float as
    null, where the json module would refuse it.)"""
    try:
        text = orjson.dumps(obj).decode("utf-8")
    except TypeError:  # (orjson.JSONEncodeError is one)
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def write_report(out_dir: Path, texts: TextLookup, dest: Path | None = None, **kw: Any) -> Path:
    """Write ``report.html`` (or ``dest``) for the outputs in ``out_dir``; returns its path."""
    page = build_report(out_dir, texts, **kw)
    path = dest or out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def needs_stored_text(path: str | None) -> bool:
    """Is a document's text absent from a file of its own (a table record, or given as a Document)?"""
    return path is None or Path(path).suffix.lower() in TABLE_SUFFIXES


def texts_from_output(out_dir: Path, warn: Callable[[str], None] | None = None) -> TextLookup:
    """Texts of an output folder: ``texts.parquet`` (table inputs) or the original files (by ``path``).

    A text file that changed since the scan (its length differs from ``documents.jsonl``) is an
    error naming the file: offsets in the outputs would no longer point at the right words."""

    def lookup(ids: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        if not ids:
            return out
        stored = out_dir / TEXTS_FILE
        if stored.exists():
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            table = pq.read_table(stored, columns=["id", "text"])
            table = table.filter(pc.is_in(table.column("id"), value_set=pa.array(sorted(ids), pa.string())))
            out.update(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))
        for d in _read_jsonl(out_dir / "documents.jsonl"):
            i = str(d["id"])
            if i not in ids or i in out:
                continue
            path = d.get("path")
            if path is None or needs_stored_text(path):
                raise InputError(str(out_dir / TEXTS_FILE), f"no stored text for document {i!r}; rerun scan")
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise InputError(
                    str(path), f"cannot read the text of {i!r} ({exc.strerror}); rerun scan"
                ) from None
            text = decode(data, str(path), warn)
            if len(text) != d.get("length"):
                raise InputError(
                    str(path), f"changed since the scan (length {len(text)}, was {d.get('length')})"
                )
            out[i] = text
        return out

    return lookup


_PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
:root{--bg:#fff;--fg:#1d1d1f;--mute:#6b6b70;--line:#dcdce0;--pass:#eef5ff;--sel:#fff6cc}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:10px 18px;border-bottom:1px solid var(--line);display:flex;gap:18px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}
.counts{color:var(--mute)}
main{display:grid;grid-template-columns:minmax(380px,44%) 1fr;height:calc(100vh - 48px)}
#lists{border-right:1px solid var(--line);overflow:auto;padding:0 10px 20px}
#detail{overflow:auto;padding:12px 18px}
h2{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{position:sticky;top:0;background:#f6f6f8;cursor:pointer;user-select:none;white-space:nowrap}
th.sorted-asc::after{content:" \25B2"}th.sorted-desc::after{content:" \25BC"}
tbody tr{cursor:pointer}tbody tr:hover{background:#f3f3f6}tr.active{background:var(--sel)!important}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.rel{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;background:#ececf0}
.rel-duplicate{background:#ffd6d6}.rel-near_duplicate{background:#ffe3c2}.rel-a_contains_b,.rel-b_contains_a{background:#fff0b3}.rel-partial{background:#d9ecff}
.filter{color:var(--mute);font-size:12px;margin:4px 0}
.filter button{font-size:12px}
.head{display:grid;grid-template-columns:auto 1fr;gap:2px 14px;margin-bottom:10px}
.head b{font-weight:600}
.flag{color:#b00020}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.side{border:1px solid var(--line);border-radius:6px;padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere;font:13px/1.5 Georgia,serif;max-height:70vh;overflow:auto}
.side h3{font:600 13px system-ui,sans-serif;margin:0 0 6px;white-space:normal}
.passage{background:var(--pass);border-radius:2px}
.passage.moved{background:#e6e0ff}
.e-spelling{background:#fff0a0}.e-number{background:#ffb3b3;outline:2px solid #c00;font-weight:700}
.e-name{background:#f3c4ff;outline:2px solid #8a00a8;font-weight:700}.e-rewording{background:#b8f0f0}
.e-insert{background:#c8f7c5}.e-delete{background:#ffd0c8;text-decoration:line-through}
.e-quote,.e-punctuation{text-decoration:underline wavy #999}.e-moved{background:#d6ccff}
.legend span{padding:0 5px;margin-right:6px;border-radius:3px;font-size:12px}
.edits{font-size:13px;margin-top:12px}
.edits td:first-child{white-space:nowrap}
.note{color:var(--mute);font-size:12px}
.lvl{display:inline-block;padding:0 4px;margin-right:3px;border-radius:6px;font-size:12px;white-space:nowrap;background:#ececf0}
.lvl-wholly{background:#ffd6d6}.lvl-partially{background:#fff0b3}
h3.deriv{font:600 14px system-ui,sans-serif;margin:18px 0 6px}
table.sents{font:13px/1.45 Georgia,serif;table-layout:fixed}
table.sents th{position:static;cursor:default;font:600 12px system-ui,sans-serif}
table.sents .sa,table.sents .sb{width:44%;overflow-wrap:anywhere}
table.sents .sk{width:12%;font:12px system-ui,sans-serif}
tr.srow{cursor:default}
tr.k-v td.sk{color:#17803d}tr.k-p td.sk{color:#9a6b00}tr.k-r td.sk{color:#0a6c80}
tr.k-n td{color:var(--mute)}tr.k-n td.sk{font-style:italic}
.frag{background:#c8f7c5;text-decoration:underline;text-decoration-color:#17803d}
@@GENEALOGY_CSS@@
#ovwrap{border-bottom:1px solid var(--line);padding:0 18px}
#ovwrap summary{cursor:pointer;font-weight:600;padding:6px 0}
td.snip{font:12px/1.35 Georgia,serif;color:#333}
@@OVERVIEW_STYLE@@
</style></head>
<body>
<header><h1 id="title"></h1><span class="counts" id="counts"></span>
<span class="legend" id="legend"></span></header>
<section id="ovwrap"><details open><summary>Overview: click a bar or a cell to filter the tables</summary>
@@OVERVIEW@@
</details></section>
<main>
<section id="lists">
<div class="filter" id="ov-note"></div>
<h2>Families</h2><div class="filter" id="fam-note"></div>
<table id="families"><thead><tr><th data-k="cluster">family</th><th data-k="size" class="num">size</th>
<th data-k="representative">representative</th><th data-k="earliest">earliest</th></tr></thead><tbody></tbody></table>
<h2>Timelines</h2><div class="filter" id="tl-note"></div>
<table id="timelines"><thead><tr><th>article</th><th class="num">versions</th><th>first</th><th>last</th></tr></thead><tbody></tbody></table>
<h2>Reprint clusters</h2><div class="filter" id="rc-note"></div>
<table id="reprints"><thead><tr><th data-k="cluster">cluster</th><th data-k="documents" class="num">docs</th>
<th data-k="passages" class="num">spans</th><th data-k="snippet">passage</th><th data-k="earliest">earliest</th></tr></thead><tbody></tbody></table>
<h2>Pairs</h2><div class="filter" id="pair-note"></div>
<table id="pairs"><thead><tr><th data-k="a">a</th><th data-k="b">b</th><th data-k="relation">relation</th>
<th data-k="words" class="num">words</th><th data-k="cmax" class="num">contain.</th><th data-k="derived" class="num" title="share of each side's words made from the other (verbatim + rewritten); colour: level">derived</th>
<th data-k="direction">direction</th><th data-k="nflags" class="num">flags</th></tr></thead><tbody></tbody></table>
</section>
<section id="detail"><p class="note">Click a pair to see it side by side; click a family to list its pairs.</p></section>
</main>
<script type="application/json" id="data">@@DATA@@</script>
<script>
(function(){
"use strict";
var D=JSON.parse(document.getElementById("data").textContent);
var KINDS=["spelling","number","name","rewording","insert","delete","quote","punctuation","moved"];
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function pct(x){return Math.round(100*x)+"%";}
document.title=D.title;
document.getElementById("title").textContent=D.title;
document.getElementById("counts").textContent=D.counts.documents+" documents, "+D.counts.pairs+" pairs, "+D.counts.families+" families";
var lg=document.getElementById("legend");
KINDS.forEach(function(k){lg.appendChild(el("span","e-"+k,k));});
D.pairs.forEach(function(p,i){p.idx=i;p.cmax=Math.max(p.containment_a,p.containment_b);
  p.nflags=p.flags.numbers_changed.length+p.flags.names_changed.length;
  var d=p.derivation;p.derived=d?Math.max(1-d.a.new,1-d.b.new):-1;});
var BYIDX=D.pairs.slice();  // by p.idx: sorting reorders D.pairs itself
var KIND_NAMES={v:"verbatim",r:"rewritten",p:"partly verbatim",n:"new"};
function shares(x){return "verbatim "+pct(x.verbatim)+", rewritten "+pct(x.rewritten)+", new "+pct(x.new);}
function level(s,x){var e=el("span","lvl lvl-"+x.level,s+" "+pct(1-x.new));e.title=s+": "+x.level+" derived ("+shares(x)+")";return e;}
var famFilter=null;
var ovFilter=null;  // {f: what the chart element filters, v: its value} (report.overview_svg's data-f, data-v)
var CL={};D.clusters.forEach(function(c){var m={};c.members.forEach(function(i){m[i]=1;});CL[c.cluster]=m;});
function ovMatch(p){if(ovFilter===null)return true;var f=ovFilter.f,v=ovFilter.v;
  if(f==="relation")return p.relation===v;
  if(f==="cont")return p.cbin===v;
  if(f==="when")return p.when===v;
  if(f==="flow")return !!p.flow&&p.flow[0]===v[0]&&p.flow[1]===v[1];
  if(f==="cluster"){var m=CL[v];return !!m&&!!m[p.a]&&!!m[p.b];}
  return true;}
function ovDescribe(){if(ovFilter===null)return "";var f=ovFilter.f,v=ovFilter.v;
  return {relation:"relation ",cont:"containment tenth ",when:"later date in ",flow:"copied from \u2192 by ",cluster:"reprint cluster "}[f]+(f==="flow"?v[0]+" \u2192 "+v[1]:f==="cont"?(v/10).toFixed(1)+"\u2013"+((v+1)/10).toFixed(1):v);}
function setOverview(f,v){
  var same=ovFilter!==null&&ovFilter.f===f&&JSON.stringify(ovFilter.v)===JSON.stringify(v);
  ovFilter=same?null:{f:f,v:v};
  document.querySelectorAll("#overview .ov-hit").forEach(function(g){
    g.classList.toggle("ov-on",ovFilter!==null&&g.getAttribute("data-f")===ovFilter.f&&g.getAttribute("data-v")===JSON.stringify(ovFilter.v));});
  var note=document.getElementById("ov-note");note.textContent="";
  if(ovFilter!==null){note.appendChild(document.createTextNode("Filtered by "+ovDescribe()+" (in the pairs shown). "));
    var b=el("button",null,"clear");b.addEventListener("click",function(){setOverview(f,v);});note.appendChild(b);}
  renderFamilies();renderReprints();renderPairs();
}
function anyPair(test){for(var i=0;i<D.pairs.length;i++){var p=D.pairs[i];if(ovMatch(p)&&test(p))return true;}return false;}
function sortable(table,rows,render){
  var state={k:null,dir:1};
  table.querySelectorAll("th").forEach(function(th){th.addEventListener("click",function(){
    var k=th.getAttribute("data-k");state.dir=(state.k===k)?-state.dir:(th.classList.contains("num")?-1:1);state.k=k;
    table.querySelectorAll("th").forEach(function(h){h.classList.remove("sorted-asc","sorted-desc");});
    th.classList.add(state.dir>0?"sorted-asc":"sorted-desc");
    rows.sort(function(x,y){var a=x[k],b=y[k];if(a===null||a===undefined)a="";if(b===null||b===undefined)b="";
      return (a<b?-1:a>b?1:0)*state.dir;});
    render();});});
}
var famBody=document.querySelector("#families tbody");
function renderFamilies(){
  famBody.textContent="";
  var withPairs=null;  // with an overview filter: the families of the pairs it keeps
  if(ovFilter!==null){withPairs={};D.pairs.forEach(function(p){var da=D.docs[p.a];if(da&&ovMatch(p))withPairs[da.cluster]=1;});}
  D.families.forEach(function(f){
    if(withPairs!==null&&!withPairs[f.cluster])return;
    var tr=el("tr");tr.dataset.cluster=f.cluster;
    if(famFilter===f.cluster)tr.className="active";
    tr.appendChild(el("td",null,f.cluster));tr.appendChild(el("td","num",f.size));
    tr.appendChild(el("td",null,f.representative));
    var td=el("td",null,f.earliest===null?"unknown":f.earliest);td.title=f.earliest_reason||"";tr.appendChild(td);
    tr.addEventListener("click",function(){famFilter=(famFilter===f.cluster)?null:f.cluster;renderFamilies();renderPairs();if(famFilter)showFamily(f);});
    famBody.appendChild(tr);});
  document.getElementById("fam-note").textContent=(D.shown.families<D.counts.families?"largest "+D.shown.families+" of "+D.counts.families+" families. ":"")+"Click a family to filter the pairs; click a header to sort.";
}
var rcBody=document.querySelector("#reprints tbody");
function renderReprints(){
  rcBody.textContent="";var n=0;
  D.clusters.forEach(function(c){
    if(ovFilter!==null&&ovFilter.f!=="cluster"&&!anyPair(function(p){var m=CL[c.cluster];return !!m[p.a]&&!!m[p.b];}))return;
    n++;var tr=el("tr");tr.dataset.cluster=c.cluster;
    if(ovFilter!==null&&ovFilter.f==="cluster"&&ovFilter.v===c.cluster)tr.className="active";
    tr.appendChild(el("td",null,c.cluster));tr.appendChild(el("td","num",c.documents));tr.appendChild(el("td","num",c.passages));
    tr.appendChild(el("td","snip",c.snippet));
    var td=el("td",null,c.earliest===null?"unknown":c.earliest);td.title=c.earliest_reason||"";tr.appendChild(td);
    tr.addEventListener("click",function(){setOverview("cluster",c.cluster);});
    rcBody.appendChild(tr);});
  document.getElementById("rc-note").textContent=(D.shown.clusters?"the "+D.shown.clusters+" clusters of passages reprinted in the most documents (passages.jsonl has all). ":"No passage is reprinted. ")+"Click one to list the pairs inside it.";
}
var pairBody=document.querySelector("#pairs tbody");
var current=null;
function inFamily(p){if(famFilter===null)return true;var da=D.docs[p.a],db=D.docs[p.b];
  return (da&&da.cluster===famFilter)||(db&&db.cluster===famFilter);}
function renderPairs(){
  pairBody.textContent="";var n=0;
  D.pairs.forEach(function(p){if(!inFamily(p)||!ovMatch(p))return;n++;
    var tr=el("tr");tr.dataset.idx=p.idx;if(current===p.idx)tr.className="active";
    tr.appendChild(el("td",null,p.a));tr.appendChild(el("td",null,p.b));
    var td=el("td");td.appendChild(el("span","rel rel-"+p.relation,p.relation));tr.appendChild(td);
    tr.appendChild(el("td","num",p.words));tr.appendChild(el("td","num",pct(p.cmax)));
    var ltd=el("td","num derived");if(p.derivation){ltd.appendChild(level("a",p.derivation.a));ltd.appendChild(level("b",p.derivation.b));}
    tr.appendChild(ltd);
    var dtd=el("td",null,p.direction);dtd.title=p.direction_reason||"";tr.appendChild(dtd);
    tr.appendChild(el("td","num"+(p.nflags?" flag":""),p.nflags||""));
    tr.addEventListener("click",function(){showPair(p.idx);});
    pairBody.appendChild(tr);});
  var note=(D.shown.pairs<D.counts.pairs?"the "+D.shown.pairs+" pairs sharing the most words, of "+D.counts.pairs+". ":"")+n+" shown"+(famFilter?" in family "+famFilter+" ":"")+(ovFilter?" with "+ovDescribe():"")+".";
  var pn=document.getElementById("pair-note");pn.textContent=note;
  if(famFilter){var b=el("button",null,"show all");b.addEventListener("click",function(){famFilter=null;renderFamilies();renderPairs();});pn.appendChild(document.createTextNode(" "));pn.appendChild(b);}
}
function marked(text,spans){
  // spans: [start,end,cls,title,layer]; layer 0 passages, 1 edits. Split the text at every boundary.
  var cuts={0:1};cuts[text.length]=1;
  spans.forEach(function(s){cuts[s[0]]=1;cuts[s[1]]=1;});
  var pts=Object.keys(cuts).map(Number).filter(function(x){return x>=0&&x<=text.length;}).sort(function(a,b){return a-b;});
  var frag=document.createDocumentFragment();
  for(var i=0;i+1<pts.length;i++){var lo=pts[i],hi=pts[i+1];if(hi<=lo)continue;
    var cls=[],title=[];
    spans.forEach(function(s){if(s[0]<=lo&&hi<=s[1]){cls.push(s[2]);if(s[3])title.push(s[3]);}});
    if(!cls.length){frag.appendChild(document.createTextNode(text.slice(lo,hi)));continue;}
    var sp=el("span",cls.join(" "),text.slice(lo,hi));if(title.length)sp.title=title.join("\n");frag.appendChild(sp);}
  return frag;
}
function showPair(i){
  current=i;var p=BYIDX[i];
  pairBody.querySelectorAll("tr").forEach(function(tr){tr.classList.toggle("active",Number(tr.dataset.idx)===i);});
  var det=document.getElementById("detail");det.textContent="";
  var box=el("div","pair");box.id="pair-view";box.dataset.a=p.a;box.dataset.b=p.b;
  var head=el("div","head");
  function row(k,v,cls){head.appendChild(el("b",null,k));head.appendChild(el("span",cls||null,v));}
  row("pair",p.a+"  \u21c4  "+p.b);
  row("relation",p.relation);
  row("direction",p.direction+" ("+(p.direction_reason||"")+")");
  row("containment","a "+pct(p.containment_a)+" of "+p.a+",  b "+pct(p.containment_b)+" of "+p.b);
  row("similarity",p.similarity.toFixed(2)+" over "+p.passages.length+" passage(s), "+p.words+" shared words");
  function fl(xs){return xs.map(function(d){return "\u201c"+d.a+"\u201d \u2192 \u201c"+d.b+"\u201d";}).join(";  ");}
  if(p.flags.numbers_changed.length)row("numbers changed",fl(p.flags.numbers_changed),"flag");
  if(p.flags.names_changed.length)row("names changed",fl(p.flags.names_changed),"flag");
  if(p.derivation){["a","b"].forEach(function(s){var x=p.derivation[s];
    row(s+" derived",x.level+" from "+p[s==="a"?"b":"a"]+": "+shares(x));});}
  box.appendChild(head);
  var sides=el("div","sides");
  ["a","b"].forEach(function(s){
    var doc=D.docs[p[s]]||{text:""};var col=el("div","side side-"+s);
    var h=el("h3",null,s+": "+p[s]+(doc.title?" \u2014 "+doc.title:"")+(doc.date?"  ("+doc.date+")":"")+(doc.source?"  ["+doc.source+"]":""));
    col.appendChild(h);
    var spans=[];
    p.passages.forEach(function(x,k){var mv=p.moved.indexOf(k)>=0;
      spans.push([x[s+"_start"],x[s+"_end"],"passage passage-"+k+(mv?" moved":""),"passage "+(k+1)+(mv?" (moved: another order on the other side)":"")]);
      x.edits.forEach(function(e){if(e[s+"_end"]>e[s+"_start"])spans.push([e[s+"_start"],e[s+"_end"],"edit e-"+e.kind,e.kind+": \u201c"+e.a+"\u201d \u2192 \u201c"+e.b+"\u201d"]);});});
    col.appendChild(marked(doc.text||"",spans));sides.appendChild(col);});
  box.appendChild(sides);
  var tbl=el("table","edits");var th=el("thead");var hr=el("tr");
  ["passage","a","b","words","edits"].forEach(function(x){hr.appendChild(el("th",null,x));});th.appendChild(hr);tbl.appendChild(th);
  var tb=el("tbody");
  p.passages.forEach(function(x,k){var tr=el("tr");
    tr.appendChild(el("td",null,(k+1)+(p.moved.indexOf(k)>=0?" (moved)":"")));
    tr.appendChild(el("td",null,"["+x.a_start+":"+x.a_end+"]"));tr.appendChild(el("td",null,"["+x.b_start+":"+x.b_end+"]"));
    tr.appendChild(el("td","num",x.words));
    var td=el("td");x.edits.forEach(function(e){var line=el("div");line.appendChild(el("span","e-"+e.kind,e.kind));
      line.appendChild(document.createTextNode(" \u201c"+e.a+"\u201d \u2192 \u201c"+e.b+"\u201d"));td.appendChild(line);});
    tr.appendChild(td);
    tr.addEventListener("click",function(){["a","b"].forEach(function(s){var t=box.querySelector(".side-"+s+" .passage-"+k);if(t)t.scrollIntoView({block:"center"});});});
    tb.appendChild(tr);});
  tbl.appendChild(tb);box.appendChild(tbl);
  if(p.derivation)box.appendChild(sentenceTable(p));
  det.appendChild(box);
}
function rowsOf(d){
  // report.compact_derivation read back as report.expand_derivation reads it: rows
  // [a_start,a_end,b_start,b_end,kind] (-1: no sentence on that side), a link's with its similarity and fragments
  if(d.rows)return d.rows;
  var rows=[],n=d.n,i=0,ea=0,eb=0;
  for(var j=0;j<d.k.length;j++){var c=d.k[j];
    if(c==="a"){var s=ea+n[i];ea=s+n[i+1];rows.push([s,ea,-1,-1,"n"]);i+=2;continue;}
    if(c==="b"){var t=eb+n[i];eb=t+n[i+1];rows.push([-1,-1,t,eb,"n"]);i+=2;continue;}
    var a0=ea+n[i],a1=a0+n[i+1],b0=eb+n[i+2],b1=b0+n[i+1]+n[i+3];ea=a1;eb=b1;i+=4;
    var lc=c.toLowerCase(),sim=1;if(c===lc){sim=n[i]/100;i++;}
    var fr=[],nf=n[i];
    for(var f=0;f<nf;f++){fr.push(a0+n[i+1],a1-n[i+2],b0+n[i+3],b1-n[i+4]);i+=4;}
    i++;rows.push([a0,a1,b0,b1,lc,sim,fr]);}
  d.rows=rows;return rows;
}
function sentenceTable(p){
  var wrap=el("div","derivation"),rows=rowsOf(p.derivation);
  wrap.appendChild(el("h3","deriv","Sentences side by side, in a's order ("+rows.length+" rows)"));
  var t=el("table","sents"),hd=el("thead"),hr=el("tr");
  hr.appendChild(el("th","sa","a: "+p.a));hr.appendChild(el("th","sk","made"));hr.appendChild(el("th","sb","b: "+p.b));
  hd.appendChild(hr);t.appendChild(hd);var tb=el("tbody");
  var ta=(D.docs[p.a]||{}).text||"",tb2=(D.docs[p.b]||{}).text||"";
  function cell(cls,text,lo,hi,fr,off){var td=el("td",cls);if(lo<0)return td;var spans=[];
    for(var j=0;j+3<fr.length;j+=4)spans.push([fr[j+off]-lo,fr[j+off+1]-lo,"frag","verbatim fragment"]);
    td.appendChild(marked(text.slice(lo,hi),spans));td.title="["+lo+":"+hi+"]";return td;}
  rows.forEach(function(r){var fr=r[6]||[];var tr=el("tr","srow k-"+r[4]);
    tr.appendChild(cell("sa",ta,r[0],r[1],fr,0));
    var k=el("td","sk",KIND_NAMES[r[4]]||r[4]);if(r.length>5&&r[5]>=0){k.appendChild(el("br"));k.appendChild(document.createTextNode(r[5].toFixed(2)));}
    tr.appendChild(k);tr.appendChild(cell("sb",tb2,r[2],r[3],fr,2));tb.appendChild(tr);});
  t.appendChild(tb);wrap.appendChild(t);return wrap;
}
@@GENEALOGY_JS@@
sortable(document.getElementById("families"),D.families,renderFamilies);
sortable(document.getElementById("reprints"),D.clusters,renderReprints);
sortable(document.getElementById("pairs"),D.pairs,renderPairs);
document.querySelectorAll("#overview .ov-hit").forEach(function(g){g.addEventListener("click",function(ev){
  ev.preventDefault();setOverview(g.getAttribute("data-f"),JSON.parse(g.getAttribute("data-v")));});});
renderFamilies();renderReprints();renderPairs();renderTimelines();
if(D.pairs.length===0)document.getElementById("detail").appendChild(el("p","note","No pairs share a passage."));
})();
</script>
</body></html>
"""


# the family view (tree, variants, timelines) and the timelines list: drawn from the embedded
# data with DOM calls only (SVG elements by createElementNS, text by textContent)
_GENEALOGY_CSS = r"""
svg.tree{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px;margin:6px 0 10px;background:#fcfcfd}
svg.tree .link{stroke:#7a7a85;stroke-width:1.5;fill:none}svg.tree .link.open{stroke-dasharray:4 3;stroke:#b0b0b8}
svg.tree .node circle{fill:#fff;stroke:#1d6fd8;stroke-width:2;cursor:pointer}svg.tree .node.root circle{fill:#1d6fd8}
svg.tree .node.open circle{stroke:#9a6b00;stroke-dasharray:3 2}svg.tree .node:hover circle{stroke-width:3}
svg.tree text{font:11px system-ui,sans-serif;fill:#1d1d1f}svg.tree text.chg{fill:#b00020;font-size:10px}
table.variants td:first-child,table.tl td:first-child{white-space:nowrap}
.tl-line{display:flex;align-items:center;gap:0;margin:8px 0;flex-wrap:wrap}
.tl-v{border:2px solid #1d6fd8;border-radius:10px;padding:1px 8px;font-size:12px;background:#fff}
.tl-d{flex:0 0 28px;height:2px;background:#7a7a85}
"""

_GENEALOGY_JS = r"""
var SVGNS="http://www.w3.org/2000/svg";
function sv(tag,attrs,text){var e=document.createElementNS(SVGNS,tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=String(text);return e;}
function pairOf(x,y){for(var i=0;i<BYIDX.length;i++){var p=BYIDX[i];if((p.a===x&&p.b===y)||(p.a===y&&p.b===x))return p;}return null;}
function openEdge(child,parent,box){
  // a tree node opens its side-by-side view with its parent (or its first candidate)
  var p=pairOf(child,parent);
  if(p){showPair(p.idx);return;}
  box.appendChild(el("p","note","The pair "+child+" \u21c4 "+parent+" is not among the pairs this report holds; pairs.jsonl has it."));
}
function drawTree(f){
  var L=f.layout,X=112,Y=76,pos={},maxx=0,maxy=0;
  L.nodes.forEach(function(n){pos[n[0]]=n;maxx=Math.max(maxx,n[1]);maxy=Math.max(maxy,n[2]);});
  var w=(maxx+1)*X+40,h=(maxy+1)*Y+36;
  var svg=sv("svg",{"class":"tree","viewBox":"0 0 "+w+" "+h,"width":w,"height":h,"role":"img"});
  svg.appendChild(sv("title",{},"family tree of "+f.cluster));
  function cx(n){return 20+X/2+n[1]*X;}function cy(n){return 22+n[2]*Y;}
  L.links.forEach(function(ln){var lk=[L.nodes[ln[0]][0],L.nodes[ln[1]][0],ln[2]===1];var c=pos[lk[0]],p=pos[lk[1]];if(!c||!p)return;
    var path=sv("path",{"class":"link"+(lk[2]?"":" open"),"d":"M"+cx(p)+","+(cy(p)+7)+" C"+cx(p)+","+(cy(p)+Y/2)+" "+cx(c)+","+(cy(c)-Y/2)+" "+cx(c)+","+(cy(c)-7)});
    path.appendChild(sv("title",{},lk[0]+(lk[2]?" made from ":" may be made from ")+lk[1]));svg.appendChild(path);
    // what changed on the edge, under the child's name
    var e=f.edges[lk[0]];if(lk[2]&&e&&e[3]&&e[3]!=="no change"){var t=e[3];if(t.length>18)t=t.slice(0,17)+"\u2026";
      var ct=sv("text",{"class":"chg","x":cx(c),"y":cy(c)+31,"text-anchor":"middle"},t);ct.appendChild(sv("title",{},e[3]));svg.appendChild(ct);}});
  L.nodes.forEach(function(n){var e=f.edges[n[0]]||[null,[],-1,""];var why=D.reasons[e[2]]||"";
    var open=e[0]===null&&e[1].length>0,root=e[0]===null&&!open;
    var g=sv("g",{"class":"node"+(root?" root":"")+(open?" open":""),"data-id":n[0],"tabindex":"0"});
    g.appendChild(sv("circle",{"cx":cx(n),"cy":cy(n),"r":7}));
    var label=n[0]+(n[3]?" (+"+n[3]+" copies)":"");if(label.length>16)label=label.slice(0,15)+"\u2026";
    g.appendChild(sv("text",{"x":cx(n),"y":cy(n)+19,"text-anchor":"middle"},label));
    g.appendChild(sv("title",{},n[0]+(e[0]?" \u2190 "+e[0]:(open?" \u2190 one of "+e[1].join(", "):" (original)"))+"\n"+why+(e[3]?"\n"+e[3]:"")));
    g.addEventListener("click",function(){var par=e[0]||(e[1].length?e[1][0]:null);
      if(par)openEdge(n[0],par,document.getElementById("family-view")||document.getElementById("detail"));});
    svg.appendChild(g);});
  return svg;
}
function timelineBox(t){
  var box=el("div","timeline");box.dataset.key=t.key;
  box.appendChild(el("h3","deriv","Versions of "+t.key));
  var line=el("div","tl-line");
  t.versions.forEach(function(v,i){if(i)line.appendChild(el("span","tl-d"));var s=el("span","tl-v",v.id+(v.date?" \u00b7 "+v.date:""));line.appendChild(s);});
  box.appendChild(line);
  var tbl=el("table","tl"),tb=el("tbody");
  t.diffs.forEach(function(d){var tr=el("tr");tr.appendChild(el("td",null,d.from+" \u2192 "+d.to));
    var td=el("td");td.appendChild(el("div","note",d.relation+(d.changes?"; "+d.changes:"")));
    d.edits.forEach(function(e){var line=el("div");line.appendChild(el("span","e-"+e[0],e[0]));
      var a=e[1].length>160?e[1].slice(0,159)+"\u2026":e[1],b=e[2].length>160?e[2].slice(0,159)+"\u2026":e[2];
      line.appendChild(document.createTextNode(" \u201c"+a+"\u201d \u2192 \u201c"+b+"\u201d"));td.appendChild(line);});
    if(d.more)td.appendChild(el("div","note","and "+d.more+" more edits (timelines.jsonl)"));
    tr.appendChild(td);tr.addEventListener("click",function(){var p=pairOf(d.from,d.to);if(p)showPair(p.idx);});tb.appendChild(tr);});
  tbl.appendChild(tb);box.appendChild(tbl);return box;
}
function showFamily(f){
  var det=document.getElementById("detail");det.textContent="";
  var box=el("div","family");box.id="family-view";box.dataset.cluster=f.cluster;
  box.appendChild(el("h3","deriv","Family "+f.cluster+": how its "+f.size+" members descend"));
  if(!f.layout){box.appendChild(el("p","note","No tree for this family (clusters.jsonl without trees)."));det.appendChild(box);return;}
  box.appendChild(el("p","note","Click a member to see it side by side with its parent. Dashed: undecided (the member's parent_candidates)."));
  box.appendChild(drawTree(f));
  if(f.variants.length){var t=el("table","variants"),hd=el("thead"),hr=el("tr");
    ["reading","replaces","kind","first in","carried on by"].forEach(function(x){hr.appendChild(el("th",null,x));});hd.appendChild(hr);t.appendChild(hd);
    var tb=el("tbody");f.variants.forEach(function(v){var tr=el("tr");
      [v[2],v[1],v[0],v[3],v[4]+" member(s)"].forEach(function(x,k){var td=el("td",k===2?null:null,x);if(k===2){td.textContent="";td.appendChild(el("span","e-"+v[0],v[0]));}tr.appendChild(td);});
      tb.appendChild(tr);});t.appendChild(tb);box.appendChild(el("h3","deriv","Variant readings"));box.appendChild(t);}
  var members={};Object.keys(f.edges).forEach(function(x){members[x]=1;});
  (D.timelines||[]).forEach(function(t){if(t.versions.some(function(v){return members[v.id];}))box.appendChild(timelineBox(t));});
  det.appendChild(box);
}
function renderTimelines(){
  var body=document.querySelector("#timelines tbody");body.textContent="";var T=D.timelines||[];
  T.forEach(function(t){var tr=el("tr");tr.appendChild(el("td",null,t.key));tr.appendChild(el("td","num",t.versions.length));
    tr.appendChild(el("td",null,t.versions[0].id));tr.appendChild(el("td",null,t.versions[t.versions.length-1].id));
    tr.addEventListener("click",function(){var det=document.getElementById("detail");det.textContent="";det.appendChild(timelineBox(t));});
    body.appendChild(tr);});
  document.getElementById("tl-note").textContent=T.length?"Documents sharing a url (or --version-key), in date order; click one for its diffs.":"No two documents share a url (or --version-key).";
}
"""
