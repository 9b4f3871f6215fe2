"""Value types shared by every stage: Document, Edit, Passage, Pair, Family, Settings.

Offsets are half-open ``[start, end)`` Python ``str`` indices into the text exactly as read.
``to_dict()`` gives the JSON schema of DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError

EDIT_KINDS = ("spelling", "number", "name", "quote", "punctuation", "insert", "delete", "rewording", "moved")
RELATIONS = (
    "duplicate",
    "near_duplicate",
    "a_contains_b",
    "b_contains_a",
    "partial",
    "same_event",
    "unrelated",
)
DIRECTIONS = ("a_to_b", "b_to_a", "unknown")


@dataclass(frozen=True, slots=True)
class Document:
    """One input document. ``text`` is the original text after decoding; ``meta`` carries extra fields."""

    id: str
    text: str
    date: str | None = None
    source: str | None = None
    title: str | None = None
    url: str | None = None
    path: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "length": len(self.text)}
        for key in ("date", "source", "title", "url", "path"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.meta:
            out["meta"] = self.meta
        return out


# an edit seen from the other side: words only one side has change from inserted to deleted
SWAPPED_KIND = {"insert": "delete", "delete": "insert"}


@dataclass(frozen=True, slots=True)
class Edit:
    """One difference inside a passage: ``kind`` and the two sides with their offsets."""

    kind: str
    a: str
    b: str
    a_start: int
    a_end: int
    b_start: int
    b_end: int
    # embedding similarity of a ``rewording`` the semantic model decided (``--semantic``); else None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "a": self.a,
            "b": self.b,
            "a_start": self.a_start,
            "a_end": self.a_end,
            "b_start": self.b_start,
            "b_end": self.b_end,
        }
        if self.similarity is not None:
            out["similarity"] = self.similarity
        return out

    def swapped(self) -> Edit:
        kind = SWAPPED_KIND.get(self.kind, self.kind)
        return Edit(kind, self.b, self.a, self.b_start, self.b_end, self.a_start, self.a_end, self.similarity)


@dataclass(frozen=True, slots=True)
class Passage:
    """A shared passage: offsets in both texts, shared word count, similarity and the edit script."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    words: int
    similarity: float
    edits: tuple[Edit, ...] = ()
    # token ranges, used internally (containment, clustering); not part of the JSON schema
    a_tokens: tuple[int, int] = (0, 0)
    b_tokens: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a_start": self.a_start,
            "a_end": self.a_end,
            "b_start": self.b_start,
            "b_end": self.b_end,
            "words": self.words,
            "similarity": self.similarity,
            "edits": [e.to_dict() for e in self.edits],
        }

    def swapped(self) -> Passage:
        return Passage(
            self.b_start,
            self.b_end,
            self.a_start,
            self.a_end,
            self.words,
            self.similarity,
            tuple(e.swapped() for e in self.edits),
            self.b_tokens,
            self.a_tokens,
        )


@dataclass(frozen=True, slots=True)
class Fragment:
    """An exact verbatim run of at least ``min_fragment`` words inside an aligned sentence pair."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int

    def to_dict(self) -> dict[str, Any]:
        return {"a_start": self.a_start, "a_end": self.a_end, "b_start": self.b_start, "b_end": self.b_end}

    def swapped(self) -> Fragment:
        return Fragment(self.b_start, self.b_end, self.a_start, self.a_end)


@dataclass(frozen=True, slots=True)
class SentenceLink:
    """A sentence of ``a`` aligned with a sentence of ``b`` it was made from (or that was made
    from it): ``kind`` is ``verbatim``, ``partly_verbatim`` or ``rewritten``."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    kind: str
    similarity: float
    fragments: tuple[Fragment, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "a_start": self.a_start,
            "a_end": self.a_end,
            "b_start": self.b_start,
            "b_end": self.b_end,
            "kind": self.kind,
            "similarity": self.similarity,
            "fragments": [f.to_dict() for f in self.fragments],
        }

    def swapped(self) -> SentenceLink:
        return SentenceLink(
            self.b_start,
            self.b_end,
            self.a_start,
            self.a_end,
            self.kind,
            self.similarity,
            tuple(sorted((f.swapped() for f in self.fragments), key=lambda f: (f.a_start, f.b_start))),
        )


