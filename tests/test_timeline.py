"""Versions of one article (``copytrace.timeline``): ordered by date, one diff between each two
consecutive versions, in copytrace's edit kinds."""

from __future__ import annotations

import json

from copytrace import Document, Settings
from copytrace.scan import scan
from copytrace.timeline import read_timelines, timelines

URL = "https://example.com/ghouta"


def _versions(text: str) -> list[Document]:
    v1 = text
    v2 = v1.replace("780", "68")
    v3 = (
        v2
        + "\n\nThe United Nations said a second aid convoy would try to reach the enclave on Thursday if the fighting paused.\n"
    )
    # input order is not date order
    return [
        Document("v3", v3, date="2018-03-08T09:30:00", url=URL),
        Document("v1", v1, date="2018-03-07T10:00:00", url=URL),
        Document("other", "An unrelated story about wheat prices in Kansas.", url="https://example.com/x"),
        Document("v2", v2, date="2018-03-07T16:45:00", url=URL),
    ]


def test_three_versions_give_two_diffs_in_date_order(ghouta_texts, tmp_path):
    docs = _versions(ghouta_texts[0])
    (line,) = timelines(docs)
    assert line["key"] == URL and line["field"] == "url"
    assert [v["id"] for v in line["versions"]] == ["v1", "v2", "v3"]
    first, second = line["diffs"]
    assert (first["from"], first["to"]) == ("v1", "v2")
    assert (second["from"], second["to"]) == ("v2", "v3")
    assert [(e["kind"], e["a"], e["b"]) for e in first["edits"]] == [("number", "780", "68")]
    assert first["changes"]["numbers"] == [{"from": "780", "to": "68"}]
    added = [e for e in second["edits"] if e["kind"] == "insert"]
    assert len(added) == 1 and added[0]["b"].startswith("The United Nations said a second aid convoy")
    v3 = docs[0].text
    assert v3[added[0]["b_start"] : added[0]["b_end"]] == added[0]["b"]
    # the scan writes the same line to timelines.jsonl
    scan(docs, str(tmp_path / "out"))
    assert read_timelines(tmp_path / "out") == [json.loads(json.dumps(line))]


def test_version_key_names_a_metadata_field(ghouta_texts):
    docs = [
        Document(d.id, d.text, date=d.date, meta={"story": 7 if d.id != "other" else 8})
        for d in _versions(ghouta_texts[0])
    ]
    assert timelines(docs) == []  # no url shared
    (line,) = timelines(docs, Settings(version_key="story"))
    assert line["key"] == "7" and [v["id"] for v in line["versions"]] == ["v1", "v2", "v3"]


def test_stretches_between_passages_are_diffed_word_by_word():
    """A line the alignment left out (shorter than a passage) is set against the line at the
    same place in the other version: the changed name reads ``name``, an added paragraph ``insert``."""
    from copytrace.timeline import gap_edits

    body = "The committee met on Monday and agreed the terms of the new debt package, officials said."
    old = "By John Smith in Caracas\n\n" + body
    new = "By John Jones in Caracas\n\n" + body + "\n\nA second meeting is set for March."
    shift = len(new) - len(old) - len("\n\nA second meeting is set for March.")
    passage = {"a_start": old.index("The"), "a_end": len(old), "b_start": new.index("The"),
               "b_end": new.index("The") + len(body), "words": 16, "similarity": 1.0, "edits": []}  # fmt: skip
    edits = gap_edits(old, new, [passage])
    assert [(e["kind"], e["a"], e["b"]) for e in edits] == [
        ("name", "Smith", "Jones"),
        ("insert", "", "A second meeting is set for March"),
    ]
    name = edits[0]
    assert old[name["a_start"] : name["a_end"]] == "Smith" and new[name["b_start"] : name["b_end"]] == "Jones"
    assert shift == 0


def test_scan_version_key_flag_reads_a_metadata_field(ghouta_texts, tmp_path):
    """``copytrace scan --version-key story`` on a JSONL table: the versions share the extra field
    ``story`` (carried as metadata), not a url."""
    from copytrace.cli import main

    table = tmp_path / "in.jsonl"
    with open(table, "w", encoding="utf-8") as fh:
        for d in _versions(ghouta_texts[0]):
            rec = {"id": d.id, "text": d.text, "story": "ghouta" if d.id != "other" else "wheat"}
            if d.date:
                rec["date"] = d.date
            fh.write(json.dumps(rec) + "\n")
    out = tmp_path / "out"
    assert main(["scan", str(table), "--out", str(out), "--quiet", "--version-key", "story"]) in (0, None)
    (line,) = read_timelines(out)
    assert (line["key"], line["field"]) == ("ghouta", "story")
    assert [v["id"] for v in line["versions"]] == ["v1", "v2", "v3"]
    assert len(line["diffs"]) == 2
