"""Story genealogy: which copy of a family was made from which, and what changed along the way.

A family (``cluster.py``) says which documents share a story; this stage says how they descend
from one another. Every member gets a ``parent`` (the member it was most likely made from) or
none, with the reason, and every edge carries a summary of what changed along it; each variant
reading (the figure 780 against 68) is named with the member where it first appears and the
members that inherited it.

It reads only the pairs the scan already aligned (``pairs.jsonl`` rows, or ``Pair.to_dict()``):
no pair is compared again, and a family costs time in proportion to its pairs.

The evidence, in this order (the issue's; textual criticism's "stemma" reasoning, Maas 1927, with
the shared-variant rule of Lachmann's method read as parsimony, Fitch 1971):

1. **dates**: a parent is never published later than its child. Arcs from a later to an earlier
   document are never drawn, and an order of undated members that would put a later date above an
   earlier one (through them) is refused.
2. **shared variants**: each pair's differences are counted as *events* (one edit, one passage
   cut or added, whatever its length, from the pair's passages and edits). A copy of a copy
   carries its parent's edits, so it is fewer events from its parent than from its grandparent:
   the tree is the spanning arborescence with the fewest events (Chu & Liu 1965; Edmonds 1967),
   built over the aligned pairs only.
3. **containment**: where no date orders a link, the excerpt (held whole in the other text, of
   which it holds at most ``EXCERPT_SHARE``) descends from the fuller text;
4. **wire datelines and agency sources**: the pair's own ``direction`` when it rests on them
   (``relate.direction``). A credit in the text is no evidence between two copies ("Reuters
   said" reworded in one copy would make it the other's source).

Dates orient a link outright; a member whose parent is known passes the orientation on to its
other links (in a tree each member has one parent). What is still open after that is decided
only where a single arrangement agrees with the dates; otherwise ``parent`` is null and
``parent_candidates`` lists every member that could be the parent. A member equally close (in
events) to two possible parents is likewise left open with both. Nothing is guessed silently.

Identical copies (``duplicate`` pairs) are one node: the earliest copy stands in the tree and the
others hang from it, so a story syndicated whole to hundreds of outlets is one node and not a
quadratic tangle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .relate import CONTAINS_ALL, parse_date
from .types import Document, Family, Pair, Settings

# a stretch of text outside every passage counts as a passage cut or added from this many
# characters (about three words: less is punctuation or a stray word at a passage's edge)
GAP_CHARS = 24
# edit kinds that are readings (a variant is one of these substitutions)
READING_KINDS = ("number", "name", "spelling", "rewording")
# a stretch outside the passages counts as a passage cut or added only with at least this many
# new words (by the pair's derivation) for it
GAP_WORDS = 8
# words outside the passages that weigh one event more (a paragraph cut or added costs one event
# for the stretch and about one more for its length)
WORDS_PER_EVENT = 80
# an excerpt (containment evidence): held whole (``relate.CONTAINS_ALL``) in a text of which it
# holds at most this share. A text holding another whole plus a paragraph may be a copy that
# added the paragraph as well as the source of one that cut it: no evidence either way
EXCERPT_SHARE = 0.6
# what one edit of a kind costs in events (quote and punctuation changes are half an event: an
# outlet's house style changes many at once)
_EVENT = {"quote": 0.5, "punctuation": 0.5}
# a copy link joins texts one of which holds at least this share of its words in the other (a
# paragraph cut or added keeps it near 1; two stories sharing a paragraph stay far below)
MIN_COPY_SHARE = 0.5
# two possible parents this close in events are a tie: the member's parent is left open
TIE = 0.5
# a member made from one of at most this many identical copies names them all as candidates
# (no text tells which one it was); past it the first copy stands for them
MAX_COPY_CANDIDATES = 8
# in a family of more than this many distinct texts, each keeps only its ``MAX_INCOMING`` closest
# possible parents for the search (``_cheapest_incoming``)
SPARSE_NODES = 48
MAX_INCOMING = 12
_BIG = 1 << 40


@dataclass(frozen=True, slots=True)
class Member:
    """What the genealogy knows of a member: its id, date and text length in characters (None
    when unknown: a passage at the end of the text is then not counted as cut or added)."""

    id: str
    date: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class TreeEdge:
    """A member and the member it was made from (``parent``; None for the original, or when the
    evidence cannot decide: then ``parent_candidates`` lists the members that could be its
    parent), the reason, and what changed from the parent (``changes``; None without a parent,
    except when the candidates are identical copies: the changes are the same from each)."""

    child: str
    parent: str | None
    reason: str
    parent_candidates: tuple[str, ...] = ()
    changes: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "child": self.child,
            "parent": self.parent,
            "reason": self.reason,
            "parent_candidates": list(self.parent_candidates),
            "changes": self.changes,
        }


@dataclass(frozen=True, slots=True)
class Variant:
    """A variant reading: ``reading`` replaces ``replaces`` (an edit of ``kind``), first in member
    ``first``, carried on by the members ``inherited``."""

    kind: str
    replaces: str
    reading: str
    first: str
    inherited: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "replaces": self.replaces,
            "reading": self.reading,
            "first": self.first,
            "inherited": list(self.inherited),
        }


@dataclass(frozen=True, slots=True)
class Genealogy:
    """A family's tree (one ``TreeEdge`` per member, in the members' order) and its variants."""

    tree: tuple[TreeEdge, ...]
    variants: tuple[Variant, ...]

    def parent(self, member: str) -> str | None:
        """The parent of ``member`` (None for the original or an undecided member)."""
        for e in self.tree:
            if e.child == member:
                return e.parent
        raise KeyError(member)

    def edge(self, member: str) -> TreeEdge:
        for e in self.tree:
            if e.child == member:
                return e
        raise KeyError(member)

    def to_dict(self) -> dict[str, Any]:
        return {"tree": [e.to_dict() for e in self.tree], "variants": [v.to_dict() for v in self.variants]}


# --------------------------------------------------------------------------- reading the pairs


@dataclass(slots=True)
class _Link:
    """One aligned pair as the genealogy reads it (``i``, ``j``: member positions of ``a``, ``b``)."""

    i: int
    j: int
    relation: str
    direction: str
    reason: str
    events: float
    fine: int
    row: dict[str, Any]


def _words(s: str) -> int:
    return len(s.split())


def _gaps(spans: list[tuple[int, int]], length: int | None) -> int:
    """Stretches of at least ``GAP_CHARS`` characters outside the passages ``spans`` of one side."""
    if not spans:
        return 0 if length is None or length < GAP_CHARS else 1
    spans = sorted(spans)
    count = 0
    end = 0
    for lo, hi in spans:
        if lo - end >= GAP_CHARS:
            count += 1
        end = max(end, hi)
    if length is not None and length - end >= GAP_CHARS:
        count += 1
    return count


def _uncovered(row: dict[str, Any], side: str) -> int:
    """Words of one side from nowhere in the other: outside the passages and, where the pair's
    derivation found them in sentences of the other side all the same (a stretch the literal
    alignment left out), not new there either."""
    der = row.get("derivation")
    if not der:
        return 0
    words = int(der[side].get("words", 0))
    outside = 1.0 - float(row["containment_" + side])
    new = float(der[side].get("new", outside))
    return round(words * min(outside, new))


def _gap_events(row: dict[str, Any], side: str, spans: list[tuple[int, int]], length: int | None) -> int:
    """Passages cut or added on one side: its stretches outside the passages, but no more than
    one for every ``GAP_WORDS`` words of it that the derivation finds new (a stretch whose
    sentences the other side holds all the same is no cut)."""
    gaps = _gaps(spans, length)
    if gaps and row.get("derivation"):
        gaps = min(gaps, -(-_uncovered(row, side) // GAP_WORDS))
    return gaps


def _measure(row: dict[str, Any], len_a: int | None, len_b: int | None) -> tuple[float, int]:
    """(events, words): the differences of a pair counted as events (each edit one, quote and
    punctuation half; each passage cut or added one) and, finer, in words (edited words and the
    words outside the passages)."""
    if row["relation"] == "duplicate":
        return 0.0, 0
    events = 0.0
    words = 0
    span_a: list[tuple[int, int]] = []
    span_b: list[tuple[int, int]] = []
    for p in row["passages"]:
        span_a.append((p["a_start"], p["a_end"]))
        span_b.append((p["b_start"], p["b_end"]))
        for e in p["edits"]:
            events += _EVENT.get(e["kind"], 1.0)
            if e["kind"] not in _EVENT:
                words += max(_words(e["a"]), _words(e["b"]), 1)
    events += _gap_events(row, "a", span_a, len_a) + _gap_events(row, "b", span_b, len_b)
    outside = _uncovered(row, "a") + _uncovered(row, "b")
    # a long stretch cut or added weighs more than a short one: two texts sharing one paragraph
    # are no copies of each other, however few the stretches around it
    events += outside / WORDS_PER_EVENT
    return events, words + outside


def changes(row: dict[str, Any], parent_is_a: bool, len_a: int | None, len_b: int | None) -> dict[str, Any]:
    """What changed from the parent to the child along a pair (``parent_is_a``: the parent is the
    pair's ``a``): numbers, names and spellings changed (from, to), rewordings and moved passages
    counted, words added and removed (inside passages and outside them), passages added and cut."""
    src, dst = ("a", "b") if parent_is_a else ("b", "a")
    out: dict[str, Any] = {
        "numbers": [],
        "names": [],
        "spelling": [],
        "reworded": 0,
        "moved": 0,
        "words_added": 0,
        "words_removed": 0,
        "passages_added": 0,
        "passages_cut": 0,
    }
    if row["relation"] == "duplicate":
        return out
    lists = {"number": out["numbers"], "name": out["names"], "spelling": out["spelling"]}
    added = removed = 0
    span_src: list[tuple[int, int]] = []
    span_dst: list[tuple[int, int]] = []
    for p in row["passages"]:
        span_src.append((p[src + "_start"], p[src + "_end"]))
        span_dst.append((p[dst + "_start"], p[dst + "_end"]))
        for e in p["edits"]:
            kind, old, new = e["kind"], e[src], e[dst]
            if kind in lists:
                lists[kind].append({"from": old, "to": new})
            elif kind == "rewording":
                out["reworded"] += 1
            elif kind == "moved":
                out["moved"] += 1
                continue
            elif kind in ("quote", "punctuation"):
                continue
            added += _words(new)
            removed += _words(old)
    len_src, len_dst = (len_a, len_b) if parent_is_a else (len_b, len_a)
    out["words_added"] = added + _uncovered(row, dst)
    out["words_removed"] = removed + _uncovered(row, src)
    out["passages_added"] = _gap_events(row, dst, span_dst, len_dst)
    out["passages_cut"] = _gap_events(row, src, span_src, len_src)
    return out


# --------------------------------------------------------------------------- the search


def _arborescence(n: int, arcs: list[tuple[int, int, int]]) -> list[int]:
    """The parent of each node 0..n-1 in a minimum-cost spanning arborescence rooted at node
    ``n`` (a virtual root with an arc to every node must be among ``arcs``): Chu-Liu/Edmonds,
    contraction by contraction, each level's arcs as numpy arrays (a dense undated family of a
    few hundred texts contracts a cycle or two a level, for a hundred levels). Ties go to the
    lower parent index, so the result is deterministic."""
    if n <= 2:  # (most families: no arrays for them)
        return _arborescence_small(n, arcs)
    a = np.array(arcs, dtype=np.int64).reshape(-1, 3)
    u, v, w = a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy()
    size, root = n + 1, n
    # per level: (the level's arc targets, each node's chosen arc, in-cycle flags, each kept arc's
    # index in the level below)
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    while True:
        ok = np.flatnonzero((u != v) & (v != root))
        order = ok[np.lexsort((u[ok], w[ok], v[ok]))]
        first = (
            np.concatenate(([True], v[order][1:] != v[order][:-1])) if order.shape[0] else order.astype(bool)
        )
        best = np.full(size, -1, dtype=np.int64)
        best[v[order[first]]] = order[first]
        pred = np.where(best >= 0, u[np.maximum(best, 0)], -1).tolist()
        comp = [-1] * size
        visit = [-1] * size
        cycles = 0
        for start in range(size):
            x = start
            while x != root and x >= 0 and visit[x] < 0 and comp[x] < 0:
                visit[x] = start
                x = pred[x]
            if x >= 0 and x != root and visit[x] == start and comp[x] < 0:
                y = x
                while True:
                    comp[y] = cycles
                    y = pred[y]
                    if y == x:
                        break
                cycles += 1
        in_cycle = np.array([c >= 0 for c in comp], dtype=np.bool_)
        if cycles == 0:
            chosen = best
            break
        k2 = cycles
        for x in range(size):
            if comp[x] < 0:
                comp[x] = k2
                k2 += 1
        comp_a = np.array(comp, dtype=np.int64)
        cu, cv = comp_a[u], comp_a[v]
        keep = np.flatnonzero(cu != cv)
        into = v[keep]
        wk = w[keep] - np.where(in_cycle[into], w[np.maximum(best[into], 0)], 0)
        levels.append((v, best, in_cycle, keep))
        u, v, w = cu[keep], cv[keep], wk
        size, root = k2, int(comp_a[root])
    # unwind: the arc chosen into each node of a level, down to the original arcs
    chosen_arcs = {int(x): int(k) for x, k in enumerate(chosen.tolist()) if k >= 0}
    while levels:
        v_prev, best, in_cycle, keep = levels.pop()
        got: dict[int, int] = {}
        for k in chosen_arcs.values():
            orig = int(keep[k])
            got[int(v_prev[orig])] = orig
        for x in np.flatnonzero(in_cycle).tolist():
            if x not in got:
                got[x] = int(best[x])
        chosen_arcs = got
    parent = [n] * n
    for x, k in chosen_arcs.items():
        if x < n:
            parent[x] = arcs[k][0]
    return parent


# --------------------------------------------------------------------------- the family tree


@dataclass(frozen=True, slots=True)
class When:
    """A publication date, with its time of day when given: two dates order by day, and two
    times of one day by the time; a day without a time is neither before nor after a time of the
    same day (a paper's "2018-03-07" may be any hour of it)."""

    day: int
    seconds: int | None
    text: str

    def __lt__(self, other: When) -> bool:
        if self.day != other.day:
            return self.day < other.day
        return self.seconds is not None and other.seconds is not None and self.seconds < other.seconds

    def __gt__(self, other: When) -> bool:
        return other < self

    def __le__(self, other: When) -> bool:
        return not other < self

    def __ge__(self, other: When) -> bool:
        return not self < other


def parse_when(value: str | None) -> When | None:
    """``relate.parse_date`` with the time of day kept (ISO datetimes; a bare date has none)."""
    day = parse_date(value)
    if day is None or value is None:
        return None
    seconds = None
    text = value.strip()
    if len(text) > 10 and text[10] in "T ":
        try:
            # the clock as written (as ``relate.parse_date`` reads the day), zone ignored
            t = datetime.fromisoformat(text.replace("Z", "+00:00"))
            seconds = t.hour * 3600 + t.minute * 60 + t.second
        except ValueError:
            pass
    return When(day.toordinal(), seconds, text)


def _date_key(d: When | None) -> tuple[int, int, int]:
    return (0, d.day, d.seconds or 0) if d is not None else (1, 0, 0)


def family_tree(members: Sequence[Member], pairs: Iterable[dict[str, Any]]) -> Genealogy:
    """The tree and variants of one family from its aligned pairs (dicts in the ``pairs.jsonl``
    shape; pairs naming other documents are ignored)."""
    n = len(members)
    if n == 0:
        return Genealogy((), ())
    pos = {m.id: k for k, m in enumerate(members)}
    dates = [parse_when(m.date) for m in members]
    lengths = [m.length for m in members]
    links: list[_Link] = []
    for row in pairs:
        i, j = pos.get(row["a"]), pos.get(row["b"])
        if i is None or j is None or i == j or row["relation"] in ("unrelated", "same_event"):
            continue
        ev, fine = _measure(row, lengths[i], lengths[j])
        links.append(_Link(i, j, row["relation"], row["direction"], row["direction_reason"], ev, fine, row))

    # identical copies are one node, headed by the earliest copy (then the first in input order)
    up = list(range(n))

    def find(x: int) -> int:
        while up[x] != x:
            up[x] = up[up[x]]
            x = up[x]
        return x

    def head_key(k: int) -> tuple[tuple[int, int, int], int]:
        return _date_key(dates[k]), k

    for lk in links:
        if lk.relation == "duplicate":
            ri, rj = find(lk.i), find(lk.j)
            if ri != rj:
                up[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for k in range(n):
        groups.setdefault(find(k), []).append(k)
    heads = sorted(min(g, key=head_key) for g in groups.values())
    node_of = [0] * n
    for node, h in enumerate(heads):
        for k in groups[find(h)]:
            node_of[k] = node
    m = len(heads)
    # a node is as early as its earliest copy, and of unknown date if a copy has none
    ndate = [None if any(dates[k] is None for k in groups[find(h)]) else dates[h] for h in heads]

    # the closest link between two nodes (fewest events, then words, then input order)
    best: dict[tuple[int, int], _Link] = {}
    for lk in links:
        u, v = node_of[lk.i], node_of[lk.j]
        if u == v:
            continue
        key = (min(u, v), max(u, v))
        old = best.get(key)
        if old is None or (lk.events, lk.fine, lk.i, lk.j) < (old.events, old.fine, old.i, old.j):
            best[key] = lk

    # arcs u -> v (u the parent), never from a later date to an earlier one; soft evidence
    # (containment, then datelines and agency sources) costs the arc against it an eighth of an event
    arcs: list[tuple[int, int, int]] = []
    soft: dict[tuple[int, int], str] = {}  # (parent, child) -> reason
    cost: dict[tuple[int, int], tuple[float, int]] = {}
    for (u, v), lk in sorted(best.items()):
        if max(float(lk.row["containment_a"]), float(lk.row["containment_b"])) < MIN_COPY_SHARE:
            continue  # texts sharing a passage or two: neither is a copy of the other
        hint = _soft(lk, node_of)
        if hint is not None:
            soft[(hint[0], hint[1])] = hint[2]
        for p, c in ((u, v), (v, u)):
            dp, dc = ndate[p], ndate[c]
            if dp is not None and dc is not None and dp > dc:
                continue
            penalty = 1 if hint is not None and (hint[1], hint[0]) == (p, c) else 0
            w = (round(lk.events * 8) + penalty) * 8192 + min(lk.fine, 8191)
            arcs.append((p, c, w))
            cost[(p, c)] = (lk.events, lk.fine)
    if m > SPARSE_NODES:
        arcs = _cheapest_incoming(arcs, MAX_INCOMING)
    arcs.extend((m, v, _BIG) for v in range(m))
    parent = _search(m, arcs, ndate)
    decided = _orient(m, parent, ndate, soft, cost, [members[h].id for h in heads])

    # per member: its edge
    ids = [mem.id for mem in members]
    edges: list[TreeEdge] = []
    node_parent: list[int | None] = [None] * m  # decided parent node of each node
    for node in range(m):
        got = decided[node]
        if got[0] == "parent":
            node_parent[node] = got[1]
    for k in range(n):
        node = node_of[k]
        h = heads[node]
        if k != h:
            got = decided[node]
            made_from = heads[got[1]] if got[0] == "parent" else None
            edges.append(_copy_edge(ids, k, groups[find(h)], h, made_from, dates))
            continue
        got = decided[node]
        size = len(groups[find(h)])
        before, _ = (
            _copy_candidates(k, groups[find(h)], dates) if 1 < size <= MAX_COPY_CANDIDATES else ([], True)
        )
        if before and got[0] != "open":
            # another copy, not dated after this one, may have come first
            up_ = [heads[got[1]]] if got[0] == "parent" else []
            note = "" if up_ else " or it is the original"
            edges.append(
                TreeEdge(
                    ids[k],
                    None,
                    f"identical text to {size - 1} other member(s); no date tells which came first{note}",
                    tuple(sorted(ids[c] for c in before + up_)),
                )
            )
            continue
        if got[0] == "parent":
            p = heads[got[1]]
            # made from a node of identical copies: any copy not dated after this one
            copies = [
                c
                for c in groups[find(p)]
                if dates[c] is None or dates[k] is None or dates[c] <= dates[k]  # type: ignore[operator]
            ]
            lk = best[(min(node, got[1]), max(node, got[1]))]
            ch = changes(lk.row, node_of[lk.i] == got[1], lengths[lk.i], lengths[lk.j])
            if 1 < len(copies) <= MAX_COPY_CANDIDATES:
                # which copy is open, what changed is not: the same from each
                reason = f"made from one of {len(copies)} identical copies; {got[2]}"
                edges.append(TreeEdge(ids[k], None, reason, tuple(sorted(ids[c] for c in copies)), ch))
                continue
            if len(copies) > 1:
                reason = (
                    f"made from one of {len(copies)} identical copies, the first stands for them; {got[2]}"
                )
            else:
                reason = got[2]
            edges.append(TreeEdge(ids[k], ids[p], reason, (), ch))
        elif got[0] == "root":
            edges.append(TreeEdge(ids[k], None, got[2]))
        else:
            # a candidate node of a few identical copies is every copy of it
            cands = [
                c2
                for c in got[1]
                for c2 in (
                    groups[find(heads[c])]
                    if len(groups[find(heads[c])]) <= MAX_COPY_CANDIDATES
                    else [heads[c]]
                )
            ]
            edges.append(TreeEdge(ids[k], None, got[2], tuple(sorted(ids[c] for c in cands))))
    variants = _variants(ids, heads, node_of, node_parent, best, links)
    return Genealogy(tuple(edges), tuple(variants))


def _copy_edge(
    ids: list[str], k: int, copies: list[int], h: int, up: int | None, dates: list[When | None]
) -> TreeEdge:
    """The edge of copy ``k`` of a node of identical copies headed by ``h`` (``up``: the member
    the node was made from, when decided). No text tells which copy was made from which, only
    dates: in a small node every copy not dated after ``k`` could be its parent (and the node's
    own parent, when ``k`` may be the first copy); in a large one the first copy stands for all."""
    empty = changes({"relation": "duplicate"}, True, None, None)
    if len(copies) > MAX_COPY_CANDIDATES:
        return TreeEdge(
            ids[k], ids[h], f"identical text; {len(copies)} copies hang from the first, {ids[h]}", (), empty
        )
    cands, first = _copy_candidates(k, copies, dates)
    if first and up is not None:
        cands.append(up)
    if len(cands) == 1 and not (first and up is None):
        c = cands[0]
        return TreeEdge(
            ids[k], ids[c], f"identical text; the only copy dated before it is {ids[c]}", (), empty
        )
    note = " or it is the original" if first and up is None else ""
    return TreeEdge(
        ids[k],
        None,
        f"identical text to {len(copies) - 1} other member(s); no date tells which was copied from which{note}",
        tuple(sorted(ids[c] for c in cands)),
    )


def _copy_candidates(k: int, copies: list[int], dates: list[When | None]) -> tuple[list[int], bool]:
    """(the copies that could be the parent of copy ``k``: none dated after it; whether ``k`` may
    be the first copy: none dated before it)."""
    dk = dates[k]
    cands, first = [], True
    for c in copies:
        if c == k:
            continue
        dc = dates[c]
        if dc is None or dk is None or dc <= dk:
            cands.append(c)
        if dc is not None and dk is not None and dc < dk:
            first = False
    return cands, first


def _arborescence_small(n: int, arcs: list[tuple[int, int, int]]) -> list[int]:
    """``_arborescence`` of one or two nodes: with an arc each way, the cheaper one (ties: from
    the lower node) and the other node a root; else each node's cheapest incoming arc."""
    best: dict[int, tuple[int, int]] = {}
    for u, v, w in arcs:
        if u != v and v < n and (v not in best or (w, u) < best[v]):
            best[v] = (w, u)
    parent = [best[v][1] if v in best else n for v in range(n)]
    if n == 2 and parent[0] == 1 and parent[1] == 0:
        keep = 1 if (best[1][0], 0) < (best[0][0], 1) else 0  # the node whose arc stays
        parent[1 - keep] = n
    return parent


def _cheapest_incoming(arcs: list[tuple[int, int, int]], k: int) -> list[tuple[int, int, int]]:
    """Each node's ``k`` cheapest incoming arcs (ties: lower parent). A copy's parent is among
    the texts closest to it, and the arcs an optimal arborescence takes are each node's cheapest
    but for the few that close a cycle: the search over a dense family of a few hundred texts
    (tens of thousands of pairs) then handles a few thousand arcs."""
    a = np.array(arcs, dtype=np.int64).reshape(-1, 3)
    order = np.lexsort((a[:, 0], a[:, 2], a[:, 1]))
    v = a[order, 1]
    starts = np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))
    rank = np.arange(v.shape[0]) - np.repeat(starts, np.diff(np.append(starts, v.shape[0])))
    kept = np.sort(order[rank < k])
    return [arcs[i] for i in kept.tolist()]


