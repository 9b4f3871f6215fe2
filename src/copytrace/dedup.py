"""Dedup for dataset builders: keep one copy of each duplicate group, say why the others went.

``dedup`` runs the scan stages (read, fingerprint, candidates, align: the functions of
``engines/local.py`` and ``pipeline.py``, nothing re-implemented) and then decides, per
document, whether it stays:

* ``near``: a document goes when it is a ``duplicate`` or ``near_duplicate`` (both containments
  >= ``threshold``) of a document that stays;
* ``contained``: also when its own containment in a document that stays is >= ``threshold``
  (it is wholly inside that document);
* ``passage``: every passage of at least ``passage_words`` words that another document also
  holds is cut from the copy of lower keep priority; the rest of the text stays. A document
  left with fewer than ``passage_words`` words goes entirely.

What "near" and "contained" measure (``measure``): ``coverage`` (default) is the share of each
document's words inside passages aligned with the other, substituted words included, so a copy
with words changed here and there still counts as the same text; ``ngrams`` is exact word
n-gram set overlap, the quantity MinHash dedup tools (text-dedup, datatrove) estimate: near =
Jaccard >= ``threshold``, contained = the n-gram containment of the smaller side. The alignment
still finds and explains the pair; only the decision changes.

Which copy stays (``keep``): ``first`` input order; ``earliest`` date (undated last);
``longest`` text; ``source`` the documents whose ``source`` comes first in ``prefer`` (unlisted
after), then those with a wire dateline ("LONDON (Reuters) -"), then earliest date. Ties always
fall back to input order.

Resolution is greedy in priority order, so chains never remove an unrelated document: a
document is removed only in favour of one already kept (a kept document is never removed
later), and each removed record names that kept document, the relation and both
containments. In ``contained`` mode a container is decided before what it contains, so a
contained document goes whatever its priority. ``cluster`` is the connected group of all
qualifying links, named by the id of its highest-priority document (stable when unrelated
documents are added, dropped or reordered).

Candidate pairs that cannot reach ``threshold`` are skipped before alignment: a pair whose
shared winnowed fingerprints are fewer than ``prefilter`` times the fingerprints of the side
that must be covered (the larger side in ``near``, the smaller in ``contained``). Set
``prefilter=0`` to align every candidate exactly as ``scan`` does.

Outputs in ``out_dir`` (written to a temporary folder and renamed when complete):
``kept.jsonl`` (every input field preserved: JSONL lines are copied byte for byte) or
``kept.parquet`` when every input is Parquet (same schema), ``removed.jsonl`` and
``stats.json``.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .engines import local as eng
from .errors import ConfigError, InputError
from .progress import make_progress
from .read import JSONL_SUFFIXES, read_inputs, read_path
from .relate import WIRE, Agencies, is_wire_original, parse_date, wire_agencies
from .types import Document, Pair, Settings
from .write import dumps, staging

MODES = ("near", "contained", "passage")
MEASURES = ("coverage", "ngrams")
KEEP_POLICIES = ("first", "earliest", "longest", "source")
PAIRS_PER_TASK = 500
_WORD = re.compile(r"\w+")
# relation strength when one document can go in favour of several kept ones
_RANK_RELATION = {"duplicate": 0, "near_duplicate": 1, "contained": 2}


# ---------------------------------------------------------------- value types

Cut = tuple[int, int, int, str, int, int]
"""A span cut in passage mode: (start, end, words, kept id, kept start, kept end)."""


@dataclass(frozen=True, slots=True)
class Link:
    """An aligned pair worth acting on (document indices ``a < b``), with its passages."""

    a: int
    b: int
    relation: str
    containment_a: float
    containment_b: float
    similarity: float
    # (a_start, a_end, b_start, b_end, words): character offsets; passage mode only
    spans: tuple[tuple[int, int, int, int, int], ...] = ()
    jaccard: float = -1.0  # word n-gram Jaccard (measure ``ngrams``); -1 under ``coverage``


@dataclass(frozen=True, slots=True)
class Removal:
    """Why one document (or part of it) went."""

    doc: int
    kept: int | None  # the kept document it duplicates (None: against an index, see ``kept_id``)
    kept_id: str
    relation: str  # duplicate | near_duplicate | contained | passages
    containment: float  # the removed document's share inside the kept one
    containment_kept: float
    similarity: float
    cluster: str
    whole: bool = True
    # passage mode: (start, end, words, kept_id, kept_start, kept_end) in this document's text
    cuts: tuple[Cut, ...] = ()
    against: bool = False
    jaccard: float = -1.0


@dataclass
class DedupResult:
    """What ``dedup`` decided, before writing: removals by document index and the trimmed texts."""

    removals: dict[int, Removal] = field(default_factory=dict)
    trimmed: dict[int, str] = field(default_factory=dict)


# ---------------------------------------------------------------- validation


def check_params(
    threshold: float, keep: str, mode: str, passage_words: int, prefilter: float, measure: str = "coverage"
) -> None:
    if measure not in MEASURES:
        raise ConfigError("measure", "one of " + ", ".join(MEASURES), measure)
    if measure == "ngrams" and mode == "passage":
        raise ConfigError("measure", "'coverage' in passage mode (passages are cut by alignment)", measure)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.0 < threshold <= 1.0:
        raise ConfigError("threshold", "a number in (0, 1]", threshold)
    if keep not in KEEP_POLICIES:
        raise ConfigError("keep", "one of " + ", ".join(KEEP_POLICIES), keep)
    if mode not in MODES:
        raise ConfigError("mode", "one of " + ", ".join(MODES), mode)
    if not isinstance(passage_words, int) or isinstance(passage_words, bool) or passage_words < 1:
        raise ConfigError("passage_words", "an integer >= 1", passage_words)
    if not isinstance(prefilter, (int, float)) or isinstance(prefilter, bool) or not 0.0 <= prefilter <= 1.0:
        raise ConfigError("prefilter", "a number in [0, 1]", prefilter)


def dedup_settings(s: Settings, threshold: float, mode: str, passage_words: int) -> Settings:
    """The scan settings dedup runs with: relation thresholds = ``threshold``; in passage mode
    the shortest reported passage is ``passage_words`` (so the winnowing window grows with it)."""
    s = s.replace(near_duplicate=float(threshold), contains=float(threshold))
    if mode == "passage":
        s = s.replace(min_words=passage_words)
    return s


# ---------------------------------------------------------------- keep priority


@dataclass
class DocInfo:
    """Per-document columns the decision needs (input order)."""

    ids: list[str] = field(default_factory=list)
    dates: list[str | None] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    wire: list[bool] = field(default_factory=list)
    agencies: Agencies = WIRE  # whose datelines ``wire`` reads

    def add(self, doc: Document) -> None:
        self.ids.append(doc.id)
        self.dates.append(doc.date)
        self.sources.append(doc.source)
        self.lengths.append(len(doc.text))
        self.wire.append(is_wire_original(doc.text, self.agencies))


def priority(info: DocInfo, keep: str, prefer: Sequence[str] = ()) -> np.ndarray:
    """Rank of every document (0 = kept first). Ties fall back to input order."""
    n = len(info.ids)
    order_keys: list[tuple[Any, ...]]
    if keep == "first":
        return np.arange(n, dtype=np.int64)
    if keep == "longest":
        order_keys = [(-info.lengths[i], i) for i in range(n)]
    elif keep == "earliest":
        order_keys = [_date_key(info.dates[i]) + (i,) for i in range(n)]
    elif keep == "source":
        rank = {name: k for k, name in enumerate(prefer)}
        order_keys = [
            (rank.get(info.sources[i] or "", len(rank)), not info.wire[i]) + _date_key(info.dates[i]) + (i,)
            for i in range(n)
        ]
    else:
        raise ConfigError("keep", "one of " + ", ".join(KEEP_POLICIES), keep)
    order = sorted(range(n), key=lambda i: order_keys[i])
    ranks = np.empty(n, dtype=np.int64)
    ranks[np.array(order, dtype=np.int64)] = np.arange(n, dtype=np.int64)
    return ranks


def _date_key(value: str | None) -> tuple[int, int]:
    d = parse_date(value)
    return (0, d.toordinal()) if d is not None else (1, 0)


# ---------------------------------------------------------------- resolution


def _near(link: Link, threshold: float) -> bool:
    """Near-duplicates: n-gram Jaccard >= threshold (measure ``ngrams``), else both sides covered
    by aligned passages to at least ``threshold`` (measure ``coverage``)."""
    if link.jaccard >= 0.0:
        return link.jaccard >= threshold
    return link.containment_a >= threshold and link.containment_b >= threshold


def qualifies(link: Link, mode: str, threshold: float) -> tuple[bool, bool]:
    """(a may go in favour of b, b may go in favour of a) under ``mode``."""
    if link.relation == "duplicate":
        return True, True
    ca, cb = link.containment_a, link.containment_b
    if _near(link, threshold):
        return True, True
    if mode == "contained":
        return ca >= threshold, cb >= threshold
    return False, False


def _links_relation(link: Link, threshold: float) -> str:
    if link.relation == "duplicate":
        return "duplicate"
    if _near(link, threshold):
        return "near_duplicate"
    return "contained"


def resolve(
    links: Iterable[Link], ranks: np.ndarray, ids: Sequence[str], mode: str, threshold: float
) -> dict[int, Removal]:
    """Whole-document removals (near and contained modes). See the module docstring."""
    # directed "x may go in favour of y" edges
    favour: dict[int, list[tuple[int, Link]]] = {}
    before: dict[int, set[int]] = {}  # container -> contained (container decided first)
    indeg: dict[int, int] = {}
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for link in links:
        a_goes, b_goes = qualifies(link, mode, threshold)
        if not (a_goes or b_goes):
            continue
        if a_goes:
            favour.setdefault(link.a, []).append((link.b, link))
        if b_goes:
            favour.setdefault(link.b, []).append((link.a, link))
        for x in (link.a, link.b):
            indeg.setdefault(x, 0)
        if a_goes != b_goes:  # one-way containment: the container is decided first
            container, contained = (link.b, link.a) if a_goes else (link.a, link.b)
            if contained not in before.setdefault(container, set()):
                before[container].add(contained)
                indeg[contained] += 1
        ra, rb = find(link.a), find(link.b)
        if ra != rb:
            lo, hi = (ra, rb) if ranks[ra] < ranks[rb] else (rb, ra)
            parent[hi] = lo
    # Kahn's order, highest priority first; a cycle is broken at its highest-priority member
    heap = [(int(ranks[x]), x) for x, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    done: set[int] = set()
    order: list[int] = []
    pending = sorted(indeg, key=lambda x: int(ranks[x]))
    cursor = 0
    while len(order) < len(indeg):
        if not heap:
            while pending[cursor] in done:
                cursor += 1
            heapq.heappush(heap, (int(ranks[pending[cursor]]), pending[cursor]))
        _, x = heapq.heappop(heap)
        if x in done:
            continue
        done.add(x)
        order.append(x)
        for y in sorted(before.get(x, ())):
            indeg[y] -= 1
            if indeg[y] == 0 and y not in done:
                heapq.heappush(heap, (int(ranks[y]), y))
    kept: set[int] = set()
    chosen: dict[int, tuple[int, Link]] = {}
    for x in order:
        best: tuple[tuple[int, float, int], int, Link] | None = None
        for y, link in favour.get(x, ()):
            if y not in kept:
                continue
            rel = _links_relation(link, threshold)
            cont = link.containment_a if x == link.a else link.containment_b
            key = (_RANK_RELATION[rel], -cont, int(ranks[y]))
            if best is None or key < best[0]:
                best = (key, y, link)
        if best is None:
            kept.add(x)
        else:
            chosen[x] = (best[1], best[2])
    # cluster name: the highest-priority member of each group (always kept: decided first)
    out: dict[int, Removal] = {}
    for x, (y, link) in chosen.items():
        is_a = x == link.a
        out[x] = Removal(
            doc=x,
            kept=y,
            kept_id=ids[y],
            relation=_links_relation(link, threshold),
            containment=link.containment_a if is_a else link.containment_b,
            containment_kept=link.containment_b if is_a else link.containment_a,
            similarity=link.similarity,
            cluster=ids[find(x)],
            jaccard=link.jaccard,
        )
    return out


def resolve_passages(links: Iterable[Link], ranks: np.ndarray, ids: Sequence[str]) -> dict[int, list[Cut]]:
    """Passage mode: per document, the spans it loses (the copy of lower priority loses)."""
    cuts: dict[int, list[Cut]] = {}
    for link in links:
        a_loses = ranks[link.a] > ranks[link.b]
        for a0, a1, b0, b1, words in link.spans:
            if a_loses:
                cuts.setdefault(link.a, []).append((a0, a1, words, ids[link.b], b0, b1))
            else:
                cuts.setdefault(link.b, []).append((b0, b1, words, ids[link.a], a0, a1))
    for spans in cuts.values():
        spans.sort()
    return cuts


def cut_text(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` without the union of the half-open ``spans``."""
    pieces = []
    pos = 0
    for start, end in sorted(spans):
        if start > pos:
            pieces.append(text[pos:start])
        pos = max(pos, end)
    pieces.append(text[pos:])
    return "".join(pieces)


def merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


# ---------------------------------------------------------------- stages


def ngram_sets(docs: dict[int, Document], s: Settings) -> dict[int, np.ndarray]:
    """The distinct word n-gram hashes of each document (the shingles the scan aligns on)."""
    from .pipeline import prepare_many

    need = sorted(docs)
    return {
        i: np.unique(p.shingles) for i, p in zip(need, prepare_many([docs[i] for i in need], s), strict=True)
    }


def by_ngrams(link: Link, sa: np.ndarray, sb: np.ndarray) -> Link:
    """The link measured on word n-gram sets, as MinHash dedup tools estimate it (Broder 1997):
    containments |A∩B|/|A|, |A∩B|/|B| and Jaccard |A∩B|/|A∪B|, computed exactly."""
    shared = int(np.intersect1d(sa, sb, assume_unique=True).shape[0])
    union = sa.shape[0] + sb.shape[0] - shared
    return replace(
        link,
        containment_a=round(shared / sa.shape[0], 4) if sa.shape[0] else 0.0,
        containment_b=round(shared / sb.shape[0], 4) if sb.shape[0] else 0.0,
        jaccard=round(shared / union, 4) if union else 1.0,
    )


def _link_of(a: int, b: int, pair: Pair, with_spans: bool, min_words: int) -> Link:
    spans: tuple[tuple[int, int, int, int, int], ...] = ()
    if with_spans:
        spans = tuple(
            (p.a_start, p.a_end, p.b_start, p.b_end, p.words) for p in pair.passages if p.words >= min_words
        )
    return Link(a, b, pair.relation, pair.containment_a, pair.containment_b, pair.similarity, spans)


