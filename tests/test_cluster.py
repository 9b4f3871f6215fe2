"""Families (issue 6): wire stories gather the papers quoting them; boilerplate does not chain families."""

from __future__ import annotations

import json
import random

import numpy as np

from copytrace import Document, Settings
from copytrace.candidates import kept_postings
from copytrace.cluster import (
    Edges,
    components,
    earliest_member,
    families,
    family_id,
    family_numbers,
    mass_copies,
    with_copies,
)
from copytrace.scan import scan

SYLLABLES = "ka lo mi ne su ta ri po ve da bu ze fo gi hu ja".split()


def words(seed: int, n: int) -> str:
    """``n`` made-up words, different for every seed (no accidental overlap between texts)."""
    rng = random.Random(seed)
    return " ".join("".join(rng.choice(SYLLABLES) for _ in range(3)) for _ in range(n))


def para(seed: int, n: int = 40) -> str:
    return words(seed, n).capitalize() + "."


BOILERPLATE = para(999, 20)


def corpus() -> list[Document]:
    w1 = [para(1), para(2), para(3)]
    w2 = [para(11), para(12)]
    return [
        Document("w1", "MOSCOW (Reuters) - " + "\n\n".join(w1)),
        Document("p1", para(21, 30) + "\n\n" + w1[0] + "\n\n" + para(22, 30) + "\n\n" + BOILERPLATE),
        Document("p2", para(31, 30) + "\n\n" + w1[2] + "\n\n" + para(32, 30)),
        Document("w2", "PARIS (AFP) - " + "\n\n".join(w2)),
        Document("q1", para(41, 30) + "\n\n" + w2[1] + "\n\n" + BOILERPLATE),
        Document("lone", para(51, 60)),
    ]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_wire_family_and_boilerplate_does_not_chain(tmp_path):
    scan(corpus(), str(tmp_path))
    pairs = {(p["a"], p["b"]): p for p in read_jsonl(tmp_path / "pairs.jsonl")}
    # the boilerplate sentence is a real shared passage between two families...
    assert ("p1", "q1") in pairs and pairs[("p1", "q1")]["relation"] == "partial"
    # ...and the two papers quoting different paragraphs share nothing with each other
    assert ("p1", "p2") not in pairs
    fams = read_jsonl(tmp_path / "clusters.jsonl")
    by_members = {tuple(f["members"]): f for f in fams}
    assert set(by_members) == {("w1", "p1", "p2"), ("w2", "q1")}
    wire = by_members[("w1", "p1", "p2")]
    assert wire["representative"] == "w1"
    assert wire["earliest"] == "w1" and "wire dateline" in wire["earliest_reason"]
    assert by_members[("w2", "q1")]["earliest"] == "w2"
    docs = {d["id"]: d for d in read_jsonl(tmp_path / "documents.jsonl")}
    assert docs["p2"]["cluster"] == wire["cluster"] and docs["lone"]["cluster"] is None
    assert docs["q1"]["cluster"] != wire["cluster"]


def test_boilerplate_link_is_not_a_strongest_link():
    # the link graph of the corpus above: plain connected components would put all five together
    edges = Edges(
        a=np.array([0, 0, 3, 1], dtype=np.int64),
        b=np.array([1, 2, 4, 4], dtype=np.int64),
        strong=np.zeros(4, dtype=np.bool_),
        words=np.array([40, 40, 40, 20], dtype=np.int64),
    )
    labels = components(6, edges, 15)
    assert labels.tolist() == [0, 0, 0, 3, 3, -1]
    # a link shorter than min_family_words never links
    assert components(6, edges, 41).tolist() == [-1] * 6


def test_strong_links_always_join():
    edges = Edges(
        a=np.array([0, 2], dtype=np.int64),
        b=np.array([1, 1], dtype=np.int64),
        strong=np.array([True, True]),
        words=np.array([10, 10], dtype=np.int64),
    )
    assert components(3, edges, 15).tolist() == [0, 0, 0]