def _search(m: int, arcs: list[tuple[int, int, int]], ndate: list[When | None]) -> list[int]:
    """The tree with the fewest events in which no dated node sits below a later one. Arcs are
    drawn only where the dates allow them, but an undated node between two dated ones could still
    carry a later date above an earlier one: the costliest arc into an undated node on such a path
    is then withdrawn and the search run again (at most once per arc)."""
    for _ in range(len(arcs)):
        parent = _arborescence(m, arcs)
        bad = _later_above(m, parent, ndate)
        if bad is None:
            return parent
        top, low = bad
        path = []
        x = low
        while x != top:
            path.append((parent[x], x))
            x = parent[x]
        weight = {(u, v): w for u, v, w in arcs}
        loose = [a for a in path if ndate[a[1]] is None] or path
        drop = max(loose, key=lambda a: (weight[a], a))
        arcs = [a for a in arcs if (a[0], a[1]) != drop]
    return parent


def _later_above(m: int, parent: list[int], ndate: list[When | None]) -> tuple[int, int] | None:
    """(ancestor, node): a dated node below an ancestor dated later, or None."""
    children: list[list[int]] = [[] for _ in range(m + 1)]
    for v in range(m):
        children[parent[v]].append(v)
    stack: list[tuple[int, int]] = [(c, -1) for c in children[m]]  # (node, latest ancestor)
    while stack:
        x, top = stack.pop()
        dx = ndate[x]
        if dx is not None and top >= 0 and ndate[top] > dx:  # type: ignore[operator]
            return top, x
        nxt = x if dx is not None and (top < 0 or dx > ndate[top]) else top  # type: ignore[operator]
        stack.extend((c, nxt) for c in children[x])
    return None


