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
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from .types import DerivedSide, Document, Passage, Settings

CONTAINS_ALL = 0.95

# The wire agencies direction reads, each as a credit or dateline spells it ("MOSCOW (Reuters) -",
# "according to AFP", "- The Canadian Press"). Names are matched as written, case included: an
# acronym counts in capitals only ("PA", never "Pa." or "pa"), and only where a credit shape holds
# it ("(PA)", "PA reported", "according to PA", "- PA" ending a line), never inside a word
# ("PARIS", "CAPTAIN", "TTL"). ``source`` metadata is read ignoring case. Users add their own
# (``Settings.agencies``, ``--agency``).
AGENCY_LIST = (
    # worldwide
    "Reuters",
    "AFP",
    "Agence France-Presse",
    "Agence France Presse",
    "AP",
    "Associated Press",
    "Bloomberg",
    "Dow Jones",
    "UPI",
    "United Press International",
    # Europe
    "PA",
    "PA Media",
    "Press Association",
    "dpa",
    "DPA",
    "Deutsche Presse-Agentur",
    "ANSA",
    "AGI",
    "Adnkronos",
    "EFE",
    "Agencia EFE",
    "Europa Press",
    "Lusa",
    "ANP",
    "Belga",
    "APA",
    "SDA",
    "Keystone-SDA",
    "NTB",
    "TT",
    "Ritzau",
    "STT",
    "PAP",
    "CTK",
    "\u010cTK",
    "TASR",
    "MTI",
    "STA",
    "HINA",
    "BTA",
    "Agerpres",
    "AGERPRES",
    "Tanjug",
    "ANA-MPA",
    "LETA",
    "ELTA",
    "TASS",
    "ITAR-TASS",
    "Interfax",
    "RIA Novosti",
    "Sputnik",
    "Ukrinform",
    "UNIAN",
    "BelTA",
    # Asia and the Pacific
    "Xinhua",
    "Kyodo",
    "Kyodo News",
    "Jiji",
    "Jiji Press",
    "Yonhap",
    "KCNA",
    "CNA",
    "PTI",
    "Press Trust of India",
    "IANS",
    "ANI",
    "UNI",
    "Bernama",
    "Antara",
    "VNA",
    "AAP",
    "Australian Associated Press",
    # the Middle East and Africa
    "Anadolu",
    "Anadolu Agency",
    "KUNA",
    "WAM",
    "SPA",
    "QNA",
    "MENA",
    "SANA",
    "IRNA",
    "Tasnim",
    "KNA",
    "APS",
    "Maghreb Arabe Presse",
    # the Americas
    "CP",
    "Canadian Press",
    "The Canadian Press",
    "Notimex",
    "T\u00e9lam",
    "Telam",
    "Ag\u00eancia Brasil",
    "Agencia Brasil",
    "Prensa Latina",
)
_DASHES = "-\u2013\u2014"
# characters a credit reaches before its agency name ("according to the ", "- ")
_CREDIT_REACH = 48
_WORD = re.compile(r"\w")
_SPELLED = re.compile(r"[^\W\d_]+")
_NOT_IN_NAME = re.compile(r"[^\w\s\-'\u2019&]")


@dataclass(frozen=True, eq=False)
class Agencies:
    """A set of wire agency names and what direction reads with them (``wire_agencies``).

    ``names``: longest first, so the compiled scan (``normalize.find_literals``, which takes the
    first name in order that matches at a position) finds the longest name at each place;
    ``pattern``: their alternation (escaped) in that order; the dateline, the four credit shapes
    and the ``source`` reader over it; ``inner``: for each name another may begin inside
    ("Keystone-SDA": "SDA" at 9), those offsets and the names that may begin there, longest
    first; ``acronyms``: the names in capitals without spaces; ``spelled``: the others (an acronym
    in brackets after one of them names the agency, after other words it only abbreviates them);
    ``plain``: every name starts with a word character (so no credit shape holds one that follows
    a word character).
    """

    names: tuple[str, ...]
    pattern: str
    dateline: re.Pattern[str]
    paren: re.Pattern[str]
    said: re.Pattern[str]
    by: re.Pattern[str]
    dash: re.Pattern[str]
    source: re.Pattern[str]
    inner: dict[str, tuple[tuple[int, tuple[str, ...]], ...]]
    acronyms: frozenset[str]
    spelled: tuple[str, ...]
    plain: bool


def _inner_starts(names: tuple[str, ...]) -> dict[str, tuple[tuple[int, tuple[str, ...]], ...]]:
    """``Agencies.inner``: the offsets inside each name where another name may begin and a credit
    shape may see it begin (after a character no word goes on through, or a name that starts
    with one), each with the names agreeing with the text there. The compiled scan finds names
    leftmost without overlap and goes on after each; the credits of a name beginning inside one
    it found are looked for at these offsets."""
    odd_start = tuple(y for y in names if not _WORD.match(y[0]))
    out = {}
    for x in names:
        at = []
        for o in range(1, len(x)):
            pool = names if not _WORD.match(x[o - 1]) else odd_start
            fit = tuple(y for y in pool if x[o : o + len(y)] == y[: len(x) - o])
            if fit:
                at.append((o, fit))
        if at:
            out[x] = tuple(at)
    return out


