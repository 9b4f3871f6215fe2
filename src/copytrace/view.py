"""Terminal view of a pair (rich): relation, direction, containment, passages side by side, then
the pair's derivation: which sentences of one text were made from which of the other.

The explanations are the ones in the pair record (``explain``): each edit highlighted by kind on
both sides, changed numbers and names listed with their offsets, passages standing in another
order on the two sides marked as moved (``relate.moved_passages``).

``sentence_rows`` lays a derivation out as rows of a side-by-side table (a sentence of ``a``, how
it was made, the sentence of ``b``; new sentences of either side in rows of their own): this
view, ``report.html`` and the web page all show these rows."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .relate import moved_passages
from .types import Document, Pair, Passage

STYLES = {
    "spelling": "bold yellow",
    "number": "bold white on red",
    "name": "bold magenta",
    "rewording": "bold cyan",
    "insert": "bold green",
    "delete": "bold red",
    "quote": "underline",
    "punctuation": "underline",
    "moved": "bold blue",
}
LEGEND = "  ".join(f"[{style}]{kind}[/]" for kind, style in STYLES.items())

# how a sentence was made (the derivation's kinds) and the verbatim fragments inside it
KIND_STYLES = {"verbatim": "green", "partly_verbatim": "yellow", "rewritten": "cyan", "new": "dim"}
FRAGMENT_STYLE = "bold underline"
LEVELS = {"wholly": "wholly derived from", "partially": "partly derived from", "non": "not derived from"}
MAX_SENTENCE = 360  # characters of a sentence the terminal shows; a longer one keeps both ends
_FLAT = str.maketrans("\n\r\t\v\f\u2028\u2029", "       ")  # one character each: offsets hold

Span = tuple[int, int]
Fragment = tuple[int, int, int, int]


class SentenceRow(NamedTuple):
    """One row of the side-by-side sentence table: a link between a sentence of ``a`` and one of
    ``b`` (``kind`` verbatim, rewritten or partly_verbatim, with the link's verbatim
    ``fragments`` as (a_start, a_end, b_start, b_end)), or a sentence of one side that no link
    holds (``kind`` new, the other side None). Offsets are half-open ``str`` indices."""

    a: Span | None
    b: Span | None
    kind: str
    similarity: float | None = None
    fragments: tuple[Fragment, ...] = ()


def derivation_of(pair: Any) -> dict[str, Any] | None:
    """A pair's derivation as its JSON dict, from a ``Pair`` or a pair record; None if it has none."""
    d = pair.get("derivation") if isinstance(pair, Mapping) else getattr(pair, "derivation", None)
    if d is None:
        return None
    return d.to_dict() if hasattr(d, "to_dict") else dict(d)


def _unlinked(spans: Sequence[Span], linked: Sequence[Span]) -> list[Span]:
    """The non-empty ``spans``, in order, that overlap none of the ``linked`` ranges."""
    merged: list[list[int]] = []
    for s, e in sorted(x for x in linked if x[1] > x[0]):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    ends = [e for _, e in merged]
    out = []
    for s, e in sorted(spans):
        k = bisect_right(ends, s)  # the first linked range ending after s
        if e > s and not (k < len(merged) and merged[k][0] < e):
            out.append((s, e))
    return out