# Worker state: set in the parent before the pool forks, so workers inherit the texts (Arrow
# buffers, shared copy-on-write) instead of receiving them through pipes.
_STATE: dict[str, Any] = {}


@dataclass
class Corpus:
    """The documents of one run, held as Arrow arrays in input order (chunks of ``batch_size``)."""

    info: DocInfo
    texts: list[Any]  # pyarrow LargeStringArray per chunk
    paths: list[str | None]
    batch_size: int

    def doc(self, i: int) -> Document:
        c, k = divmod(i, self.batch_size)
        return Document(
            id=self.info.ids[i],
            text=self.texts[c][k].as_py(),
            date=self.info.dates[i],
            source=self.info.sources[i],
        )

    def docs(self, indices: Iterable[int]) -> dict[int, Document]:
        return {i: self.doc(i) for i in sorted(set(indices))}


def read_corpus(paths: list[str], s: Settings, warn: Callable[[str], None] | None, progress: Any) -> Corpus:
    import pyarrow as pa

    info = DocInfo(agencies=wire_agencies(s.agencies))
    texts: list[Any] = []
    doc_paths: list[str | None] = []
    batch: list[str] = []
    task = progress.add_task("read", total=None)
    for doc in read_inputs(paths, warn):
        info.add(doc)
        doc_paths.append(doc.path)
        batch.append(doc.text)
        if len(batch) == s.batch_size:
            texts.append(pa.array(batch, type=pa.large_string()))
            progress.advance(task, len(batch))
            batch = []
    if batch:
        texts.append(pa.array(batch, type=pa.large_string()))
        progress.advance(task, len(batch))
    return Corpus(info, texts, doc_paths, s.batch_size)


