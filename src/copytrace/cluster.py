"""Families of documents from shared passages.

Plain connected components over all pairs chain unrelated stories through one shared
boilerplate line. Here every document links only to

* every neighbour it is a duplicate or near-duplicate of, contains or is contained in, and
* the neighbour it shares the most words with (its strongest partial link; ties go to the
  neighbour earliest in input order),

and families are the connected components of those links. A wire story quoted paragraph by
paragraph by several papers gathers them all (each paper's strongest link is the wire), while
two papers that share one boilerplate sentence stay apart (each one's strongest link is its own
source). Partial links shorter than ``min_family_words`` never link.

The representative is the member sharing the most words with the other members (ties: earliest
in input order). The inferred earliest source follows the evidence order of pair direction
(``relate.direction``): the earliest date; among members tied on it (or when dates are missing),
the only wire agency by ``source``, then the only member opening with a wire dateline; otherwise
``None`` with the reason "no evidence".

Everything runs on compact arrays (one entry per pair, no Python object per pair), in numpy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .relate import WIRE, Agencies, is_agency_source, parse_date
from .types import Family

STRONG = ("duplicate", "near_duplicate", "a_contains_b", "b_contains_a")


@dataclass(frozen=True, slots=True)
class Edges:
    """Compact pair summaries: document indices, strong link (duplicate or containment), shared words."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    strong: np.ndarray  # bool
    words: np.ndarray  # int64


def _union_find(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest member index) of every node, linking a[k] with b[k].

    Vectorised min-label hooking with pointer jumping (the connected-components scheme of
    Shiloach & Vishkin 1982, in array steps): every edge hooks the root of its larger-labelled
    end under the smaller label, then every node jumps to its root, until each edge's ends share
    a root. Labels only decrease and stay labels of members, so a component's root is its
    smallest member. Plain numpy: the parent process, which runs this, never loads numba."""
    labels = np.arange(n, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while a.shape[0]:
        la, lb = labels[a], labels[b]
        differ = la != lb
        if not differ.any():
            break
        la, lb = la[differ], lb[differ]
        low = np.minimum(la, lb)
        np.minimum.at(labels, np.maximum(la, lb), low)
        while True:  # pointer jumping: every node to its root
            up = labels[labels]
            if np.array_equal(up, labels):
                break
            labels = up
        a, b = a[differ], b[differ]
    return labels


def strongest_links(n_docs: int, edges: Edges, min_family_words: int) -> tuple[np.ndarray, np.ndarray]:
    """The links families are built from: every strong edge plus each document's strongest partial edge."""
    strong = edges.strong.astype(np.bool_)
    la, lb = [edges.a[strong]], [edges.b[strong]]
    weak = (~strong) & (edges.words >= min_family_words)
    if weak.any():
        wa, wb, ww = edges.a[weak], edges.b[weak], edges.words[weak]
        ends = np.concatenate((wa, wb))
        other = np.concatenate((wb, wa))
        weight = np.concatenate((ww, ww))
        # per document: most shared words first, then the neighbour earliest in input order
        order = np.lexsort((other, -weight, ends))
        ends, other = ends[order], other[order]
        first = np.concatenate(([True], ends[1:] != ends[:-1]))
        la.append(ends[first])
        lb.append(other[first])
    return np.concatenate(la).astype(np.int64), np.concatenate(lb).astype(np.int64)


def components(n_docs: int, edges: Edges, min_family_words: int) -> np.ndarray:
    """Family label (smallest member index) per document; -1 for documents in no family."""
    la, lb = strongest_links(n_docs, edges, min_family_words)
    labels = _union_find(n_docs, la, lb).astype(np.int64)
    has_link = np.zeros(n_docs, dtype=np.bool_)
    has_link[la] = True
    has_link[lb] = True
    labels[~has_link] = -1
    return labels