def sentence_rows(
    derivation: Mapping[str, Any], spans_a: Sequence[Span], spans_b: Sequence[Span]
) -> list[SentenceRow]:
    """The derivation as table rows in ``a``'s order: each link (a sentence in several links, a
    merge or a split, has a row for each), each new sentence of ``a`` at its place, and each new
    sentence of ``b`` after the row of the link that precedes it in ``b`` (first if none does).
    ``spans_a`` and ``spans_b`` are the sentences of each text (``derive.sentence_spans``)."""
    links = list(derivation.get("sentences", ()))
    # (a_start, a_end, b_start, b_end, the link's place): a's order, then b's; the place, never
    # equal, settles the rest (a tuple sort, no key function: this runs for a report's 1000 pairs)
    keys = sorted((x["a_start"], x["a_end"], x["b_start"], x["b_end"], i) for i, x in enumerate(links))
    new_a = [(s, e, -1, -1, -1) for s, e in _unlinked(spans_a, [(k[0], k[1]) for k in keys])]
    order = sorted(keys + new_a) if new_a else keys
    ends = sorted((k[3], r) for r, k in enumerate(order) if k[4] >= 0)
    b_ends = [e for e, _ in ends]
    after: dict[int, list[SentenceRow]] = {}
    for s in _unlinked(spans_b, [(k[2], k[3]) for k in keys]):
        j = bisect_right(b_ends, s[0]) - 1  # the link of b ending last at or before s
        after.setdefault(ends[j][1] if j >= 0 else -1, []).append(SentenceRow(None, s, "new"))
    out = list(after.get(-1, ()))
    for r, k in enumerate(order):
        if k[4] < 0:
            out.append(SentenceRow((k[0], k[1]), None, "new"))
        else:
            x = links[k[4]]
            frags = tuple(
                (f["a_start"], f["a_end"], f["b_start"], f["b_end"]) for f in x.get("fragments", ())
            )
            out.append(SentenceRow((k[0], k[1]), (k[2], k[3]), x["kind"], x.get("similarity"), frags))
        if r in after:
            out.extend(after[r])
    return out


def derivation_rows(derivation: Mapping[str, Any], text_a: str, text_b: str) -> list[SentenceRow]:
    """``sentence_rows`` with each text cut into sentences by ``derive.sentence_spans``."""
    from .derive import sentence_spans

    return sentence_rows(derivation, sentence_spans(text_a), sentence_spans(text_b))


def _side(text: str, passage: Passage, side: str) -> Text:
    start = passage.a_start if side == "a" else passage.b_start
    end = passage.a_end if side == "a" else passage.b_end
    out = Text(text[start:end])
    for e in passage.edits:
        lo = (e.a_start if side == "a" else e.b_start) - start
        hi = (e.a_end if side == "a" else e.b_end) - start
        lo, hi = max(lo, 0), min(hi, end - start)
        if hi > lo:
            out.stylize(STYLES.get(e.kind, "bold"), lo, hi)
    return out


def _flags(changes: tuple[dict[str, object], ...]) -> str:
    return "; ".join(
        f"{d['a']!r} → {d['b']!r} (a {d['a_start']}:{d['a_end']}, b {d['b_start']}:{d['b_end']})"
        for d in changes
    )


def render_pair(pair: Pair, a: Document, b: Document, console: Console | None = None) -> None:
    console = console or Console()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("relation", f"[bold]{pair.relation}[/]")
    head.add_row("direction", f"{pair.direction}  [dim]({pair.direction_reason})[/]")
    head.add_row(
        "containment", f"a {pair.containment_a:.0%} of {a.id}   b {pair.containment_b:.0%} of {b.id}"
    )
    head.add_row("similarity", f"{pair.similarity:.2f} over {len(pair.passages)} passage(s)")
    if pair.numbers_changed:
        head.add_row("numbers changed", _flags(pair.numbers_changed), style="bold red")
    if pair.names_changed:
        head.add_row("names changed", _flags(pair.names_changed), style="bold magenta")
    console.print(Panel(head, title=f"[b]{a.id}[/] ⇄ [b]{b.id}[/]", expand=False))
    moved = moved_passages(pair.passages)
    for k, p in enumerate(pair.passages, 1):
        table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
        table.add_column(f"a [{p.a_start}:{p.a_end}]", ratio=1)
        table.add_column(f"b [{p.b_start}:{p.b_end}]", ratio=1)
        table.add_row(_side(a.text, p, "a"), _side(b.text, p, "b"))
        edits = Text()
        for e in p.edits:
            edits.append(f"{e.kind}: ", style=STYLES.get(e.kind, "bold"))
            edits.append(f"{e.a!r} → {e.b!r}  [a {e.a_start}:{e.a_end}, b {e.b_start}:{e.b_end}]\n")
        parts: list[Table | Text] = [table]
        if p.edits:
            parts.append(edits)
        console.print(
            Panel(
                Group(*parts),
                title=f"passage {k}: {p.words} shared words, similarity {p.similarity:.2f}"
                + (" [bold blue](moved: another order in b)[/]" if k - 1 in moved else ""),
            )
        )
    if pair.passages:
        console.print(Text.from_markup("edits: " + LEGEND))
    derivation = derivation_of(pair)
    if derivation is not None:
        render_derivation(derivation, a, b, console)


