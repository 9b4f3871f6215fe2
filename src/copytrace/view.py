"""Terminal view of a pair (rich): relation, direction, containment, passages side by side."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

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
        if hi > lo:
            out.stylize(STYLES.get(e.kind, "bold"), lo, hi)
    return out


def render_pair(pair: Pair, a: Document, b: Document, console: Console | None = None) -> None:
    console = console or Console()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("relation", f"[bold]{pair.relation}[/]")
    head.add_row("direction", f"{pair.direction}  [dim]({pair.direction_reason})[/]")
    head.add_row("containment", f"a {pair.containment_a:.0%} of {a.id}   b {pair.containment_b:.0%} of {b.id}")
    head.add_row("similarity", f"{pair.similarity:.2f} over {len(pair.passages)} passage(s)")
    if pair.numbers_changed:
        head.add_row("numbers changed", ", ".join(f"{d['a']!r} → {d['b']!r}" for d in pair.numbers_changed))
    if pair.names_changed:
        head.add_row("names changed", ", ".join(f"{d['a']!r} → {d['b']!r}" for d in pair.names_changed))
    console.print(Panel(head, title=f"[b]{a.id}[/] ⇄ [b]{b.id}[/]", expand=False))
    for k, p in enumerate(pair.passages, 1):
        table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
        table.add_column(f"a [{p.a_start}:{p.a_end}]", ratio=1)
        table.add_column(f"b [{p.b_start}:{p.b_end}]", ratio=1)
        table.add_row(_side(a.text, p, "a"), _side(b.text, p, "b"))
        edits = Text()
        for e in p.edits:
            edits.append(f"{e.kind}: ", style=STYLES.get(e.kind, "bold"))
            edits.append(f"{e.a!r} → {e.b!r}\n")
        parts: list[Table | Text] = [table]
        if p.edits:
            parts.append(edits)
        console.print(
            Panel(Group(*parts), title=f"passage {k}: {p.words} shared words, similarity {p.similarity:.2f}")
        )
    if pair.passages:
        console.print(Text.from_markup("edits: " + LEGEND))