def _soft(lk: _Link, node_of: list[int]) -> tuple[int, int, str] | None:
    """(parent node, child node, reason) from the evidence after dates: containment (the excerpt
    descends from the fuller text), then the pair's direction when it rests on a wire dateline
    or an agency source."""
    u, v = node_of[lk.i], node_of[lk.j]
    ca, cb = float(lk.row["containment_a"]), float(lk.row["containment_b"])
    if cb >= CONTAINS_ALL and ca <= EXCERPT_SHARE:
        return u, v, "containment: an excerpt of the fuller text"
    if ca >= CONTAINS_ALL and cb <= EXCERPT_SHARE:
        return v, u, "containment: an excerpt of the fuller text"
    # (a credit is no evidence between two copies: "Reuters said" reworded in one copy would
    # make it the source of the other; a dateline or an agency source is)
    if lk.direction in ("a_to_b", "b_to_a") and lk.reason.startswith(("source", "wire dateline")):
        return (u, v, lk.reason) if lk.direction == "a_to_b" else (v, u, lk.reason)
    return None


def _orient(
    m: int,
    parent: list[int],
    ndate: list[When | None],
    soft: dict[tuple[int, int], str],
    cost: dict[tuple[int, int], tuple[float, int]],
    names: list[str],
) -> list[tuple[str, Any, str]]:
    """Which links of the tree ``parent`` the evidence orients. Per node: ("parent", p, reason),
    ("root", None, reason) or ("open", candidate parent nodes, reason)."""
    children: list[list[int]] = [[] for _ in range(m + 1)]
    for v in range(m):
        children[parent[v]].append(v)
    adj: list[list[int]] = [[] for _ in range(m)]
    for v in range(m):
        if parent[v] < m:
            adj[v].append(parent[v])
            adj[parent[v]].append(v)
    out: list[tuple[str, Any, str] | None] = [None] * m

    incoming: list[list[tuple[int, tuple[float, int]]]] = [[] for _ in range(m)]
    for (q, c2), c in sorted(cost.items()):
        incoming[c2].append((q, c))

    def close(v: int) -> str:
        """Why the parent of ``v`` is the one closest in events."""
        p = parent[v]
        ev = cost.get((p, v), (0.0, 0))[0]
        others = sorted(c[0] for q, c in incoming[v] if q != p)
        tail = f", next {others[0]:.1f}" if others else ""
        return f"closest text: {ev:.1f} differences{tail}"

    # 1. dates
    for v in range(m):
        p = parent[v]
        dp, dv = (ndate[p], ndate[v]) if p < m else (None, None)
        if dp is not None and dv is not None and dp < dv:
            out[v] = ("parent", p, f"date: {dp.text} before {dv.text}; {close(v)}")

    def propagate() -> None:
        # a node whose parent is known has its other links going down: its children's
        # parent is known
        stack = [v for v in range(m) if out[v] is not None]
        while stack:
            x = stack.pop()
            for c in children[x]:
                if out[c] is None:
                    out[c] = ("parent", x, f"{names[x]} descends from its own parent; {close(c)}")
                    stack.append(c)

    propagate()
    # 2. containment, then datelines and agency sources, for the links still open
    for v in range(m):
        p = parent[v]
        if out[v] is None and p < m and (p, v) in soft:
            out[v] = ("parent", p, f"{soft[(p, v)]}; {close(v)}")
    propagate()
    # what is still open is the top of a tree (a family whose dates leave two members earlier
    # than all their partners is a forest): each tree's open top is looked at on its own
    tree_of = list(range(m))
    for v in _top_down(children, m):
        if parent[v] < m:
            tree_of[v] = tree_of[parent[v]]
    tops: dict[int, list[int]] = {}
    for v in range(m):
        if out[v] is None:
            tops.setdefault(tree_of[v], []).append(v)
    for open_nodes in tops.values():
        _open_region(m, parent, adj, ndate, open_nodes, out, close)
    # 3. a node as close to another possible parent stays open with both
    for v in range(m):
        got = out[v]
        if got is None or got[0] != "parent":
            continue
        p = got[1]
        if (p, v) not in cost:
            continue
        ev = cost[(p, v)][0]
        down = _descendants(children, v)
        rivals = [
            q
            for q, c in incoming[v]
            if q != p and q not in down and abs(c[0] - ev) < TIE and not _dated_out(ndate, q, v)
        ]
        if rivals:
            cands = sorted([p, *rivals])
            out[v] = (
                "open",
                cands,
                f"undecided: as close to {', '.join(names[q] for q in cands)} (about {ev:.1f} differences each)",
            )
    return [x if x is not None else ("open", [], "undecided") for x in out]