def _fingerprint_task(args: tuple[int, str]) -> str:
    """Worker: postings (hash, chunk-local doc, position) of one chunk, sorted by hash, spilled."""
    from .postings import fingerprint_postings

    c, spill = args
    corpus: Corpus = _STATE["corpus"]
    s: Settings = _STATE["settings"]
    first = c * corpus.batch_size
    n = len(corpus.texts[c])
    path = f"{spill}/fp-{c:06d}.postings"
    eng.save_postings(path, *fingerprint_postings([corpus.doc(i) for i in range(first, first + n)], 0, s))
    return path


def _align_task(args: tuple[list[tuple[int, int]], str, float, str]) -> list[Link]:
    """Worker: align a chunk of candidate pairs with the scan's own functions, after the prefilter."""
    from .postings import fingerprint_postings

    pairs, mode, ratio, measure = args
    corpus: Corpus = _STATE["corpus"]
    s: Settings = _STATE["settings"]
    docs = corpus.docs(i for p in pairs for i in p)
    if ratio > 0.0 and mode != "passage":
        need = sorted(docs)
        h, d, _ = fingerprint_postings([docs[i] for i in need], 0, s)
        order = np.lexsort((h, d))
        h, d = h[order], d[order]
        cuts = np.searchsorted(d, np.arange(len(need) + 1))
        fp = {i: h[cuts[k] : cuts[k + 1]] for k, i in enumerate(need)}
        kept = []
        for a, b in pairs:
            fa, fb = fp[a], fp[b]
            shared = np.intersect1d(fa, fb, assume_unique=True).shape[0]
            side = max(fa.shape[0], fb.shape[0]) if mode == "near" else min(fa.shape[0], fb.shape[0])
            if shared >= ratio * side:
                kept.append((a, b))
        pairs = kept
    with_spans = mode == "passage"
    links = [
        _link_of(a, b, pair, with_spans, s.min_words) for a, b, pair in eng.compare_chunk(pairs, docs, s)
    ]
    if measure == "ngrams" and links:
        sets = ngram_sets({i: docs[i] for lk in links for i in (lk.a, lk.b)}, s)
        links = [by_ngrams(lk, sets[lk.a], sets[lk.b]) for lk in links]
    return links