def grouped_order(n_docs: int, a: np.ndarray, b: np.ndarray, task: int = 500) -> np.ndarray:
    """An order of the pairs (a[k], b[k]) that keeps each connected component's pairs together,
    so that cut into runs of ``task`` pairs (the align stage's tasks: a document read, tokenized
    and indexed once serves all its pairs in a task), each run holds few distinct documents.

    A component of at most ``task`` pairs is ordered by (lower, higher) document. A larger one
    (at scale most candidate pairs join one: chance matches link everything) has its documents
    numbered in breadth-first order from its smallest member and its pairs ordered by (lower,
    higher) number: the pairs of a run then join documents of a few neighbouring levels of the
    search, not one document with partners anywhere in the corpus (the bandwidth-reducing order
    of Cuthill & McKee 1969, without their sort by degree). At 1M synthetic documents the tasks
    prepared 2.57M documents, 3.5 times each of the 742k in candidate pairs; in this order 1.35M."""
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    label = _union_find(n_docs, a, b)
    big = np.bincount(label[a], minlength=n_docs) > task
    number = np.arange(n_docs, dtype=np.int64)
    if big.any():
        found = _breadth_first(n_docs, a, b, np.flatnonzero(big))
        number = np.where(found >= 0, found, number)
    na, nb = number[a], number[b]
    return np.lexsort((np.maximum(na, nb), np.minimum(na, nb), label[a]))


