"""Sentence derivation (issue 23): the sentence cut, the links and verbatim fragments of a
hand-made rewrite of a wire story, levels and shares, the mirror, the seed pair, and each
document's derivation in a scan (local and Spark engines alike)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import GHOUTA_A, GHOUTA_B

from copytrace import Document, Settings, compare, scan
from copytrace.derive import PARTIALLY, WHOLLY, level, sentence_spans
from copytrace.normalize import tokenize
from copytrace.types import Derivation

# ---------------------------------------------------------------- helpers


def sentences(text: str) -> list[str]:
    """The sentence texts of ``text``, after checking the spans' shape: sorted, disjoint, inside
    the text, no whitespace around each, each holding a word."""
    spans = sentence_spans(text)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text), (spans, text)
        piece = text[s:e]
        assert piece == piece.strip(), (piece, text)
        assert any(c.isalnum() for c in piece), piece
        last = e
    return [text[s:e] for s, e in spans]


def words(text: str) -> int:
    return len(tokenize(text))


def token_hashes(text: str, start: int, end: int) -> list[int]:
    """The normalized tokens of ``text[start:end]`` (case, quotes and punctuation aside)."""
    return tokenize(text[start:end]).hashes.tolist()


def check_derivation(d: Derivation, ta: str, tb: str, min_fragment: int = 4) -> None:
    """What holds for every derivation: links join sentences of the two texts, fragments lie in
    their link and read the same words on both sides, shares sum to 1, levels follow them."""
    sa, sb = set(sentence_spans(ta)), set(sentence_spans(tb))
    for x in d.sentences:
        assert (x.a_start, x.a_end) in sa and (x.b_start, x.b_end) in sb, x
        assert x.kind in ("verbatim", "rewritten", "partly_verbatim")
        assert (x.kind == "rewritten") == (not x.fragments), x
        for f in x.fragments:
            assert x.a_start <= f.a_start < f.a_end <= x.a_end, (x, f)
            assert x.b_start <= f.b_start < f.b_end <= x.b_end, (x, f)
            got = token_hashes(ta, f.a_start, f.a_end)
            assert got == token_hashes(tb, f.b_start, f.b_end), (
                ta[f.a_start : f.a_end],
                tb[f.b_start : f.b_end],
            )
            assert len(got) >= min_fragment
    for side, text in ((d.a, ta), (d.b, tb)):
        assert side.words == words(text)
        assert abs(side.verbatim + side.rewritten + side.new - 1.0) <= 1e-3
        assert min(side.verbatim, side.rewritten, side.new) >= 0.0
        assert (
            side.level == level(side.verbatim + side.rewritten)
            or min(abs(side.verbatim + side.rewritten - t) for t in (WHOLLY, PARTIALLY)) < 1e-3
        )


def index_of(text: str) -> dict[tuple[int, int], int]:
    return {span: k for k, span in enumerate(sentence_spans(text))}


def linked(d: Derivation, ta: str, tb: str) -> set[tuple[int, int]]:
    """The links as (sentence number in a, sentence number in b)."""
    ia, ib = index_of(ta), index_of(tb)
    return {(ia[(x.a_start, x.a_end)], ib[(x.b_start, x.b_end)]) for x in d.sentences}


# ---------------------------------------------------------------- 1. the sentence cut


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Mr. Smith met U.S. officials and Gen. Mattis on Jan. 5 at 9 a.m. in Washington. "
        "Dr. Jones of the U.N. said talks would go on. No. 10 declined to comment."
    )
    assert sentences(text) == [
        "Mr. Smith met U.S. officials and Gen. Mattis on Jan. 5 at 9 a.m. in Washington.",
        "Dr. Jones of the U.N. said talks would go on.",
        "No. 10 declined to comment.",
    ]


def test_initials_after_a_name_do_not_end_sentences() -> None:
    text = "President George W. Bush spoke on Monday. Then John F. Kennedy Airport was closed."
    assert sentences(text) == [
        "President George W. Bush spoke on Monday.",
        "Then John F. Kennedy Airport was closed.",
    ]


def test_initials_after_a_lower_case_word_do_not_end_sentences() -> None:
    """A run of initials ("J. K. Rowling") is a name wherever it stands, also after a word with no
    capital or at a sentence's start: a lone "J." is no sentence."""
    text = "The book by J. K. Rowling sold well. It rained. J. R. R. Tolkien was read too."
    assert sentences(text) == [
        "The book by J. K. Rowling sold well.",
        "It rained.",
        "J. R. R. Tolkien was read too.",
    ]