@dataclass(frozen=True, slots=True)
class DerivedSide:
    """Shares of one side's words that are verbatim, rewritten or new (they sum to 1), and how much
    of the side derives from the other: ``wholly``, ``partially`` or ``non``."""

    verbatim: float
    rewritten: float
    new: float
    level: str
    words: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "verbatim": self.verbatim,
            "rewritten": self.rewritten,
            "new": self.new,
            "level": self.level,
            "words": self.words,
        }

    @property
    def derived(self) -> float:
        return 1.0 - self.new


@dataclass(frozen=True, slots=True)
class Derivation:
    """A pair's sentence derivation (``copytrace.derive``): each side's shares and level, and the
    aligned sentence pairs with their verbatim fragments."""

    a: DerivedSide
    b: DerivedSide
    sentences: tuple[SentenceLink, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "sentences": [x.to_dict() for x in self.sentences],
        }

    def swapped(self) -> Derivation:
        links = sorted((x.swapped() for x in self.sentences), key=lambda x: (x.a_start, x.b_start))
        return Derivation(self.b, self.a, tuple(links))


NO_DERIVATION = Derivation(DerivedSide(0.0, 0.0, 1.0, "non"), DerivedSide(0.0, 0.0, 1.0, "non"))


@dataclass(frozen=True, slots=True)
class Pair:
    """The relation between two documents ``a`` and ``b`` (``a`` first in input order)."""

    a: str
    b: str
    relation: str
    direction: str
    containment_a: float
    containment_b: float
    similarity: float
    passages: tuple[Passage, ...]
    numbers_changed: tuple[dict[str, Any], ...] = ()
    names_changed: tuple[dict[str, Any], ...] = ()
    direction_reason: str = "no evidence"
    derivation: Derivation | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "a": self.a,
            "b": self.b,
            "relation": self.relation,
            "direction": self.direction,
            "direction_reason": self.direction_reason,
            "containment_a": self.containment_a,
            "containment_b": self.containment_b,
            "similarity": self.similarity,
            "passages": [p.to_dict() for p in self.passages],
            "flags": {
                "numbers_changed": list(self.numbers_changed),
                "names_changed": list(self.names_changed),
            },
        }
        if self.derivation is not None:
            out["derivation"] = self.derivation.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Family:
    """A group of documents linked by shared passages."""

    id: str
    members: tuple[str, ...]
    representative: str
    earliest: str | None
    earliest_reason: str = "no evidence"
    # the family's genealogy (``copytrace.genealogy``): one edge per member and the variant
    # readings, as their ``to_dict()``; None where it was not built (the index's families)
    tree: tuple[dict[str, Any], ...] | None = None
    variants: tuple[dict[str, Any], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "cluster": self.id,
            "size": len(self.members),
            "members": list(self.members),
            "representative": self.representative,
            "earliest": self.earliest,
            "earliest_reason": self.earliest_reason,
        }
        if self.tree is not None:
            out["tree"] = list(self.tree)
        if self.variants is not None:
            out["variants"] = list(self.variants)
        return out