def _top_down(children: list[list[int]], m: int) -> list[int]:
    """The nodes in breadth-first order from the virtual root ``m`` (parents before children)."""
    order = []
    level = list(children[m])
    while level:
        order.extend(level)
        level = [c for x in level for c in children[x]]
    return order


def _dated_out(ndate: list[When | None], q: int, v: int) -> bool:
    dq, dv = ndate[q], ndate[v]
    return dq is not None and dv is not None and dq > dv


def _descendants(children: list[list[int]], v: int) -> set[int]:
    seen = {v}
    stack = [v]
    while stack:
        for c in children[stack.pop()]:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def _open_region(
    m: int,
    parent: list[int],
    adj: list[list[int]],
    ndate: list[When | None],
    open_nodes: list[int],
    out: list[tuple[str, Any, str] | None],
    close: Any,
) -> None:
    """The nodes no evidence has placed yet (the tree's top, linked by links nothing orients):
    each could be the original, as long as the dates agree (no dated member below a later one,
    through undated members). Decided where one arrangement is left, open otherwise."""
    region = set(open_nodes)
    limit = len(region) * m <= 200_000
    valid: list[int] = []
    toward: dict[int, dict[int, int]] = {}
    for r in sorted(region):
        up = _rerooted(m, adj, r)
        if limit and not _dates_agree(m, adj, r, ndate):
            continue
        valid.append(r)
        toward[r] = up
    if not valid:  # the dates contradict every arrangement (a pair mis-aligned): leave all open
        valid = sorted(region)
        toward = {r: _rerooted(m, adj, r) for r in valid}
    for x in sorted(region):
        parents = sorted({toward[r][x] for r in valid if r != x})
        if valid == [x]:
            out[x] = ("root", None, "the original: no other member can be, by the dates and the tree")
        elif x not in valid and len(parents) == 1:
            out[x] = ("parent", parents[0], f"the only order the dates allow; {close(x)}")
        elif not parents:
            out[x] = ("root", None, "the original")
        else:
            note = " or it is the original" if x in valid else ""
            out[x] = (
                "open",
                parents,
                f"undecided: no date, containment or credit orders its links{note}",
            )