def test_a_single_capital_after_a_lower_case_word_ends_a_sentence() -> None:
    assert sentences("The answer is given A. This was expected. We chose option b. It worked.") == [
        "The answer is given A.",
        "This was expected.",
        "We chose option b.",
        "It worked.",
    ]


def test_quotes_end_and_open_sentences() -> None:
    assert sentences('"We will go," he said. "Next week we leave." Then he left.') == [
        '"We will go," he said.',
        '"Next week we leave."',
        "Then he left.",
    ]
    curly = (
        "He said \u201cwe will stay.\u201d \u2018Not now,\u2019 she replied. (It rained.) Later it cleared."
    )
    assert sentences(curly) == [
        "He said \u201cwe will stay.\u201d",
        "\u2018Not now,\u2019 she replied.",
        "(It rained.)",
        "Later it cleared.",
    ]
    # a quote inside a sentence, and a lower-case word after a period, do not cut
    assert sentences('He called it "a mistake." and left. The vote is at 3.5 percent.') == [
        'He called it "a mistake." and left.',
        "The vote is at 3.5 percent.",
    ]


def test_one_paragraph_a_line_and_hard_wrapped_paragraphs() -> None:
    lines = "The first paragraph is a line of its own.\nThe second one follows it!\nIs this the third?\n"
    assert sentences(lines) == [
        "The first paragraph is a line of its own.",
        "The second one follows it!",
        "Is this the third?",
    ]
    wrapped = (
        "The Russian military has offered Syrian rebels safe passage out of\n"
        "eastern Ghouta, setting out a deal by which the opposition would\n"
        "surrender its last major stronghold near Damascus. Rebels could leave\n"
        "with their families and personal weapons through a secure corridor,\n"
        "the defence ministry said on Wednesday.\n"
        "\n"
        "Aid agencies said a convoy of trucks was waiting at the crossing for\n"
        "permission to enter the town\n"
    )
    got = sentences(wrapped)
    assert [" ".join(s.split()) for s in got] == [
        "The Russian military has offered Syrian rebels safe passage out of eastern Ghouta, setting out a "
        "deal by which the opposition would surrender its last major stronghold near Damascus.",
        "Rebels could leave with their families and personal weapons through a secure corridor, the "
        "defence ministry said on Wednesday.",
        "Aid agencies said a convoy of trucks was waiting at the crossing for permission to enter the town",
    ]


def test_headline_and_dateline_lines_are_sentences() -> None:
    text = (
        "Russia offers Ghouta rebels safe passage\n"
        "By Tom Perry\n"
        "BEIRUT (Reuters) - The Russian military has offered Syrian rebels safe passage out of eastern "
        "Ghouta on Wednesday. Rebels rejected it.\n"
    )
    assert sentences(text) == [
        "Russia offers Ghouta rebels safe passage",
        "By Tom Perry",
        "BEIRUT (Reuters) - The Russian military has offered Syrian rebels safe passage out of eastern "
        "Ghouta on Wednesday.",
        "Rebels rejected it.",
    ]


def test_crlf_text_cuts_as_lf_text() -> None:
    lf = (
        "Russia offers Ghouta rebels safe passage\n\n"
        "The Russian military has offered Syrian rebels safe passage out of\n"
        "eastern Ghouta on Wednesday. Rebels rejected the offer.\n"
        "A second paragraph of one line.\n"
    )
    crlf = lf.replace("\n", "\r\n")
    got = sentences(crlf)
    assert [s.replace("\r\n", "\n") for s in got] == sentences(lf)
    assert len(got) == 4 and not any(s.endswith("\r") for s in got)


def test_latin_text_beyond_ascii() -> None:
    text = "Le président Macron a parlé à Paris. Éric Zemmour a répondu. Über die Straße gingen sie."
    assert sentences(text) == [
        "Le président Macron a parlé à Paris.",
        "Éric Zemmour a répondu.",
        "Über die Straße gingen sie.",
    ]


