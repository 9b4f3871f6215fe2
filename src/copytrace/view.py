"""Terminal view of a pair (rich): relation, direction, containment, passages side by side.

The explanations are the ones in the pair record (``explain``): each edit highlighted by kind on
both sides, changed numbers and names listed with their offsets, passages standing in another
order on the two sides marked as moved (``relate.moved_passages``)."""

from __future__ import annotations

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
