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