def test_lower_case_letter_beyond_ascii_does_not_open_a_sentence() -> None:
    """After an end mark, a lower-case letter continues the sentence, accented or not (the French
    "à" after an ellipsis as the English "and")."""
    assert sentences("He paused... and then left. Then he came back.") == [
        "He paused... and then left.",
        "Then he came back.",
    ]
    assert sentences("Il a hésité... à peine une seconde. Puis il est parti.") == [
        "Il a hésité... à peine une seconde.",
        "Puis il est parti.",
    ]


def test_capitals_of_other_scripts_open_sentences() -> None:
    """A capital opens a sentence in Cyrillic and Greek as in Latin script."""
    assert sentences("Он сказал это утром. Страна ответила вечером.") == [
        "Он сказал это утром.",
        "Страна ответила вечером.",
    ]
    assert sentences("Η κυβέρνηση μίλησε. Ο λαός απάντησε.") == ["Η κυβέρνηση μίλησε.", "Ο λαός απάντησε."]


@pytest.mark.parametrize(
    "text",
    [
        # a word broken by a hyphen at the end of a short line: one token across the line break
        "Leaders of the opposi-\ntion walked out of parliament on Monday in protest.",
        # a line of signs the tokenizer reads as words (NFKC: superscripts, fractions)
        "The plot measures fifty square metres.\n\n\u00b2 \u00bd\n\nThe council approved it on Monday.",
    ],
)
def test_every_token_lies_inside_one_sentence(text: str) -> None:
    """The derivation counts each word in its sentence: no word may straddle a sentence's end or
    lie outside every sentence, or a fragment would run past its sentence."""
    spans = sentence_spans(text)
    tok = tokenize(text)
    for s, e in zip(tok.starts.tolist(), tok.ends.tolist(), strict=True):
        assert any(lo <= s and e <= hi for lo, hi in spans), (text[s:e], spans)
    d = compare(Document("a", text), Document("b", " ".join(text.split()))).derivation
    assert d is not None
    check_derivation(d, text, " ".join(text.split()))


# ---------------------------------------------------------------- 2. a rewritten wire story

WIRE = (
    "BEIRUT (Reuters) - Syrian government forces captured the town of Douma in eastern Ghouta on Tuesday "
    "after a two-week offensive, a monitoring group said. "
    "The Syrian Observatory for Human Rights said at least 43 civilians were killed in air strikes on the "
    "town overnight. "
    '"We will not leave our homes while our children are buried here," a resident of Douma told Reuters '
    "by telephone. "
    "Rebels of the Jaish al-Islam group said they had pulled back to the southern edge of the town. "
    "The group's spokesman, Hamza Bayraqdar, denied that any fighters had surrendered. "
    "Russia, which backs President Bashar al-Assad, has said it will open a humanitarian corridor for "
    "civilians leaving the area. "
    "The United Nations Security Council voted last month for a 30-day ceasefire across Syria to allow aid "
    "deliveries and medical evacuations. "
    "Turkish-backed fighters meanwhile pressed their assault on the Kurdish-held city of Afrin in the "
    "northwest of the country. "
    "More than 400,000 people have been killed in the seven-year conflict, according to estimates."
)
QUOTE = "We will not leave our homes while our children are buried here"
# the newspaper's rewrite: the lead rewritten (no run of four words kept), the Russian sentence
# moved up, the quote kept, the casualty sentence recast around its figures, the two rebel
# sentences merged into one, and a sentence of its own at the end
NEWS = (
    "On Tuesday government troops seized Douma, the biggest town in eastern Ghouta, after an offensive "
    "lasting two weeks, a monitor said.\n\n"
    "Moscow, an ally of Bashar al-Assad, has said it will open a humanitarian corridor for civilians "
    "leaving the area.\n\n"
    f'"{QUOTE}," one resident said.\n\n'
    "Air strikes killed at least 43 civilians in Douma overnight, the Syrian Observatory for Human "
    "Rights reported.\n\n"
    "Jaish al-Islam rebels said they had pulled back to the southern edge of the town, and their "
    "spokesman Hamza Bayraqdar denied that any fighters had surrendered.\n\n"
    "Doctors at a clinic in nearby Harasta told this newspaper that anaesthetics and bandages ran out "
    "last week."
)
# (wire sentence, news sentence) made one from the other
STORY_LINKS = {(0, 0), (5, 1), (2, 2), (1, 3), (3, 4), (4, 4)}


