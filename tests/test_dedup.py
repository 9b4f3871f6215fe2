from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from copytrace.cli import main
from copytrace.dedup import DocInfo, Link, cut_text, dedup, priority, resolve
from copytrace.errors import ConfigError, InputError
from copytrace.types import Document, Settings

VOCAB = [f"w{k}x{k * 7 % 13}" for k in range(4000)]


def para(rng: random.Random, words: int = 40) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words)) + "."


def paras(seed: int, n: int, words: int = 40) -> list[str]:
    rng = random.Random(seed)
    return [para(rng, words) for _ in range(n)]


def substitute(text: str, every: int) -> str:
    words = text.split(" ")
    return " ".join("changed" if k % every == every - 1 else w for k, w in enumerate(words))


@pytest.fixture()
def corpus() -> list[dict]:
    """base, an exact copy, a near copy, an unrelated story, a partial reuser, a wider story."""
    base = paras(1, 8)
    other = paras(2, 8)
    host = paras(3, 8)
    return [
        {"id": "base", "text": "\n\n".join(base), "date": "2020-01-02", "source": "Wire", "extra": {"k": 1}},
        {"id": "copy", "text": "\n\n".join(base), "date": "2020-01-01", "source": "Paper"},
        {"id": "near", "text": substitute("\n\n".join(base), 25), "date": "2020-01-03", "source": "Blog"},
        {"id": "other", "text": "\n\n".join(other), "date": "2020-01-01"},
        {"id": "partial", "text": "\n\n".join(host[:4] + base[2:3] + host[4:]), "date": "2020-01-05"},
        {"id": "wider", "text": "\n\n".join(base + paras(4, 6)), "date": "2019-12-31", "source": "Agency"},
    ]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def run(tmp_path: Path, records: list[dict], name: str = "out", workers: int = 1, **kw) -> tuple[list, list]:
    src = write_jsonl(tmp_path / f"{name}.jsonl", records)
    out = tmp_path / name
    dedup([str(src)], str(out), Settings(workers=workers), **kw)
    return read_jsonl(out / "kept.jsonl"), read_jsonl(out / "removed.jsonl")


def test_near_mode_removes_copies_in_favour_of_the_first(tmp_path: Path, corpus: list[dict]) -> None:
    kept, removed = run(tmp_path, corpus)
    assert [r["id"] for r in kept] == ["base", "other", "partial", "wider"]
    by_id = {r["id"]: r for r in removed}
    assert set(by_id) == {"copy", "near"}
    assert by_id["copy"]["duplicate_of"] == "base"
    assert by_id["copy"]["relation"] == "duplicate"
    assert by_id["copy"]["containment"] == 1.0
    assert by_id["near"]["relation"] == "near_duplicate"
    assert by_id["near"]["duplicate_of"] == "base"
    assert by_id["near"]["containment"] >= 0.8 and by_id["near"]["containment_kept"] >= 0.8
    assert {r["cluster"] for r in removed} == {"base"}
    assert all(r["action"] == "removed" and "base" in r["reason"] for r in removed)


