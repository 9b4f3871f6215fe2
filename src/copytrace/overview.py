"""The overview: what a scan (or an index) holds, in five small charts drawn as inline SVG.

* relations by count;
* a histogram of containment (the larger of a pair's two containments, in tenths);
* reuse over time: pairs by the date of the later document (the later of the dates known), by
  day, month or year as the dates' range asks; when dates exist;
* who copies whom: sources (outlets) as a matrix, each cell the pairs whose direction says the
  row's source was copied by the column's (pairs of unknown direction are counted aside); when
  sources exist;
* the top reprint clusters (``passages.py``) by documents.

``facts`` computes them from every pair (arrays from ``passages.read_pair_table`` or the index),
not only the pairs a report shows. ``svg`` draws them: every bar or cell carries ``data-f`` (what
it filters: ``relation``, ``cont``, ``when``, ``flow``, ``cluster``) and ``data-v`` (the value, as
JSON), which the report's script turns into a filter of its tables; the web page wraps each in a
link to the filtered list. Only constants and escaped values become markup; nothing is fetched.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np

from .relate import parse_date
from .types import RELATIONS

BINS = 10
TOP_SOURCES = 10
TOP_CLUSTERS = 10


def day_numbers(dates: Sequence[str | None]) -> np.ndarray:
    """Each date as a day number (``date.toordinal``), -1 where there is none or it does not parse."""
    cache: dict[str, int] = {}
    out = np.full(len(dates), -1, dtype=np.int64)
    for k, d in enumerate(dates):
        if d is None:
            continue
        v = cache.get(d)
        if v is None:
            parsed = parse_date(d)
            v = cache[d] = -1 if parsed is None else parsed.toordinal()
        out[k] = v
    return out


def time_unit(days: np.ndarray) -> str:
    """``day`` for dates within three months, ``year`` past twenty years, else ``month``."""
    known = days[days >= 0]
    if known.shape[0] == 0:
        return "month"
    span = int(known.max() - known.min())
    return "day" if span <= 92 else "year" if span > 20 * 366 else "month"


def time_key(day: int, unit: str) -> str | None:
    """The bin of a day number: ``2018-03-07``, ``2018-03`` or ``2018``."""
    if day < 0:
        return None
    d = date.fromordinal(int(day))
    return (
        d.isoformat()
        if unit == "day"
        else f"{d.year:04d}-{d.month:02d}"
        if unit == "month"
        else f"{d.year:04d}"
    )


def later_day(days: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The later of the two documents' day numbers (the one known, if one is; -1 if none)."""
    da = np.where(a >= 0, days[np.maximum(a, 0)], -1)
    db = np.where(b >= 0, days[np.maximum(b, 0)], -1)
    return np.maximum(da, db)


def flow_of(direction: str, source_a: str | None, source_b: str | None) -> list[str] | None:
    """[source copied, source copying] of a pair, when its direction and both sources are known."""
    if source_a is None or source_b is None:
        return None
    if direction == "a_to_b":
        return [source_a, source_b]
    if direction == "b_to_a":
        return [source_b, source_a]
    return None


def containment_bin(ca: float, cb: float) -> int:
    return min(BINS - 1, int(max(ca, cb) * BINS))


def facts(
    a: np.ndarray,
    b: np.ndarray,
    relation: Sequence[str],
    direction: Sequence[str],
    containment_a: np.ndarray,
    containment_b: np.ndarray,
    dates: Sequence[str | None],
    sources: Sequence[str | None],
    clusters: list[dict[str, Any]],
) -> dict[str, Any]:
    """The overview's numbers from every pair: ``a``, ``b`` input indices; ``relation`` and
    ``direction`` per pair; ``clusters``: the top reprint clusters' records."""
    n = int(a.shape[0])
    got: dict[str, int] = {}
    for r in relation:
        got[r] = got.get(r, 0) + 1
    relations: list[list[Any]] = [[r, got.pop(r)] for r in RELATIONS if r in got]
    relations += sorted([k, v] for k, v in got.items())
    cmax = np.maximum(containment_a, containment_b) if n else np.zeros(0)
    hist = np.bincount(np.minimum((cmax * BINS).astype(np.int64), BINS - 1), minlength=BINS).tolist()
    days = day_numbers(dates)
    when = None
    if n and (days >= 0).any():
        unit = time_unit(days)
        later = later_day(days, a, b)
        known = later[later >= 0]
        if known.shape[0]:
            # every bin from the first to the last, empty ones included (a gap in time shows)
            keys = {time_key(v, unit) or "": 0 for v in range(int(known.min()), int(known.max()) + 1)}
            values, counts = np.unique(known, return_counts=True)
            for v, c in zip(values.tolist(), counts.tolist(), strict=True):
                k = time_key(v, unit) or ""
                keys[k] += c
            when = {
                "unit": unit,
                "bins": [[k, v] for k, v in keys.items()],
                "undated": int(n - known.shape[0]),
            }
    flows = None
    if n and any(s is not None for s in sources):
        cells: dict[tuple[str, str], int] = {}
        per_source: dict[str, int] = {}
        unknown = 0
        src = list(sources)
        for x, y, d in zip(a.tolist(), b.tolist(), direction, strict=True):
            f = flow_of(d, src[x] if x >= 0 else None, src[y] if y >= 0 else None)
            if f is None:
                unknown += 1
                continue
            key = (f[0], f[1])
            cells[key] = cells.get(key, 0) + 1
            per_source[f[0]] = per_source.get(f[0], 0) + 1
            per_source[f[1]] = per_source.get(f[1], 0) + 1
        top = [s for s, _ in sorted(per_source.items(), key=lambda t: (-t[1], t[0]))[:TOP_SOURCES]]
        flows = {
            "sources": top,
            "cells": sorted([f, t, c] for (f, t), c in cells.items() if f in top and t in top),
            "others": int(sum(c for (f, t), c in cells.items() if f not in top or t not in top)),
            "undirected": unknown,
        }
    return {
        "pairs": n,
        "relations": relations,
        "containment": hist,
        "when": when,
        "flows": flows,
        "clusters": [
            {
                "cluster": c["cluster"],
                "documents": c["size"]["documents"],
                "passages": c["size"]["passages"],
                "snippet": c["snippet"][:80],
            }
            for c in clusters[:TOP_CLUSTERS]
        ],
    }