def test_rewritten_wire_story_sentences_and_fragments() -> None:
    wire_s, news_s = sentences(WIRE), sentences(NEWS)
    assert len(wire_s) == 9 and len(news_s) == 6
    pair = compare(Document("wire", WIRE), Document("news", NEWS))
    d = pair.derivation
    assert d is not None
    check_derivation(d, WIRE, NEWS)
    assert linked(d, WIRE, NEWS) == STORY_LINKS
    ia, ib = index_of(WIRE), index_of(NEWS)
    by_pair = {(ia[(x.a_start, x.a_end)], ib[(x.b_start, x.b_end)]): x for x in d.sentences}
    assert len(by_pair) == len(d.sentences)
    # the lead shares no run of four words with the wire: rewritten; the others keep runs
    assert by_pair[(0, 0)].kind == "rewritten"
    assert all(by_pair[k].kind == "partly_verbatim" for k in STORY_LINKS - {(0, 0)})
    # the quote is kept whole in one fragment on both sides
    quote = by_pair[(2, 2)].fragments
    assert [(WIRE[f.a_start : f.a_end], NEWS[f.b_start : f.b_end]) for f in quote] == [(QUOTE, QUOTE)]
    # the merged sentence's fragments come from both wire sentences it was made from
    merged = NEWS.index("Jaish")
    assert {x.b_start for x in (by_pair[(3, 4)], by_pair[(4, 4)])} == {merged}
    assert (
        "pulled back to the southern edge of the town"
        in NEWS[by_pair[(3, 4)].fragments[0].b_start : by_pair[(3, 4)].fragments[0].b_end]
    )
    assert any("Bayraqdar" in NEWS[f.b_start : f.b_end] for f in by_pair[(4, 4)].fragments)
    # the newspaper's own sentence and the wire's last three are in no link
    own = NEWS.index("Doctors at a clinic")
    assert all(x.b_end <= own for x in d.sentences)
    left_out = WIRE.index("The United Nations")
    assert all(x.a_end <= left_out for x in d.sentences)


def test_rewritten_wire_story_levels_and_relation() -> None:
    """Every word of a linked sentence is derived: the newspaper's new share is its last
    sentence's words, the wire's the words of the three sentences the newspaper left out."""
    pair = compare(Document("wire", WIRE), Document("news", NEWS))
    d = pair.derivation
    assert d is not None
    news_new = words(sentences(NEWS)[5]) / words(NEWS)
    wire_new = sum(words(s) for s in sentences(WIRE)[6:]) / words(WIRE)
    assert abs(d.b.new - news_new) <= 1e-4 and abs(d.a.new - wire_new) <= 1e-4
    assert (d.a.level, d.b.level) == (level(1 - wire_new), level(1 - news_new)) == ("partially", "wholly")
    # verbatim: the fragments' words
    frag_words = sum(words(NEWS[f.b_start : f.b_end]) for x in d.sentences for f in x.fragments)
    assert abs(d.b.verbatim - frag_words / words(NEWS)) <= 1e-4
    # the newspaper is wholly derived from the wire, which has a dateline: the wire holds it
    assert (pair.relation, pair.direction) == ("a_contains_b", "a_to_b")
    out = pair.to_dict()["derivation"]
    assert set(out) == {"a", "b", "sentences"}
    assert set(out["a"]) == {"verbatim", "rewritten", "new", "level", "words"}


# ---------------------------------------------------------------- 3. same topic, another event

