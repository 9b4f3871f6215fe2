"""Relate a pair: containment on each side, one relation, and a direction with its reason.

* containment of a side: the share of its words inside aligned passages;
* ``duplicate``: the same normalized word sequence; ``near_duplicate``: both sides >= the
  near-duplicate threshold; ``a_contains_b`` / ``b_contains_a``: one side >= the contains
  threshold, the other below; ``partial``: at least one passage; ``unrelated`` otherwise.
* direction: dates first; then a wire dateline credit ("CITY (Reuters) -") on exactly one side
  marks that side as the wire original when the other side carries less of the shared text
  or credits the same agency; otherwise ``unknown`` (never guessed without evidence).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import numpy as np

from .types import Document, Passage, Settings

AGENCIES = r"Reuters|AFP|AP|Associated Press|Agence France-Presse|Bloomberg|dpa|UPI|Xinhua|Interfax|TASS|ANSA|EFE|PTI"
_WIRE_DATELINE = re.compile(r"\((?:" + AGENCIES + r")\)\s*[-\u2013\u2014]", re.IGNORECASE)
_CREDIT = re.compile(
    r"(?:\((?:" + AGENCIES + r")\)|\b(?:" + AGENCIES + r")\s+(?:reported|said|reports|quoted)\b"
    r"|\baccording to (?:" + AGENCIES + r")\b)"
)


def coverage(n_tokens: int, ranges: list[tuple[int, int]]) -> float:
    """Share of ``n_tokens`` covered by the union of half-open token ranges."""
    if n_tokens <= 0 or not ranges:
        return 0.0
    mask = np.zeros(n_tokens, dtype=np.bool_)
    for lo, hi in ranges:
        mask[lo:hi] = True
    return float(mask.sum()) / n_tokens


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


def is_wire_original(text: str) -> bool:
    return bool(_WIRE_DATELINE.search(text[:400]))


def direction(a: Document, b: Document, containment_a: float, containment_b: float) -> tuple[str, str]:
    """(direction, reason). Evidence in order: dates, wire datelines, else unknown."""
    da, db = parse_date(a.date), parse_date(b.date)
    if da is not None and db is not None:
        if da < db:
            return "a_to_b", f"date: {a.date} before {b.date}"
        if db < da:
            return "b_to_a", f"date: {b.date} before {a.date}"
    wa, wb = is_wire_original(a.text), is_wire_original(b.text)
    if wa != wb:
        wire, other, wire_cont, other_cont, d = (
            (a, b, containment_a, containment_b, "a_to_b") if wa else (b, a, containment_b, containment_a, "b_to_a")
        )
        credited = bool(_CREDIT.search(other.text))
        if credited or other_cont < wire_cont:
            why = "the other credits a wire agency" if credited else "the other carries less of the shared text"
            return d, f"wire dateline in {wire.id}; {why}"
    if da is not None and db is not None:
        return "unknown", "same date and no other evidence"
    return "unknown", "no evidence"
