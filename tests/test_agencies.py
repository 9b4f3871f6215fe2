"""Wire agencies direction reads (issue 23, item 5): the built-in national agencies, acronyms only
in a credit shape, and agencies users add (``Settings.agencies``, ``--agency``) through compare,
scan and both engines."""

from __future__ import annotations

import json
import random
import re

import pytest

from copytrace import Document, Settings, compare
from copytrace.checkpoint import make_manifest
from copytrace.cli import build_parser, main, settings_from
from copytrace.cluster import earliest_member
from copytrace.errors import ConfigError
from copytrace.normalize import find_literals, find_literals_many
from copytrace.relate import (
    AGENCY_LIST,
    WIRE,
    credits,
    direction,
    is_agency_source,
    wire_agencies,
    wire_dateline,
)
from copytrace.scan import scan

STORY = (
    "The Russian military has offered Syrian rebels safe passage out of eastern Ghouta, setting out a deal by "
    "which the opposition would surrender its last major stronghold near Damascus. Rebels could leave with "
    "their families and personal weapons through a secure corridor, the defence ministry said on Wednesday."
)
EXTRA = " Local residents told our correspondent that the shelling went on through the night and into the morning."
OTHER = (
    "Fishermen along the northern coast say the new quotas will halve their catch this winter, and the "
    "harbour authority expects dozens of boats to stay tied up until the spring season opens again in March."
)
NOVA = "Agencia Nova"
# the names added in issue 23 to the 14 read before
BEFORE = (
    "Reuters|AFP|AP|Associated Press|Agence France-Presse|Bloomberg|dpa|UPI|Xinhua|Interfax|TASS|ANSA|EFE|PTI"
)
NEW = [x for x in AGENCY_LIST if x not in BEFORE.split("|")]


@pytest.mark.parametrize("name", AGENCY_LIST)
def test_every_agency_in_a_dateline_and_each_credit_shape(name):
    assert wire_dateline(f"LONDON ({name}) - The talks ended.") == name
    assert wire_dateline(f"OTTAWA, March 7 ({name}) \u2014 The talks ended.") == name
    for text in (
        f"The talks ended without a deal, {name} reported.",
        f"The talks ended without a deal, according to {name}.",
        f"The talks ended without a deal.\n\u2014 {name}\nMore news",
        f"The talks ended without a deal. ({name})",
    ):
        assert credits(text) == [name], text
    assert is_agency_source(name) and is_agency_source(name.lower())


def test_the_list_covers_the_major_national_agencies():
    for name in (
        *("PA", "Press Association", "AAP", "CP", "The Canadian Press", "Kyodo", "Yonhap", "Anadolu"),
        *("ANI", "Lusa", "ANP", "Belga", "APA", "NTB", "TT", "Ritzau", "Jiji", "IANS", "Bernama"),
        *("Antara", "KNA", "KUNA", "WAM", "SPA", "MENA", "PAP", "CTK", "\u010cTK", "MTI", "STA"),
        *("HINA", "BTA", "Agerpres", "Tanjug", "Ukrinform", "RIA Novosti", "Sputnik", "Notimex"),
        *("T\u00e9lam", "Ag\u00eancia Brasil", "EFE", "Europa Press", "SDA", "Keystone-SDA"),
    ):
        assert name in AGENCY_LIST, name
    assert len(NEW) == len(AGENCY_LIST) - 14 == 80


