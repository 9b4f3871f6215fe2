"""The candidate stage's evidence rule (issue 23, item 6): a rewritten copy that shares no passage
with its source is still a candidate when they share enough rare content-word pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from copytrace import candidates as cand
from copytrace import fingerprint as fp
from copytrace.engines import local as eng
from copytrace.explain import STOPWORDS
from copytrace.normalize import tokenize_batch
from copytrace.postings import sorted_postings
from copytrace.types import Document, Settings

# a wire story and a newspaper's rewrite of it: the names, numbers, the quote's gist and a few
# fragments kept, every sentence reworded (no 5-word run in common, so no shared fingerprint)
WIRE = """UNITED NATIONS (Reuters) - Russia's U.N. envoy Vassily Nebenzia said on Wednesday that 780 \
civilians had left eastern Ghouta through the humanitarian corridor near Wafideen since Tuesday, and \
accused rebel commanders of shelling the crossing.
The Syrian army, backed by Russian air power, has seized about 40 percent of the enclave, a Damascus \
suburb besieged since 2013.
Nebenzia told the Security Council that a convoy of 46 trucks from the International Committee of the \
Red Cross reached Douma with food for 27,500 people. "We will not allow terrorists to hide behind women \
and children," he said.
Jan Egeland, the U.N. humanitarian adviser, warned that the Douma hospital lacked anaesthetics and \
insulin."""

REWRITE = """Some 780 residents of eastern Ghouta have fled through the Wafideen crossing since Tuesday, \
according to Moscow's ambassador Vassily Nebenzia, who blamed rebel commanders for firing on it.
Government forces, supported by Russian jets, now hold roughly 40 percent of the besieged Damascus suburb.
A Red Cross convoy of 46 lorries arrived in Douma carrying supplies for 27,500 residents, Nebenzia told \
council members. He vowed Moscow would not let terrorists shelter behind women and children.
U.N. adviser Jan Egeland said the hospital in Douma had run out of insulin and anaesthetics."""

# other stories of the same news day: a few common words in common with the two above, nothing more
OTHER = [
    """LONDON (Reuters) - British inflation rose to 3 percent in January, the Office for National \
Statistics said on Tuesday, as fuel and airfares climbed faster than economists had forecast. The \
Bank of England is expected to keep interest rates on hold at its meeting next week.""",
    """TOKYO (Reuters) - Toyota Motor Corp said on Wednesday it would build a new battery plant in \
Kentucky, investing $1.3 billion and hiring 2,000 workers, as carmakers race to secure supplies for \
electric vehicles. Shares of the company rose 2 percent in afternoon trade.""",
    """NAIROBI (Reuters) - Kenyan farmers said on Tuesday that a drought in the north had killed \
