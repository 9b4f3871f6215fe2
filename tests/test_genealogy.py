"""Story genealogy (``copytrace.genealogy``): which copy was made from which, what changed on
each edge, and where each variant reading first appears."""

from __future__ import annotations

import json

import pytest

from copytrace import Document, genealogy
from copytrace.genealogy import Member, family_tree
from copytrace.scan import scan


@pytest.fixture(scope="module")
def chain(ghouta_texts) -> list[Document]:
    """A -> B -> C: B changes the figure 780 to 68, C keeps B's figure and rewords a phrase."""
    a = ghouta_texts[0]
    assert a.count("780") == 1
    b = a.replace("780", "68")
    c = b.replace("fierce assault", "fierce offensive")
    return [
        Document("C", c, date="2018-03-09"),
        Document("A", a, date="2018-03-07"),
        Document("B", b, date="2018-03-08"),
    ]


def test_chain_child_of_the_copy_that_changed_the_number(chain):
    g = genealogy(chain)
    assert g.parent("C") == "B"
    assert g.parent("B") == "A"
    assert g.parent("A") is None
    assert g.edge("B").changes["numbers"] == [{"from": "780", "to": "68"}]
    assert g.edge("C").changes["numbers"] == []  # C keeps B's figure
    assert g.edge("C").reason.startswith("date: 2018-03-08 before 2018-03-09")
    figure = [v for v in g.variants if v.kind == "number"]
    assert len(figure) == 1
    assert (figure[0].replaces, figure[0].reading, figure[0].first) == ("780", "68", "B")
    assert figure[0].inherited == ("C",)


def test_chain_without_dates_shared_variant_places_b_between(chain):
    """No dates: the topology (B between A and C) still comes from the shared figure; which end
    is the original stays open, with the neighbours as candidates."""
    undated = [Document(d.id, d.text) for d in chain]
    g = genealogy(undated)
    assert all(e.parent is None for e in g.tree)
    assert g.edge("C").parent_candidates == ("B",)
    assert g.edge("A").parent_candidates == ("B",)
    assert set(g.edge("B").parent_candidates) == {"A", "C"}


def test_siblings_hang_from_the_original(ghouta_texts):
    """The two outlets' versions of the Reuters story, beside a made-up original holding both
    outlets' material: each outlet edited it its own way, so both hang from the original."""
    x, y = ghouta_texts
    # the original: the first outlet's text with the paragraphs only the second outlet has
    extra = [p for p in y.split("\n\n") if p.strip() and p.strip()[:60] not in x and len(p.split()) > 20]
    assert extra
    original = x.rstrip() + "\n\n" + "\n\n".join(extra[-3:]) + "\n"
    docs = [
        Document("outlet-x", x, date="2018-03-07T12:00:00"),
        Document("outlet-y", y, date="2018-03-08"),
        Document("reuters", original, date="2018-03-07T08:00:00"),
    ]
    g = genealogy(docs)
    assert g.parent("reuters") is None
    assert g.parent("outlet-x") == "reuters"
    assert g.parent("outlet-y") == "reuters"


def test_no_dates_no_shared_variants_is_undecided():
    """Three copies of one text, each with its own edit and no dates: nothing orders them and no
    reading is shared, so every member is left open with candidates, never guessed."""
    base = " ".join(f"word{k} alpha beta gamma delta" for k in range(40))
    docs = [
        Document("p", base.replace("word3 ", "changed3 ")),
        Document("q", base.replace("word17 ", "changed17 ")),
        Document("r", base.replace("word29 ", "changed29 ")),
    ]
    g = genealogy(docs)
    for e in g.tree:
        assert e.parent is None
        assert e.parent_candidates, e
        assert e.reason.startswith("undecided")
    assert g.variants == ()


def test_identical_copies_hang_from_one_node():
    """Hundreds of identical copies are one node: the tree stays linear in the pairs given."""
    text = " ".join(f"token{k} one two three" for k in range(60))
    n = 300
    members = [Member(f"d{k:03d}", "2018-01-02" if k else "2018-01-01", len(text)) for k in range(n)]
    passage = {"a_start": 0, "a_end": len(text), "b_start": 0, "b_end": len(text), "words": 240,
               "similarity": 1.0, "edits": []}  # fmt: skip
    rows = [
        {"a": "d000", "b": f"d{k:03d}", "relation": "duplicate", "direction": "a_to_b",
         "direction_reason": "date", "containment_a": 1.0, "containment_b": 1.0, "passages": [passage]}
        for k in range(1, n)
    ]  # fmt: skip
    g = family_tree(members, rows)
    assert g.parent("d000") is None
    assert {e.parent for e in g.tree[1:]} == {"d000"}
    assert all("identical text" in e.reason for e in g.tree[1:])


def test_scan_writes_the_tree_as_the_api_builds_it(chain, tmp_path):
    scan(chain, str(tmp_path / "out"))
    fams = [json.loads(x) for x in (tmp_path / "out" / "clusters.jsonl").read_text("utf-8").splitlines()]
    assert len(fams) == 1
    tree = {e["child"]: e for e in fams[0]["tree"]}
    assert tree["C"]["parent"] == "B" and tree["B"]["parent"] == "A" and tree["A"]["parent"] is None
    assert set(tree["A"]) == {"child", "parent", "reason", "parent_candidates", "changes"}
    api = genealogy(chain).to_dict()
    assert sorted(fams[0]["tree"], key=lambda e: e["child"]) == sorted(api["tree"], key=lambda e: e["child"])
    assert fams[0]["variants"] == api["variants"]