def test_acronyms_only_in_a_credit_shape_and_in_capitals():
    # inside words, in lower or mixed case, or outside a credit shape: no credit
    for text in (
        "PARIS police said the CAPTAIN of the TTL team APPEARED before the STATE court.",
        "The CAPTAIN reported. PARISIANS said so. TTL said it too, according to CAPTAINS.",
        "(PAPA) (TTL) (CAPS) -- APAC\n- PARIS\nby TTX",
        "Pa reported it, tt said so, according to ap, via cp, (Pa), (aap) - ani",
        "The PA system was loud and the TT races ran late; CP and ANI were not named.",
        # an acronym after the words it abbreviates names them, not an agency
        "Talks with the Palestinian Authority (PA) stalled; the Communist Party (CP) walked out.",
        "Members of the American Psychological Association (APA) and the Pakistan Tehreek-e-Insaf (PTI) met.",
        "\u010cesk\u00e1 tiskov\u00e1 kancel\u00e1\u0159 (\u010cTK) turned 100.",
    ):
        assert credits(text) == [], text
    assert wire_dateline("RAMALLAH, Palestinian Authority (PA) - talks") is None
    # the same acronyms in a credit shape count, also after an agency's own name
    assert credits("LONDON (PA) - The talks ended. TT reported. Ends with\n- CP") == ["CP", "PA", "TT"]
    assert credits("Figures from the Press Association (PA) show a rise.") == ["PA"]
    assert credits("The Australian Associated Press (AAP) reported the fire.") == ["AAP"]
    assert credits("Figures from the Press Trust of India (PTI) show a rise.") == ["PTI"]
    assert wire_dateline("PARIS (AFP) - The CAPTAIN said") == "AFP"
    # a name inside another credits the longer only ("ITAR-TASS said"), unless a shape holds it alone
    assert credits("ITAR-TASS said the talks ended.") == ["ITAR-TASS"]
    assert credits("The talks ended, The Canadian Press reported.") == ["The Canadian Press"]
    assert credits("Talks ended (ZURICH, Keystone-SDA)\nSDA reported more.") == ["SDA"]


def test_user_agencies_are_matched_literally():
    nova = wire_agencies((NOVA, "A+B News", "\u00d1and\u00fa Press"))
    assert wire_agencies((NOVA, "A+B News", "\u00d1and\u00fa Press")) is nova  # compiled once
    text = "ROMA (Agencia Nova) - The talks ended, A+B News reported. \u00d1and\u00fa Press said more."
    assert credits(text) == [] and wire_dateline(text) is None
    assert credits(text, nova) == ["A+B News", "Agencia Nova", "\u00d1and\u00fa Press"]
    assert wire_dateline(text, nova) == NOVA
    assert credits("AAB News reported; agencia nova said", nova) == []  # escaped, case kept
    assert is_agency_source("agencia nova", nova) and not is_agency_source("agencia nova")
    # built-in names stay, a repeated one is read once
    assert credits("Reuters reported.", wire_agencies(("Reuters",))) == ["Reuters"]
    assert set(WIRE.names) < set(nova.names)


def test_the_compiled_scan_finds_user_names_as_the_alternation_does():
    """``find_literals`` with names starting inside and outside ASCII, on texts holding both."""
    names = wire_agencies(("\u00d1and\u00fa Press", "\u00c9cho", "Agencia Nova", "Nova")).names
    flat = re.compile("|".join(map(re.escape, names)))
    pieces = [
        *names[:20],
        "\u00d1and\u00fa Press",
        "\u00d1",
        "\u00c9cho",
        "\u00c9",
        "Nova",
        "Agencia ",
        " ",
        "x",
    ]
    rng = random.Random(5)
    found = 0
    for _ in range(400):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 20))) for _ in range(4)]
        want = [[m.span() for m in flat.finditer(t)] for t in texts]
        assert [find_literals(t, names) for t in texts] == want
        assert find_literals_many(texts, names) == want
        found += sum(map(len, want))
    assert found > 2000


def test_settings_validate_agencies():
    assert Settings(agencies=[NOVA]).agencies == (NOVA,)  # a list (as JSON gives it back)
    for bad in (NOVA, ("",), (" Nova",), ("Agencia\nNova",), (3,), None):
        with pytest.raises(ConfigError, match="'agencies' parameter"):
            Settings(agencies=bad)  # type: ignore[arg-type]
    # a scan's manifest holds the settings as JSON reads them back (a resume compares the two)
    manifest = make_manifest({}, Settings(agencies=(NOVA,)).to_dict())
    assert json.loads(json.dumps(manifest)) == manifest


def _agency_docs():
    return [
        Document("wire", "ROMA (Agencia Nova) - " + STORY),
        Document("paper", STORY + EXTRA),
        Document("credit", STORY + " Agencia Nova reported the offer first."),
        Document("nova", OTHER, source=NOVA),
        Document(
            "daily", OTHER + " The mayor promised help to the families hit hardest.", source="Daily Post"
        ),
    ]