def test_earliest_by_date_then_agency_then_dateline():
    ids = ["a", "b", "c"]
    assert earliest_member([0, 1, 2], ids, ["2018-03-08", "2018-03-07", None], [False] * 3) == (
        "b",
        "earliest date 2018-03-07",
    )
    # tied dates: the agency by source decides among the tied members
    got = earliest_member(
        [0, 1, 2], ids, ["2018-03-07", "2018-03-07", None], [False, False, True], ["x", "Reuters", None]
    )
    assert got[0] == "b" and "agency" in got[1]
    assert earliest_member([0, 1, 2], ids, [None] * 3, [False, True, False])[0] == "b"
    assert earliest_member([0, 1, 2], ids, [None] * 3, [True, True, False]) == (None, "no evidence")


def test_families_name_the_earliest_member_as_earliest_member_does():
    """``families`` looks at a family's members one by one only where they may decide its earliest
    member; what it says of every family is ``earliest_member``'s answer."""
    rng = random.Random(7)
    n = 600
    ids = [f"d{i}" for i in range(n)]
    dates = [rng.choice([None] * 6 + ["2018-03-07", "2018-03-08", "not a date"]) for _ in range(n)]
    sources = [rng.choice([None] * 5 + ["Reuters", "AFP", "Daily Planet"]) for _ in range(n)]
    wire = [rng.random() < 0.3 for _ in range(n)]
    labels = np.array([rng.randrange(-1, 150) for _ in range(n)], dtype=np.int64)
    a = np.array([i for i in range(n) if labels[i] >= 0], dtype=np.int64)
    edges = Edges(a=a, b=a, strong=np.ones(a.shape[0], bool), words=np.full(a.shape[0], 20, np.int64))
    fams = families(labels, ids, dates, wire, edges, sources)
    reasons = set()
    for fam in fams:
        members = [int(x[1:]) for x in fam.members]
        assert (fam.earliest, fam.earliest_reason) == earliest_member(members, ids, dates, wire, sources)
        reasons.add(fam.earliest_reason.split()[0])
    assert {"no", "earliest", "the"} <= reasons  # none, a date, an agency or a wire dateline


def test_families_representative_uses_links_inside_the_family():
    edges = Edges(
        a=np.array([0, 1, 2], dtype=np.int64),
        b=np.array([1, 2, 3], dtype=np.int64),
        strong=np.array([True, True, False]),
        words=np.array([50, 60, 500], dtype=np.int64),
    )
    labels = np.array([0, 0, 0, -1], dtype=np.int64)
    (fam,) = families(labels, ["a", "b", "c", "d"], [None] * 4, [False] * 4, edges)
    assert fam.members == ("a", "b", "c") and fam.representative == "b"


def test_family_numbers_follow_the_order_of_families():
    rng = np.random.default_rng(3)
    n = 200
    a = rng.integers(0, n, 150)
    b = rng.integers(0, n, 150)
    keep = a != b
    a, b = np.minimum(a, b)[keep], np.maximum(a, b)[keep]
    edges = Edges(a, b, rng.random(a.shape[0]) < 0.5, rng.integers(1, 90, a.shape[0]))
    labels = components(n, edges, 15)
    ids = [f"d{i}" for i in range(n)]
    fams = families(labels, ids, [None] * n, [False] * n, edges)
    numbers = family_numbers(labels)
    assert fams and all(ids[i] in fams[k].members for i, k in enumerate(numbers.tolist()) if k >= 0)
    assert sum(len(f.members) for f in fams) == int((numbers >= 0).sum())
    assert [f.id for f in fams] == [family_id(k) for k in range(len(fams))]