def _breadth_first(n: int, a: np.ndarray, b: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Breadth-first discovery numbers of the nodes reachable from ``roots`` (one search from each,
    in turn; neighbours numbered in the order their first discoverers were), -1 for the rest: a
    level at a time, in array steps (the parent process never loads numba)."""
    src = np.concatenate((a, b))
    dst = np.concatenate((b, a))
    by_src = np.argsort(src, kind="stable")
    dst = dst[by_src]
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=start[1:])
    number = np.full(n, -1, dtype=np.int64)
    found = 0
    for root in roots.tolist():
        if number[root] >= 0:
            continue
        number[root] = found
        found += 1
        level = np.array([root], dtype=np.int64)
        while level.shape[0]:
            lo = start[level]
            count = start[level + 1] - lo
            total = int(count.sum())
            # every neighbour of the level, discoverer by discoverer
            at = np.arange(total) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo, count)
            near = dst[at]
            near = near[number[near] < 0]
            _, first = np.unique(near, return_index=True)
            level = near[np.sort(first)]
            number[level] = found + np.arange(level.shape[0])
            found += level.shape[0]
    return number


def mass_copies(whole: np.ndarray, max_df: int) -> tuple[np.ndarray, np.ndarray]:
    """Groups of more than ``max_df`` identical texts (one story syndicated whole to hundreds of
    outlets): ``whole`` holds each document's whole-text fingerprint (0 for a text with no word).
    Returns (first, member): every member of such a group but its first (in input order), each
    with its group's first, sorted by member.

    The candidate stage drops these members' postings, so that their fingerprints count once
    (the group's first) against the ``max_df`` cap and stay usable: without this, a story copied
    into more than ``max_df`` documents lost every fingerprint to the cap and none of its copies
    was paired. Each member is paired with the first (a duplicate), and only the first is
    compared with other documents: the pairs stay linear in the group's size, and the family holds
    them all. Groups of at most ``max_df`` are left as they are (every pair of copies found)."""
    whole = np.asarray(whole, dtype=np.uint64)
    empty = np.zeros(0, dtype=np.int64)
    has = np.flatnonzero(whole != 0)
    if has.shape[0] <= max_df:
        return empty, empty
    order = has[np.argsort(whole[has], kind="stable")]  # input order inside a group
    h = whole[order]
    starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    sizes = np.diff(np.append(starts, h.shape[0])).astype(np.int64)
    big = np.flatnonzero(sizes > max_df)
    if big.shape[0] == 0:
        return empty, empty
    first = np.repeat(order[starts[big]], sizes[big] - 1)
    member = np.concatenate([order[starts[g] + 1 : starts[g] + sizes[g]] for g in big.tolist()])
    by_member = np.argsort(member, kind="stable")
    return first[by_member].astype(np.int64), member[by_member].astype(np.int64)


def with_copies(
    a: np.ndarray, b: np.ndarray, first: np.ndarray, member: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (sorted by a, then b) with the (first, member) pairs of ``mass_copies``
    added, in the same order (a member is in no other candidate: its postings were dropped)."""
    if member.shape[0] == 0:
        return a, b
    a = np.concatenate((np.asarray(a, dtype=np.int64), first))
    b = np.concatenate((np.asarray(b, dtype=np.int64), member))
    order = np.lexsort((b, a))
    return a[order], b[order]


def family_id(k: int) -> str:
    """The id of the ``k``-th family (``f000000``, ``f000001``, ...)."""
    return f"f{k:06d}"


def family_numbers(labels: np.ndarray) -> np.ndarray:
    """Per document, the number of its family in the order ``families`` lists them (by first
    member), or -1 for documents in no family."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.shape[0], -1, dtype=np.int64)
    member = labels >= 0
    out[member] = np.unique(labels[member], return_inverse=True)[1]
    return out


def families(
    labels: np.ndarray,
    ids: list[str],
    dates: list[str | None],
    wire: list[bool],
    edges: Edges,
    sources: list[str | None] | None = None,
    agencies: Agencies = WIRE,
) -> list[Family]:
    """Family records for every label >= 0, in order of their first member (``agencies``: the
    wire agencies a ``source`` names, ``relate.wire_agencies(settings.agencies)``)."""
    n = len(ids)
    labels = np.asarray(labels, dtype=np.int64)
    inside = (
        (labels[edges.a] >= 0) & (labels[edges.a] == labels[edges.b]) if edges.a.size else np.zeros(0, bool)
    )
    share = np.zeros(n, dtype=np.int64)
    np.add.at(share, edges.a[inside], edges.words[inside])
    np.add.at(share, edges.b[inside], edges.words[inside])
    member = np.nonzero(labels >= 0)[0]
    if member.size == 0:
        return []
    # members grouped by label, each group ordered by input index; the same groups ordered by
    # shared words (most first, ties: input order) put each representative at its group's start
    order = member[np.lexsort((member, labels[member]))]
    by_share = member[np.lexsort((member, -share[member], labels[member]))]
    starts = np.flatnonzero(np.concatenate(([True], labels[order][1:] != labels[order][:-1])))
    reps = by_share[starts].tolist()
    bounds = np.append(starts, order.shape[0]).tolist()
    members = order.tolist()

    # without dates, a family has evidence of its earliest member only in exactly one wire agency
    # source or exactly one wire dateline (``earliest_member``): counted for all families at once,
    # so only those that may have some are looked at member by member
    def counts(flags: Iterator[bool]) -> np.ndarray:
        return np.add.reduceat(np.fromiter(flags, dtype=np.int64, count=len(members)), starts)

    may_date = counts(dates[m] is not None for m in members)
    agency = counts(sources is not None and is_agency_source(sources[m], agencies) for m in members)
    wired = counts(bool(wire[m]) for m in members)
    evidence = ((may_date > 0) | (agency == 1) | (wired == 1)).tolist()
    out: list[Family] = []
    for k, rep in enumerate(reps):
        ms = members[bounds[k] : bounds[k + 1]]
        if evidence[k]:
            earliest, reason = earliest_member(ms, ids, dates, wire, sources, agencies)
        else:
            earliest, reason = None, "no evidence"
        out.append(
            Family(
                id=family_id(k),
                members=tuple([ids[m] for m in ms]),
                representative=ids[rep],
                earliest=earliest,
                earliest_reason=reason,
            )
        )
    return out


def earliest_member(
    members: list[int],
    ids: list[str],
    dates: list[str | None],
    wire: list[bool],
    sources: list[str | None] | None = None,
    agencies: Agencies = WIRE,
) -> tuple[str | None, str]:
    """(earliest member id or None, the evidence that decided)."""
    pool = members
    dated = sorted((d, m) for m in members if (d := parse_date(dates[m])) is not None)
    date_note = ""
    if dated:
        first = [m for d, m in dated if d == dated[0][0]]
        if len(first) == 1:
            return ids[first[0]], f"earliest date {dates[first[0]]}"
        pool, date_note = first, f"; {len(first)} members share the earliest date {dates[first[0]]}"
    if sources is not None:
        wired = [m for m in pool if is_agency_source(sources[m], agencies)]
        if len(wired) == 1:
            return ids[wired[0]], f"the only wire agency by source ({sources[wired[0]]}){date_note}"
    wires = [m for m in pool if wire[m]]
    if len(wires) == 1:
        return ids[wires[0]], f"the only member with a wire dateline{date_note}"
    return None, "no evidence" + date_note