@lru_cache(maxsize=16)
def wire_agencies(extra: tuple[str, ...] = ()) -> Agencies:
    """The built-in agencies (``AGENCY_LIST``) with the names of ``extra`` (matched literally),
    compiled once per process for each set."""
    names = tuple(sorted(set(AGENCY_LIST) | set(extra), key=lambda x: (-len(x), x)))
    alt = "|".join(map(re.escape, names))
    # "MOSCOW (Reuters) -", "PARIS, March 7 (AFP) -": the agency's own dateline near the top
    dateline = re.compile(r"\((" + alt + r")\)\s*[-\u2013\u2014:]")
    # a credit anywhere, in one of four shapes, each holding one agency name: "(AP)"; "Reuters
    # reported"; "according to AFP", "told Reuters"; "- AFP" ending a line
    paren = re.compile(r"\((" + alt + r")\)")
    said = re.compile(
        r"\b(" + alt + r")\s+(?:news agency\s+)?(?:reported|said|reports|quoted|contributed|reporting)\b"
    )
    by = re.compile(r"\b(?:according to|told|by|via|source:|reporting by)\s+(?:the\s+)?(" + alt + r")\b")
    dash = re.compile(r"[-\u2013\u2014]\s*(" + alt + r")\s*$", re.MULTILINE)
    source = re.compile(r"^\s*(?:" + alt + r")(?:\s+news)?\s*$", re.IGNORECASE)
    acronyms = frozenset(x for x in names if x.isupper() and not any(c.isspace() for c in x))
    spelled = tuple(x for x in names if x not in acronyms)
    plain = all(_WORD.match(x[0]) for x in names)
    return Agencies(
        names, alt, dateline, paren, said, by, dash, source, _inner_starts(names), acronyms, spelled, plain
    )


WIRE = wire_agencies()
"""The built-in agencies."""
AGENCIES = WIRE.pattern
AGENCY_NAMES = WIRE.names
# the built-in set's patterns, by their former names
_WIRE_DATELINE = WIRE.dateline
_CREDIT_PAREN, _CREDIT_SAID, _CREDIT_BY, _CREDIT_DASH = WIRE.paren, WIRE.said, WIRE.by, WIRE.dash


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


def derived_relation(rel: str, linked: bool, a: DerivedSide, b: DerivedSide, direc: str) -> str:
    """The relation once the sentence derivation is read (``linked``: any derived sentence; ``a``,
    ``b``: each side's shares and level; docs/relations.md):

    * the literal relations ``duplicate``, ``near_duplicate``, ``a_contains_b`` and
      ``b_contains_a`` stay;
    * a pair with any derived sentence is never ``unrelated``: at least ``partial``;
    * a side ``wholly`` derived from the other is held in it: when only ``b`` is, ``a_contains_b``
      (a story rewritten whole from a wire text reads as contained in it), and the mirror;
    * both sides wholly derived: the source by ``direction`` contains the copy; with no direction,
      ``near_duplicate`` (each is a rewrite of the whole other).
    """
    if rel not in ("partial", "unrelated") or not linked:
        return rel
    wa, wb = a.level == "wholly", b.level == "wholly"
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


def _spelled_out(text: str, paren: int, name: str, agencies: Agencies) -> bool:
    """Does the acronym ``name``, in brackets at ``paren``, follow the words it abbreviates
    ("Palestinian Authority (PA)", "Pakistan Tehreek-e-Insaf (PTI)")? Then it names them and
    credits no agency, unless the words are an agency's name ("Press Association (PA)")."""
    if name not in agencies.acronyms:
        return False
    want = "".join(c for c in name.casefold() if c.isalnum())
    tail = text[max(0, paren - 24 * len(want)) : paren]
    if tail.rstrip().endswith(agencies.spelled):  # (one call: str.endswith takes the tuple)
        return False
    # the run of words right before the bracket (no sentence mark between them), their initials:
    # of the last words, or of the last words past short ones in lower case ("of", "e")
    words = _SPELLED.findall(_NOT_IN_NAME.split(tail)[-1])
    n = len(want)
    every = "".join(w[0] for w in words[-n:]).casefold()
    content = "".join(w[0] for w in words if not (w.islower() and len(w) <= 3))[-n:].casefold()
    return want in (every, content)


def wire_dateline(text: str, agencies: Agencies = WIRE) -> str | None:
    """The agency of a wire dateline in the first 400 characters ("MOSCOW (Reuters) -"), or None."""
    head = text[:400]
    for m in agencies.dateline.finditer(head):
        if not _spelled_out(head, m.start(), m.group(1), agencies):
            return m.group(1)
    return None