thousands of cattle, and aid agencies warned that children in Turkana faced hunger. The government \
promised emergency food deliveries to the worst hit counties.""",
]


def _candidates(docs: list[Document], s: Settings, tmp: Path, batch: int = 1000) -> set[tuple[str, str]]:
    """The candidate pairs (by id) of a scan's postings, through the local engine's stage functions."""
    files, offsets = [], []
    for k in range(0, len(docs), batch):
        res = eng.prepare_chunk(k // batch, docs[k : k + batch], str(tmp), s)
        files.append(res.postings_file)
        offsets.append(k)
    a, b = eng.candidates_from_postings(files, offsets, s, str(tmp))
    return {(docs[x].id, docs[y].id) for x, y in zip(a.tolist(), b.tolist(), strict=True)}


def _news() -> list[Document]:
    return [
        Document("wire", WIRE),
        *(Document(f"other{i}", t) for i, t in enumerate(OTHER)),
        Document("rewrite", REWRITE),
    ]


def test_the_rewrite_shares_no_fingerprint_with_its_source() -> None:
    """The premise: no 5-word run in common, so the two-hit rule alone never pairs them."""
    tok, counts = tokenize_batch([WIRE, REWRITE])
    a, b = tok.hashes[: counts[0]], tok.hashes[counts[0] :]
    assert not set(fp.shingles(a, 5).tolist()) & set(fp.shingles(b, 5).tolist())


def test_a_rewritten_copy_is_a_candidate(tmp_path: Path) -> None:
    docs = _news()
    assert _candidates(docs, Settings(workers=1), tmp_path) == {("wire", "rewrite")}
    assert _candidates(docs, Settings(workers=1, min_evidence=0), tmp_path) == set()


def test_the_scan_finds_the_rewrite_unless_min_evidence_is_off(tmp_path: Path) -> None:
    """``--min-evidence`` reaches the scan: the rewrite pairs with its wire story at the default
    and not with ``--min-evidence 0`` (it shares no fingerprint with it)."""
    import json

    from copytrace.cli import main

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in _news()))
    for flag, want in (("3", True), ("0", False)):
        out = tmp_path / f"out{flag}"
        assert (
            main(["scan", str(src), "--out", str(out), "--quiet", "--workers", "1", "--min-evidence", flag])
            == 0
        )
        pairs = {frozenset((p["a"], p["b"])) for p in map(json.loads, (out / "pairs.jsonl").open())}
        assert (frozenset(("wire", "rewrite")) in pairs) is want


def test_unrelated_stories_sharing_common_words_are_not_candidates(tmp_path: Path) -> None:
    """Stories of one news day share "said on Tuesday", "percent", "children", "government"...
    (and the rewrite its numbers and names with its source only)."""
    docs = [d for d in _news() if d.id != "wire"]
    assert _candidates(docs, Settings(workers=1), tmp_path) == set()
    # each of them against a story two of their words are in: still nothing
    extra = Document("x", "Government officials said on Tuesday that children and percent rose.")
    assert _candidates([*docs, extra], Settings(workers=1), tmp_path) == set()


def _sharing(n: int) -> list[Document]:
    """``n`` short stories sharing five names and a number, each two words long and apart (no
    fingerprint in common), the rest of each story its own words: six keys in common."""
    rng = np.random.default_rng(5)
    syllables = ["ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ze"]

    def word() -> str:
        return "".join(rng.choice(syllables, 4))

    out = []
    for i in range(n):
        w = [word() for _ in range(24)]
        text = (
            f"{w[0]} {w[1]} {w[2]} Malvo Quint {w[3]} {w[4]} {w[5]} Tarrant Bay {w[6]} {w[7]} {w[8]}. "
            f"{w[9]} {w[10]} 4,817 tonnes {w[11]} {w[12]} {w[13]} Zorbex refinery {w[14]} {w[15]}. "
            f"{w[16]} {w[17]} Oskarth Vale {w[18]} {w[19]} Drumlin Pass {w[20]} {w[21]}."
        )
        out.append(Document(f"s{i}", text))
    return out


def test_the_cap_drops_a_key_in_too_many_documents(tmp_path: Path) -> None:
    docs = _sharing(8)
    pairs = _candidates(docs, Settings(workers=1, max_df=20), tmp_path)
    assert len(pairs) == 8 * 7 // 2  # each pair shares the six keys
    assert _candidates(docs, Settings(workers=1, max_df=20, min_evidence=0), tmp_path) == set()
    assert _candidates(docs, Settings(workers=1, max_df=7), tmp_path) == set()  # in 8 > 7 documents


def test_the_rarer_a_key_the_more_it_counts() -> None:
    """Of the keys in ``c`` documents, more than ``EVIDENCE_RARE``, about ``(EVIDENCE_RARE / c) ** 2``
    make hits, chosen by hash (the same keys in every pair and engine)."""
    limit, rare = cand._evidence_lists()
    keys = np.random.default_rng(1).integers(0, int(limit), 20_000, dtype=np.uint64)
    assert all(cand._evidence_kept(k, rare, (limit, rare)) for k in keys[:100].tolist())
    for c in (2 * rare, 5 * rare):
        kept = np.mean([cand._evidence_kept(k, c, (limit, rare)) for k in keys.tolist()])
        assert abs(kept - (rare / c) ** 2) < 0.02
    # posting_lists (the reference) and the merge keep the same lists
    docs = np.repeat(np.arange(2 * rare), 50)  # 50 keys in each of 2 * rare documents
    hashes = np.tile(keys[:50], 2 * rare)
    pos = np.full(docs.shape[0], cand.EVIDENCE - 30, np.int32)
    order = np.lexsort((docs, hashes))
    h, d, p = hashes[order], docs[order], pos[order]
    ref = cand.posting_lists(h, d, p, 1000)
    merged = cand.merged_posting_lists(h, d, p, np.array([0, h.shape[0]]), 1000)
    np.testing.assert_array_equal(ref[3], merged[3])
    for x, y in zip(cand.emit_hits(*ref, 1000), cand.emit_hits(*merged, 1000), strict=True):
        np.testing.assert_array_equal(x, y)
    assert 0 < ref[3].shape[0] < 50


def test_evidence_keys_are_unordered_pairs_of_content_words() -> None:
    tok, counts = tokenize_batch(["the Ministry of Defense", "Defense Ministry", "ministry defence"])
    keys, docs, pairs = fp.evidence_keys(tok.hashes, tok.ends - tok.starts, counts)
    by_doc = [set(keys[docs == i].tolist()) for i in range(3)]
    assert by_doc[0] == by_doc[1] and len(by_doc[0]) == 1  # "of", "the" skipped; order ignored
    assert not by_doc[0] & by_doc[2]
    assert pairs.tolist() == [1, 1, 1]
    assert STOPWORDS <= fp.EVIDENCE_STOPWORDS


def test_evidence_sampling_is_consistent_and_bounded() -> None:
    """A key kept by a long document is kept by every shorter one that has it (a shared key is in
    both samples or neither, below the lower rate); short texts keep about EVIDENCE_FLOOR keys,
    long ones about EVIDENCE_RATE of theirs, very long ones at most about EVIDENCE_KEYS."""
    rng = np.random.default_rng(3)
    vocab = [f"w{i}x" for i in range(50_000)]
    words = list(rng.choice(vocab, 20_000))
    texts = [" ".join(words[:n]) for n in (30, 200, 1_000, 20_000)]
    tok, counts = tokenize_batch(texts)
    keys, docs, pairs = fp.evidence_keys(tok.hashes, tok.ends - tok.starts, counts)
    sets = [set(keys[docs == i].tolist()) for i in range(4)]
    for short, long in ((0, 1), (1, 2), (2, 3)):
        assert sets[long] & set(_all_pairs(words[: counts[short]])) <= sets[short]
    assert len(sets[0]) == counts[0] - 1  # all of a short text's pairs
    assert fp.EVIDENCE_FLOOR * 0.7 < len(sets[1]) < fp.EVIDENCE_FLOOR * 1.3
    assert fp.EVIDENCE_RATE * 0.8 < len(sets[2]) / (counts[2] - 1) < fp.EVIDENCE_RATE * 1.2
    assert len(sets[3]) < fp.EVIDENCE_KEYS * 1.2
    assert [int(pairs[docs == i][0]) for i in range(4)] == [int(c) - 1 for c in counts]


def _all_pairs(words: list[str]) -> list[int]:
    """Every evidence key of a text of content words, sampled at rate 1."""
    tok, counts = tokenize_batch([" ".join(words)])
    keys, _, _ = fp._evidence_keys(
        tok.hashes,
        (tok.ends - tok.starts).astype(np.int32),
        counts,
        *fp._stop_table(),
        1.0,
        0,
        1 << 30,
    )
    return keys.tolist()


def test_scan_postings_add_evidence_keys_to_the_fingerprints() -> None:
    docs = _news()
    s = Settings()
    h0, d0, p0 = sorted_postings(docs, s)
    h, d, p = sorted_postings(docs, s, evidence=True)
    grams = p > cand.EVIDENCE
    for x, y in ((h, h0), (d, d0), (p, p0)):
        np.testing.assert_array_equal(x[grams], y)
    assert np.all(np.diff(h.astype(np.float64)) >= 0)
    assert (~grams).sum() > 100
    keys = {(int(x), int(y)) for x, y in zip(h[~grams], d[~grams], strict=True)}
    assert len(keys) == int((~grams).sum())  # each key once a document
    np.testing.assert_array_equal(sorted_postings(docs, s.replace(min_evidence=0), evidence=True)[0], h0)


@pytest.mark.parametrize("min_evidence", [3, 6])
def test_supported_pairs_counts_evidence_apart_from_fingerprints(min_evidence: int) -> None:
    """Evidence hits count for the evidence rule only, n-gram hits for the two-hit rule only."""
    key = np.uint64((1 << 32) | 2)
    ev = cand.EVIDENCE - 20  # documents of 20 content-word pairs: all sampled, 3 shared enough
    for n_ev, n_grams, near, want in (
        (5, 0, True, min_evidence <= 5),
        (2, 1, True, False),  # two evidence hits and one n-gram: neither rule
        (2, 2, True, True),  # two n-gram hits close together
        (2, 2, False, False),
        (min_evidence, 0, True, True),
    ):
        pa = np.array([ev] * n_ev + [10 + (0 if near else 100) * i for i in range(n_grams)], np.int32)
        pb = np.array([ev] * n_ev + [20 + (0 if near else 100) * i for i in range(n_grams)], np.int32)
        keys = np.full(pa.shape[0], key, np.uint64)
        a, b = cand.supported_pairs(keys, pa, pb, 2, 35, min_evidence)
        assert (a.tolist() == [1] and b.tolist() == [2]) is want, (n_ev, n_grams, near)
        assert cand.supported_pairs(keys, pa, pb, 2, 35)[0].shape[0] == int(n_grams == 2 and near)