def _rerooted(m: int, adj: list[list[int]], r: int) -> dict[int, int]:
    """The parent of every node with the tree rooted at ``r``."""
    up = {r: -1}
    stack = [r]
    while stack:
        x = stack.pop()
        for y in adj[x]:
            if y not in up:
                up[y] = x
                stack.append(y)
    return up


def _dates_agree(m: int, adj: list[list[int]], r: int, ndate: list[When | None]) -> bool:
    """Rooted at ``r``, is no dated node below a node dated later?"""
    stack: list[tuple[int, int, When | None]] = [(r, -1, ndate[r])]
    while stack:
        x, frm, top = stack.pop()
        for y in adj[x]:
            if y == frm:
                continue
            dy = ndate[y]
            if dy is not None and top is not None and dy < top:
                return False
            stack.append((y, x, dy if dy is not None and (top is None or dy > top) else top))
    return True


# --------------------------------------------------------------------------- variants


def _variants(
    ids: list[str],
    heads: list[int],
    node_of: list[int],
    node_parent: list[int | None],
    best: dict[tuple[int, int], _Link],
    links: list[_Link],
) -> list[Variant]:
    """Each reading introduced on a decided edge (a number, name, spelling or wording changed
    from the parent), with the members that carry it on: the descendants whose own pair with the
    first member keeps the reading's words inside a passage and unedited, or, where the scan
    paired them with no such pair, whose path down from it changes none of its words again."""
    m = len(heads)
    children: list[list[int]] = [[] for _ in range(m)]
    for v in range(m):
        p = node_parent[v]
        if p is not None:
            children[p].append(v)
    members_of: list[list[int]] = [[] for _ in range(m)]
    for k in range(len(ids)):
        members_of[node_of[k]].append(k)
    pair_of: dict[tuple[int, int], _Link] = {}
    for lk in links:
        pair_of.setdefault((lk.i, lk.j), lk)
        pair_of.setdefault((lk.j, lk.i), lk)
    ctx = (ids, children, heads, members_of, pair_of)
    out: list[Variant] = []
    for v in range(m):
        p = node_parent[v]
        if p is None:
            continue
        lk = best[(min(p, v), max(p, v))]
        child_is_a = node_of[lk.i] == v
        c, o = ("a", "b") if child_is_a else ("b", "a")
        first = heads[v]
        for pas in lk.row["passages"]:
            for e in pas["edits"]:
                if e["kind"] not in READING_KINDS:
                    continue
                span = (e[c + "_start"], e[c + "_end"])
                heirs = _heirs(v, first, span, e[c], ctx, node_of, best)
                own = [ids[k] for k in members_of[v] if k != first]
                out.append(Variant(e["kind"], e[o], e[c], ids[first], tuple(sorted(own + heirs))))
    out.sort(key=lambda x: (x.first, x.kind, x.replaces, x.reading))
    return out


