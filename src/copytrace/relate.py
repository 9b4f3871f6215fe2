"""Relate a pair: containment on each side, one relation, and a direction with its reason.

* containment of a side: the share of its words inside aligned passages;
* ``duplicate``: the same normalized word sequence; ``near_duplicate``: both sides >= the
  near-duplicate threshold; ``a_contains_b`` / ``b_contains_a``: one side >= the contains
  threshold, the other below; ``partial``: at least one passage; ``unrelated`` otherwise.
* direction: dates first; then agency ``source`` metadata, a wire dateline ("CITY (Reuters) -")
  on exactly one side, an agency credit ("Reuters reported", "(AP)") on exactly one side, then
  containment (of two texts crediting one agency, the excerpt held whole is the copy); otherwise ``unknown`` (never guessed without evidence). The
  reason names the evidence that decided.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache

from .types import Derivation, Document, Passage, Settings

CONTAINS_ALL = 0.95

AGENCIES = r"Reuters|AFP|AP|Associated Press|Agence France-Presse|Bloomberg|dpa|UPI|Xinhua|Interfax|TASS|ANSA|EFE|PTI"
# "MOSCOW (Reuters) -", "PARIS, March 7 (AFP) -": the agency's own dateline near the top
_WIRE_DATELINE = re.compile(r"\((" + AGENCIES + r")\)\s*[-\u2013\u2014:]")
# a credit anywhere, in one of four shapes, each holding one agency name: "(AP)"; "Reuters
# reported"; "according to AFP", "told Reuters"; "- AFP" ending a line
_CREDIT_PAREN = re.compile(r"\((" + AGENCIES + r")\)")
_CREDIT_SAID = re.compile(
    r"\b(" + AGENCIES + r")\s+(?:news agency\s+)?(?:reported|said|reports|quoted|contributed|reporting)\b"
)
_CREDIT_BY = re.compile(
    r"\b(?:according to|told|by|via|source:|reporting by)\s+(?:the\s+)?(" + AGENCIES + r")\b"
)
_CREDIT_DASH = re.compile(r"[-\u2013\u2014]\s*(" + AGENCIES + r")\s*$", re.MULTILINE)
_DASHES = "-\u2013\u2014"
# the agency names of ``AGENCIES`` in its order of preference: ``_credits`` finds where they stand
# (``normalize.find_literals``: what a search for this alternation finds, by a compiled scan)
AGENCY_NAMES = tuple(AGENCIES.split("|"))
# characters a credit reaches before its agency name ("according to the ", "- ")
_CREDIT_REACH = 48
_AGENCY_SOURCE = re.compile(r"^\s*(?:" + AGENCIES + r")(?:\s+news)?\s*$", re.IGNORECASE)


def coverage(n_tokens: int, ranges: list[tuple[int, int]]) -> float:
    """Share of ``n_tokens`` covered by the union of half-open token ranges."""
    if n_tokens <= 0 or not ranges:
        return 0.0
    # the union's length by one sweep over the sorted ranges (a mask per pair cost more)
    covered = end = 0
    for lo, hi in sorted(ranges):
        lo, hi = max(lo, end), min(hi, n_tokens)
        if lo < 0:
            raise ValueError(f"token range ({lo}, {hi}) starts before the text")
        if hi > lo:
            covered += hi - lo
            end = hi
    return covered / n_tokens


def relation(
    same_text: bool, containment_a: float, containment_b: float, passages: tuple[Passage, ...], s: Settings
) -> str:
    if same_text:
        return "duplicate"
    if not passages:
        return "unrelated"
    if containment_a >= s.near_duplicate and containment_b >= s.near_duplicate:
        return "near_duplicate"
    if containment_b >= s.contains and containment_a < s.contains:
        return "a_contains_b"
    if containment_a >= s.contains and containment_b < s.contains:
        return "b_contains_a"
    return "partial"


def derived_relation(rel: str, der: Derivation, direc: str) -> str:
    """The relation once the sentence derivation is read (docs/relations.md):

    * ``duplicate`` and ``near_duplicate`` (literal) stay;
    * a pair with any derived sentence is never ``unrelated``: at least ``partial``;
    * a side ``wholly`` derived from the other is held in it: when only ``b`` is, ``a_contains_b``
      (a story rewritten whole from a wire text reads as contained in it), and the mirror;
    * both sides wholly derived: the source by ``direction`` contains the copy; with no direction,
      ``near_duplicate`` (each is a rewrite of the whole other).
    """
    if rel in ("duplicate", "near_duplicate") or not der.sentences:
        return rel
    wa, wb = der.a.level == "wholly", der.b.level == "wholly"
    if wa and wb:
        if direc == "a_to_b":
            return "a_contains_b"
        if direc == "b_to_a":
            return "b_contains_a"
        return "near_duplicate"
    if wb:
        return "a_contains_b"
    if wa:
        return "b_contains_a"
    return "partial" if rel == "unrelated" else rel


def parse_date(value: str | None) -> date | None:
    """ISO dates and datetimes (``2018-03-07``, ``2018-03-07T10:00:00Z``); anything else is None."""
    if not value:
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def wire_dateline(text: str) -> str | None:
    """The agency of a wire dateline in the first 400 characters ("MOSCOW (Reuters) -"), or None."""
    m = _WIRE_DATELINE.search(text[:400])
    return m.group(1) if m else None


def is_wire_original(text: str) -> bool:
    return wire_dateline(text) is not None


def credits(text: str) -> list[str]:
    """Agencies the text credits anywhere ("(AP)", "Reuters reported", "according to AFP")."""
    return list(_credits(text))


@lru_cache(maxsize=4096)
def _credits(text: str) -> tuple[str, ...]:
    # cached: a document meets many partners, its credits are read once (a scan keeps them with
    # the prepared document instead, ``pipeline.Prepared.credits``)
    return credited(text)


def credited(text: str, names: list[tuple[int, int]] | None = None) -> tuple[str, ...]:
    """``credits`` of a text, as a sorted tuple, uncached (``names``: where the agency names stand
    in it, ``find_literals(text, AGENCY_NAMES)``, when the caller found them already)."""
    # Every credit holds an agency name, and each shape stands at a known place around it: so the
    # names are found first (one scan) and each shape is only tried there, anchored ("(" just
    # before the name, the name itself, a dash before it past spaces) or, for "according to" and
    # the like, in the ``_CREDIT_REACH`` characters before it. A search of the whole text for the
    # credit pattern tried it at every position and cost most of ``direction``; the union of each
    # shape's matches over the whole text is what this finds (a test holds it to that).
    from .normalize import find_literals  # compiled: loaded by the workers that compare, only

    found: set[str] = set()
    n = len(text)
    for start, end in find_literals(text, AGENCY_NAMES) if names is None else names:
        if start > 0 and text[start - 1] == "(" and (m := _CREDIT_PAREN.match(text, start - 1)):
            found.add(m.group(1))
        if m := _CREDIT_SAID.match(text, start):
            found.add(m.group(1))
        lo = max(0, start - _CREDIT_REACH)
        for m in _CREDIT_BY.finditer(text, lo, min(n, end + 1)):  # (+1: the \b after the name sees on)
            found.add(m.group(1))
        k = start - 1
        while k >= lo and text[k].isspace():
            k -= 1
        if k >= lo and text[k] in _DASHES and (m := _CREDIT_DASH.match(text, k)):
            found.add(m.group(1))
    return tuple(sorted(found))


def is_agency_source(source: str | None) -> bool:
    """Is the ``source`` metadata a wire agency ("Reuters", "AFP", "Associated Press")?"""
    return bool(source) and bool(_AGENCY_SOURCE.match(source or ""))


def direction(
    a: Document,
    b: Document,
    containment_a: float,
    containment_b: float,
    wires: tuple[str | None, str | None] | None = None,
    credit: Callable[[], tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
) -> tuple[str, str]:
    """(direction, reason) (``wires``: each text's ``wire_dateline``, when the caller has them;
    ``credit``: gives each text's ``credits``, when the caller keeps them).
    Evidence, first that decides wins:

    1. dates: the earlier document is the source;
    2. source metadata: exactly one side is a wire agency;
    3. wire dateline: exactly one side opens with an agency dateline ("MOSCOW (Reuters) -");
    4. credit: exactly one side credits an agency in its text ("Reuters reported", "(AP)",
       "according to AFP"): that side copied, the other is the source;
    5. containment: both credit the same agency and exactly one side is held whole
       (containment >= ``CONTAINS_ALL``) in the other: it is an excerpt, the other the source;
    6. otherwise ``unknown``.
    """
    da, db = parse_date(a.date), parse_date(b.date)
    if da is not None and db is not None:
        if da < db:
            return "a_to_b", f"date: {a.date} before {b.date}"
        if db < da:
            return "b_to_a", f"date: {b.date} before {a.date}"
    sa, sb = is_agency_source(a.source), is_agency_source(b.source)
    if sa != sb:
        return (
            ("a_to_b", f"source: {a.id} is the agency {a.source}")
            if sa
            else (
                "b_to_a",
                f"source: {b.id} is the agency {b.source}",
            )
        )
    wa, wb = wires if wires is not None else (wire_dateline(a.text), wire_dateline(b.text))
    if (wa is None) != (wb is None):
        return (
            ("a_to_b", f"wire dateline ({wa}) in {a.id}, none in {b.id}")
            if wa
            else (
                "b_to_a",
                f"wire dateline ({wb}) in {b.id}, none in {a.id}",
            )
        )
    ca, cb = credit() if credit is not None else (_credits(a.text), _credits(b.text))
    if cb and not ca:
        return "a_to_b", f"credit: {b.id} credits {', '.join(cb)}, {a.id} credits no agency"
    if ca and not cb:
        return "b_to_a", f"credit: {a.id} credits {', '.join(ca)}, {b.id} credits no agency"
    both = sorted(set(ca) & set(cb))
    if both and (containment_a >= CONTAINS_ALL) != (containment_b >= CONTAINS_ALL):
        # both credit the agency; the one held whole in the other is an excerpt of it
        if containment_b >= CONTAINS_ALL:
            return "a_to_b", f"containment: both credit {', '.join(both)}; {b.id} is held whole in {a.id}"
        return "b_to_a", f"containment: both credit {', '.join(both)}; {a.id} is held whole in {b.id}"
    if da is not None and db is not None:
        return "unknown", "same date and no other evidence"
    return "unknown", "no evidence"


def moved_passages(passages: tuple[Passage, ...] | list[Passage]) -> set[int]:
    """Indices of passages standing in another order in ``b`` than in ``a``: the passages outside
    the longest run whose order agrees on both sides (ties go to the earlier passages)."""
    n = len(passages)
    if n < 2:
        return set()
    order = sorted(range(n), key=lambda k: (passages[k].a_start, passages[k].b_start))
    bs = [passages[k].b_start for k in order]
    # longest increasing subsequence of b starts, O(n^2) (passages per pair are few)
    best = [1] * n
    prev = [-1] * n
    for i in range(n):
        for j in range(i):
            if bs[j] < bs[i] and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    end = max(range(n), key=lambda i: (best[i], -i))
    keep = set()
    while end >= 0:
        keep.add(order[end])
        end = prev[end]
    return set(range(n)) - keep
