"""Direction and its reason (issue 6): dates, agency source, wire datelines, credits, containment."""

from __future__ import annotations

from copytrace import Document, Settings, compare
from copytrace.relate import credits, direction, is_agency_source, wire_dateline

STORY = (
    "The Russian military has offered Syrian rebels safe passage out of eastern Ghouta, setting out a deal by "
    "which the opposition would surrender its last major stronghold near Damascus. Rebels could leave with "
    "their families and personal weapons through a secure corridor, the defence ministry said on Wednesday."
)
EXTRA = " Local residents told our correspondent that the shelling went on through the night and into the morning."


def doc(i, text, **kw):
    return Document(i, text, **kw)


def test_dates_decide_first():
    a = doc("a", "MOSCOW (Reuters) - " + STORY, date="2018-03-08")
    b = doc("b", STORY + EXTRA, date="2018-03-07")
    p = compare(a, b)
    assert (p.direction, p.direction_reason) == ("b_to_a", "date: 2018-03-07 before 2018-03-08")


def test_agency_source_then_dateline():
    p = compare(doc("a", STORY + EXTRA, source="Daily Post"), doc("b", STORY, source="Reuters"))
    assert p.direction == "b_to_a" and p.direction_reason.startswith("source:")
    p = compare(doc("a", "MOSCOW (Reuters) - " + STORY), doc("b", STORY + EXTRA))
    assert p.direction == "a_to_b" and p.direction_reason.startswith("wire dateline (Reuters) in a")
    # the same dateline on both sides: only containment can decide (the excerpt held whole copied)
    p = compare(doc("a", "MOSCOW (Reuters) - " + STORY), doc("b", "MOSCOW (Reuters) - " + STORY + EXTRA))
    assert p.direction == "b_to_a" and p.direction_reason.startswith("containment:")
    other = (
        " Aid agencies said a convoy of trucks was waiting at the crossing for permission to enter the town."
    )
    p = compare(
        doc("a", "MOSCOW (Reuters) - " + STORY + other), doc("b", "MOSCOW (Reuters) - " + STORY + EXTRA)
    )
    assert (p.relation, p.direction, p.direction_reason) == ("partial", "unknown", "no evidence")


def test_credit_weighed_against_containment():
    # b adds a credit and text of its own: b copied
    p = compare(doc("a", STORY), doc("b", STORY + " Reuters reported the offer first." + EXTRA))
    assert p.direction == "a_to_b" and "b credits Reuters" in p.direction_reason
    # both credit the agency: the excerpt held whole in the other is the copy
    full = "MOSCOW, March 7 (AP) " + STORY + EXTRA
    short = "(AP) " + STORY
    p = compare(doc("a", short), doc("b", full))
    assert p.relation == "b_contains_a"
    assert p.direction == "b_to_a" and p.direction_reason.startswith("containment: both credit AP")
    assert direction(doc("a", short), doc("b", full), 0.6, 0.6) == ("unknown", "no evidence")


def test_same_date_without_other_evidence():
    p = compare(doc("a", STORY, date="2018-03-07"), doc("b", STORY + EXTRA, date="2018-03-07"))
    assert (p.direction, p.direction_reason) == ("unknown", "same date and no other evidence")


def test_evidence_readers():
    assert wire_dateline("BEIRUT (Reuters) - Syrian ...") == "Reuters"
    assert wire_dateline("PARIS (AFP) \u2014 ...") == "AFP"
    assert wire_dateline("x" * 500 + " (Reuters) - late") is None
    assert credits("Russia said so, Reuters reported. Others told AFP the same. (AP)") == [
        "AFP",
        "AP",
        "Reuters",
    ]
    assert credits("A mapping of the area shows the app is popular.") == []
    assert (
        is_agency_source("Reuters")
        and is_agency_source("Associated Press")
        and not is_agency_source("The Times")
    )
    assert not is_agency_source(None)


def test_clough_stevenson_floor():
    """The Clough & Stevenson answers read by the sentence derivation with default settings keep
    their accuracy (a quality floor). ``compare(answer, source)``: reused when the answer's level is
    not ``non``; the 4-class reading: ``non`` by level, ``cut`` when the answer's fragments are
    80 characters long on average, ``light`` when at least half its words are verbatim or its
    fragments average 45 characters, else ``heavy``. Measured: 91/95 reused right (the misses: the
    two ``cut`` answers copied from text outside the source excerpt, one ``heavy`` answer read as
    ``non`` and one ``non`` answer that shares two sentences' wording), 75/95 in four classes."""
    import csv
    import warnings

    from conftest import shared_data

    from copytrace.read import decode

    root = shared_data("clough-stevenson-short-answers")
    corp = root / "corpus-20090418"

    def read(p):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few answers are cp1252
            return decode(p.read_bytes(), str(p))

    orig = {t: read(corp / f"orig_task{t}.txt") for t in "abcde"}
    right = reused_right = 0
    rows = list(csv.DictReader(open(root / "_derived" / "file_list.csv", encoding="utf-8")))
    for r in rows:
        d = compare(Document(r["File"], read(corp / r["File"])), Document("orig", orig[r["Task"]])).derivation
        assert d is not None
        side = d.a
        frags = [f.a_end - f.a_start for x in d.sentences for f in x.fragments]
        mean = sum(frags) / len(frags) if frags else 0.0
        if side.level == "non":
            got = "non"
        elif mean >= 80:
            got = "cut"
        elif side.verbatim >= 0.5 or mean >= 45:
            got = "light"
        else:
            got = "heavy"
        right += got == r["Category"]
        reused_right += (side.level != "non") == (r["Category"] != "non")
    assert len(rows) == 95
    assert right >= 75 and reused_right >= 91