def _heirs(
    v: int,
    first: int,
    span: tuple[int, int],
    reading: str,
    ctx: tuple[list[str], list[list[int]], list[int], list[list[int]], dict[tuple[int, int], _Link]],
    node_of: list[int],
    best: dict[tuple[int, int], _Link],
) -> list[str]:
    """The members below node ``v`` that carry the reading at ``span`` of member ``first``."""
    ids, children, heads, members_of, pair_of = ctx
    out: list[str] = []
    stack = [(c, v) for c in children[v]]
    while stack:
        node, up = stack.pop()
        lk = pair_of.get((first, heads[node]))
        if lk is not None:
            carries = _keeps(lk, first, span)
        else:
            edge = best[(min(up, node), max(up, node))]
            carries = not _changed(edge, node_of[edge.i] == up, reading)
        if not carries:
            continue
        out.extend(ids[k] for k in members_of[node])
        stack.extend((c, node) for c in children[node])
    return out


def _keeps(lk: _Link, first: int, span: tuple[int, int]) -> bool:
    """Does the pair keep the words at ``span`` of member ``first`` inside a passage, unedited?"""
    side = "a" if lk.i == first else "b"
    lo, hi = span
    inside = False
    for p in lk.row["passages"]:
        if p[side + "_start"] <= lo and hi <= p[side + "_end"]:
            inside = True
            for e in p["edits"]:
                if e["kind"] in ("quote", "punctuation"):
                    continue
                s0, s1 = e[side + "_start"], e[side + "_end"]
                if (s0 < hi and lo < s1) or (s0 == s1 and lo < s0 < hi):
                    return False
    return inside