def test_kept_lines_are_copied_byte_for_byte(tmp_path: Path, corpus: list[dict]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", corpus)
    dedup([str(src)], str(tmp_path / "o"), Settings(workers=1))
    lines = src.read_text(encoding="utf-8").splitlines()
    kept = (tmp_path / "o" / "kept.jsonl").read_text(encoding="utf-8").splitlines()
    assert kept == [lines[0], lines[3], lines[4], lines[5]]
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert (stats["documents"], stats["kept"], stats["removed"]) == (6, 4, 2)


@pytest.mark.parametrize(
    ("keep", "prefer", "winner"),
    [
        ("first", (), "base"),
        ("earliest", (), "copy"),
        ("source", ("Paper",), "copy"),
        ("source", ("Blog",), "near"),
    ],
)
def test_keep_policy_chooses_the_copy(
    tmp_path: Path, corpus: list[dict], keep: str, prefer: tuple, winner: str
) -> None:
    kept, removed = run(tmp_path, corpus[:4], keep=keep, prefer=prefer)
    ids = {r["id"] for r in kept}
    assert winner in ids and ids & {"base", "copy", "near"} == {winner}
    assert {r["duplicate_of"] for r in removed} == {winner}


def test_keep_longest(tmp_path: Path, corpus: list[dict]) -> None:
    base = corpus[0]
    longer = dict(base, id="longer", text=base["text"] + " " + para(random.Random(9), 6))
    kept, removed = run(tmp_path, [base, longer], keep="longest")
    assert [r["id"] for r in kept] == ["longer"]
    assert removed[0]["id"] == "base" and removed[0]["duplicate_of"] == "longer"


def test_contained_mode_removes_what_another_document_holds(tmp_path: Path, corpus: list[dict]) -> None:
    # "wider" holds all of "base" (and its copies); in near mode it is not a duplicate of anything
    kept_near, _ = run(tmp_path, corpus, name="near", mode="near")
    assert "wider" in {r["id"] for r in kept_near}
    kept, removed = run(tmp_path, corpus, name="contained", mode="contained")
    assert {r["id"] for r in kept} == {"wider", "other", "partial"}
    by_id = {r["id"]: r for r in removed}
    # the container is decided first, so "base" goes even though it comes first in input order
    assert by_id["base"]["duplicate_of"] == "wider"
    assert by_id["base"]["relation"] == "contained"
    assert by_id["base"]["containment"] >= 0.8 > by_id["base"]["containment_kept"]
    assert by_id["copy"]["relation"] in ("contained", "duplicate")


def test_chains_never_remove_an_unrelated_document(tmp_path: Path) -> None:
    p = paras(5, 12)
    docs = [
        {"id": "a", "text": "\n\n".join(p[0:10])},
        {"id": "b", "text": "\n\n".join(p[1:11])},
        {"id": "c", "text": "\n\n".join(p[2:12])},
    ]
    kept, removed = run(tmp_path, docs, threshold=0.85)
    assert [r["id"] for r in kept] == ["a", "c"]  # c is a near-copy of b only, and b went
    assert removed[0]["id"] == "b" and removed[0]["duplicate_of"] == "a"


def test_same_result_for_any_worker_count_and_order_of_unrelated_docs(
    tmp_path: Path, corpus: list[dict]
) -> None:
    extra = [{"id": f"u{k}", "text": "\n\n".join(paras(100 + k, 3))} for k in range(30)]
    records = corpus + extra
    kept1, removed1 = run(tmp_path, records, name="w1", workers=1, mode="contained")
    kept2, removed2 = run(
        tmp_path,
        records,
        name="w2",
        workers=2,
        mode="contained",
    )
    assert (kept1, removed1) == (kept2, removed2)
    shuffled = list(records)
    rng = random.Random(3)
    unrelated = [r for r in shuffled if r["id"].startswith("u") or r["id"] == "other"]
    rng.shuffle(unrelated)
    related = [r for r in records if r not in unrelated]
    mixed = []
    for k, r in enumerate(unrelated):
        mixed.append(r)
        if k % 5 == 0 and related:
            mixed.append(related.pop(0))
    mixed.extend(related)
    kept3, removed3 = run(tmp_path, mixed, name="shuffled", workers=2, mode="contained")
    assert sorted(removed3, key=lambda r: r["id"]) == sorted(removed1, key=lambda r: r["id"])
    assert {r["id"] for r in kept3} == {r["id"] for r in kept1}


def test_passage_mode_cuts_repeated_passages_and_lists_offsets(tmp_path: Path) -> None:
    src_paras = paras(7, 5, words=60)
    host = paras(8, 4, words=60)
    docs = [
        {"id": "src", "text": "\n\n".join(src_paras)},
        {"id": "host", "text": "\n\n".join(host[:2] + src_paras[1:2] + host[2:])},
        {"id": "copy", "text": "\n\n".join(src_paras)},
    ]
    kept, removed = run(tmp_path, docs, mode="passage", passage_words=50)
    by_kept = {r["id"]: r for r in kept}
    assert by_kept["src"]["text"] == docs[0]["text"]
    assert src_paras[1][:-1] not in by_kept["host"]["text"]
    for p in host:
        assert p[:-1] in by_kept["host"]["text"]
    by_id = {r["id"]: r for r in removed}
    assert by_id["copy"]["action"] == "removed"  # nothing of its own is left
    trimmed = by_id["host"]
    assert trimmed["action"] == "trimmed"
    (cut,) = trimmed["passages"]
    assert cut["kept_in"] == "src" and cut["words"] >= 50
    assert docs[1]["text"][cut["start"] : cut["end"]] == docs[0]["text"][cut["kept_start"] : cut["kept_end"]]
    assert by_kept["host"]["text"] == cut_text(docs[1]["text"], [(cut["start"], cut["end"])])


def test_parquet_in_parquet_out_with_schema(tmp_path: Path, corpus: list[dict]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": [r["id"] for r in corpus],
            "text": [r["text"] for r in corpus],
            "score": pa.array([float(k) for k in range(len(corpus))], type=pa.float32()),
            "lang": ["en"] * len(corpus),
        }
    )
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    stats = dedup([str(src)], str(tmp_path / "o"), Settings(workers=1))
    assert stats["kept_file"] == "kept.parquet"
    out = pq.read_table(tmp_path / "o" / "kept.parquet")
    assert out.schema == table.schema
    assert out.column("id").to_pylist() == ["base", "other", "partial", "wider"]
    assert out.column("score").to_pylist() == [0.0, 3.0, 4.0, 5.0]