class _Pool:
    """Forked workers that inherit ``_STATE``, or the current process for one worker."""

    def __init__(self, workers: int) -> None:
        self._pool: Any = None
        if workers > 1:
            import multiprocessing as mp

            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            self._pool = ctx.Pool(workers)

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if self._pool is None:
            return map(fn, items)
        return iter(self._pool.imap(fn, items, chunksize=1))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()

    def terminate(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()


def _warm_up(s: Settings) -> None:
    """Load the compiled functions once in the parent, so forked workers start with them."""
    from .pipeline import compare
    from .postings import fingerprint_batch

    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    compare(Document("w1", text), Document("w2", text + " more"), s)
    fingerprint_batch([Document("w", text)], 0, s)


def dedup(
    inputs: Iterable[str],
    out_dir: str,
    settings: Settings | None = None,
    *,
    threshold: float = 0.8,
    keep: str = "first",
    mode: str = "near",
    passage_words: int = 50,
    prefer: Sequence[str] = (),
    against: str | None = None,
    prefilter: float = 0.25,
    measure: str = "coverage",
    quiet: bool = True,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Deduplicate ``inputs`` into ``out_dir`` (kept.jsonl or kept.parquet, removed.jsonl,
    stats.json); returns the stats dict."""
    check_params(threshold, keep, mode, passage_words, prefilter, measure)
    paths = [str(x) for x in inputs]
    if not paths:
        raise ConfigError("inputs", "at least one file or folder", paths)
    s = dedup_settings(settings or Settings(), threshold, mode, passage_words)
    started = time.perf_counter()
    stages: dict[str, float] = {}
    with staging(out_dir) as tmp, make_progress(quiet) as progress:
        corpus, links, n_candidates = _scan_links(
            paths, tmp, s, mode, prefilter, measure, progress, stages, warn
        )
        info = corpus.info
        t0 = time.perf_counter()
        ranks = priority(info, keep, prefer)
        result = DedupResult()
        old_cuts: dict[int, list[Cut]] = {}
        if against is not None:
            result.removals, old_cuts = against_index(
                against, corpus, mode, threshold, passage_words, progress, measure
            )
        if mode == "passage":
            cuts = resolve_passages(links, ranks, info.ids)
            for i, spans in old_cuts.items():
                cuts[i] = sorted(spans + cuts.get(i, []))
            _apply_cuts(cuts, corpus, passage_words, result, set(old_cuts))
        else:
            inner = [lk for lk in links if lk.a not in result.removals and lk.b not in result.removals]
            result.removals.update(resolve(inner, ranks, info.ids, mode, threshold))
        stages["decide"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        kept_name = write_outputs(corpus, tmp, result, warn)
        stages["write"] = time.perf_counter() - t0
        by_relation: dict[str, int] = {}
        for r in result.removals.values():
            key = r.relation if r.whole else "trimmed"
            by_relation[key] = by_relation.get(key, 0) + 1
        removed_whole = sum(1 for r in result.removals.values() if r.whole)
        stats = {
            "documents": len(info.ids),
            "kept": len(info.ids) - removed_whole,
            "removed": removed_whole,
            "trimmed": len(result.removals) - removed_whole,
            "removed_by": dict(sorted(by_relation.items())),
            "against_index": sum(1 for r in result.removals.values() if r.against),
            "candidates": n_candidates,
            "links": len(links),
            "kept_file": kept_name,
            "mode": mode,
            "keep": keep,
            "threshold": threshold,
            "passage_words": passage_words if mode == "passage" else None,
            "prefilter": prefilter,
            "measure": measure,
            "stages": {k: round(v, 3) for k, v in stages.items()},
            "seconds": round(time.perf_counter() - started, 3),
            "settings": s.to_dict(),
        }
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats


def _scan_links(
    paths: list[str],
    tmp: Path,
    s: Settings,
    mode: str,
    prefilter: float,
    measure: str,
    progress: Any,
    stages: dict[str, float],
    warn: Callable[[str], None] | None,
) -> tuple[Corpus, list[Link], int]:
    """read -> fingerprint -> candidates -> align, with the scan's stage functions."""
    t0 = time.perf_counter()
    corpus = read_corpus(paths, s, warn, progress)
    info = corpus.info
    n = len(info.ids)
    stages["read"] = time.perf_counter() - t0
    spill = tmp / "_spill"
    spill.mkdir()
    links: list[Link] = []
    _warm_up(s)
    _STATE["corpus"], _STATE["settings"] = corpus, s
    workers = s.workers if s.workers > 0 else (os.cpu_count() or 1)
    pool = _Pool(min(workers, max(1, len(corpus.texts))) if n else 1)
    try:
        t0 = time.perf_counter()
        task = progress.add_task("fingerprint", total=len(corpus.texts))
        files: list[str] = []
        for path in pool.imap(_fingerprint_task, [(c, str(spill)) for c in range(len(corpus.texts))]):
            files.append(path)
            progress.advance(task, 1)
        stages["fingerprint"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if files:
            offsets = [c * corpus.batch_size for c in range(len(files))]
            ca, cb = eng.candidates_from_postings(files, offsets, s, str(spill))
        else:
            ca = cb = np.empty(0, np.int64)
        if s.date_window_days is not None or s.exclude_same_source:
            ca, cb = eng.filter_candidates(ca, cb, info.dates, info.sources, s)
        n_candidates = int(ca.shape[0])
        stages["candidates"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        task = progress.add_task("align", total=n_candidates)
        chunks = [
            (
                list(
                    zip(ca[i : i + PAIRS_PER_TASK].tolist(), cb[i : i + PAIRS_PER_TASK].tolist(), strict=True)
                ),
                mode,
                prefilter,
                measure,
            )
            for i in range(0, n_candidates, PAIRS_PER_TASK)
        ]
        for chunk, found in zip(chunks, pool.imap(_align_task, chunks), strict=True):
            links.extend(found)
            progress.advance(task, len(chunk[0]))
        stages["align"] = time.perf_counter() - t0
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        _STATE.clear()
    return corpus, links, n_candidates


def _apply_cuts(
    cuts: dict[int, list[Cut]],
    corpus: Corpus,
    passage_words: int,
    result: DedupResult,
    against: set[int],
) -> None:
    """Cut the spans; a document left with fewer than ``passage_words`` words goes entirely."""
    for i in sorted(cuts):
        spans = cuts[i]
        text = corpus.doc(i).text
        rest = cut_text(text, [(c[0], c[1]) for c in spans])
        whole = len(_WORD.findall(rest)) < passage_words
        first = spans[0]
        result.removals[i] = Removal(
            doc=i,
            kept=None,
            kept_id=first[3],
            relation="passages",
            containment=round(
                sum(e - b for b, e in merged((c[0], c[1]) for c in spans)) / max(1, len(text)), 4
            ),
            containment_kept=0.0,
            similarity=0.0,
            cluster=first[3],
            whole=whole,
            cuts=tuple(spans),
            against=i in against,
        )
        if not whole:
            result.trimmed[i] = rest


def against_index(
    path: str,
    corpus: Corpus,
    mode: str,
    threshold: float,
    passage_words: int,
    progress: Any,
    measure: str = "coverage",
) -> tuple[dict[int, Removal], dict[int, list[Cut]]]:
    """New documents against an index built by ``copytrace index add``: everything stored counts
    as kept and comes before every new document. Returns whole removals (near and contained
    modes) or the spans to cut (passage mode)."""
    from .index import Index

    if not Path(path).exists():
        raise InputError(path, "no such index; build it with `copytrace index add INPUT --index FILE`")
    removals: dict[int, Removal] = {}
    cuts: dict[int, list[Cut]] = {}
    task = progress.add_task("against", total=len(corpus.info.ids))
    with Index(path, read_only=True) as ix:
        for i in range(len(corpus.info.ids)):
            matches = ix.query(corpus.doc(i))
            progress.advance(task, 1)
            if mode == "passage":
                for mt in matches:
                    for p in mt.pair.passages:
                        if p.words >= passage_words:
                            cuts.setdefault(i, []).append(
                                (p.a_start, p.a_end, p.words, mt.doc.id, p.b_start, p.b_end)
                            )
                continue
            best: tuple[tuple[int, float, str], Removal] | None = None
            for mt in matches:
                pr = mt.pair
                link = Link(0, 1, pr.relation, pr.containment_a, pr.containment_b, pr.similarity)
                if measure == "ngrams":
                    sets = ngram_sets({0: corpus.doc(i), 1: mt.doc}, ix.settings)
                    link = by_ngrams(link, sets[0], sets[1])
                if not qualifies(link, mode, threshold)[0]:
                    continue
                rel = _links_relation(link, threshold)
                key = (_RANK_RELATION[rel], -link.containment_a, mt.doc.id)
                if best is None or key < best[0]:
                    removal = Removal(
                        doc=i,
                        kept=None,
                        kept_id=mt.doc.id,
                        relation=rel,
                        containment=link.containment_a,
                        containment_kept=link.containment_b,
                        similarity=pr.similarity,
                        cluster=mt.doc.id,
                        against=True,
                        jaccard=link.jaccard,
                    )
                    best = (key, removal)
            if best is not None:
                removals[i] = best[1]
    for spans in cuts.values():
        spans.sort()
    return removals, cuts


# ---------------------------------------------------------------- writing


def removal_record(r: Removal, ids: Sequence[str]) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": ids[r.doc],
        "action": "removed" if r.whole else "trimmed",
        "cluster": r.cluster,
    }
    if r.relation == "passages":
        rec["relation"] = "passages"
        rec["removed_share"] = r.containment
        rec["passages"] = [
            {"start": c[0], "end": c[1], "words": c[2], "kept_in": c[3], "kept_start": c[4], "kept_end": c[5]}
            for c in r.cuts
        ]
        if r.whole:
            rec["reason"] = (
                f"repeated passages cover it; fewer words than the passage length are left ({r.kept_id})"
            )
        else:
            rec["reason"] = f"{len(r.cuts)} repeated passage(s) cut; first kept in {r.kept_id}"
    else:
        rec["duplicate_of"] = r.kept_id
        rec["relation"] = r.relation
        rec["containment"] = r.containment
        rec["containment_kept"] = r.containment_kept
        rec["similarity"] = r.similarity
        if r.jaccard >= 0.0:
            rec["jaccard"] = r.jaccard
        what = {
            "duplicate": "same text as",
            "near_duplicate": "near-duplicate of",
            "contained": "contained in",
        }
        measured = f"word n-gram Jaccard {r.jaccard:.2f}, " if r.jaccard >= 0.0 else ""
        rec["reason"] = (
            f"{what[r.relation]} {r.kept_id} ({measured}containment {r.containment:.2f}, "
            f"{r.kept_id} {r.containment_kept:.2f})"
        )
    if r.against:
        rec["against_index"] = True
    return rec


def _runs(paths: Sequence[str | None]) -> Iterator[tuple[str | None, int, int]]:
    """Consecutive runs of documents read from one file: (path, first index, end index)."""
    start = 0
    for i in range(1, len(paths) + 1):
        if i == len(paths) or paths[i] != paths[start]:
            yield paths[start], start, i
            start = i


def _suffix(path: str | None) -> str:
    return Path(path).suffix.lower() if path else ""


def _jsonl_lines(path: str) -> Iterator[str]:
    """The non-blank lines of a JSONL file as read (the same records ``read`` yields, in order)."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if raw.strip():
                yield raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")


def _doc_record(doc: Document) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": doc.id, "text": doc.text}
    for key in ("date", "source", "title", "url"):
        value = getattr(doc, key)
        if value is not None:
            rec[key] = value
    rec.update(doc.meta)
    return rec


def write_outputs(corpus: Corpus, tmp: Path, result: DedupResult, warn: Callable[[str], None] | None) -> str:
    """kept.jsonl (or kept.parquet) and removed.jsonl in ``tmp``; returns the kept file's name.

    JSONL records are copied line for line (a trimmed one is re-encoded with its new text);
    Parquet rows keep the input schema; other inputs become JSONL records with every field read."""
    ids = corpus.info.ids
    with open(tmp / "removed.jsonl", "w", encoding="utf-8") as fh:
        for i in sorted(result.removals):
            fh.write(dumps(removal_record(result.removals[i], ids)) + "\n")
    gone = {i for i, r in result.removals.items() if r.whole}
    runs = list(_runs(corpus.paths))
    if runs and all(_suffix(p) == ".parquet" for p, _, _ in runs):
        _write_parquet(runs, tmp / "kept.parquet", gone, result.trimmed)
        return "kept.parquet"
    with open(tmp / "kept.jsonl", "w", encoding="utf-8") as fh:
        for path, lo, hi in runs:
            if all(i in gone for i in range(lo, hi)):
                continue
            rows: Iterator[Any]
            suffix = _suffix(path)
            if path is not None and suffix in JSONL_SUFFIXES:
                rows = _jsonl_lines(path)
            elif path is not None and suffix == ".parquet":
                rows = _parquet_rows(path)
            elif path is not None and suffix in (".csv", ".json"):
                rows = (_doc_record(d) for d in read_path(path, warn))
            else:  # a text file (or a document given without a path)
                rows = iter([None] * (hi - lo))
            for i in range(lo, hi):
                row = next(rows, _END)
                if row is _END:
                    raise InputError(path or "input", "the input changed while dedup ran (fewer records)")
                if i in gone:
                    continue
                if isinstance(row, str) and i not in result.trimmed:
                    fh.write(row + "\n")
                    continue
                if isinstance(row, str):
                    rec = json.loads(row)
                elif row is None:
                    doc = corpus.doc(i)
                    rec = {"id": doc.id, "text": doc.text} | ({"path": path} if path else {})
                else:
                    rec = row
                if i in result.trimmed:
                    rec["text"] = result.trimmed[i]
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    return "kept.jsonl"


_END = object()


def _parquet_rows(path: str) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        yield from batch.to_pylist()


def _write_parquet(
    runs: list[tuple[str | None, int, int]], out: Path, gone: set[int], trimmed: dict[int, str]
) -> None:
    """Kept rows of Parquet inputs, in the schema of the first file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    first_path = str(runs[0][0])
    schema = pq.ParquetFile(first_path).schema_arrow
    with pq.ParquetWriter(out, schema) as writer:
        for path, lo, hi in runs:
            i = lo
            for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=4096):
                n = batch.num_rows
                table = pa.Table.from_batches([batch])
                edits = {k: trimmed[i + k] for k in range(n) if (i + k) in trimmed}
                if edits:
                    pos = table.schema.get_field_index("text")
                    col = table.column(pos).to_pylist()
                    for k, text in edits.items():
                        col[k] = text
                    fld = table.schema.field(pos)
                    table = table.set_column(pos, fld, pa.array(col, type=fld.type))
                keep = pa.array([(i + k) not in gone for k in range(n)], type=pa.bool_())
                try:
                    writer.write_table(table.filter(keep).cast(schema))
                except (pa.ArrowInvalid, ValueError) as exc:
                    raise InputError(str(path), f"Parquet schema differs from {first_path} ({exc})") from None
                i += n
            if i != hi:
                raise InputError(str(path), "the input changed while dedup ran")