def _changed(edge: _Link, parent_is_a: bool, reading: str) -> bool:
    """Does an edge change or drop the words of ``reading`` (read on its parent's side)?"""
    side = "a" if parent_is_a else "b"
    for p in edge.row["passages"]:
        for e in p["edits"]:
            if e["kind"] not in ("quote", "punctuation", "insert") and reading in e[side]:
                return True
    return False


# --------------------------------------------------------------------------- the public API


def genealogy(
    documents: Sequence[Document], pairs: Sequence[Pair] | None = None, settings: Settings | None = None
) -> Genealogy:
    """The tree of a set of documents taken as one family. ``pairs``: their aligned pairs (from
    ``compare`` or a scan); without them every pair of the documents is compared here (meant
    for a handful of documents: a scan builds its trees from the pairs it aligned)."""
    if pairs is None:
        from .pipeline import compare_many, prepare_many

        s = settings or Settings()
        prepared = prepare_many(list(documents), s)
        pairs = compare_many(
            [(prepared[i], prepared[j]) for i in range(len(prepared)) for j in range(i + 1, len(prepared))], s
        )
    members = [Member(d.id, d.date, len(d.text)) for d in documents]
    return family_tree(members, (p.to_dict() for p in pairs))


# --------------------------------------------------------------------------- the scan's families


def _slim(row: dict[str, Any]) -> dict[str, Any]:
    """What the genealogy reads of a pair row (the derivation's sentences are dropped: a scan
    holds its families' pairs at once)."""
    der = row.get("derivation")
    if der:
        row["derivation"] = {
            side: {"words": der[side]["words"], "new": der[side]["new"]} for side in ("a", "b")
        }
    return row


_DERIVATION = b', "derivation": '
_SENTENCES = b', "sentences": '


def _read_row(line: bytes, loads: Any) -> dict[str, Any]:
    """A pairs.jsonl line as the genealogy reads it, without decoding the derivation's sentences
    (most of a line's bytes): the line is cut where its derivation and its sentences begin. (Keys
    stand in a fixed order, and a key's quotes cannot occur unescaped inside a JSON string, so
    the last such key in the line is the structural one.)"""
    at = line.rfind(_DERIVATION)
    if at < 0:
        return _slim(loads(line))
    row = loads(line[:at] + b"}")
    end = line.find(_SENTENCES, at)
    if end >= 0:
        der = loads(line[at + len(_DERIVATION) : end] + b"}")
        row["derivation"] = {
            side: {"words": der[side]["words"], "new": der[side]["new"]} for side in ("a", "b")
        }
    return row