def test_text_folder_and_csv_keep_their_fields(tmp_path: Path, corpus: list[dict]) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(corpus[0]["text"], encoding="utf-8")
    (folder / "b.txt").write_text(corpus[1]["text"], encoding="utf-8")
    csv = tmp_path / "t.csv"
    csv.write_text('id,text,lang\nc,"' + corpus[3]["text"] + '",en\n', encoding="utf-8")
    dedup([str(folder), str(csv)], str(tmp_path / "o"), Settings(workers=1))
    kept = read_jsonl(tmp_path / "o" / "kept.jsonl")
    assert [r["id"] for r in kept] == ["a.txt", "c"]
    assert kept[0]["text"] == corpus[0]["text"] and kept[1]["lang"] == "en"
    (removed,) = read_jsonl(tmp_path / "o" / "removed.jsonl")
    assert (removed["id"], removed["duplicate_of"]) == ("b.txt", "a.txt")


def test_bad_input_writes_nothing(tmp_path: Path, corpus: list[dict]) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(json.dumps(corpus[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        dedup([str(src)], str(tmp_path / "o"), Settings(workers=1))
    assert not (tmp_path / "o" / "kept.jsonl").exists()
    assert main(["dedup", str(src), "--out", str(tmp_path / "o"), "--quiet"]) == 2


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"threshold": 0.0}, "threshold"),
        ({"keep": "newest"}, "keep"),
        ({"mode": "exact"}, "mode"),
        ({"passage_words": 0}, "passage_words"),
        ({"prefilter": 2.0}, "prefilter"),
        ({"measure": "cosine"}, "measure"),
        ({"measure": "ngrams", "mode": "passage"}, "measure"),
    ],
)
def test_bad_parameters_name_themselves(tmp_path: Path, kw: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=f"'{name}'"):
        dedup(["x.jsonl"], str(tmp_path / "o"), **kw)


