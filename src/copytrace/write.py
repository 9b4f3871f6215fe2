"""Outputs written atomically: every file goes to a temporary name and is renamed when complete."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import InputError
from .types import Derivation, DerivedSide, Edit, Pair, Passage

# the string escaping ``json.dumps(..., ensure_ascii=False)`` uses (its C implementation)
_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def dumps(obj: dict[str, Any]) -> str:
    """One JSON line, stable across runs (key order as built, no NaN, UTF-8 kept)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


class _Unusual(Exception):
    """A value the direct pair encoder leaves to ``dumps`` (which formats or rejects it)."""


def _num(x: float) -> str:
    if x != x or x in (math.inf, -math.inf):
        raise _Unusual
    return float.__repr__(x)


def _value(v: Any) -> str:
    # the scalars of the flag dicts, formatted as the json module does
    if type(v) is str:
        return _str(v)
    if type(v) is int:
        return int.__repr__(v)
    if type(v) is float:
        return _num(v)
    if v is None:
        return "null"
    raise _Unusual


def _flat(d: dict[str, Any]) -> str:
    return "{" + ", ".join(_str(k) + ": " + _value(v) for k, v in d.items()) + "}"


def _edit(e: Edit) -> str:
    sim = "" if e.similarity is None else ', "similarity": ' + _num(e.similarity)
    return (
        f'{{"kind": {_str(e.kind)}, "a": {_str(e.a)}, "b": {_str(e.b)}, "a_start": {e.a_start:d}, '
        f'"a_end": {e.a_end:d}, "b_start": {e.b_start:d}, "b_end": {e.b_end:d}{sim}}}'
    )


def _passage(p: Passage) -> str:
    return _passage_line(
        p.a_start, p.a_end, p.b_start, p.b_end, p.words, p.similarity, [_edit(e) for e in p.edits]
    )


def _passage_line(a0: int, a1: int, b0: int, b1: int, words: int, similarity: float, edits: list[str]) -> str:
    """A passage's JSON object, its edits given as JSON objects."""
    return (
        f'{{"a_start": {a0:d}, "a_end": {a1:d}, "b_start": {b0:d}, "b_end": {b1:d}, '
        f'"words": {words:d}, "similarity": {_num(similarity)}, "edits": [{", ".join(edits)}]}}'
    )


def _pair_line(
    a: str,
    b: str,
    relation: str,
    direction: str,
    reason: str,
    containment_a: float,
    containment_b: float,
    similarity: float,
    passages: list[str],
    numbers: list[str],
    names: list[str],
    derivation: str | None = None,
) -> str:
    """A pair's JSON line, its passages, flags and derivation given as JSON objects."""
    tail = "}" if derivation is None else ', "derivation": ' + derivation + "}"
    return (
        f'{{"a": {_str(a)}, "b": {_str(b)}, "relation": {_str(relation)}, '
        f'"direction": {_str(direction)}, "direction_reason": {_str(reason)}, '
        f'"containment_a": {_num(containment_a)}, "containment_b": {_num(containment_b)}, '
        f'"similarity": {_num(similarity)}, "passages": [{", ".join(passages)}], '
        f'"flags": {{"numbers_changed": [{", ".join(numbers)}], "names_changed": [{", ".join(names)}]}}{tail}'
    )


def _side(d: DerivedSide) -> str:
    return (
        f'{{"verbatim": {_num(d.verbatim)}, "rewritten": {_num(d.rewritten)}, "new": {_num(d.new)}, '
        f'"level": {_str(d.level)}, "words": {d.words:d}}}'
    )


def derivation_json(sides: tuple[DerivedSide, DerivedSide], sentences: str) -> str:
    """A derivation's JSON object, as ``dumps(derivation.to_dict())`` writes it, from its sides and
    the JSON array of its sentence links (``derive.Derived.sentences_json``)."""
    return f'{{"a": {_side(sides[0])}, "b": {_side(sides[1])}, "sentences": {sentences}}}'