# the same town, monitor and president as WIRE; another day and another event
DOUMA_AID = (
    "BEIRUT (AP) - Aid workers unloaded food and medicine in Douma on Thursday, the first convoy to reach "
    "the town in eastern Ghouta since November, the United Nations said. "
    "The 46 trucks carried flour, vaccines and hygiene kits for about 27,000 people, according to the "
    "International Committee of the Red Cross. "
    "Syrian officials removed surgical supplies and insulin from the convoy before it set off, a UN "
    "spokesman said. "
    "President Bashar al-Assad's government has denied blocking deliveries to areas held by rebels. "
    "Residents said bread prices in the market had fallen by half within hours of the convoy's arrival. "
    "The Syrian Observatory for Human Rights, a Britain-based monitor, reported no fighting in the town "
    "during the delivery."
)
# the same court, city and justices; two different cases
COURT_UBER = (
    "WASHINGTON (Reuters) - The U.S. Supreme Court on Monday agreed to decide whether cities may let "
    "ride-hailing drivers form unions, taking up an appeal by Uber Technologies Inc against a Seattle "
    "ordinance. The justices will hear arguments in the case in October, with a ruling due by the end of "
    "June. Seattle's city council passed the ordinance in 2015, the first of its kind in the United States. "
    "Chief Justice John Roberts and Justice Sonia Sotomayor did not comment on the order. A federal appeals "
    "court in San Francisco upheld the ordinance last year, finding that it did not conflict with federal "
    "labor law."
)
COURT_PHONES = (
    "The Supreme Court in Washington heard arguments on Wednesday in a dispute over whether police need a "
    "warrant to track a suspect's cellphone location. Chief Justice John Roberts asked whether the "
    "government could gather months of records without a judge's approval. Justice Sonia Sotomayor said "
    "the records could reveal where a person worships and whom they meet. The case arose from the "
    "conviction of a Detroit man for a string of armed robberies. Lawyers for the Justice Department "
    "argued that phone companies, not the government, collect the data. A decision is expected by the end "
    "of June."
)


@pytest.mark.parametrize(
    ("ta", "tb"), [(WIRE, DOUMA_AID), (COURT_UBER, COURT_PHONES)], ids=["douma", "court"]
)
def test_same_topic_other_event_is_not_derived(ta: str, tb: str) -> None:
    """Names, a place and a court in common do not make one story of the other: no sentence is
    derived (a shared name is no fragment of reuse), both sides are ``non``, the pair unrelated."""
    pair = compare(Document("a", ta), Document("b", tb))
    d = pair.derivation
    assert d is not None
    check_derivation(d, ta, tb)
    links = [(ta[x.a_start : x.a_end], tb[x.b_start : x.b_end], x.kind) for x in d.sentences]
    assert (d.a.level, d.b.level) == ("non", "non"), links
    assert pair.relation == "unrelated", links


# ---------------------------------------------------------------- 5. the seed pair


def test_seed_pair_derivation(ghouta_texts: tuple[str, str]) -> None:
    ta, tb = ghouta_texts
    pair = compare(Document("a", ta), Document("b", tb))
    d = pair.derivation
    assert d is not None and d.sentences
    check_derivation(d, ta, tb)
    assert (d.a.level, d.b.level) == ("partially", "partially")
    # the verbatim share is the words in fragments, close to the words in literal passages
    assert abs(d.a.verbatim - pair.containment_a) <= 0.1
    assert abs(d.b.verbatim - pair.containment_b) <= 0.1
    for side, text in (("a", ta), ("b", tb)):
        in_frags = sum(
            words(text[getattr(f, f"{side}_start") : getattr(f, f"{side}_end")])
            for x in d.sentences
            for f in x.fragments
        )
        assert abs(getattr(d, side).verbatim - in_frags / words(text)) <= 1e-4
    assert pair.relation == "partial"


# ---------------------------------------------------------------- 6. documents' derivation in a scan

HARASTA = (
    "DAMASCUS (AFP) - The last working hospital in Harasta has run out of anaesthetics and bandages, "
    "doctors at the clinic said on Monday. "
    "Surgeons have been operating on wounded children by the light of mobile phones since the power "
    "station was hit last week, said Abu Khaled, the hospital's director. "
    "The World Health Organization said it had asked the government for permission to send two trucks "
    "of medical supplies. "
    "Harasta lies on the main highway from Damascus to Homs and has been besieged since 2013. "
    "Shelling has killed at least 12 people in the town since Friday, according to the doctors."
)
# four paragraphs from the Douma wire, three from the Harasta one
DAILY = (
    "On Tuesday government troops seized Douma, the biggest town in eastern Ghouta, after an offensive "
    "lasting two weeks, a monitor said.\n\n"
    f'"{QUOTE}," one resident said.\n\n'
    "Jaish al-Islam rebels said they had pulled back to the southern edge of the town, and their "
    "spokesman Hamza Bayraqdar denied that any fighters had surrendered.\n\n"
    "Moscow, an ally of Bashar al-Assad, has said it will open a humanitarian corridor for civilians "
    "leaving the area.\n\n"
    "In nearby Harasta, the last working hospital has run out of anaesthetics and bandages, its doctors "
    "said.\n\n"
    "Surgeons have been operating on wounded children by the light of mobile phones since the power "
    "station was hit, the hospital's director Abu Khaled said.\n\n"
    "The World Health Organization has asked for permission to send two trucks of medical supplies."
)
TESCO = (
    "LONDON (Reuters) - Britain's biggest supermarket chain Tesco reported a 12 percent rise in annual "
    "profit on Wednesday, helped by cost cuts and its takeover of wholesaler Booker. "
    "Chief executive Dave Lewis said the group expected the British grocery market to stay highly "
    "competitive this year. "
    "Shares in the company rose 3 percent in early trading in London."
)
CORPUS = [
    {"id": "wire-douma", "text": WIRE, "date": "2018-04-08", "source": "Reuters"},
    {"id": "wire-harasta", "text": HARASTA, "date": "2018-04-08", "source": "AFP"},
    {"id": "daily", "text": DAILY, "date": "2018-04-09", "source": "Daily Star"},
    {"id": "tesco", "text": TESCO, "date": "2018-04-09", "source": "Reuters"},
]