def with_trees(
    fams: list[Family],
    pairs_path: Path,
    numbers: np.ndarray,
    edge_a: np.ndarray,
    edge_b: np.ndarray,
    dates: list[str | None],
    lengths: np.ndarray | None,
    store: tuple[list[str], Any] | None = None,
) -> list[Family]:
    """The scan's families with their ``tree`` and ``variants``, from the lines of ``pairs_path``
    (``pairs.jsonl``, whose k-th line is the pair ``edge_a[k]``, ``edge_b[k]``) that join two
    members of one family (``numbers``: each document's family number, or -1): only those lines
    are parsed. ``lengths``: the texts' lengths, or None to count them from ``store`` (the run's
    store files and offsets). Runs in the scan's parent on both engines, after pairs.jsonl is complete, so the
    trees are the same whatever engine aligned the pairs."""
    import orjson

    numbers = np.asarray(numbers, dtype=np.int64)
    if lengths is None and store is not None:
        # (an engine that kept no lengths, Spark's: counted from the store, so that the trees
        # are the same as the local engine's)
        lengths = _text_lengths(store[0], store[1])
    fa = numbers[edge_a] if edge_a.shape[0] else np.zeros(0, np.int64)
    fb = numbers[edge_b] if edge_b.shape[0] else np.zeros(0, np.int64)
    inside = (fa >= 0) & (fa == fb)
    rows: list[list[dict[str, Any]]] = [[] for _ in fams]
    if inside.any():
        want = inside.tolist()
        fam_of = fa.tolist()
        with open(pairs_path, "rb") as fh:
            for k, line in enumerate(fh):
                if want[k]:
                    rows[fam_of[k]].append(_read_row(line, orjson.loads))
    member_rows = np.flatnonzero(numbers >= 0)
    pos: dict[int, list[int]] = {}
    for k, f in zip(member_rows.tolist(), numbers[member_rows].tolist(), strict=True):
        pos.setdefault(f, []).append(k)
    out = []
    for f, fam in enumerate(fams):
        ks = pos.get(f, [])
        members = [
            Member(fam.members[t], dates[k], None if lengths is None else int(lengths[k]))
            for t, k in enumerate(ks)
        ]
        g = family_tree(members, rows[f])
        rows[f] = []
        out.append(
            replace(
                fam,
                tree=tuple(e.to_dict() for e in g.tree),
                variants=tuple(v.to_dict() for v in g.variants),
            )
        )
    return out


def _text_lengths(files: list[str], offsets: Any) -> np.ndarray:
    """Every stored text's length in characters, batch by batch."""
    import pyarrow.compute as pc

    from .store import StoreReader

    reader = StoreReader(files, offsets)
    try:
        parts = []
        for b in range(reader.num_batches):
            parts.append(pc.utf8_length(reader.batch(b).column("text")).to_numpy(zero_copy_only=False))
            reader.release()
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    finally:
        reader.close()


# --------------------------------------------------------------------------- drawing


MAX_DRAWN_COPIES = 4


def layout(tree: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Where to draw a family's tree (the ``tree`` of clusters.jsonl): ``nodes`` as ``[id, x, y,
    copies]`` (x in leaf slots, y in generations; ``copies``: how many identical copies the node
    stands for beyond itself, when more than ``MAX_DRAWN_COPIES`` hang from one member) and
    ``links`` as ``[child, parent, decided]`` (an open member is linked to each candidate, not
    decided). One layout serves report.html (drawn by its script) and the web page (SVG written
    by the server): a tidy tree, leaves left to right in depth-first order, each parent centred
    over its children (Reingold & Tilford 1981, simplified to leaf slots)."""
    ids = [e["child"] for e in tree]
    known = set(ids)
    up: dict[str, str | None] = {}
    links: list[list[Any]] = []
    for e in tree:
        if e["parent"] is not None:
            up[e["child"]] = e["parent"]
            links.append([e["child"], e["parent"], True])
        else:
            up[e["child"]] = None
            for c in e.get("parent_candidates", []):
                links.append([e["child"], c, False])
    # an open member is drawn under its first candidate unless that would make a cycle
    for e in tree:
        if e["parent"] is None and e.get("parent_candidates"):
            c = next(
                (c for c in e["parent_candidates"] if c in known and not _above(up, e["child"], c)), None
            )
            if c is not None:
                up[e["child"]] = c
    kids: dict[str | None, list[str]] = {}
    for x in ids:
        kids.setdefault(up[x], []).append(x)
    # many identical leaf copies under one member: drawn as one node
    copies: dict[str, int] = {}
    reason = {e["child"]: e["reason"] for e in tree}
    for p, cs in list(kids.items()):
        leaf_copies = [c for c in cs if not kids.get(c) and reason[c].startswith("identical text")]
        if p is not None and len(leaf_copies) > MAX_DRAWN_COPIES:
            keep = leaf_copies[0]
            kids[p] = [c for c in cs if c not in leaf_copies[1:]]
            copies[keep] = len(leaf_copies) - 1
            hidden = set(leaf_copies[1:])
            links = [lk for lk in links if lk[0] not in hidden]
    pos: dict[str, tuple[float, int]] = {}
    slot = 0
    for root in kids.get(None, []):
        stack: list[tuple[str, int, bool]] = [(root, 0, False)]
        while stack:
            x, depth, done = stack.pop()
            cs = kids.get(x, [])
            if done:
                pos[x] = ((pos[cs[0]][0] + pos[cs[-1]][0]) / 2, depth)
                continue
            if not cs:
                pos[x] = (float(slot), depth)
                slot += 1
                continue
            stack.append((x, depth, True))
            stack.extend((c, depth + 1, False) for c in reversed(cs))
    nodes = [[x, pos[x][0], pos[x][1], copies.get(x, 0)] for x in ids if x in pos]
    return {"nodes": nodes, "links": [lk for lk in links if lk[0] in pos and lk[1] in pos]}


def _above(up: dict[str, str | None], x: str, c: str) -> bool:
    """Is ``x`` an ancestor of ``c`` (or ``c`` itself) in ``up``?"""
    seen = set()
    y: str | None = c
    while y is not None and y not in seen:
        if y == x:
            return True
        seen.add(y)
        y = up.get(y)
    return False


def changes_text(ch: dict[str, Any] | None) -> str:
    """A tree edge's change summary in a line ("780 → 68; Centre → Center; +12 / −3 words")."""
    if not ch:
        return ""
    parts: list[str] = []
    for key in ("numbers", "names", "spelling"):
        parts.extend(f"{c['from']} \u2192 {c['to']}" for c in ch.get(key, []))
    if ch.get("reworded"):
        parts.append(f"{ch['reworded']} reworded")
    if ch.get("moved"):
        parts.append(f"{ch['moved']} moved")
    if ch.get("words_added") or ch.get("words_removed"):
        parts.append(f"+{ch.get('words_added', 0)} / \u2212{ch.get('words_removed', 0)} words")
    if ch.get("passages_added"):
        parts.append(f"{ch['passages_added']} passage(s) added")
    if ch.get("passages_cut"):
        parts.append(f"{ch['passages_cut']} passage(s) cut")
    return "; ".join(parts) if parts else "no change"