def test_compiled_name_scan_finds_what_the_alternation_finds():
    """``find_literals`` over the agency names matches as the regular expression ``AGENCIES``
    does, on every name, names inside words, prefixes that are no name, and text that is not
    ASCII (character offsets, not bytes)."""
    import random
    import re

    from copytrace.normalize import find_literals
    from copytrace.relate import AGENCIES, AGENCY_NAMES

    flat = re.compile(AGENCIES)
    names = list(AGENCY_NAMES)
    pieces = names + [
        "A",
        "AF",
        "Associated",
        "Agence",
        "AN",
        "ANS",
        "JAPAN",
        "CAPEX",
        "upi",
        "TAS",
        "PAR",
        "The ",
        "Keystone",
        "Ag\u00eancia",
        "\u010c",
        " ",
        "(",
        ")",
        "é",
        "—",
        "北京",
        "\U0001f600",
    ]
    rng = random.Random(8)
    found = 0
    for _ in range(600):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        want = [m.span() for m in flat.finditer(text)]
        assert find_literals(text, AGENCY_NAMES) == want, text
        found += len(want)
    assert found > 1000


def test_name_scan_of_a_batch_is_each_text_scanned_alone():
    """``find_literals_many`` gives each text what ``find_literals`` gives it alone: names at the
    start and end of texts, texts of nothing but names (more than its first output array holds,
    so the scan goes on in a second), empty texts, and a batch with text that is not ASCII (one
    code point a character, offsets still into each text)."""
    import random

    from copytrace.normalize import find_literals, find_literals_many
    from copytrace.pipeline import prepare_batch
    from copytrace.relate import AGENCY_NAMES, credited

    rng = random.Random(3)
    pieces = list(AGENCY_NAMES) + [
        "A",
        "AF",
        "update ",
        " said",
        " (",
        ") - ",
        "\n",
        "according to ",
        "é",
        "北京",
    ]
    ascii_pieces = [p for p in pieces if p.isascii()]
    for batch in range(40):
        use = pieces if batch % 2 else ascii_pieces
        texts = [
            "".join(rng.choice(use) for _ in range(rng.randint(0, 40))) for _ in range(rng.randint(1, 12))
        ]
        texts.append("AP " * 3000)  # 3000 names in 9000 characters
        texts.insert(0, "")
        got = find_literals_many(texts, AGENCY_NAMES)
        assert got == [find_literals(t, AGENCY_NAMES) for t in texts]
        assert len(got[-1]) == 3000
        # a prepared batch reads each document's credits from the batch's scan
        preps, _ = prepare_batch([Document(f"d{k}", t) for k, t in enumerate(texts)], Settings())
        assert [p.credits for p in preps] == [credited(t) for t in texts]
    assert find_literals_many([], AGENCY_NAMES) == []


def test_credits_are_every_credit_shape_found_anywhere():
    """``credits`` (shapes tried only around each agency name) finds what searching the whole
    text for each credit shape finds, on texts built from names, credit words, spaces, line
    breaks, dashes and brackets in random order (overlapping and adjacent credits, names inside
    words, credits at the start and the end of lines)."""
    import random

    from copytrace.relate import WIRE, _spelled_out, credits

    shapes = (WIRE.said, WIRE.by, WIRE.dash)
    # a sample of the names (all of them would leave credit words too rare to form credits), the
    # names that hold or begin others, and words an acronym in brackets may abbreviate
    rng = random.Random(12)
    names = rng.sample(WIRE.names, 12) + ["AP", "APA", "PA", "PAP", "SDA", "Keystone-SDA", "TASS"]
    names += ["The Canadian Press", "Canadian Press", "Associated Press", "Press Association", "ITAR-TASS"]
    pieces = names * 2 + [
        " reported",
        " said",
        " news agency",
        "according to ",
        "told ",
        "by ",
        "via the ",
        "source: ",
        "reporting by ",
        "Palestinian Authority (",
        "Asian Press Agency (",
        "nearby",
        "x",
        " ",
        "  ",
        "\n",
        "-",
        "\u2014",
        " - ",
        "(",
        ")",
        ".",
        "'s",
    ]
    found = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 25)))
        expect = {m.group(1) for rx in shapes for m in rx.finditer(text)}
        # "(AP)" unless it follows the words it abbreviates ("Palestinian Authority (PA)")
        parens = WIRE.paren.finditer(text)
        expect |= {m.group(1) for m in parens if not _spelled_out(text, m.start(), m.group(1), WIRE)}
        assert credits(text) == sorted(expect), text
        found += bool(expect)
    assert found > 500
