"""The reader on its own: decoding, records, rejects (``copytrace.read``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copytrace.errors import InputError
from copytrace.read import DecodeWarning, decode, make_document, read_inputs, read_path

TEXT = "Reconciliation Centre said on Wednesday \u201cnothing\u201d changed \u2014 caf\u00e9 na\u00efve"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_decode_unicode_forms(encoding: str) -> None:
    seen: list[str] = []
    assert decode(TEXT.encode(encoding), "f.txt", seen.append) == TEXT
    assert bool(seen) == (encoding in ("utf-16-le", "utf-16-be"))


def test_decode_cp1252_warns_with_the_file() -> None:
    with pytest.warns(DecodeWarning, match="f.txt: not valid UTF-8, decoded as cp1252"):
        assert decode(TEXT.encode("cp1252"), "f.txt") == TEXT


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.5\n",
        b"\x89PNG\r\n\x1a\n",
        b"\x1f\x8b\x08\x00",
        b"PK\x03\x04",
        bytes(range(256)) * 8,
        b"\x00" * 64,
    ],
)
def test_decode_refuses_binary(data: bytes) -> None:
    with pytest.raises(InputError, match="binary file"):
        decode(data, "f.txt")


def test_surrogates_replaced_one_for_one() -> None:
    seen: list[str] = []
    doc = make_document(
        {"id": "x\udc80", "text": "a\ud800b", "title": "\udfff", "k": ["\ud801"]},
        "t.jsonl",
        "line 3",
        seen.append,
    )
    assert (doc.id, doc.text, doc.title, doc.meta) == ("x\ufffd", "a\ufffdb", "\ufffd", {"k": ["\ufffd"]})
    assert seen == ["t.jsonl: line 3: 4 unpaired surrogate(s) (invalid Unicode) replaced by U+FFFD"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"text": "x"}, "no 'id'"),
        ({"id": " ", "text": "x"}, "no 'id'"),
        ({"id": ["a"], "text": "x"}, "'id' must be a string or number"),
        ({"id": "a"}, "no 'text'"),
        ({"id": "a", "text": None}, "no 'text'"),
        ({"id": "a", "text": 3}, "'text' must be a string"),
    ],
)
def test_make_document_errors(record: dict[str, object], reason: str) -> None:
    with pytest.raises(InputError, match=reason) as info:
        make_document(record, "t.jsonl", "line 9")
    assert str(info.value).startswith("t.jsonl: line 9: ")


def test_reject_collects_and_goes_on(tmp_path: Path) -> None:
    f = tmp_path / "t.jsonl"
    f.write_bytes(
        b'{"id": "a", "text": "one"}\n'
        b'{"id": "b", "text": "caf\xe9"}\n'
        b"\n"
        b'{"id": "a", "text": "again"}\n'
        b'{"text": "no id"}\n'
        b'{"id": "c", "text": "three"}\n'
        b'{"id": "d", "te'
    )
    rejected: list[InputError] = []
    docs = list(read_inputs([str(f)], reject=rejected.append))
    assert [d.id for d in docs] == ["a", "c"]
    assert [(e.record, e.reason.split(" (")[0]) for e in rejected] == [
        ("line 2", "invalid UTF-8 at byte 24"),
        ("line 4", "duplicate id 'a'"),
        ("line 5", "record has no 'id' field"),
        ("line 7", "truncated last line, not valid JSON"),
    ]
    with pytest.raises(InputError, match="line 2: invalid UTF-8"):
        list(read_inputs([str(f)]))


def test_csv_quoted_line_breaks_kept(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    text = "a\r\nb\rc\u2028d\u0085e\x0cf"
    import csv

    with open(f, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["id", "text"], ["1", text], ["2", "plain"]])
    assert [(d.id, d.text) for d in read_path(str(f))] == [("1", text), ("2", "plain")]


def test_json_list_and_bom(tmp_path: Path) -> None:
    f = tmp_path / "t.json"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"id": 1, "text": "x", "extra": {"k": 1}}]).encode())
    [doc] = read_path(str(f))
    assert (doc.id, doc.text, doc.meta) == ("1", "x", {"extra": {"k": 1}})


def test_unreadable_folder_entries_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("hidden", encoding="utf-8")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert [d.id for d in read_path(str(tmp_path))] == ["a.txt"]


def test_jsonl_slices_read_alike_with_and_without_orjson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``read_slice`` takes a line's record from orjson only where the json module would give the
    same one: whole numbers past 64 bits, floats, nested values and lone surrogates go to json."""
    from copytrace import sources

    lines = [
        b'{"id": "a1", "text": "Plain text, the common case."}',
        b'{"id": 12345678901234567890123, "text": "An id past 64 bits stays an exact integer."}',
        b'{"id": 18446744073709551615, "text": "The largest 64-bit id."}',
        b'{"id": -9223372036854775809, "text": "One below the smallest."}',
        b'{"id": "f", "text": "A float in the metadata.", "score": 1e400, "w": 0.1}',
        b'{"id": "n", "text": "Nested metadata.", "meta": {"k": [1, 2, 123456789012345678901234]}}',
        b'{"id": "s", "text": "A lone surrogate \\ud800 escaped."}',
        b'{"id": "t", "text": "Text\\twith \\u00e9scapes \\ud83d\\ude00 and \\"quotes\\"", "date": "2018-03-07"}',
        b'{"id": "b", "text": "Booleans and nulls.", "flag": true, "title": null}',
        '{"id": "u", "text": "UTF-8 \u00e9t\u00e9 \u4e2d\u6587"}'.encode(),
        b'{"id": "d", "text": "first", "id": "dup", "text": "Duplicate keys: the last wins."}\r',
        b'{"id": "nan", "text": "NaN in metadata.", "x": NaN}',
    ]
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    sl = sources.JsonlSlice(str(path), 0, path.stat().st_size)
    quick = sources.read_slice(sl, lambda _: None)
    taken = [sources._quick_record(x) is not None for x in lines]
    assert taken == [True, False, True, False, False, False, False, True, True, True, True, False]
    monkeypatch.setattr(sources, "_quick_record", lambda raw: None)
    plain = sources.read_slice(sl, lambda _: None)
    assert quick == plain
    assert [d.id for d in quick[0]][:4] == [
        "a1",
        "12345678901234567890123",
        "18446744073709551615",
        "-9223372036854775809",
    ]
    assert quick[0][6].text == "A lone surrogate \ufffd escaped."
    assert quick[0][10].id == "dup" and quick[0][4].meta == {"score": float("inf"), "w": 0.1}