def test_cli_writes_outputs(tmp_path: Path, corpus: list[dict]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", corpus)
    out = tmp_path / "o"
    rc = main(["dedup", str(src), "--out", str(out), "--quiet", "--workers", "1", "--keep", "earliest",
               "--stats", str(tmp_path / "s.json")])  # fmt: skip
    assert rc == 0
    removed = read_jsonl(out / "removed.jsonl")
    assert {r["id"] for r in removed} == {"base", "near"}
    assert all(r["duplicate_of"] == "copy" for r in removed)
    assert json.loads((tmp_path / "s.json").read_text())["removed"] == 2


def test_resolve_orders_containers_first_and_breaks_cycles() -> None:
    ids = ["x", "y", "z", "w"]
    ranks = np.arange(4, dtype=np.int64)
    links = [
        Link(0, 1, "b_contains_a", 0.9, 0.5, 1.0),  # x inside y
        Link(1, 2, "near_duplicate", 0.9, 0.9, 1.0),  # y ~ z
        Link(2, 3, "partial", 0.3, 0.3, 1.0),  # never acts
    ]
    near = resolve(links, ranks, ids, "near", 0.8)
    assert {i: r.kept_id for i, r in near.items()} == {2: "y"}
    contained = resolve(links, ranks, ids, "contained", 0.8)
    assert {i: (r.kept_id, r.relation) for i, r in contained.items()} == {
        0: ("y", "contained"),
        2: ("y", "near_duplicate"),
    }
    assert {r.cluster for r in contained.values()} == {"x"}
    # a containment cycle is broken at its highest-priority member, which stays
    cycle = [Link(0, 1, "b_contains_a", 0.9, 0.5, 1.0), Link(0, 1, "a_contains_b", 0.5, 0.9, 1.0)]
    out = resolve(cycle, ranks, ids, "contained", 0.8)
    assert list(out) == [1] and out[1].kept_id == "x"


def test_priority_policies() -> None:
    info = DocInfo()
    for d in [
        Document("a", "short", date="2020-02-01", source="B"),
        Document("b", "a longer text", date=None, source="A"),
        Document("c", "LONDON (Reuters) - wire text here", date="2020-01-01", source="C"),
    ]:
        info.add(d)
    assert priority(info, "first").tolist() == [0, 1, 2]
    assert priority(info, "longest").tolist() == [2, 1, 0]
    assert priority(info, "earliest").tolist() == [1, 2, 0]
    assert priority(info, "source", ["A"]).tolist() == [2, 0, 1]


def test_against_an_index(tmp_path: Path, corpus: list[dict]) -> None:
    index = pytest.importorskip("copytrace.index")
    path = tmp_path / "news.duckdb"
    with index.Index(path, Settings()) as ix:
        ix.add([Document(corpus[0]["id"], corpus[0]["text"])])
    new = [dict(r, id=r["id"] + "-new") for r in corpus[1:4]]
    kept, removed = run(tmp_path, new, against=str(path))
    assert [r["id"] for r in kept] == ["other-new"]
    assert {r["id"]: r["duplicate_of"] for r in removed} == {"copy-new": "base", "near-new": "base"}
    assert all(r["against_index"] for r in removed)


def test_ngrams_measure_keeps_heavily_edited_copies_that_coverage_removes(
    tmp_path: Path, corpus: list[dict]
) -> None:
    """A copy with every 8th word replaced is inside aligned passages almost whole (coverage
    near 1) but shares few word 5-grams (Jaccard about 0.2): ``coverage`` removes it at 0.8,
    ``ngrams`` keeps it; exact and lightly edited copies go under both."""
    heavy = {"id": "heavy", "text": substitute(corpus[0]["text"], 8)}
    light = {"id": "light", "text": substitute(corpus[0]["text"], 60)}
    records = [*corpus, heavy, light]
    _, removed_cov = run(tmp_path, records, name="cov")
    kept, removed = run(tmp_path, records, name="ngr", measure="ngrams")
    assert {"heavy", "near", "light"} <= {r["id"] for r in removed_cov}
    by_id = {r["id"]: r for r in removed}
    # one word in 25 replaced breaks a fifth of the 5-grams: Jaccard about 0.67, kept at 0.8
    assert {"heavy", "near"} <= {r["id"] for r in kept}
    assert by_id["copy"]["relation"] == "duplicate"
    near = by_id["light"]  # one word in 60 replaced: Jaccard about 0.85
    assert near["relation"] == "near_duplicate" and near["jaccard"] >= 0.8
    assert "Jaccard" in near["reason"]
    assert near["containment"] < 1.0 and near["containment_kept"] < 1.0


def test_ngrams_measure_against_an_index(tmp_path: Path, corpus: list[dict]) -> None:
    index = pytest.importorskip("copytrace.index")
    path = tmp_path / "news.duckdb"
    with index.Index(path, Settings()) as ix:
        ix.add([Document(corpus[0]["id"], corpus[0]["text"])])
    light = {"id": "light-new", "text": substitute(corpus[0]["text"], 60)}
    new = [dict(r, id=r["id"] + "-new") for r in corpus[1:4]] + [light]
    kept, removed = run(tmp_path, new, against=str(path), measure="ngrams")
    assert [r["id"] for r in kept] == ["near-new", "other-new"]
    assert {r["id"]: r["duplicate_of"] for r in removed} == {"copy-new": "base", "light-new": "base"}
    assert all(r["jaccard"] >= 0.8 for r in removed)
