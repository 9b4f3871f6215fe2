"""Families of documents from shared passages.

Plain connected components over all pairs chain unrelated stories through one shared
boilerplate line. Here every document links only to

* every neighbour it is a (near-)duplicate of, contains or is contained in, and
* the neighbour it shares the most words with (its strongest partial link),

and families are the connected components of those links. A wire story quoted paragraph by
paragraph by several papers gathers them all (each paper's strongest link is the wire), while
two papers that share one boilerplate sentence stay apart (each one's strongest link is its own
source). The representative is the member sharing the most words with the rest; the earliest
source comes from dates, then wire datelines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .relate import parse_date
from .types import Family

STRONG = ("duplicate", "near_duplicate", "a_contains_b", "b_contains_a")


@dataclass(frozen=True, slots=True)
class Edges:
    """Compact pair summaries: document indices, relation, shared words."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    strong: np.ndarray  # bool
    words: np.ndarray  # int64


def _find(parent: np.ndarray, x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


def components(n_docs: int, edges: Edges, min_family_words: int) -> np.ndarray:
    """Family label (smallest member index) per document; -1 for documents in no family."""
    parent = np.arange(n_docs, dtype=np.int64)
    has_edge = np.zeros(n_docs, dtype=np.bool_)
    links: list[tuple[int, int]] = []
    for a, b in zip(edges.a[edges.strong].tolist(), edges.b[edges.strong].tolist(), strict=True):
        links.append((a, b))
    weak = (~edges.strong) & (edges.words >= min_family_words)
    if weak.any():
        wa, wb, ww = edges.a[weak], edges.b[weak], edges.words[weak]
        # strongest link per document: most words, then smallest neighbour index
        ends = np.concatenate((wa, wb))
        other = np.concatenate((wb, wa))
        weight = np.concatenate((ww, ww))
        order = np.lexsort((other, -weight, ends))
        first = np.concatenate(([True], ends[order][1:] != ends[order][:-1]))
        for x, y in zip(ends[order][first].tolist(), other[order][first].tolist(), strict=True):
            links.append((x, y))
    for a, b in links:
        has_edge[a] = has_edge[b] = True
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    labels = np.array([_find(parent, i) for i in range(n_docs)], dtype=np.int64)
    labels[~has_edge] = -1
    return labels


def families(
    labels: np.ndarray,
    ids: list[str],
    dates: list[str | None],
    wire: list[bool],
    edges: Edges,
) -> list[Family]:
    """Family records for every label >= 0, in order of their first member."""
    n = len(ids)
    share = np.zeros(n, dtype=np.int64)
    np.add.at(share, edges.a, edges.words)
    np.add.at(share, edges.b, edges.words)
    out: list[Family] = []
    members_of: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab >= 0:
            members_of.setdefault(lab, []).append(i)
    for k, (_lab, members) in enumerate(sorted(members_of.items())):
        rep = max(members, key=lambda m: (share[m], -m))
        earliest, reason = _earliest(members, ids, dates, wire)
        out.append(
            Family(
                id=f"f{k:06d}",
                members=tuple(ids[m] for m in members),
                representative=ids[rep],
                earliest=earliest,
                earliest_reason=reason,
            )
        )
    return out


def _earliest(members: list[int], ids: list[str], dates: list[str | None], wire: list[bool]) -> tuple[str | None, str]:
    dated = [(d, m) for m in members if (d := parse_date(dates[m])) is not None]
    if dated:
        dated.sort()
        if len(dated) == 1 or dated[0][0] < dated[1][0]:
            return ids[dated[0][1]], f"earliest date {dates[dated[0][1]]}"
    wires = [m for m in members if wire[m]]
    if len(wires) == 1:
        return ids[wires[0]], "the only member with a wire dateline"
    return None, "no evidence"