def is_wire_original(text: str, agencies: Agencies = WIRE) -> bool:
    return wire_dateline(text, agencies) is not None


def credits(text: str, agencies: Agencies = WIRE) -> list[str]:
    """Agencies the text credits anywhere ("(AP)", "Reuters reported", "according to AFP")."""
    return list(_credits(text, agencies))


@lru_cache(maxsize=4096)
def _credits(text: str, agencies: Agencies) -> tuple[str, ...]:
    # cached: a document meets many partners, its credits are read once (a scan keeps them with
    # the prepared document instead, ``pipeline.Prepared.credits``)
    return credited(text, None, agencies)


def credited(
    text: str, names: list[tuple[int, int]] | None = None, agencies: Agencies = WIRE
) -> tuple[str, ...]:
    """``credits`` of a text, as a sorted tuple, uncached (``names``: where the agency names stand
    in it, ``find_literals(text, agencies.names)``, when the caller found them already)."""
    # Every credit holds an agency name, and each shape stands at a known place around it: so the
    # names are found first (one scan) and each shape is only tried there, anchored ("(" just
    # before the name, the name itself, a dash before it past spaces) or, for "according to" and
    # the like, in the ``_CREDIT_REACH`` characters before it. A search of the whole text for the
    # credit pattern tried it at every position and cost most of ``direction``; the union of each
    # shape's matches over the whole text is what this finds (a test holds it to that).
    if names is None:
        from .normalize import find_literals  # compiled: loaded by the workers that compare, only

        names = find_literals(text, agencies.names)
    if not names:
        return ()  # (most texts)
    paren, said, by, dash, inner = agencies.paren, agencies.said, agencies.by, agencies.dash, agencies.inner
    plain = agencies.plain
    found: set[str] = set()
    n = len(text)
    # where the last match of a shape ends: as a search finds them, matches of one shape never
    # overlap ("ITAR-TASS said" credits ITAR-TASS, not TASS too)
    paren_end = said_end = dash_end = 0
    for span in names:
        at = [span]
        # (rare: a name holding the start of another, "Keystone-SDA"; the scan went on after it)
        if inner and (inside := inner.get(text[span[0] : span[1]])) is not None:
            for o, fit in inside:
                p = span[0] + o
                y = next((y for y in fit if text.startswith(y, p)), None)
                if y is not None:
                    at.append((p, p + len(y)))
        for start, end in at:
            if start > 0 and plain and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue  # inside a word ("TT" in "PITTSBURGH"): no shape begins there
            if start > paren_end and text[start - 1] == "(" and (m := paren.match(text, start - 1)):
                paren_end = m.end()
                if not _spelled_out(text, start - 1, m.group(1), agencies):
                    found.add(m.group(1))
            if start >= said_end and (m := said.match(text, start)):
                said_end = m.end()
                found.add(m.group(1))
            lo = max(0, start - _CREDIT_REACH)
            for m in by.finditer(text, lo, min(n, end + 1)):  # (+1: the \b after the name sees on)
                found.add(m.group(1))
            k = start - 1
            while k >= lo and text[k].isspace():
                k -= 1
            if k >= max(lo, dash_end) and text[k] in _DASHES and (m := dash.match(text, k)):
                dash_end = m.end()
                found.add(m.group(1))
    return tuple(sorted(found))


def is_agency_source(source: str | None, agencies: Agencies = WIRE) -> bool:
    """Is the ``source`` metadata a wire agency ("Reuters", "AFP", "Associated Press")?"""
    return bool(source) and bool(agencies.source.match(source or ""))


def direction(
    a: Document,
    b: Document,
    containment_a: float,
    containment_b: float,
    wires: tuple[str | None, str | None] | None = None,
    credit: Callable[[], tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
    agencies: Agencies = WIRE,
) -> tuple[str, str]:
    """(direction, reason) (``wires``: each text's ``wire_dateline``, when the caller has them;
    ``credit``: gives each text's ``credits``, when the caller keeps them; ``agencies``: the
    agencies read, ``wire_agencies(settings.agencies)``).
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
    sa, sb = is_agency_source(a.source, agencies), is_agency_source(b.source, agencies)
    if sa != sb:
        return (
            ("a_to_b", f"source: {a.id} is the agency {a.source}")
            if sa
            else (
                "b_to_a",
                f"source: {b.id} is the agency {b.source}",
            )
        )
    wa, wb = (
        wires if wires is not None else (wire_dateline(a.text, agencies), wire_dateline(b.text, agencies))
    )
    if (wa is None) != (wb is None):
        return (
            ("a_to_b", f"wire dateline ({wa}) in {a.id}, none in {b.id}")
            if wa
            else (
                "b_to_a",
                f"wire dateline ({wb}) in {b.id}, none in {a.id}",
            )
        )
    ca, cb = credit() if credit is not None else (_credits(a.text, agencies), _credits(b.text, agencies))
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