def _derivation(d: Derivation) -> str:
    """A derivation record's JSON object, as ``dumps(d.to_dict())`` writes it."""
    links = ", ".join(dumps(x.to_dict()) for x in d.sentences)
    return derivation_json((d.a, d.b), f"[{links}]")


def dumps_pair(pair: Pair) -> str:
    """``dumps(pair.to_dict())``, byte for byte, written out directly: a pair has a fixed shape, so
    its line is assembled from pieces (strings escaped by the json module's own C function)
    instead of building nested dicts for the general encoder. Anything unusual (a non-finite
    float, an unexpected type) goes through ``dumps``, which formats or rejects it."""
    try:
        return _pair_line(
            pair.a,
            pair.b,
            pair.relation,
            pair.direction,
            pair.direction_reason,
            pair.containment_a,
            pair.containment_b,
            pair.similarity,
            [_passage(p) for p in pair.passages],
            [_flat(d) for d in pair.numbers_changed],
            [_flat(d) for d in pair.names_changed],
            None if pair.derivation is None else _derivation(pair.derivation),
        )
    except (_Unusual, TypeError, ValueError):
        return dumps(pair.to_dict())


def dumps_pair_rows(
    a: str,
    b: str,
    relation: str,
    direction: str,
    reason: str,
    containment_a: float,
    containment_b: float,
    similarity: float,
    passages: list[Any],
    derivation: str | None = None,
) -> str:
    """``dumps_pair`` of the pair with these fields, its passages given as rows (a_start, a_end,
    b_start, b_end, words, similarity, a_tokens, b_tokens, edits) and its edits as rows (kind, a,
    b, a_start, a_end, b_start, b_end), byte for byte: the scan's encoder, which makes no records
    (``pipeline.encode_prepared``). An edit's fields after its kind are written once, for the edit
    and, for a number or name change, for the pair's flags too."""
    out = []
    numbers: list[str] = []
    names: list[str] = []
    for a0, a1, b0, b1, words, sim, _, _, edits in passages:
        parts = []
        for kind, x, y, e0, e1, f0, f1 in edits:
            tail = (
                f'"a": {_str(x)}, "b": {_str(y)}, "a_start": {e0:d}, "a_end": {e1:d}, '
                f'"b_start": {f0:d}, "b_end": {f1:d}}}'
            )
            parts.append(f'{{"kind": "{kind}", {tail}')
            if kind == "number":
                numbers.append("{" + tail)
            elif kind == "name":
                names.append("{" + tail)
        out.append(_passage_line(a0, a1, b0, b1, words, sim, parts))
    return _pair_line(
        a,
        b,
        relation,
        direction,
        reason,
        containment_a,
        containment_b,
        similarity,
        out,
        numbers,
        names,
        derivation,
    )


@contextmanager
def staging(out_dir: str) -> Iterator[Path]:
    """A temporary folder inside ``out_dir``; on success its files replace those in ``out_dir``.

    On any error the temporary folder is removed and ``out_dir`` keeps what it had."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out_dir, f"cannot create output folder ({exc.strerror})") from None
    tmp = Path(tempfile.mkdtemp(prefix=".copytrace-", dir=out))
    try:
        yield tmp
        for f in sorted(tmp.iterdir()):
            if f.is_file() and not f.name.startswith("_"):
                os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_jsonl_atomic(path: str, rows: list[dict[str, Any]]) -> None:
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(dumps(row) + "\n")
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(path: Path, jsonl_path: Path) -> None:
    """A Parquet copy of a JSONL output (nested fields kept as JSON strings for a stable schema)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    with open(jsonl_path, encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            rows.append(
                {
                    k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                    for k, v in obj.items()
                }
            )
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    pq.write_table(table, path)


def write_rejects(path: Path, rejected: list[Any]) -> None:
    """``rejects.jsonl``: one line per skipped file or record (``path``, ``record``, ``reason``)."""
    rows = [{"path": e.path, "record": e.record, "reason": e.reason} for e in rejected]
    write_jsonl_atomic(str(path), rows)