def test_union_find_labels_each_component_by_its_smallest_member() -> None:
    """The vectorised union-find against a plain one, on random graphs and a long chain."""
    import numpy as np

    from copytrace.cluster import _union_find

    def reference(n: int, a: list[int], b: list[int]) -> list[int]:
        parent = list(range(n))

        def root(x: int) -> int:
            while parent[x] != x:
                x = parent[x]
            return x

        for x, y in zip(a, b, strict=True):
            rx, ry = root(x), root(y)
            parent[max(rx, ry)] = min(rx, ry)
        return [root(i) for i in range(n)]

    rng = np.random.default_rng(5)
    for _ in range(200):
        n, m = int(rng.integers(1, 200)), int(rng.integers(0, 300))
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        assert _union_find(n, a, b).tolist() == reference(n, a.tolist(), b.tolist())
    chain = np.arange(5000)[::-1]
    assert set(_union_find(5001, chain, chain + 1).tolist()) == {0}


def test_grouped_order_keeps_components_together() -> None:
    """The align stage's task order: a permutation, each component's pairs one run, by (lower,
    higher) document in a component of at most a task's pairs."""
    from copytrace.cluster import _union_find, grouped_order

    rng = np.random.default_rng(11)
    for _ in range(100):
        n, m = int(rng.integers(2, 300)), int(rng.integers(1, 400))
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        order = grouped_order(n, a, b)
        assert sorted(order.tolist()) == list(range(m))
        label = _union_find(n, a, b)[a[order]]
        runs = [label[0]] + [y for x, y in zip(label[:-1], label[1:], strict=True) if x != y]
        assert len(runs) == len(set(runs))  # no component comes back after another started
        lo, hi = np.minimum(a, b)[order], np.maximum(a, b)[order]
        keys = list(zip(label.tolist(), lo.tolist(), hi.tolist(), strict=True))
        assert keys == sorted(keys)
    assert grouped_order(5, np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)


def test_grouped_order_of_a_large_component_prepares_fewer_documents() -> None:
    """In a component of more pairs than a task, the breadth-first numbering puts pairs of nearby
    documents in one task: fewer documents to prepare than by (lower, higher) document, and each
    small component still one run of its own."""
    from copytrace.cluster import _union_find, grouped_order

    rng = np.random.default_rng(3)
    n, m, task = 4000, 6000, 100
    # one large component of local links (documents related to documents near them in some
    # hidden order: a topic, a time) on shuffled ids, and beside it components of two documents
    ids = rng.permutation(n)
    near = rng.integers(0, 2980, m)
    a, b = ids[near], ids[near + rng.integers(1, 20, m)]
    small = ids[3000:].reshape(-1, 2)
    a, b = np.concatenate([a, small[:, 0]]), np.concatenate([b, small[:, 1]])
    keep = a != b
    a, b = np.minimum(a, b)[keep], np.maximum(a, b)[keep]

    def prepared(order: np.ndarray) -> int:
        return sum(
            len(set(a[order[i : i + task]]) | set(b[order[i : i + task]])) for i in range(0, len(order), task)
        )

    order = grouped_order(n, a, b, task)
    assert sorted(order.tolist()) == list(range(a.shape[0]))
    label = _union_find(n, a, b)
    plain = np.lexsort((b, a, label[a]))
    assert prepared(order) < 0.8 * prepared(plain)
    runs = [x for k, x in enumerate(label[a[order]].tolist()) if k == 0 or x != label[a[order[k - 1]]]]
    assert len(runs) == len(set(runs))


def test_pair_log_writes_pairs_in_output_order(tmp_path) -> None:
    """Tasks hand in pairs in any order; pairs.jsonl and the edges come out by (a, b)."""
    from copytrace.checkpoint import PairLog

    rng = np.random.default_rng(3)
    pairs = sorted({(int(x), int(y)) for x, y in rng.integers(0, 50, (300, 2)) if x < y})
    shuffled = [pairs[k] for k in rng.permutation(len(pairs))]
    out = tmp_path / "pairs.jsonl"
    with PairLog(tmp_path, out, "key") as log:
        for t in range(0, len(shuffled), 37):
            log.add(
                [
                    (x, y, json.dumps({"a": x, "b": y, "é": "ü" * x}), "partial", x + y, x % 2 == 0)
                    for x, y in shuffled[t : t + 37]
                ]
            )
        log.finish()
        a, b, strong, w = log.edges()
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [(d["a"], d["b"]) for d in map(json.loads, lines)] == pairs
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == pairs
    assert w.tolist() == [x + y for x, y in pairs]
    assert strong.tolist() == [x % 2 == 0 for x, _ in pairs]
    assert not list(tmp_path.glob("*.part"))


