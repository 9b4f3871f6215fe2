"""Versions of one article: documents sharing a ``url`` (or the field ``Settings.version_key``
names) ordered by date, with the diff between each two consecutive versions, as NewsDiffs and
diffengine show a story's revisions, in copytrace's edit kinds.

Each diff is the pair ``compare`` gives for the older version (``a``) and the newer (``b``): the
edits inside its shared passages (numbers, names, spelling, rewording, words inserted or
deleted, quotes, punctuation, moved sentences), and every stretch outside them holding a word as
one ``delete`` (text only the older version has: a paragraph cut) or ``insert`` (only the newer
one: a paragraph added), with its offsets; two such stretches at the same place on both sides
(between the same passages) are compared word by word, so a name changed in a short line the
alignment left out still reads ``name``. A time of day orders one day's versions (a version
dated by its day only comes first); versions with no date come after the dated ones; ties keep
the input order.

``timelines.jsonl`` holds one line per key shared by at least two documents, in order of each
key's first document in the input.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .genealogy import changes, parse_when
from .types import Document, Pair, Settings

_WORD = re.compile(r"\w")
_TOKEN = re.compile(r"\w+(?:[-'\u2019.,]\w+)*")
TIMELINES_FILE = "timelines.jsonl"
# a stretch between passages of more words than this (on either side) is not diffed word by word
GAP_DIFF_WORDS = 400


def version_key(doc: Document, field: str) -> str | None:
    """The value of ``field`` for ``doc`` (a document field or a metadata field), as text."""
    if field in ("url", "title", "source", "date", "path"):
        value: Any = getattr(doc, field)
    else:
        value = doc.meta.get(field)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _order(docs: Sequence[Document], positions: Sequence[int]) -> list[int]:
    """Indices of ``docs`` by date and time of day (a version dated by its day only comes before
    that day's timed versions), undated last, ties in input order (``positions``)."""
    keyed = []
    for k, d in enumerate(docs):
        w = parse_when(d.date)
        key = (1, 0, 0) if w is None else (0, w.day, w.seconds if w.seconds is not None else -1)
        keyed.append((key, positions[k], k))
    return [k for _, _, k in sorted(keyed)]


def _words(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """The word spans of ``text[lo:hi]``."""
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text, lo, hi)]


def _trim(text: str, lo: int, hi: int) -> tuple[int, int]:
    while lo < hi and not text[lo].isalnum():
        lo += 1
    while hi > lo and not text[hi - 1].isalnum():
        hi -= 1
    return lo, hi


def _edit(kind: str, old: str, new: str, a: tuple[int, int], b: tuple[int, int]) -> dict[str, Any]:
    return {"kind": kind, "a": old[a[0] : a[1]], "b": new[b[0] : b[1]], "a_start": a[0], "a_end": a[1],
            "b_start": b[0], "b_end": b[1]}  # fmt: skip