def _check_int(name: str, value: object, lo: int, hi: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo or (hi is not None and value > hi):
        allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ConfigError(name, allowed, value)


def _check_fraction(name: str, value: object) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= float(value) <= 1.0:
        raise ConfigError(name, "a number in [0, 1]", value)


def _check_names(name: str, value: object) -> None:
    if isinstance(value, (tuple, list)) and all(
        isinstance(x, str) and x.strip() == x and x.isprintable() and x for x in value
    ):
        return
    raise ConfigError(name, "a list of names (non-empty text on one line, no spaces around it)", value)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of the pipeline, validated at construction.

    The user states intent (``min_words``: the shortest passage worth reporting); the winnowing
    window is derived from it so that any passage of ``min_words`` words copied verbatim yields at
    least ``min_shared`` fingerprints (Schleimer, Wilkerson & Aiken 2003, "Winnowing"), unless
    ``window`` is set explicitly.
    """

    ngram: int = 5
    min_words: int = 15
    min_shared: int = 2
    window: int | None = None
    max_df: int = 200
    # evidence candidates (a rewritten copy that shares no passage): a pair sharing at least this
    # many rare content-word pairs (``fingerprint.evidence_keys``, ``candidates.py``) is a
    # candidate; 0 turns them off
    min_evidence: int = 3
    max_gap: int = 20
    near_duplicate: float = 0.8
    contains: float = 0.8
    workers: int = 0
    batch_size: int = 2000
    memory_mb: int = 1024
    date_window_days: int | None = None
    exclude_same_source: bool = False
    # optional embedding model (extra ``[semantic]``, see copytrace.semantic)
    semantic: bool = False
    rewording: float = 0.65
    same_event: float = 0.8
    # sentence derivation (copytrace.derive): the shortest verbatim fragment reported, in words
    min_fragment: int = 4
    # wire agencies direction reads besides the built-in ones (``relate.AGENCY_LIST``), each
    # matched literally, case included ("Agencia Nova")
    agencies: tuple[str, ...] = ()
    # documents sharing this field (``url``, or a metadata field) are versions of one article
    # (``copytrace.timeline``, ``timelines.jsonl``)
    version_key: str = "url"

    def __post_init__(self) -> None:
        _check_int("ngram", self.ngram, 1, 32)
        _check_int("min_words", self.min_words, 1)
        _check_int("min_shared", self.min_shared, 1)
        if self.window is not None:
            _check_int("window", self.window, 1, 256)
        _check_int("max_df", self.max_df, 2)
        _check_int("min_evidence", self.min_evidence, 0)
        _check_int("max_gap", self.max_gap, 0)
        _check_fraction("near_duplicate", self.near_duplicate)
        _check_fraction("contains", self.contains)
        _check_int("workers", self.workers, 0)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("memory_mb", self.memory_mb, 64)
        if self.date_window_days is not None:
            _check_int("date_window_days", self.date_window_days, 0)
        if not isinstance(self.semantic, bool):
            raise ConfigError("semantic", "True or False", self.semantic)
        _check_fraction("rewording", self.rewording)
        _check_fraction("same_event", self.same_event)
        _check_int("min_fragment", self.min_fragment, 2, 64)
        _check_names("agencies", self.agencies)
        if not (isinstance(self.version_key, str) and self.version_key.isidentifier()):
            raise ConfigError("version_key", "a field name (letters, digits and _)", self.version_key)
        object.__setattr__(self, "agencies", tuple(self.agencies))  # (a list, as JSON gives it back)

    @property
    def winnow_window(self) -> int:
        """Winnowing window w: a verbatim run of ``min_words`` words has ``min_words - ngram + 1``
        n-grams and so at least ``floor((min_words - ngram + 1) / w)`` selected fingerprints."""
        if self.window is not None:
            return self.window
        shingles = max(1, self.min_words - self.ngram + 1)
        return max(1, shingles // self.min_shared)

    @property
    def support_window(self) -> int:
        """Candidate rule: ``min_shared`` fingerprints within this many n-grams in both documents
        (a passage of ``min_words`` words with edits of up to ``max_gap`` words fits)."""
        return self.min_words + self.max_gap

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def slot_builder(cls: type) -> Any:
    """A constructor of the frozen slotted dataclass ``cls`` taking every field positionally (no
    defaults, no checks) that sets each slot through its descriptor: what the dataclass's own
    ``__init__`` does through ``object.__setattr__`` (the price of ``frozen``), at half the cost.
    For the hot paths that make millions of edits; the instances are the same."""
    names = [f.name for f in fields(cls)]
    args = ", ".join(names)
    body = "".join(f"    _s_{n}(o, {n})\n" for n in names)
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    scope.update({f"_s_{n}": getattr(cls, n).__set__ for n in names})
    exec(f"def build({args}):\n    o = _new(_cls)\n{body}    return o\n", scope)  # noqa: S102
    return scope["build"]


new_edit = slot_builder(Edit)
"""``Edit(kind, a, b, a_start, a_end, b_start, b_end, similarity)``, faster (``slot_builder``)."""
new_passage = slot_builder(Passage)
"""``Passage(a_start, a_end, b_start, b_end, words, similarity, edits, a_tokens, b_tokens)``, faster."""
new_document = slot_builder(Document)
"""``Document(id, text, date, source, title, url, path, meta)``, faster (a scan makes one for
every record it reads and every document it compares)."""