def _shares(side: str, doc: Document, other: Document, shares: Mapping[str, Any]) -> Text:
    out = Text.assemble((f"{side} ", "bold"), f"{doc.id}:")
    for key in ("verbatim", "rewritten", "new"):
        out.append(f"  {key} ")
        out.append(f"{float(shares.get(key, 0.0)):.0%}", style="bold " + KIND_STYLES[key])
    level = str(shares.get("level", ""))
    out.append("  → ")
    out.append(LEVELS.get(level, level), style="bold")
    out.append(f" {other.id}")
    return out


def _sentence(text: str, span: Span | None, fragments: tuple[Fragment, ...], side: str) -> Text:
    """One sentence on one line-wrapped cell, its verbatim fragments marked; a sentence longer
    than ``MAX_SENTENCE`` keeps its first two thirds and last third around an ellipsis."""
    if span is None:
        return Text()
    s, e = span
    out = Text(text[s:e].translate(_FLAT))
    for f in fragments:
        lo, hi = (f[0], f[1]) if side == "a" else (f[2], f[3])
        lo, hi = max(lo - s, 0), min(hi - s, e - s)
        if hi > lo:
            out.stylize(FRAGMENT_STYLE, lo, hi)
    if len(out) > MAX_SENTENCE:
        head, _, tail = out.divide([MAX_SENTENCE * 2 // 3, len(out) - MAX_SENTENCE // 3])
        out = Text.assemble(head, (f" … [{e - s - len(head) - len(tail)} characters] … ", "dim italic"), tail)
    return out


def render_derivation(
    derivation: Mapping[str, Any], a: Document, b: Document, console: Console | None = None
) -> None:
    """The derivation section: each side's verbatim / rewritten / new shares and level, then the
    sentences side by side in ``a``'s order (``sentence_rows``), verbatim fragments marked and
    new sentences dimmed."""
    console = console or Console()
    parts: list[Text | Table] = [
        _shares("a", a, b, derivation.get("a", {})),
        _shares("b", b, a, derivation.get("b", {})),
    ]
    rows = derivation_rows(derivation, a.text, b.text)
    if any(r.kind != "new" for r in rows):
        table = Table(show_header=True, header_style="bold", expand=True, show_lines=True)
        table.add_column("a", ratio=1)
        table.add_column("made")
        table.add_column("b", ratio=1)
        for r in rows:
            kind = Text(r.kind.replace("_", "\n"), style=KIND_STYLES.get(r.kind, "bold"))
            if r.similarity is not None:
                kind.append(f"\n{r.similarity:.2f}", style="dim")
            table.add_row(
                _sentence(a.text, r.a, r.fragments, "a"),
                kind,
                _sentence(b.text, r.b, r.fragments, "b"),
                style="dim" if r.kind == "new" else None,
            )
        parts.append(table)
    else:
        parts.append(Text("No sentence of either text was made from the other.", style="dim"))
    console.print(Panel(Group(*parts), title="[b]derivation[/]: sentences side by side, in a's order"))
    console.print(
        Text.from_markup(
            "sentences: "
            + "  ".join(f"[{style}]{kind.replace('_', ' ')}[/]" for kind, style in KIND_STYLES.items())
            + f"  [{FRAGMENT_STYLE}]verbatim fragment[/]"
        )
    )