def test_compare_and_direction_read_user_agencies():
    d = {x.id: x for x in _agency_docs()}
    s = Settings(agencies=(NOVA,))
    for a, b, reason in (
        ("wire", "paper", "wire dateline (Agencia Nova) in wire, none in paper"),
        ("paper", "credit", "credit: credit credits Agencia Nova, paper credits no agency"),
        ("nova", "daily", "source: nova is the agency Agencia Nova"),
    ):
        before, after = compare(d[a], d[b]), compare(d[a], d[b], s)
        assert (before.direction, before.direction_reason) == ("unknown", "no evidence")
        assert (after.direction, after.direction_reason) == ("a_to_b", reason)
    assert direction(d["nova"], d["daily"], 0.5, 0.5, agencies=wire_agencies((NOVA,)))[0] == "a_to_b"
    assert earliest_member([0, 1], ["nova", "daily"], [None, None], [False, False], [NOVA, "Daily Post"]) == (
        None,
        "no evidence",
    )
    got = earliest_member(
        [0, 1], ["nova", "daily"], [None] * 2, [False] * 2, [NOVA, None], wire_agencies((NOVA,))
    )
    assert got == ("nova", "the only wire agency by source (Agencia Nova)")


def test_cli_agency_option(tmp_path, capsys):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(STORY + EXTRA, encoding="utf-8")
    b.write_text(STORY + " Agencia Nova reported the offer first.", encoding="utf-8")
    assert main(["compare", str(a), str(b), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["compare", str(a), str(b), "--json", "--agency", NOVA, "--agency", "ANN"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert (before["direction"], before["direction_reason"]) == ("unknown", "no evidence")
    assert after["direction"] == "a_to_b"
    assert after["direction_reason"] == "credit: b.txt credits Agencia Nova, a.txt credits no agency"
    # every command computing direction takes it
    parser = build_parser()
    for argv in (
        ["scan", "in", "--out", "o"],
        ["dedup", "in", "--out", "o"],
        ["index", "add", "in", "--index", "i.duckdb"],
    ):
        assert settings_from(parser.parse_args([*argv, "--agency", NOVA])).agencies == (NOVA,)
        assert settings_from(parser.parse_args(argv)).agencies == ()
    assert main(["compare", str(a), str(b), "--agency", " "]) == 2
    assert "'agencies' parameter" in capsys.readouterr().err


def test_scan_reads_user_agencies_in_its_workers(tmp_path):
    """Local engine, two worker processes: directions, and families' earliest member by a
    dateline or a source of the added agency."""
    out = {}
    for key, s in (("plain", Settings(workers=2)), ("nova", Settings(workers=2, agencies=(NOVA,)))):
        scan(_agency_docs(), str(tmp_path / key), s)
        lines = (tmp_path / key / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
        fams = (tmp_path / key / "clusters.jsonl").read_text(encoding="utf-8").splitlines()
        out[key] = (
            {(p["a"], p["b"]): (p["direction"], p["direction_reason"]) for p in map(json.loads, lines)},
            {f["representative"]: (f["earliest"], f["earliest_reason"]) for f in map(json.loads, fams)},
        )
    plain, nova = out["plain"], out["nova"]
    assert (
        set(plain[0])
        == set(nova[0])
        == {
            ("wire", "paper"),
            ("wire", "credit"),
            ("paper", "credit"),
            ("nova", "daily"),
        }
    )
    assert all(v == ("unknown", "no evidence") for v in plain[0].values())
    assert nova[0] == {
        ("wire", "paper"): ("a_to_b", "wire dateline (Agencia Nova) in wire, none in paper"),
        ("wire", "credit"): ("a_to_b", "wire dateline (Agencia Nova) in wire, none in credit"),
        ("paper", "credit"): ("a_to_b", "credit: credit credits Agencia Nova, paper credits no agency"),
        ("nova", "daily"): ("a_to_b", "source: nova is the agency Agencia Nova"),
    }
    assert sorted(plain[1].values()) == [(None, "no evidence")] * 2
    assert sorted(nova[1].values()) == [
        ("nova", "the only wire agency by source (Agencia Nova)"),
        ("wire", "the only member with a wire dateline"),
    ]
