"""Engine-free stage glue: prepare a document, compare two prepared documents.

``prepare`` runs normalize + fingerprint once per document; ``compare_prepared`` runs
align + explain + relate for a pair. Engines (``engines/local.py``, ``engines/spark.py``)
decide where these run, never what they compute.

``compare`` is symmetric by construction: the alignment is computed in a canonical order
(by content) and mirrored when needed, so ``compare(b, a)`` is exactly the mirror of
``compare(a, b)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .align import Block, Found, Index, align_batch, align_tokens, whole_block
from .derive import ALONG_COVER, Derived, SideInput, content_bigrams, content_bigrams_many, derive, may_derive
from .explain import EditRow, Side, edit_rows, flags
from .fingerprint import fingerprints, shingles_many
from .normalize import Tokens, find_literals_many, tokenize_batch
from .relate import (
    WIRE,
    Agencies,
    coverage,
    credited,
    derived_relation,
    direction,
    relation,
    wire_agencies,
    wire_dateline,
)
from .types import Derivation, Document, Pair, Passage, Settings, new_edit, new_passage
from .write import derivation_json, dumps_pair, dumps_pair_rows


@dataclass(slots=True)
class Prepared:
    """A document with its tokens and n-gram hashes (and, once aligned, its seed index)."""

    doc: Document
    tokens: Tokens
    shingles: np.ndarray
    _index: Index | None = None
    _side: Side | None = None
    _wire: str | None | bool = False  # False: not read yet
    _credits: tuple[str, ...] | None = None
    _names: tuple[AgencyNames, int] | None = None  # its batch's agency names, its place in it
    _derive: SideInput | None = None
    _bigrams: np.ndarray | None = None
    _twins: dict[str, SideInput] | None = None  # its batch's ``SideInput`` by text, shared by copies
    _batch_bigrams: tuple[BatchBigrams, int] | None = None  # its batch's, its place in it

    @property
    def bigrams(self) -> np.ndarray:
        """Its distinct pairs of neighbouring content words (``derive.content_bigrams``), made once."""
        if self._bigrams is None:
            if self._batch_bigrams is None:
                self._bigrams = content_bigrams(self.tokens)
            else:
                got, k = self._batch_bigrams
                self._bigrams = got.of(k)
        return self._bigrams

    @property
    def sentences(self) -> SideInput:
        """Its sentences and content words as the derivation reads them (``derive.SideInput``),
        made once for all the document's pairs, and once for all the exact copies of its text in
        its batch (so a copy's pairs with another find one object: ``derive.derive``)."""
        if self._derive is None:
            twins = self._twins
            got = None if twins is None else twins.get(self.doc.text)
            if got is None:
                got = SideInput(self.doc.text, self.tokens)
                if twins is not None:
                    twins[self.doc.text] = got
            self._derive = got
        return self._derive

    @property
    def credits(self) -> tuple[str, ...]:
        """The agencies the text credits (``relate.credits``), read once."""
        if self._credits is None:
            if self._names is None:
                self._credits = credited(self.doc.text)
            else:
                names, k = self._names
                self._credits = credited(self.doc.text, names.of(k), names.agencies)
        return self._credits

    @property
    def wire(self) -> str | None:
        """The agency of the text's wire dateline (``relate.wire_dateline``), read once (or set
        by an engine that read it with the text)."""
        if self._wire is False:
            self._wire = wire_dateline(
                self.doc.text, WIRE if self._names is None else self._names[0].agencies
            )
        return self._wire  # type: ignore[return-value]

    @wire.setter
    def wire(self, value: str | None) -> None:
        self._wire = value

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index.build(self.shingles)
        return self._index

    @property
    def side(self) -> Side:
        """The token columns as ``explain`` reads them, made once for all the document's pairs."""
        if self._side is None:
            self._side = Side(self.doc.text, self.tokens)
        return self._side

    @property
    def key(self) -> tuple[int, bytes]:
        """Content-based canonical order (length, then token hashes)."""
        return len(self.tokens), self.tokens.hashes.tobytes()

    def before(self, other: Prepared) -> bool:
        """``self.key < other.key``, with the token hashes read only when the lengths tie."""
        n, m = self.tokens.hashes.shape[0], other.tokens.hashes.shape[0]
        if n != m:
            return bool(n < m)
        return self.tokens.hashes.tobytes() < other.tokens.hashes.tobytes()


class AgencyNames:
    """Where the agency names stand in each text of a prepared batch, found for the whole batch
    (``normalize.find_literals_many``: one compiled scan) the first time the credits of one of its
    documents are read. A scan reads the credits of most documents it compares (40k of the 64k
    an align stage prepares at 100k): one call for the batch in place of one a document took 2%
    off the scan's CPU time. ``agencies``: the agencies read (``relate.wire_agencies``)."""

    __slots__ = ("_texts", "_spans", "agencies")

    def __init__(self, texts: list[str], agencies: Agencies = WIRE) -> None:
        self._texts: list[str] | None = texts
        self._spans: list[list[tuple[int, int]]] = []
        self.agencies = agencies

    def of(self, k: int) -> list[tuple[int, int]]:
        """The spans of the names in text ``k``."""
        if self._texts is not None:
            self._spans = find_literals_many(self._texts, self.agencies.names)
            self._texts = None
        return self._spans[k]


class BatchBigrams:
    """The pairs of neighbouring content words of each text of a prepared batch
    (``derive.content_bigrams_many``), made for the whole batch in one compiled call the first
    time one document's are asked for: a scan's align task asks for them for most of its
    documents (every pair without a literal passage is gated on them: ``derive.may_derive``), and
    one call for the batch costs less than the calls for half of its documents."""

    __slots__ = ("_tokens", "_keys", "_off")

    def __init__(self, tokens: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        self._tokens: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = tokens
        self._keys = self._off = np.empty(0, dtype=np.int64)

    def of(self, k: int) -> np.ndarray:
        """Text ``k``'s keys."""
        if self._tokens is not None:
            self._keys, self._off = content_bigrams_many(*self._tokens)
            self._tokens = None
        return self._keys[self._off[k] : self._off[k + 1]]


@dataclass(frozen=True, slots=True)
class Batch:
    """The arrays a batch of prepared documents are views into: token and separator hashes
    (document ``d``'s at ``[tokens[d], tokens[d + 1])``) and seeding indexes (``Index`` arrays,
    by ``shingles``)."""

    hashes: np.ndarray
    seps: np.ndarray
    tokens: np.ndarray
    index: tuple[np.ndarray, np.ndarray, np.ndarray]
    shingles: np.ndarray

    def align(self, first: np.ndarray, second: np.ndarray, s: Settings) -> tuple[np.ndarray, Found]:
        """Per pair of documents (positions in the batch): False where ``compare_prepared``
        finds no passage, certainly, and the blocks of the others (``align.align_batch``), for
        ``compare_prepared``: one compiled call aligns them all."""
        return align_batch(
            self.hashes,
            self.seps,
            self.tokens,
            self.index,
            self.shingles,
            first,
            second,
            s.ngram,
            s.max_gap,
            s.min_words,
        )


def prepare_batch(docs: list[Document], s: Settings, index: bool = True) -> tuple[list[Prepared], Batch]:
    """Tokens and n-gram hashes of a batch of documents (and their seeding indexes if ``index``),
    each step one compiled call for the whole batch, and the arrays the documents' arrays are
    views into (``Batch``; its ``index`` arrays empty without ``index``)."""
    texts = [d.text for d in docs]
    tok, counts = tokenize_batch(texts)
    sh, bounds = shingles_many(tok.hashes, counts, s.ngram)
    t = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(counts, out=t[1:])
    tb, b = t.tolist(), bounds.tolist()
    starts, ends, hashes, seps = tok.starts, tok.ends, tok.hashes, tok.seps
    names = AgencyNames(texts, wire_agencies(s.agencies))
    twins: dict[str, SideInput] = {}
    grams = BatchBigrams((hashes, starts, ends, t))
    out = [
        Prepared(
            d,
            Tokens(starts[t0:t1], ends[t0:t1], hashes[t0:t1], seps[t0:t1]),
            sh[lo:hi],
            _names=(names, k),
            _twins=twins,
            _batch_bigrams=(grams, k),
        )
        for k, (d, t0, t1, lo, hi) in enumerate(zip(docs, tb[:-1], tb[1:], b[:-1], b[1:], strict=True))
    ]
    if not index:
        empty = np.empty(0, dtype=np.int64)
        return out, Batch(hashes, seps, t, (sh[:0], empty, empty), bounds)
    srt, order, occ = Index.arrays(sh, bounds)
    for p, lo, hi in zip(out, b[:-1], b[1:], strict=True):
        p._index = Index(srt[lo:hi], order[lo:hi], occ[lo:hi])
    return out, Batch(hashes, seps, t, (srt, order, occ), bounds)


def prepare_many(docs: list[Document], s: Settings, index: bool = False) -> list[Prepared]:
    """The documents of ``prepare_batch``."""
    return prepare_batch(docs, s, index)[0] if docs else []


def prepare(doc: Document, s: Settings) -> Prepared:
    return prepare_many([doc], s)[0]


def doc_fingerprints(p: Prepared, s: Settings) -> np.ndarray:
    return fingerprints(p.shingles, s.winnow_window)


def _r(x: float) -> float:
    return round(float(x), 4)


def _blocks(
    pa: Prepared, pb: Prepared, s: Settings, same: bool, found: tuple[Found, int] | None
) -> list[Block]:
    """The blocks of ``pa`` (the canonical first) and ``pb``."""
    if same:
        # the same word sequence: one passage over everything, no seeding or edit alignment
        # (only punctuation and quote style can differ); a text shorter than min_words too
        return [whole_block(pa.tokens, pb.tokens)]
    if found is not None:
        return found[0].of(found[1], pa.tokens, pb.tokens, s.min_words)
    return align_tokens(
        pa.tokens, pa.shingles, pa.index, pb.tokens, pb.shingles, pb.index, s.ngram, s.max_gap, s.min_words
    )


PassageRow = tuple[int, int, int, int, int, float, tuple[int, int], tuple[int, int], list[EditRow]]
"""A passage as the fields of ``Passage`` (a_start, a_end, b_start, b_end, words, similarity,
a_tokens, b_tokens) and its edits as rows (``explain.edit_rows``)."""


def _passage_rows(pa: Prepared, pb: Prepared, blocks: list[Block], swap: bool = False) -> list[PassageRow]:
    """The passages of ``blocks`` of ``pa`` (the canonical first) and ``pb`` as rows; with
    ``swap``, each as ``Passage.swapped`` gives it (made so directly)."""
    out: list[PassageRow] = []
    sa, sb = pa.side, pb.side
    for blk in blocks:
        a0, a1 = sa.starts[blk.a0], sa.ends[blk.a1 - 1]
        b0, b1 = sb.starts[blk.b0], sb.ends[blk.b1 - 1]
        similarity = _r(2.0 * blk.matched / ((blk.a1 - blk.a0) + (blk.b1 - blk.b0)))
        edits = edit_rows(sa, sb, blk, swap)
        if swap:
            out.append((b0, b1, a0, a1, blk.matched, similarity, (blk.b0, blk.b1), (blk.a0, blk.a1), edits))
        else:
            out.append((a0, a1, b0, b1, blk.matched, similarity, (blk.a0, blk.a1), (blk.b0, blk.b1), edits))
    return out


def _along(blocks: list[Block], n: int, m: int) -> np.ndarray | None:
    """For a pair whose alignment matches at least ``derive.ALONG_COVER`` of the words of both
    texts (``n`` and ``m`` words; a near-duplicate), the stretches between the edits of its alignment as
    rows (i0, i1, j0, j1), what ``derive._derive_along`` reads its derivation off; else None."""
    if not blocks or n == 0 or m == 0:
        return None
    # (the words the alignment matches: the edits inside a passage do not count, so a pair with
    # a sentence rewritten inside a passage is searched, and that sentence found)
    if sum(b.matched for b in blocks) < ALONG_COVER * max(n, m):
        return None
    rows = []
    for blk in blocks:
        i, j = blk.a0, blk.b0
        for i1, i2, j1, j2 in blk.regions:
            rows.append((i, i1, j, j1))
            i, j = i2, j2
        rows.append((i, blk.a1, j, blk.b1))
    return np.array(rows, dtype=np.int64)


Oriented = tuple[bool, list[PassageRow], "np.ndarray | None"]


def _canonical(
    pa: Prepared, pb: Prepared, s: Settings, found: tuple[Found, int] | None
) -> tuple[bool, Prepared, Prepared, bool, list[Block], np.ndarray | None]:
    """(the same word sequence, the canonical first and second (by content, so a pair and its
    mirror align alike), whether that exchanges ``pa`` and ``pb``, their blocks, ``_along`` of
    the blocks)."""
    na, nb = pa.tokens.hashes.shape[0], pb.tokens.hashes.shape[0]
    same = na > 0 and na == nb and bool(np.array_equal(pa.tokens.hashes, pb.tokens.hashes))
    first, second, swap = (pb, pa, True) if pb.before(pa) else (pa, pb, False)
    blocks = _blocks(first, second, s, same, found)
    return (
        same,
        first,
        second,
        swap,
        blocks,
        _along(blocks, len(first.tokens.hashes), len(second.tokens.hashes)),
    )


def _oriented(pa: Prepared, pb: Prepared, s: Settings, found: tuple[Found, int] | None) -> Oriented:
    """(the same word sequence, the passages of ``pa`` and ``pb`` as rows, ``pa`` as ``a``, and
    ``_along`` of their blocks), aligned in canonical order (``_canonical``)."""
    same, first, second, swap, blocks, along = _canonical(pa, pb, s, found)
    return same, _passage_rows(first, second, blocks, swap), along


def derived(
    pa: Prepared, pb: Prepared, s: Settings, literal: bool = True, along: np.ndarray | None = None
) -> Derived | None:
    """The sentence derivation of ``pa`` (as ``a``) and ``pb`` (``derive.derive``), computed in
    canonical order (by content) and mirrored when needed, so a pair and its mirror agree; None
    for a pair without a ``literal`` passage that ``derive.may_derive`` rules out. ``along``: the
    pair's ``_along``, when it has one (a near-duplicate: its derivation is read off its
    alignment)."""
    if not literal and not may_derive(pa.bigrams, pb.bigrams):
        return None
    if pb.before(pa):
        return derive(pb.sentences, pa.sentences, s, swap=True, along=along)
    return derive(pa.sentences, pb.sentences, s, along=along)


def _nothing(pa: Prepared, pb: Prepared) -> Derived:
    """No derived sentence: every word of both new."""
    return Derived.none(pa.tokens.hashes.shape[0], pb.tokens.hashes.shape[0])


def derivation(pa: Prepared, pb: Prepared, s: Settings) -> Derivation:
    """``derived`` as a record."""
    # (the blocks only: the passages' edits are not needed for the derivation)
    return derived(pa, pb, s, along=_canonical(pa, pb, s, None)[5]).record()  # type: ignore[union-attr]


def _summary(
    pa: Prepared,
    pb: Prepared,
    s: Settings,
    same: bool,
    spans: list[tuple[tuple[int, int], tuple[int, int], int]],
    der: Derived,
) -> tuple[str, str, str, float, float, float, int]:
    """(relation, direction, its reason, containment of a and of b, similarity, shared words) of a
    pair from its passages' (a token range, b token range, words) and its derivation: what
    ``compare_prepared`` and ``encode_prepared`` both report."""
    cont_a = coverage(pa.tokens.hashes.shape[0], [at for at, _, _ in spans])
    cont_b = coverage(pb.tokens.hashes.shape[0], [bt for _, bt, _ in spans])
    rel = relation(same, cont_a, cont_b, spans, s)  # type: ignore[arg-type]  # (only its truth is read)
    side_a, side_b = der.sides()
    direc, reason = direction(
        pa.doc,
        pb.doc,
        max(cont_a, side_a.derived if side_a.level == "wholly" else 0.0),
        max(cont_b, side_b.derived if side_b.level == "wholly" else 0.0),
        (pa.wire, pb.wire),
        lambda: (pa.credits, pb.credits),
        wire_agencies(s.agencies),
    )
    rel = derived_relation(rel, der.any, side_a, side_b, direc)
    matched = sum(w for _, _, w in spans)
    length = sum((at[1] - at[0]) + (bt[1] - bt[0]) for at, bt, _ in spans)
    similarity = _r(2.0 * matched / length) if length else 0.0
    return rel, direc, reason, _r(cont_a), _r(cont_b), similarity, matched


def _model_links(pa: Prepared, pb: Prepared, passages: tuple[Passage, ...]) -> list[tuple[int, int, float]]:
    """(sentence of a, sentence of b, similarity) of each rewording the embedding model decided
    (an edit carrying a similarity) inside the passages."""
    out = []
    sa, sb = pa.sentences.span_array[:, 0], pb.sentences.span_array[:, 0]
    for p in passages:
        for e in p.edits:
            if e.kind == "rewording" and e.similarity is not None:
                i = int(np.searchsorted(sa, e.a_start, side="right")) - 1
                j = int(np.searchsorted(sb, e.b_start, side="right")) - 1
                out.append((max(i, 0), max(j, 0), float(e.similarity)))
    return out


def compare_prepared(pa: Prepared, pb: Prepared, s: Settings, found: tuple[Found, int] | None = None) -> Pair:
    """The full pair record for two prepared documents (``pa`` is ``a`` in the output; ``found``:
    what ``Batch.align`` found for a batch and the pair's place in it, if it was asked)."""
    same, rows, along = _oriented(pa, pb, s, found)
    passages = tuple(
        new_passage(a0, a1, b0, b1, words, sim, tuple([new_edit(*e, None) for e in edits]), at, bt)
        for a0, a1, b0, b1, words, sim, at, bt, edits in rows
    )
    same_event = False
    if s.semantic:  # rewording and same_event (extra [semantic]); the lexical path never gets here
        from .semantic import see_through

        passages, same_event = see_through(pa, pb, passages, s)
    der = derived(pa, pb, s, bool(passages) or same or s.semantic, along) or _nothing(pa, pb)
    if s.semantic:  # sentences the model matched where lexical evidence left both open
        der = der.with_links(pa.sentences, pb.sentences, _model_links(pa, pb, passages))
    if not passages and not der.significant:
        der = der.cleared()
    if not passages and not same_event and not der.any:
        return Pair(pa.doc.id, pb.doc.id, "unrelated", "unknown", 0.0, 0.0, 0.0, (), derivation=der.record())
    rel, direc, reason, cont_a, cont_b, similarity, _ = _summary(
        pa, pb, s, same, [(p.a_tokens, p.b_tokens, p.words) for p in passages], der
    )
    if same_event and rel == "unrelated":
        rel = "same_event"
    numbers, names = flags([e for p in passages for e in p.edits])
    return Pair(
        a=pa.doc.id,
        b=pb.doc.id,
        relation=rel,
        direction=direc,
        containment_a=cont_a,
        containment_b=cont_b,
        similarity=similarity,
        passages=passages,
        numbers_changed=tuple(numbers),
        names_changed=tuple(names),
        direction_reason=reason,
        derivation=der.record(),
    )


def encode_prepared(
    pa: Prepared, pb: Prepared, s: Settings, found: tuple[Found, int] | None = None
) -> tuple[str, str, int] | None:
    """``compare_prepared``'s pair as (its JSON line, ``write.dumps_pair`` byte for byte; its
    relation; its shared words), or None for an unrelated pair: what a scan writes, made from the
    passage and edit rows without the records (a scan encodes every pair it finds; the records
    cost as much as the encoding)."""
    if s.semantic:
        pair = compare_prepared(pa, pb, s, found)
        if pair.relation == "unrelated":
            return None
        return dumps_pair(pair), pair.relation, sum(p.words for p in pair.passages)
    same, rows, along = _oriented(pa, pb, s, found)
    der = derived(pa, pb, s, bool(rows) or same, along)
    if der is None or (not rows and not der.significant):
        return None
    rel, direc, reason, cont_a, cont_b, similarity, matched = _summary(
        pa, pb, s, same, [(r[6], r[7], r[4]) for r in rows], der
    )
    djson = derivation_json(der.sides(), der.sentences_json())
    line = dumps_pair_rows(pa.doc.id, pb.doc.id, rel, direc, reason, cont_a, cont_b, similarity, rows, djson)
    return line, rel, matched


def compare_many(pairs: Sequence[tuple[Prepared, Prepared]], s: Settings) -> list[Pair]:
    """``compare_prepared`` for many pairs; with ``--semantic`` the model is called once for all
    of them (``semantic.Pending``).

    The pairs are compared lexically first (the hook only notes what the model must decide), the
    decisions are made in one batch (``semantic.decide``), and only the pairs the model changed
    are compared again with their decisions ready; the others keep their lexical record, which is
    exactly what ``compare_prepared`` gives when the model changes nothing."""
    if not s.semantic:
        return [compare_prepared(pa, pb, s) for pa, pb in pairs]
    from .semantic import Pending, decide

    Pending.collect = []
    try:
        first = [compare_prepared(pa, pb, s) for pa, pb in pairs]
        asked = Pending.collect
    finally:
        Pending.collect = None
    if len(asked) != len(first):  # the hook was not reached once per pair: decide pair by pair
        return [compare_prepared(pa, pb, s) for pa, pb in pairs]
    out = []
    for (pa, pb), pair, req, got in zip(pairs, first, asked, decide(asked, s), strict=True):
        if got == (req[2], False):
            out.append(pair)
            continue
        Pending.ready[(id(pa), id(pb))] = (req[2], got)
        try:
            out.append(compare_prepared(pa, pb, s))
        finally:
            Pending.ready.pop((id(pa), id(pb)), None)
    return out


def compare(a: Document, b: Document, settings: Settings | None = None) -> Pair:
    """Compare two documents: shared passages, edits, relation and direction."""
    s = settings or Settings()
    pa, pb = prepare_many([a, b], s)
    return compare_prepared(pa, pb, s)