def _write_corpus(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in CORPUS:
            fh.write(json.dumps(rec) + "\n")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_scan_documents_carry_their_derivation(tmp_path: Path) -> None:
    out = tmp_path / "out"
    scan([str(_write_corpus(tmp_path / "corpus.jsonl"))], str(out))
    pairs = {(p["a"], p["b"]): p for p in _lines(out / "pairs.jsonl")}
    assert set(pairs) == {("wire-douma", "daily"), ("wire-harasta", "daily")}
    assert all(p["direction"] == "a_to_b" for p in pairs.values())  # the wires are a day earlier
    docs = {d["id"]: d["derivation"] for d in _lines(out / "documents.jsonl")}
    assert set(docs) == {r["id"] for r in CORPUS}
    daily = docs["daily"]
    # each source's share is the words of the daily that pair derived (its side b)
    shares = {s["id"]: s["share"] for s in daily["sources"]}
    assert set(shares) == {"wire-douma", "wire-harasta"}
    for src, share in shares.items():
        side = pairs[(src, "daily")]["derivation"]["b"]
        assert abs(share - (side["verbatim"] + side["rewritten"])) <= 2e-4
        assert side["level"] == "partially"  # neither wire alone makes the daily
    assert [s["id"] for s in daily["sources"]] == sorted(shares, key=lambda k: -shares[k])
    # together they cover it: every sentence of the daily is made from one of the two
    assert daily["level"] == "wholly" and daily["new"] <= 1e-4
    assert abs(daily["verbatim"] + daily["rewritten"] + daily["new"] - 1) <= 1e-3
    assert daily["verbatim"] > 0 and daily["rewritten"] > 0
    # the wires were made from nothing here, and the unrelated story is no one's
    for doc_id in ("wire-douma", "wire-harasta", "tesco"):
        assert docs[doc_id] == {"verbatim": 0.0, "rewritten": 0.0, "new": 1.0, "level": "non", "sources": []}


def _need_spark() -> None:
    """Skip only on a developer machine without Java; in CI (``CI`` set) the test must run."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME") and not os.environ.get("CI"):
        pytest.skip("Spark needs Java (CI installs openjdk-17-jre-headless)")


@pytest.mark.spark
# pyspark warns on import that it does not fully support pandas >= 3 (copytrace's jobs use Arrow)
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_scan_derivation_spark_as_local(tmp_path: Path) -> None:
    _need_spark()
    corpus = str(_write_corpus(tmp_path / "corpus.jsonl"))
    local, spark_out = tmp_path / "local", tmp_path / "spark"
    scan([corpus], str(local))
    scan([corpus], str(spark_out), engine="spark", spark_master="local[2]")
    for name in ("pairs.jsonl", "documents.jsonl"):
        assert (spark_out / name).read_bytes() == (local / name).read_bytes(), name
    assert '"sources": [{"id": "wire-douma"' in (local / "documents.jsonl").read_text(encoding="utf-8")


def test_scan_pairs_equal_compare_with_derivation(tmp_path: Path) -> None:
    """A scan's pair line holds what ``compare`` gives, derivation included."""
    out = tmp_path / "out"
    scan([str(_write_corpus(tmp_path / "corpus.jsonl"))], str(out))
    recs = {r["id"]: r for r in CORPUS}
    for p in _lines(out / "pairs.jsonl"):
        a, b = recs[p["a"]], recs[p["b"]]
        want = compare(
            Document(a["id"], a["text"], date=a["date"], source=a["source"]),
            Document(b["id"], b["text"], date=b["date"], source=b["source"]),
            Settings(),
        )
        assert p == json.loads(json.dumps(want.to_dict()))


# ---------------------------------------------------------------- 4. the mirror


def mirrored(d: dict) -> dict:
    """A derivation's JSON with a and b exchanged, written out field by field."""

    def swap(x: dict) -> dict:
        return {
            "a_start": x["b_start"],
            "a_end": x["b_end"],
            "b_start": x["a_start"],
            "b_end": x["a_end"],
        }

    links = [
        {
            **swap(x),
            "kind": x["kind"],
            "similarity": x["similarity"],
            "fragments": sorted(
                (swap(f) for f in x["fragments"]), key=lambda f: (f["a_start"], f["b_start"])
            ),
        }
        for x in d["sentences"]
    ]
    links.sort(key=lambda x: (x["a_start"], x["b_start"]))
    return {"a": d["b"], "b": d["a"], "sentences": links}


@pytest.mark.parametrize(
    ("ta", "tb"),
    [
        (WIRE, NEWS),
        (DAILY, HARASTA),
        (GHOUTA_A.read_text(encoding="utf-8"), GHOUTA_B.read_text(encoding="utf-8")),
    ],
    ids=["story", "daily", "seed"],
)
def test_derivation_mirrors(ta: str, tb: str) -> None:
    """compare(b, a)'s derivation is compare(a, b)'s with the sides, offsets and fragments
    exchanged: the same links, kinds and similarities."""
    ab = compare(Document("a", ta), Document("b", tb)).to_dict()["derivation"]
    ba = compare(Document("b", tb), Document("a", ta)).to_dict()["derivation"]
    assert ab["sentences"]
    assert ba == mirrored(ab)
    assert mirrored(ba) == ab


def test_near_duplicate_derivation_is_read_off_the_alignment() -> None:
    """A near-duplicate (a figure and a word changed, a sentence added; the passage covers over 90% of
    both texts) is derived along its alignment: each sentence links to its copy, the edited one
    ``partly_verbatim`` with its fragments split at the figure, the others ``verbatim``; the added
    sentence stays new; the mirror agrees."""
    body = (
        "Rescue teams searched the collapsed apartment block in the northern district through the night. "
        "Officials at the scene said 14 people were pulled alive from the rubble by Tuesday morning. "
        "The building had been declared unsafe by city inspectors two years before the collapse. "
        "Residents said they had complained about cracks in the walls for months without any answer. "
        "The mayor promised a full inquiry into how the permits for the upper floors were granted."
    )
    edited = body.replace("14 people", "16 residents") + " Schools nearby stayed closed."
    pair = compare(Document("wire", body), Document("paper", edited))
    assert pair.relation == "near_duplicate"
    d = pair.to_dict()["derivation"]
    links = d["sentences"]
    spans_a, spans_b = sentence_spans(body), sentence_spans(edited)
    assert [(x["a_start"], x["a_end"]) for x in links] == list(spans_a)
    assert [(x["b_start"], x["b_end"]) for x in links] == list(spans_b[:5])
    assert [x["kind"] for x in links] == ["verbatim", "partly_verbatim", "verbatim", "verbatim", "verbatim"]
    figure = links[1]
    cut = body.index("14")
    assert len(figure["fragments"]) == 2
    assert figure["fragments"][0]["a_end"] < cut < figure["fragments"][1]["a_start"]
    for x in links:
        for f in x["fragments"]:
            assert body[f["a_start"] : f["a_end"]] == edited[f["b_start"] : f["b_end"]]
    assert d["a"]["level"] == "wholly" and d["a"]["new"] == 0.0
    added = len("Schools nearby stayed closed.".split())
    assert d["b"]["new"] == round(added / len(tokenize(edited).hashes), 4)
    back = compare(Document("paper", edited), Document("wire", body)).to_dict()["derivation"]
    assert back == mirrored(d)