# ---------------------------------------------------------------- drawing

Link = Callable[[str, Any], str | None]

_W, _H = 300, 150


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _hit(kind: str, value: Any, inner: str, label: str, link: Link | None) -> str:
    """A clickable chart element: ``data-f``/``data-v`` for the report's script, a tooltip, and
    (``link`` given) a link to the filtered list."""
    v = _esc(json.dumps(value, ensure_ascii=False))
    body = f'<g class="ov-hit" data-f="{kind}" data-v="{v}"><title>{_esc(label)}</title>{inner}</g>'
    href = link(kind, value) if link is not None else None
    return f'<a href="{_esc(href)}">{body}</a>' if href else body


def _frame(title: str, body: str, cls: str, note: str = "", width: int = _W, height: int = _H) -> str:
    return (
        f'<figure class="ov-chart {cls}"><figcaption>{_esc(title)}'
        + (f' <span class="ov-note">{_esc(note)}</span>' if note else "")
        + f'</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_esc(title)}">{body}</svg></figure>'
    )


def _bars(items: list[tuple[str, int, str, Any, str]], link: Link | None, height: int = _H) -> str:
    """Vertical bars: (label, count, kind, value, tooltip) each."""
    if not items:
        return '<text x="10" y="20" class="ov-empty">none</text>'
    top = max(c for _, c, *_ in items) or 1
    n = len(items)
    slot = (_W - 10) / n
    out = []
    for k, (label, count, kind, value, tip) in enumerate(items):
        h = 0 if count == 0 else max(1.0, (height - 34) * count / top)
        x = 5 + k * slot
        rect = (
            f'<rect class="ov-bar" x="{x + slot * 0.1:.1f}" y="{height - 18 - h:.1f}" '
            f'width="{slot * 0.8:.1f}" height="{h:.1f}"/>'
        )
        text = (
            f'<text class="ov-n" x="{x + slot / 2:.1f}" y="{height - 21 - h:.1f}">{count}</text>'
            if n <= 16
            else ""
        )
        axis = (
            f'<text class="ov-x" x="{x + slot / 2:.1f}" y="{height - 5}">{_esc(label)}</text>'
            if n <= 12 or k % -(-n // 6) == 0
            else ""
        )
        if count == 0:  # nothing to filter to
            out.append(axis)
            continue
        # the whole slot is the target, so thin bars are easy to hit
        hit = f'<rect class="ov-slot" x="{x:.1f}" y="0" width="{slot:.1f}" height="{height}"/>'
        out.append(_hit(kind, value, hit + rect + text, tip, link) + axis)
    return "".join(out)


_SHORT = {"duplicate": "dup", "near_duplicate": "near", "a_contains_b": "a⊃b", "b_contains_a": "b⊃a"}


def svg(f: dict[str, Any], link: Link | None = None) -> str:
    """The overview's charts (HTML: figures holding inline SVG) from ``facts``."""
    parts = []
    rel = [(_SHORT.get(r, r[:7]), c, "relation", r, f"{r}: {c:,} pairs") for r, c in f["relations"]]
    parts.append(_frame(f"Relations ({f['pairs']:,} pairs)", _bars(rel, link), "ov-relations"))
    cont = [
        (f".{k}" if k else "0", c, "cont", k, f"containment {k / BINS:.1f}-{(k + 1) / BINS:.1f}: {c:,} pairs")
        for k, c in enumerate(f["containment"])
    ]
    parts.append(_frame("Containment (larger side)", _bars(cont, link), "ov-containment"))
    when = f.get("when")
    if when:
        cut = {"day": 5, "month": 2}.get(when["unit"], 0)  # 03-08 (a day), 18-03 (a month), 2018
        items = [(k[cut:], c, "when", k, f"{k}: {c:,} pairs") for k, c in when["bins"]]
        note = f"{when['undated']:,} undated" if when["undated"] else ""
        parts.append(
            _frame(
                f"Reuse over time (by {when['unit']} of the later document)",
                _bars(items, link),
                "ov-time",
                note,
            )
        )
    else:
        parts.append(
            _frame("Reuse over time", '<text x="10" y="20" class="ov-empty">no dates</text>', "ov-time")
        )
    parts.append(_flows(f.get("flows"), link))
    parts.append(_clusters(f.get("clusters", []), link))
    return '<div class="ov" id="overview">' + "".join(parts) + "</div>"


def _flows(flows: dict[str, Any] | None, link: Link | None) -> str:
    title = "Who copies whom (row copied by column)"
    if not flows or not flows["sources"]:
        return _frame(
            title, '<text x="10" y="20" class="ov-empty">no sources or no direction</text>', "ov-flows"
        )
    names = flows["sources"]
    n = len(names)
    label_w, cell = 90, min(20, (_W - 95) // max(n, 1))
    head = 46  # room for the columns' names, slanted
    height = head + n * cell + 4
    top = max((c for *_, c in flows["cells"]), default=1) or 1
    out = []
    for k, s in enumerate(names):
        out.append(
            f'<text class="ov-y" x="{label_w - 4}" y="{head + k * cell + cell * 0.7:.1f}">{_esc(s[:14])}</text>'
        )
        x = label_w + k * cell + cell / 2
        y = head - 4
        out.append(
            f'<text class="ov-x ov-col" x="{x:.1f}" y="{y}" transform="rotate(-60 {x:.1f} {y})">{_esc(s[:9])}</text>'
        )
    at = {s: k for k, s in enumerate(names)}
    for src, dst, c in flows["cells"]:
        i, j = at[src], at[dst]
        shade = 0.15 + 0.85 * (c / top)
        rect = (
            f'<rect class="ov-cell" x="{label_w + j * cell}" y="{head + i * cell}" width="{cell - 1}" '
            f'height="{cell - 1}" fill-opacity="{shade:.2f}"/>'
        )
        out.append(_hit("flow", [src, dst], rect, f"{src} copied by {dst}: {c:,} pairs", link))
    note = f"{flows['undirected']:,} pairs of unknown direction or source"
    if flows["others"]:
        note += f", {flows['others']:,} with other sources"
    return _frame(title, "".join(out), "ov-flows", note, height=max(height, 60))


def _clusters(clusters: list[dict[str, Any]], link: Link | None) -> str:
    title = "Top reprint clusters (documents)"
    if not clusters:
        return _frame(
            title, '<text x="10" y="20" class="ov-empty">no reprinted passage</text>', "ov-clusters"
        )
    width = 2 * _W
    row = 18
    top = max(c["documents"] for c in clusters) or 1
    out = []
    for k, c in enumerate(clusters):
        y = 4 + k * row
        w = max(2.0, 120 * c["documents"] / top)
        inner = (
            f'<rect class="ov-slot" x="0" y="{y}" width="{width}" height="{row}"/>'
            f'<rect class="ov-bar" x="0" y="{y + 3}" width="{w:.1f}" height="{row - 6}"/>'
            f'<text class="ov-n" x="{w + 4:.1f}" y="{y + row - 5}" text-anchor="start">{c["documents"]}</text>'
            f'<text class="ov-snip" x="150" y="{y + row - 5}">{_esc(c["cluster"])} · {_esc(c["snippet"][:60])}</text>'
        )
        tip = f"{c['cluster']}: {c['documents']} documents, {c['passages']} passages: {c['snippet']}"
        out.append(_hit("cluster", c["cluster"], inner, tip, link))
    return _frame(title, "".join(out), "ov-clusters", width=width, height=8 + len(clusters) * row)


STYLE = (
    ".ov{display:flex;flex-wrap:wrap;gap:10px 16px;padding:8px 0}"
    ".ov-chart{margin:0;font:11px system-ui,sans-serif}.ov-chart figcaption{font-weight:600;margin-bottom:2px}"
    ".ov-note{font-weight:400;color:#6b6b70}"
    ".ov-chart svg{display:block;background:#fafafc;border:1px solid #e4e4e8;border-radius:4px}"
    ".ov-bar{fill:#5b7fd1}.ov-cell{fill:#c0392b}.ov-slot{fill:transparent}"
    ".ov-hit{cursor:pointer}.ov-hit:hover .ov-bar{fill:#2d4fa0}.ov-hit:hover .ov-slot{fill:#eef0f8}"
    ".ov-hit.ov-on .ov-bar{fill:#e67e22}.ov-hit.ov-on .ov-cell{stroke:#e67e22;stroke-width:2}"
    ".ov-hit.ov-on .ov-slot{fill:#fff3e0}"
    ".ov-n{font-size:9px;text-anchor:middle;fill:#333}.ov-x{font-size:9px;text-anchor:middle;fill:#555}"
    ".ov-col{text-anchor:start}.ov-y{font-size:9px;text-anchor:end;fill:#555}.ov-snip{font-size:10px;fill:#333}"
    ".ov-empty{font-size:11px;fill:#888}"
)
