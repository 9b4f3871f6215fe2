"""Versions of one article: documents sharing a ``url`` (or the field ``Settings.version_key``
names) ordered by date, with the diff between each two consecutive versions, as NewsDiffs and
diffengine show a story's revisions, in copytrace's edit kinds.

Each diff is the pair ``compare`` gives for the older version (``a``) and the newer (``b``): the
edits inside its shared passages (numbers, names, spelling, rewording, words inserted or
deleted, quotes, punctuation, moved sentences), and every stretch outside them holding a word as
one ``delete`` (text only the older version has: a paragraph cut) or ``insert`` (only the newer
one: a paragraph added), with its offsets. A time of day orders one day's versions (a version
dated by its day only comes first); versions with no date come after the dated ones; ties keep
the input order.

``timelines.jsonl`` holds one line per key shared by at least two documents, in order of each
key's first document in the input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .genealogy import changes, parse_when
from .types import Document, Pair, Settings

_WORD = re.compile(r"\w")
TIMELINES_FILE = "timelines.jsonl"


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


def _outside(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of ``text`` outside ``spans`` that hold a word, trimmed of spaces."""
    out = []
    end = 0
    for lo, hi in [*sorted(spans), (len(text), len(text))]:
        if lo > end:
            a, b = end, lo
            while a < b and not text[a].isalnum():
                a += 1
            while b > a and not text[b - 1].isalnum():
                b -= 1
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
    for lo, hi in _outside(old.text, [(p["a_start"], p["a_end"]) for p in row["passages"]]):
        at = _new_side_anchor(row["passages"], lo, len(new.text))
        edits.append({"kind": "delete", "a": old.text[lo:hi], "b": "", "a_start": lo, "a_end": hi,
                      "b_start": at, "b_end": at})  # fmt: skip
    for lo, hi in _outside(new.text, [(p["b_start"], p["b_end"]) for p in row["passages"]]):
        at = _old_side_anchor(row["passages"], lo, len(old.text))
        edits.append({"kind": "insert", "a": "", "b": new.text[lo:hi], "a_start": at, "a_end": at,
                      "b_start": lo, "b_end": hi})  # fmt: skip
    edits.sort(key=lambda e: (e["b_start"], e["a_start"], e["kind"]))
    return {
        "from": old.id,
        "to": new.id,
        "relation": row["relation"],
        "changes": changes(row, True, len(old.text), len(new.text)),
        "edits": edits,
    }


def _new_side_anchor(passages: list[dict[str, Any]], a_pos: int, n: int) -> int:
    """Where text of the old version at ``a_pos`` would stand in the new one: after the passage
    ending before it (0 if none)."""
    at = 0
    for p in passages:
        if p["a_end"] <= a_pos:
            at = max(at, p["b_end"])
    return min(at, n)


def _old_side_anchor(passages: list[dict[str, Any]], b_pos: int, n: int) -> int:
    at = 0
    for p in passages:
        if p["b_end"] <= b_pos:
            at = max(at, p["a_end"])
    return min(at, n)


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