def test_mass_copies_keeps_the_first_of_each_large_group() -> None:
    rng = np.random.default_rng(5)
    n, max_df = 400, 4
    # groups of identical texts: sizes 1 to 9, their members scattered over the input
    whole = np.zeros(n, dtype=np.uint64)
    sizes = rng.integers(1, 10, size=80)
    slots = rng.permutation(n)
    at = 0
    for g, size in enumerate(sizes.tolist()):
        whole[slots[at : at + size]] = np.uint64(1000 + g)
        at += size
    first, member = mass_copies(whole, max_df)
    expect_first, expect_member = [], []
    for value in np.unique(whole[whole != 0]).tolist():
        group = np.flatnonzero(whole == value).tolist()
        if len(group) > max_df:
            expect_first += [group[0]] * (len(group) - 1)
            expect_member += group[1:]
    order = np.argsort(expect_member)
    assert member.tolist() == np.array(expect_member)[order].tolist()
    assert first.tolist() == np.array(expect_first)[order].tolist()
    assert len(member) > 0 and (first < member).all()
    # texts with no word (0) are never a group, however many
    assert mass_copies(np.zeros(50, dtype=np.uint64), 4)[1].tolist() == []
    # dropped postings: exactly those of the members
    docs = rng.integers(0, n, size=3000)
    keep = kept_postings(docs, member)
    assert keep is not None and keep.tolist() == (~np.isin(docs, member)).tolist()
    assert kept_postings(docs, np.zeros(0, np.int64)) is None
    # candidates with the star pairs added stay sorted by (a, b)
    a, b = np.array([0, 3, 7]), np.array([5, 9, 8])
    ca, cb = with_copies(a, b, first, member)
    pairs = list(zip(ca.tolist(), cb.tolist(), strict=True))
    assert pairs == sorted(set(pairs)) and len(pairs) == 3 + len(member)


def test_a_story_copied_into_more_than_max_df_documents_is_paired(tmp_path) -> None:
    """Syndication: 30 identical copies of one story with --max-df 10. Every fingerprint of the story
    is in 30 documents, so without collapsing identical texts the cap dropped them all and nothing
    was paired; now each copy pairs with the first, and the first with a text quoting it."""
    rng = random.Random(11)
    words = [f"w{i}" for i in range(3000)]
    story = " ".join(rng.choice(words) for _ in range(250))
    docs = [Document(f"copy{i:02d}", story) for i in range(30)]
    quote = " ".join(story.split()[40:110])
    docs.append(Document("quoter", " ".join(rng.choice(words) for _ in range(80)) + " " + quote))
    docs += [Document(f"other{i}", " ".join(rng.choice(words) for _ in range(120))) for i in range(20)]
    scan(docs, str(tmp_path), Settings(max_df=10, workers=2))
    pairs = [json.loads(x) for x in (tmp_path / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    got = {(p["a"], p["b"]): p["relation"] for p in pairs}
    assert {k: v for k, v in got.items() if k[1] != "quoter"} == {
        ("copy00", f"copy{i:02d}"): "duplicate" for i in range(1, 30)
    }
    assert got[("copy00", "quoter")] in ("partial", "b_contains_a", "a_contains_b")
    fams = [json.loads(x) for x in (tmp_path / "clusters.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(fams) == 1 and len(fams[0]["members"]) == 31