def gap_edits(old: str, new: str, passages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The edits between the passages: each stretch before, between and after them on one side is
    set against the stretch at the same place on the other (passages in the same order on both
    sides), the words of the two compared (``difflib``, Ratcliff & Obershelp) and each difference
    classified as the explain stage does (``explain.classify``): a name changed in a short opening
    line the alignment left out reads ``name``, a paragraph added reads ``insert``. Stretches of
    more than ``GAP_DIFF_WORDS`` words a side are one ``delete`` and one ``insert``."""
    from .explain import classify  # (compiled kernels: loaded where versions are compared)
    from .normalize import normal_form

    order = sorted(passages, key=lambda p: (p["a_start"], p["b_start"]))
    in_order = all(x["b_start"] >= y["b_end"] for x, y in zip(order[1:], order, strict=False))
    if not in_order:  # passages moved: the stretches cannot be paired by place
        cut = [
            _edit("delete", old, new, s, (0, 0))
            for s in _holes(old, [(p["a_start"], p["a_end"]) for p in order])
        ]
        added = [
            _edit("insert", old, new, (0, 0), s)
            for s in _holes(new, [(p["b_start"], p["b_end"]) for p in order])
        ]
        return cut + added
    cuts_a = [0] + [x for p in order for x in (p["a_start"], p["a_end"])] + [len(old)]
    cuts_b = [0] + [x for p in order for x in (p["b_start"], p["b_end"])] + [len(new)]
    out: list[dict[str, Any]] = []
    for k in range(0, len(cuts_a), 2):
        a0, a1 = _trim(old, cuts_a[k], max(cuts_a[k], cuts_a[k + 1]))
        b0, b1 = _trim(new, cuts_b[k], max(cuts_b[k], cuts_b[k + 1]))
        wa, wb = _words(old, a0, a1), _words(new, b0, b1)
        if not wa and not wb:
            continue
        if not wa or not wb or max(len(wa), len(wb)) > GAP_DIFF_WORDS:
            if wa:
                out.append(_edit("delete", old, new, (a0, a1), (b0, b0)))
            if wb:
                out.append(_edit("insert", old, new, (a1, a1), (b0, b1)))
            continue
        na = [normal_form(old[x:y]) for x, y in wa]
        nb = [normal_form(new[x:y]) for x, y in wb]
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, na, nb, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            sa = (
                (wa[i1][0], wa[i2 - 1][1])
                if i2 > i1
                else ((wa[i1][0],) * 2 if i1 < len(wa) else (wa[-1][1],) * 2)
            )
            sb = (
                (wb[j1][0], wb[j2 - 1][1])
                if j2 > j1
                else ((wb[j1][0],) * 2 if j1 < len(wb) else (wb[-1][1],) * 2)
            )
            kind = classify(
                na[i1:i2], nb[j1:j2], [old[x:y] for x, y in wa[i1:i2]], [new[x:y] for x, y in wb[j1:j2]]
            )
            out.append(_edit(kind, old, new, sa, sb))
    return out


def _holes(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of ``text`` outside ``spans`` that hold a word, trimmed."""
    out = []
    end = 0
    for lo, hi in [*sorted(spans), (len(text), len(text))]:
        if lo > end:
            a, b = _trim(text, end, lo)
            if b > a and _WORD.search(text, a, b):
                out.append((a, b))
        end = max(end, hi)
    return out


def diff_record(old: Document, new: Document, pair: Pair) -> dict[str, Any]:
    """The diff of two consecutive versions from their pair (``old`` is the pair's ``a``)."""
    row = pair.to_dict()
    edits: list[dict[str, Any]] = []
    for p in row["passages"]:
        edits.extend(p["edits"])
    edits.extend(gap_edits(old.text, new.text, row["passages"]))
    edits.sort(key=lambda e: (e["b_start"], e["a_start"], e["kind"]))
    return {
        "from": old.id,
        "to": new.id,
        "relation": row["relation"],
        "changes": changes(row, True, len(old.text), len(new.text)),
        "edits": edits,
    }


def timeline(
    docs: Sequence[Document], settings: Settings | None = None, positions: Sequence[int] | None = None
) -> dict[str, Any]:
    """The versions of one article (``docs``, all sharing one key) in date order with the diffs
    between consecutive ones (``positions``: each document's place in the input, for ties)."""
    from .pipeline import compare_prepared, prepare_many

    s = settings or Settings()
    pos = list(positions) if positions is not None else list(range(len(docs)))
    order = _order(docs, pos)
    ordered = [docs[k] for k in order]
    prepared = prepare_many(ordered, s)
    diffs = []
    for k in range(1, len(ordered)):
        pair = compare_prepared(prepared[k - 1], prepared[k], s)
        diffs.append(diff_record(ordered[k - 1], ordered[k], pair))
    return {
        "key": version_key(ordered[0], s.version_key),
        "field": s.version_key,
        "versions": [{"id": d.id, "date": d.date} for d in ordered],
        "diffs": diffs,
    }


def timelines(docs: Iterable[Document], settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every timeline of ``docs``: one per key shared by at least two of them."""
    s = settings or Settings()
    groups: dict[str, list[tuple[int, Document]]] = {}
    for k, d in enumerate(docs):
        key = version_key(d, s.version_key)
        if key is not None:
            groups.setdefault(key, []).append((k, d))
    return [timeline([d for _, d in g], s, [k for k, _ in g]) for g in groups.values() if len(g) > 1]


def write_timelines(path: Path, store_files: list[str], offsets: Any, s: Settings) -> int:
    """``timelines.jsonl`` from the scan's document store: the key column (or metadata) of every
    document is read batch by batch, and only the documents of a shared key are read whole and
    compared. Returns the number of timelines. Written under a temporary name, then renamed."""
    from .store import StoreReader
    from .write import dumps

    reader = StoreReader(store_files, offsets)
    try:
        groups: dict[str, list[int]] = {}
        field = s.version_key
        column = field if field in ("url", "title", "source", "date", "path") else "meta"
        for b in range(reader.num_batches):
            rb = reader.batch(b)
            first = int(reader.offsets[b])
            values = rb.column(column).to_pylist()
            del rb
            reader.release()
            for k, v in enumerate(values):
                if v is None:
                    continue
                if column == "meta":
                    got = json.loads(v).get(field)
                    if got is None or got == "":
                        continue
                    v = got if isinstance(got, str) else json.dumps(got, sort_keys=True)
                groups.setdefault(v, []).append(first + k)
        shared = [ks for ks in groups.values() if len(ks) > 1]
        tmp = Path(str(path) + ".part")
        with open(tmp, "w", encoding="utf-8") as fh:
            for ks in shared:
                got = reader.get(ks)
                reader.release()
                fh.write(dumps(timeline([got[k] for k in ks], s, ks)) + "\n")
        tmp.replace(path)
        return len(shared)
    finally:
        reader.close()


def read_timelines(out_dir: Path) -> list[dict[str, Any]]:
    """The timelines of a scan's output folder (none if it has no ``timelines.jsonl``)."""
    path = Path(out_dir) / TIMELINES_FILE
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


__all__ = ["diff_record", "read_timelines", "timeline", "timelines", "version_key", "write_timelines"]
