"""Sentence derivation (issue 23): a generated wire-rewrite corpus with gold links, and scores.

Journalists rewrite wire stories: they keep quotes, names, numbers and short verbatim fragments,
rewrite and condense sentences, merge two into one, reorder, and add sentences of their own. This
script builds such a corpus from real text and scores ``copytrace``'s ``derivation`` against it.

Subcommands (run from the repository root with ``.venv/bin/python``):

* ``make --out DIR [--seed 1] [--n-wire 400]``: wire stories made of Reuters-21578 body sentences,
  some replaced by or added from the first sentences (s1) of real paraphrase pairs (MSRP, PAN-10
  of Madnani et al. 2012) and some turned into quotes; and ``2 x n-wire`` newspaper stories, a
  third each of the three levels of Clough et al. 2002 (METER): ``wholly`` and ``partially``
  derived from one or two wire stories (verbatim sentences; the real paraphrase s2 of a wire s1;
  condensed sentences; quotes kept verbatim inside a new attribution; two sentences merged into
  one; new sentences from an unrelated story; reordering), and ``non``: another Reuters story on
  the wire's topic (same TOPICS tag, names shared where possible), written without it. Writes
  ``corpus.jsonl`` (id, text, date, source), ``gold.jsonl`` (one line per newspaper story: its
  sources, level, every derived sentence with its spans and kind, every verbatim run of at least
  4 words with its spans on both sides) and ``meta.json`` (counts). Only the stdlib; reads the
  data from ``../shared/data`` at run time (research use only; nothing of it goes into the repo).
* ``score DIR [--semantic] [--min-fragment N] [--json OUT]``: ``compare`` on every gold pair
  (newspaper story as ``a``, wire story as ``b``) and one ``copytrace scan`` of the corpus;
  derived-sentence recall/precision (per gold kind), verbatim-fragment word recall/precision,
  3-level accuracy and macro F1 (pairs from ``compare`` and the scan, documents from
  ``documents.jsonl``), derived-vs-not F1, and the scan's pair recall.
* ``clough [--semantic] [--json OUT]``: the Clough & Stevenson short answers (answer as ``a``,
  its Wikipedia source as ``b``): binary reuse accuracy (reused = the answer's level is not
  ``non``) and the 4-class reading of ``clough_class``, with every answer's figures.
* ``dump DIR [--semantic] --out FILE``: per-pair features (gold level, both sides' shares, links
  by kind, relation, containment) of the corpus pairs and the Clough answers, to fit thresholds.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import difflib
import html
import json
import os
import random
import re
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("COPYTRACE_DATA", ROOT.parent / "shared" / "data"))
WORK = ROOT / "benchmarks" / ".work"

LEVELS = ("wholly", "partially", "non")
KINDS = ("verbatim", "rewritten", "condensed", "quote", "merged")
ORIGINS = ("rewritten/msrp", "rewritten/pan")  # rewritten sentences by the paraphrase corpus they come from
CLOUGH_CLASSES = ("cut", "light", "heavy", "non")
MIN_RUN = 4  # gold verbatim runs: at least this many words
MIN_OVERLAP = 5  # characters a predicted span must share with a gold span to hit it
WHOLLY_GOLD = 0.8  # a (story, wire) pair is gold `wholly` when this share of the story derives from that wire


def clough_class(pair: dict[str, Any]) -> str:
    """The Clough & Stevenson category (cut, light, heavy, non) read from a pair record whose ``a``
    is the answer, as docs/relations.md documents it: ``non`` when the answer's level is ``non``;
    ``cut`` when its fragments average at least 80 characters (copied in blocks); ``light`` when
    its verbatim share is at least 0.5 or its fragments average at least 45 characters; else
    ``heavy``."""
    d = pair["derivation"]
    side = d["a"]
    if side["level"] == "non":
        return "non"
    lengths = [f["a_end"] - f["a_start"] for x in d["sentences"] for f in x["fragments"]]
    mean = sum(lengths) / len(lengths) if lengths else 0.0
    if mean >= 80:
        return "cut"
    if side["verbatim"] >= 0.5 or mean >= 45:
        return "light"
    return "heavy"


# ================================================================ reading the data

_WORD = re.compile(r"\w+")
_DOC = re.compile(r"<REUTERS[^>]*NEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.S)
_DATELINE = re.compile(r"<DATELINE>\s*(.*?)\s*-?\s*</DATELINE>", re.S)
_DATE = re.compile(r"<DATE>\s*(\d+)-([A-Z]{3})-(\d{4})")
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
_PARA = re.compile(r"\n(?:&\\t|\s{2,}|\t)")
_ABBREV = frozenset(
    """mr mrs ms dr prof sen rep gov gen col lt st jr sr mt no vs etc inc corp co ltd plc bros dept
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m cts dlrs pct""".split()
)
_END = re.compile(r"[.!?][\"')]*\s+(?=[\"'(]*[A-Z0-9])")
_TABLE_WORDS = frozenset("vs vs. Shr Revs Qtr Shr. Avg".split())
_UPPER = bytes(range(65, 91))
_LETTERS = _UPPER + bytes(range(97, 123))


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph: cut after an end mark followed by a capital, a digit or an
    opening quote, unless the word before it is an abbreviation or a single initial."""
    out, start = [], 0
    for m in _END.finditer(paragraph):
        before = paragraph[start : m.start() + 1].rsplit(None, 1)[-1].rstrip(".").casefold()
        if before in _ABBREV or len(before) == 1 or re.fullmatch(r"(?:[a-z]\.)+[a-z]?", before):
            continue
        out.append(paragraph[start : m.end()].strip())
        start = m.end()
    out.append(paragraph[start:].strip())
    return [s for s in out if s]


def good_sentence(s: str) -> bool:
    """A prose sentence (not a results table, a headline in capitals or a fragment)."""
    toks = s.split()
    if not 6 <= len(toks) <= 55 or not s.endswith((".", '."', ".'")) or not _TABLE_WORDS.isdisjoint(toks):
        return False
    if "..." in s or "|" in s or "<" in s or ">" in s:
        return False
    b = s.encode("latin-1", "ignore")
    upper, letters = len(b) - len(b.translate(None, _UPPER)), len(b) - len(b.translate(None, _LETTERS))
    return upper < 0.3 * letters


@dataclass
class Story:
    id: str
    topic: str
    date: str
    dateline: str
    sentences: list[str]
    names: frozenset[str] = frozenset()


def reuters_stories(data: Path) -> list[Story]:
    """Reuters-21578 stories with at least 5 prose sentences and a date, in file order."""
    out = []
    for f in sorted(data.glob("reut2-*.sgm")):
        raw = f.read_bytes().decode("latin-1")
        for m in _DOC.finditer(raw):
            body, date = _BODY.search(m.group(2)), _DATE.search(m.group(2))
            if not body or not date:
                continue
            text = re.sub(r"&#\d+;", "", body.group(1))
            text = html.unescape(text).replace("\x03", "")
            text = re.sub(r"\s*\bReuter\s*$", "", text.strip())
            sents = []
            for para in _PARA.split(text):
                para = " ".join(para.replace("&\\t", " ").split())
                sents.extend(s for s in split_sentences(para) if good_sentence(s))
            if len(sents) < 5 or sum(len(s.split()) for s in sents) < 100:
                continue
            topics = re.findall(r"<D>(.*?)</D>", (_TOPICS.search(m.group(2)) or m).group(1))
            dl = _DATELINE.search(m.group(2))
            dateline = " ".join(dl.group(1).split()).rstrip(" -") if dl else ""
            ymd = f"{date.group(3)}-{_MONTHS[date.group(2)]:02d}-{int(date.group(1)):02d}"
            names = frozenset(w for s in sents for w in re.findall(r"(?<=\s)[A-Z][a-z]{3,}", s))
            out.append(Story(m.group(1), topics[0] if topics else "", ymd, dateline, sents[:16], names))
    return out


def paraphrase_pairs(data: Path) -> list[tuple[str, str, str]]:
    """Real paraphrase pairs (label 1) as (corpus, s1, s2): MSRP train+test, PAN-10 train (human labels);
    8-45 words each side and not near-identical (word Jaccard below 0.8)."""
    out = []
    for split in ("train", "test"):
        with open(data / "msrp" / f"msr_paraphrase_{split}.txt", encoding="utf-8-sig") as fh:
            rows = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(rows)
            out.extend(("msrp", r[3], r[4]) for r in rows if r[0] == "1")
        if split == "test":  # PAN-10 test labels were inferred by a heuristic; train's are human
            continue
        d = data / "pan10-sentence-paraphrase-madnani2012"
        s1 = (d / f"pan-{split}_s1.txt").read_text(encoding="utf-8", errors="replace").splitlines()
        s2 = (d / f"pan-{split}_s2.txt").read_text(encoding="utf-8", errors="replace").splitlines()
        y = (d / f"pan-{split}.labels").read_text().split()
        out.extend(("pan", a, b) for a, b, label in zip(s1, s2, y, strict=True) if label == "1")
    keep = []
    for corpus, a, b in out:
        a, b = " ".join(a.split()), " ".join(b.split())
        wa, wb = set(words(a)), set(words(b))
        if not (8 <= len(a.split()) <= 45 and 8 <= len(b.split()) <= 45) or "\ufffd" in a + b:
            continue
        if len(wa & wb) / len(wa | wb) >= 0.8:
            continue
        if not a.endswith((".", '"', "'", "!", "?")):
            a += "."
        if not b.endswith((".", '"', "'", "!", "?")):
            b += "."
        keep.append((corpus, a[0].upper() + a[1:], b[0].upper() + b[1:]))
    return keep


def shingles(sentences: list[str], n: int = 8) -> set[int]:
    out = set()
    for s in sentences:
        w = words(s)
        out.update(hash(tuple(w[i : i + n])) for i in range(len(w) - n + 1))
    return out


# ================================================================ text transformations


def condense(s: str) -> str | None:
    """A deterministic condensation: a parenthetical, a relative clause between commas or a
    trailing clause after the last comma dropped, "X said (that)" openings and filler adverbs
    dropped. None when that removes fewer than 2 words or leaves fewer than 6."""
    t = re.sub(r"\s*\([^()]{1,80}\)", "", s)
    t = re.sub(r",\s+(?:which|who|whose|where)\s+[^,]{3,80},", "", t, count=1)
    if t == s:
        head, sep, tail = t.rpartition(", ")
        if sep and len(head.split()) >= 6 and 2 <= len(tail.split()) <= 20 and '"' not in tail:
            if not re.search(r"\b(?:said|says|added|told)\b", tail):
                t = head.rstrip(",;") + "."
    t = re.sub(
        r"^(?:The (?:company|bank|ministry|spokesman|official)|It|He|She|They) said(?: that)? (\w)",
        lambda m: m.group(1).upper(),
        t,
    )
    t = re.sub(r"\b(?:also|currently|still|further|already|recently|approximately|however,?) ", "", t)
    t = re.sub(r"\bsaid that\b", "said", t)
    t = re.sub(r"\s+([,.])", r"\1", t)
    if len(s.split()) - len(t.split()) < 2 or len(t.split()) < 6:
        return None
    return t[0].upper() + t[1:]


_LOWER_START = frozenset("The It He She They A An This That These Its In On At But Its Their".split())


def lower_first(s: str) -> str:
    first = s.split(None, 1)[0]
    if first in ("However,", "But"):
        s = s.split(None, 1)[1]
        first = s.split(None, 1)[0]
    return s[0].lower() + s[1:] if first in _LOWER_START else s


def merge(a: str, b: str, rng: random.Random) -> str:
    """Two sentences made one: ``a`` without its end mark, a connective, ``b`` (maybe condensed)."""
    if rng.random() < 0.5:
        b = condense(b) or b
    head = a.rstrip(".")
    link = rng.choice((", and ", ", while ", "; ", " and "))
    return head + link + lower_first(b)


FIRST = "Anna Brian Carla David Elena Frank Grace Henry Irene James Karen Louis Maria Neil Olga Peter Rita Simon Teresa Victor".split()
LAST = "Abbott Barnes Castillo Dunmore Ellison Fischer Garland Hollis Ingram Jarvis Keller Lindqvist Moreau Nakamura Okafor Petrov Quinlan Rossi Sandoval Thorne".split()
TITLES = (
    "chief economist",
    "spokesman",
    "senior analyst",
    "chairman",
    "finance director",
    "head of research",
)
_ORG = re.compile(
    r"\b((?:[A-Z][\w&'-]+ ){1,3}(?:Inc|Corp|Co|Ltd|Group|Bank|Corporation|Company|Board|Ministry))\b"
)


def make_quote(s: str, story: Story, rng: random.Random) -> dict[str, str] | None:
    """A wire quote sentence built around the words of ``s``: the quoted words, a speaker, a
    title and an organisation (from the story when it names a company)."""
    q = re.sub(r",\s+(?:he|she|it|they|the \w+|[A-Z][\w.]+(?: [A-Z][\w.]+)*) (?:said|added)\.$", "", s)
    q = q.rstrip(".")
    if '"' in q or not 7 <= len(q.split()) <= 30 or re.search(r"\b(?:said|says|noted|added|told)\b", q):
        return None
    orgs = [
        m.group(1) for s2 in story.sentences for m in _ORG.finditer(s2) if not m.group(1).startswith("The ")
    ]
    org = orgs[0] if orgs else rng.choice(("the trade association", "the central bank", "the industry group"))
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    title = rng.choice(TITLES)
    form = rng.randrange(3)
    if form == 0:
        text = f'"{q}," said {name}, {title} at {org}.'
    elif form == 1:
        text = f'{name}, {title} at {org}, said: "{q}."'
    else:
        text = f'"{q}," {name} said.'
    return {"text": text, "q": q, "name": name, "title": title, "org": org}


_FUNCTION = frozenset(
    """a an the of in on at to for from by with and or but as is are was were be been being has have
    had will would could should can may might not no so than that which who it its this these those
    there their they he she we if when while into over under about after before any even also only
    just some more most such very""".split()
)


def reattribute(u: dict[str, Any], rng: random.Random) -> str:
    """The same quoted words around a new attribution (the newspaper's own wording)."""
    q, name, title, org = u["q"], u["name"], u["title"], u["org"]
    last = name.split()[1]
    day = rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"))
    if rng.random() < 0.5:  # a short quoted fragment inside the newspaper's own sentence
        ws = q.split()
        n = rng.randint(5, min(9, len(ws)))
        i = rng.randrange(len(ws) - n + 1)
        while i + n < len(ws) and (
            ws[i].casefold() in _FUNCTION or ws[i + n - 1].strip(",.;:").casefold() in _FUNCTION
        ):
            i += 1  # a quoted fragment opens and closes on a content word
        frag = " ".join(ws[i : i + n]).strip(",.;:")
        forms = (
            f'{name} spoke of "{frag}".',
            f'The {title} was quoted as saying "{frag}".',
            f'{last}, of {org}, used the words "{frag}" on {day}.',
        )
        return rng.choice(forms)
    forms = (
        f'{org[0].upper() + org[1:]}\'s {title}, {name}, told reporters on {day}: "{q}."',
        f'"{q}," according to {name}.',
        f'Speaking on {day}, {last} insisted: "{q}."',
        f'In a statement, {title} {name} said "{q}."',
        f'{last} told the paper that "{q}."',
    )
    return rng.choice(forms)


_STYLE = (
    (
        re.compile(r"\b([\d.,]+) (mln|billion) dlrs\b"),
        lambda m: f"${m.group(1)} {'million' if m.group(2) == 'mln' else 'billion'}",
    ),
    (re.compile(r"\bmln\b"), lambda m: "million"),
    (re.compile(r"\bdlrs\b"), lambda m: "dollars"),
    (re.compile(r"\bpct\b"), lambda m: "per cent"),
    (re.compile(r"\bcts\b"), lambda m: "cents"),
    (re.compile(r"\bU\.S\."), lambda m: "US"),
    (re.compile(r"\bsaid\b"), lambda m: "says"),
)


def house_style(s: str) -> str:
    """A newspaper's house style over a wire sentence: "5 mln dlrs" -> "$5 million", pct ->
    per cent, U.S. -> US, said -> says (changes words inside otherwise verbatim text)."""
    for pat, rep in _STYLE:
        s = pat.sub(rep, s)
    return s


def curly(s: str) -> str:
    """Straight quotes made curly (one character for one: offsets stay)."""
    out = []
    for i, c in enumerate(s):
        prev = s[i - 1] if i else " "
        if c == '"':
            out.append("\u201c" if prev.isspace() or prev in "([" else "\u201d")
        elif c == "'":
            out.append("\u2018" if prev.isspace() or prev in "([" else "\u2019")
        else:
            out.append(c)
    return "".join(out)


def wrap(text: str, width: int) -> str:
    """Hard line wraps: spaces turned into line breaks (offsets stay)."""
    chars = list(text)
    line_start, last_space = 0, -1
    for i, c in enumerate(chars):
        if c == "\n":
            line_start, last_space = i + 1, -1
        elif c == " ":
            if i - line_start > width and last_space > line_start:
                chars[last_space] = "\n"
                line_start = last_space + 1
            last_space = i
    return "".join(chars)


# ================================================================ building the corpus


@dataclass
class Unit:
    """One sentence of a generated document: its text, what it came from, and (set on assembly)
    its span in the document."""

    text: str
    kind: str  # wire: plain|para|quote; newspaper: a gold kind, or new / byline
    sources: list[tuple[str, int]] = field(default_factory=list)  # (wire id, unit index)
    extra: dict[str, Any] = field(default_factory=dict)
    start: int = -1
    end: int = -1


def assemble(paragraphs: list[list[Unit]], layout: str, prefix: str, rng: random.Random) -> str:
    """The document text, setting each unit's span: ``lines`` (a paragraph a line), ``blank``
    (blank lines between paragraphs), ``wrapped`` (hard-wrapped, blank lines between) or
    ``wire`` (hard-wrapped, paragraphs indented)."""
    sep = {"lines": "\n", "blank": "\n\n", "wrapped": "\n\n", "wire": "\n  "}[layout]
    parts, pos = [prefix], len(prefix)
    for p, para in enumerate(paragraphs):
        if p:
            parts.append(sep)
            pos += len(sep)
        for i, u in enumerate(para):
            if i:
                parts.append(" ")
                pos += 1
            u.start, u.end = pos, pos + len(u.text)
            parts.append(u.text)
            pos = u.end
    text = "".join(parts) + "\n"
    if layout in ("wrapped", "wire"):
        text = wrap(text, rng.randint(58, 76))
    return text


def paragraphs_of(units: list[Unit], rng: random.Random, most: int) -> list[list[Unit]]:
    out: list[list[Unit]] = []
    i = 0
    while i < len(units):
        n = rng.randint(1, most)
        out.append(units[i : i + n])
        i += n
    return out


def verbatim_runs(doc: str, units: list[Unit], wires: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of at least MIN_RUN words a newspaper unit shares verbatim with its source units
    (difflib's matching blocks over the casefolded words), with spans in both documents."""
    runs = []
    for u in units:
        if not u.sources:
            continue
        dw = [
            (m.group().casefold(), u.start + m.start(), u.start + m.end())
            for m in _WORD.finditer(doc[u.start : u.end])
        ]
        sw: list[tuple[str, int, int, int]] = []
        for k, (wid, idx) in enumerate(u.sources):
            su = wires[wid]["units"][idx]
            text = wires[wid]["text"]
            sw.extend(
                (m.group().casefold(), su.start + m.start(), su.start + m.end(), k)
                for m in _WORD.finditer(text[su.start : su.end])
            )
        sm = difflib.SequenceMatcher(None, [w[0] for w in dw], [w[0] for w in sw], autojunk=False)
        for i, j, n in sm.get_matching_blocks():
            # split a block where it crosses from one source unit into the next
            k0 = j
            while k0 < j + n:
                k1 = k0
                while k1 < j + n and sw[k1][3] == sw[k0][3]:
                    k1 += 1
                if k1 - k0 >= MIN_RUN:
                    a0, a1 = i + (k0 - j), i + (k1 - j) - 1
                    runs.append(
                        {
                            "source": u.sources[sw[k0][3]][0],
                            "start": dw[a0][1],
                            "end": dw[a1][2],
                            "source_start": sw[k0][1],
                            "source_end": sw[k1 - 1][2],
                            "words": k1 - k0,
                        }
                    )
                k0 = k1
    return runs


class Builder:
    def __init__(self, seed: int, n_wire: int, data: Path) -> None:
        self.rng = random.Random(seed)
        self.n_wire = n_wire
        t0 = time.perf_counter()
        stories = reuters_stories(data / "reuters-21578")
        pairs = paraphrase_pairs(data)
        self.load_s = time.perf_counter() - t0
        self.rng.shuffle(stories)
        self.rng.shuffle(pairs)
        # 8-grams in more than 3 stories are Reuters boilerplate; any other shared 8-gram makes
        # two stories related, so the stories used (wire, non, filler) share none
        counts: Counter[int] = Counter()
        self.shingles = {}
        for s in stories:
            sh = shingles(s.sentences)
            self.shingles[s.id] = sh
            counts.update(sh)
        self.common = {h for h, c in counts.items() if c > 3}
        self.taken: set[int] = set()
        self.stories = stories
        self.used: set[str] = set()
        msrp = [p for p in pairs if p[0] == "msrp"]
        pan = [p for p in pairs if p[0] == "pan"]
        self.paraphrases = self._disjoint_pairs(msrp, pan)
        self.by_topic: dict[str, list[Story]] = defaultdict(list)
        for s in stories:
            self.by_topic[s.topic].append(s)

    def _disjoint_pairs(self, msrp: list[Any], pan: list[Any]) -> list[tuple[str, str, str]]:
        """Paraphrase pairs, two MSRP for one PAN, sharing no 8-gram with each other."""
        out = []
        mi = pi = 0
        while mi < len(msrp) or pi < len(pan):
            src = pan if (len(out) % 3 == 2 and pi < len(pan)) or mi >= len(msrp) else msrp
            if src is pan:
                p, pi = pan[pi], pi + 1
            else:
                p, mi = msrp[mi], mi + 1
            sh = shingles([p[1], p[2]])
            if sh & self.taken:
                continue
            self.taken |= sh
            out.append(p)
        return out

    def take(self, s: Story) -> bool:
        sh = self.shingles[s.id] - self.common
        if s.id in self.used or sh & self.taken:
            return False
        self.taken |= sh
        self.used.add(s.id)
        return True

    def build(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        rng = self.rng
        wire_stories = []
        for s in self.stories:
            if len(wire_stories) == self.n_wire:
                break
            if s.topic and len(self.by_topic[s.topic]) >= 20 and len(s.sentences) >= 6 and self.take(s):
                wire_stories.append(s)
        if len(wire_stories) < self.n_wire:
            raise SystemExit(f"only {len(wire_stories)} Reuters stories usable as wire stories")
        self.para_i = 0
        wires = {}
        for i, s in enumerate(wire_stories):
            w = self.make_wire(f"wire-{i + 1:04d}", s)
            wires[w["id"]] = w
        wire_ids = list(wires)
        n_papers = 2 * self.n_wire
        levels = [LEVELS[i % 3] for i in range(n_papers)]
        rng.shuffle(levels)
        self.filler = iter(s for s in self.stories if s.id not in self.used)
        papers, gold = [], []
        for i, level in enumerate(levels):
            w = wires[wire_ids[i // 2]]
            pid = f"paper-{i + 1:04d}"
            if level == "non":
                rec, g = self.make_non(pid, w)
            else:
                srcs = [w]
                if rng.random() < (0.15 if level == "wholly" else 0.3):
                    same = [x for x in wire_ids if wires[x]["topic"] == w["topic"] and x != w["id"]]
                    srcs.append(wires[rng.choice(same or [x for x in wire_ids if x != w["id"]])])
                rec, g = self.make_derived(pid, level, srcs, wires)
            papers.append(rec)
            gold.append(g)
        docs = [{k: w[k] for k in ("id", "text", "date", "source")} for w in wires.values()] + papers
        rng.shuffle(docs)
        return docs, gold, wires

    def make_wire(self, wid: str, s: Story) -> dict[str, Any]:
        rng = self.rng
        units = [Unit(x, "plain") for x in s.sentences[:14]]
        for _ in range(rng.randint(3, 5)):  # paraphrase s1: one replaces a sentence, the rest are added
            origin, s1, s2 = self.paraphrases[self.para_i]
            self.para_i += 1
            u = Unit(s1, "para", extra={"s2": s2, "origin": origin})
            pos = rng.randrange(1, len(units) + 1)
            if rng.random() < 0.35 and pos < len(units) and units[pos].kind == "plain":
                units[pos] = u
            else:
                units.insert(pos, u)
        plain = [i for i, u in enumerate(units) if u.kind == "plain" and i > 0]
        rng.shuffle(plain)
        made, want = 0, rng.randint(1, 2)
        for i in plain:
            q = make_quote(units[i].text, s, rng)
            if q:
                units[i] = Unit(q.pop("text"), "quote", extra=q)
                made += 1
                if made == want:
                    break
        source = rng.choice(("Reuters", "Reuters", "Reuters", "PA", "AP"))
        agency = {"Reuters": "Reuters", "PA": "PA", "AP": "AP"}[source]
        dateline = f"{s.dateline} ({agency}) - " if s.dateline and rng.random() < 0.7 else ""
        layout = rng.choice(("wire", "lines", "blank"))
        text = assemble(paragraphs_of(units, rng, 2), layout, dateline, rng)
        return {
            "id": wid,
            "text": text,
            "date": s.date,
            "source": source,
            "units": units,
            "topic": s.topic,
            "reuters": s.id,
            "names": s.names,
            "layout": layout,
            "s2_used": set(),
        }

    def new_units(self, topic: str, n: int) -> list[Unit]:
        """``n`` sentences from unrelated Reuters stories (another topic), each story used once."""
        out: list[Unit] = []
        while len(out) < n:
            s = next(self.filler)
            if s.topic == topic or not self.take(s):
                continue
            out.extend(Unit(x, "new") for x in s.sentences[: n - len(out)])
        return out

    def later(self, date: str) -> str:
        d = dt.date.fromisoformat(date) + dt.timedelta(days=self.rng.randint(0, 2))
        return d.isoformat()

    def paper_layout(self, units: list[Unit]) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < 0.5:
            for u in units:
                u.text = curly(u.text)
        layout = rng.choice(("lines", "blank", "wrapped"))
        prefix = f"By {rng.choice(FIRST)} {rng.choice(LAST)}\n" if rng.random() < 0.3 else ""
        return layout, prefix

    def make_non(self, pid: str, w: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A Reuters story on the wire's topic, names shared where possible, written without it."""
        rng = self.rng
        pool = [s for s in self.by_topic[w["topic"]] if s.id not in self.used][:300]
        pool.sort(key=lambda s: -len(s.names & w["names"]))
        story = next((s for s in pool if self.take(s)), None)
        if story is None:  # the topic is used up: the unused story sharing most names
            pool = [s for s in self.stories if s.id not in self.used and s.topic][:2000]
            pool.sort(key=lambda s: -len(s.names & w["names"]))
            story = next(s for s in pool if self.take(s))
        units = [Unit(x, "new") for x in story.sentences[:12]]
        layout, prefix = self.paper_layout(units)
        text = assemble(paragraphs_of(units, rng, 2), layout, prefix, rng)
        rec = {"id": pid, "text": text, "date": self.later(w["date"]), "source": rng.choice(PAPERS)}
        gold = {
            "id": pid,
            "level": "non",
            "sources": [w["id"]],
            "pair_levels": {w["id"]: "non"},
            "shares": {"verbatim": 0.0, "rewritten": 0.0, "new": 1.0, "by_source": {w["id"]: 0.0}},
            "layout": layout,
            "sentences": [],
            "runs": [],
        }
        return rec, gold

    def derive_units(self, w: dict[str, Any], keep: list[int]) -> list[Unit]:
        """Newspaper units made from the wire units ``keep`` (in order): verbatim, the real
        paraphrase s2, condensed, re-attributed quotes, two consecutive sentences merged."""
        rng = self.rng
        out = []
        i = 0
        while i < len(keep):
            k = keep[i]
            u = w["units"][k]
            src = [(w["id"], k)]
            r = rng.random()
            nxt = keep[i + 1] if i + 1 < len(keep) else None
            if u.kind == "para" and k not in w["s2_used"] and r < 0.85:
                # a paraphrase is one writer's: no two papers share an s2
                w["s2_used"].add(k)
                out.append(Unit(u.extra["s2"], "rewritten", src, {"origin": u.extra["origin"]}))
            elif u.kind == "para":
                c = condense(u.text) if r < 0.92 else None
                out.append(Unit(c, "condensed", src) if c else Unit(u.text, "verbatim", src))
            elif u.kind == "quote":
                out.append(
                    Unit(reattribute(u.extra, rng), "quote", src)
                    if r < 0.7
                    else Unit(u.text, "verbatim", src)
                )
            elif r < 0.17 and nxt == k + 1 and w["units"][nxt].kind == "plain":
                m = merge(u.text, w["units"][nxt].text, rng)
                out.append(
                    Unit(house_style(m) if rng.random() < 0.4 else m, "merged", src + [(w["id"], nxt)])
                )
                i += 1
            elif r < 0.6 and (c := condense(u.text)):
                out.append(Unit(house_style(c) if rng.random() < 0.5 else c, "condensed", src))
            else:
                out.append(Unit(u.text, "verbatim", src))
            i += 1
        return out

    def make_derived(
        self, pid: str, level: str, srcs: list[dict[str, Any]], wires: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        rng = self.rng
        blocks: list[list[Unit]] = []
        for j, w in enumerate(srcs):
            n = len(w["units"])
            if level == "wholly":
                share = 1.0 if len(srcs) == 1 else (0.7 if j == 0 else 0.45)
                keep = list(range(max(3, round(n * share)) - (rng.randint(0, 2) if share == 1.0 else 0)))
            else:
                p = rng.uniform(0.35, 0.65) if len(srcs) == 1 else rng.uniform(0.25, 0.45)
                keep = [k for k in range(n) if rng.random() < p] or [0]
            units = self.derive_units(w, keep)
            if level == "wholly" and rng.random() < 0.5 and len(units) > 3:  # a later sentence made the lead
                units.insert(0, units.pop(rng.randrange(2, len(units))))
            if level == "wholly" and rng.random() < 0.5 and len(units) > 2:  # two neighbours swapped
                k = rng.randrange(len(units) - 1)
                units[k], units[k + 1] = units[k + 1], units[k]
            blocks.append(units)
        derived = [u for b in blocks for u in b]
        dwords = sum(len(words(u.text)) for u in derived)
        topic = srcs[0]["topic"]
        if level == "wholly":
            new = self.new_units(topic, 1) if rng.random() < 0.35 else []
            if new and dwords / (dwords + len(words(new[0].text))) < 0.85:
                new = []
            units = derived + new
        else:
            target = rng.uniform(0.3, 0.6)  # share of new words
            new = []
            while sum(len(words(u.text)) for u in new) < target / (1 - target) * dwords:
                new += self.new_units(topic, 1)
            # segments of derived text in shuffled order, new sentences between them
            segs: list[list[Unit]] = []
            for b in blocks:
                cut = sorted(rng.sample(range(1, len(b)), min(2, len(b) - 1))) if len(b) > 1 else []
                segs += [b[x:y] for x, y in zip([0] + cut, cut + [len(b)], strict=True)]
            rng.shuffle(segs)
            nsegs: list[list[Unit]] = []
            k = 0
            while k < len(new):
                m = rng.randint(1, 3)
                nsegs.append(new[k : k + m])
                k += m
            order = [s for s in segs]
            for s in nsegs:
                order.insert(rng.randrange(len(order) + 1), s)
            units = [u for s in order for u in s]
        layout, prefix = self.paper_layout(units)
        text = assemble(paragraphs_of(units, rng, 2), layout, prefix, rng)
        date = self.later(max(w["date"] for w in srcs))
        rec = {"id": pid, "text": text, "date": date, "source": rng.choice(PAPERS)}
        runs = verbatim_runs(text, units, wires)
        total = len(words(text))
        in_runs = sum(r["words"] for r in runs)
        derived_words = sum(len(words(u.text)) for u in units if u.sources)
        by_source = {
            w["id"]: round(
                sum(len(words(u.text)) for u in units if u.sources and u.sources[0][0] == w["id"]) / total, 4
            )
            for w in srcs
        }
        sentences = [
            {
                "start": u.start,
                "end": u.end,
                "kind": u.kind,
                "source": u.sources[0][0],
                "source_spans": [
                    [wires[x]["units"][k].start, wires[x]["units"][k].end] for x, k in u.sources
                ],
                **u.extra,
            }
            for u in units
            if u.sources
        ]
        gold = {
            "id": pid,
            "level": level,
            "sources": [w["id"] for w in srcs],
            "pair_levels": {x: ("wholly" if v >= WHOLLY_GOLD else "partially") for x, v in by_source.items()},
            "shares": {
                "verbatim": round(in_runs / total, 4),
                "rewritten": round((derived_words - in_runs) / total, 4),
                "new": round(1 - derived_words / total, 4),
                "by_source": by_source,
            },
            "layout": layout,
            "sentences": sentences,
            "runs": runs,
        }
        return rec, gold


PAPERS = (
    "The Daily Post",
    "The Evening Herald",
    "The Morning Star",
    "Northern Gazette",
    "The Courier",
    "The Sun Times",
    "Daily Ledger",
    "The Chronicle",
)


def cmd_make(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    b = Builder(args.seed, args.n_wire, DATA)
    docs, gold, wires = b.build()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, recs in (("corpus.jsonl", docs), ("gold.jsonl", gold)):
        with open(out / (name + ".tmp"), "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(out / (name + ".tmp"), out / name)
    kinds = Counter(s["kind"] for g in gold for s in g["sentences"])
    wire_kinds = Counter(u.kind for w in wires.values() for u in w["units"])
    meta = {
        "seed": args.seed,
        "n_wire": args.n_wire,
        "documents": len(docs),
        "papers_by_level": dict(Counter(g["level"] for g in gold)),
        "papers_with_two_sources": sum(len(g["sources"]) == 2 for g in gold),
        "two_sources_by_level": dict(Counter(g["level"] for g in gold if len(g["sources"]) == 2)),
        "derived_sentences_by_kind": {k: kinds[k] for k in KINDS},
        "wire_sentences_by_kind": dict(wire_kinds),
        "verbatim_runs": sum(len(g["runs"]) for g in gold),
        "verbatim_run_words": sum(r["words"] for g in gold for r in g["runs"]),
        "paraphrase_pairs_used": b.para_i,
        "layouts": dict(Counter(g["layout"] for g in gold)),
        "mean_shares_by_level": {
            lv: {
                k: round(
                    sum(g["shares"][k] for g in gold if g["level"] == lv)
                    / max(1, sum(g["level"] == lv for g in gold)),
                    3,
                )
                for k in ("verbatim", "rewritten", "new")
            }
            for lv in LEVELS
        },
        "words": sum(len(words(d["text"])) for d in docs),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta, indent=1))


# ================================================================ scoring


def load_corpus(d: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    docs = {}
    with open(d / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            docs[r["id"]] = r
    with open(d / "gold.jsonl", encoding="utf-8") as fh:
        gold = [json.loads(line) for line in fh]
    return docs, gold


@dataclass
class Link:
    """A predicted sentence link seen from the newspaper story (d) and its wire (s)."""

    d0: int
    d1: int
    s0: int
    s1: int
    kind: str
    similarity: float
    fragments: list[tuple[int, int, int, int]]


def oriented(pair: dict[str, Any], derived_is_a: bool) -> dict[str, Any]:
    """A pair record's derivation turned so that ``derived`` is the newspaper story's side."""
    der = pair.get("derivation") or {"a": None, "b": None, "sentences": []}
    links = []
    for x in der["sentences"]:
        fr = [(f["a_start"], f["a_end"], f["b_start"], f["b_end"]) for f in x.get("fragments", [])]
        if derived_is_a:
            links.append(
                Link(x["a_start"], x["a_end"], x["b_start"], x["b_end"], x["kind"], x["similarity"], fr)
            )
        else:
            links.append(
                Link(
                    x["b_start"],
                    x["b_end"],
                    x["a_start"],
                    x["a_end"],
                    x["kind"],
                    x["similarity"],
                    [(f[2], f[3], f[0], f[1]) for f in fr],
                )
            )
    return {
        "derived": der["a"] if derived_is_a else der["b"],
        "source": der["b"] if derived_is_a else der["a"],
        "links": links,
        "relation": pair.get("relation"),
        "containment": pair.get("containment_a" if derived_is_a else "containment_b"),
    }


def _hits(x0: int, x1: int, y0: int, y1: int) -> bool:
    return min(x1, y1) - max(x0, y0) >= min(MIN_OVERLAP, x1 - x0, y1 - y0)


def _link_hits(link: Link, s: dict[str, Any]) -> bool:
    return _hits(link.d0, link.d1, s["start"], s["end"]) and any(
        _hits(link.s0, link.s1, a, b) for a, b in s["source_spans"]
    )


def level_scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy, macro F1 over the three levels, derived-vs-not F1 and the confusion (gold, pred)."""
    conf = Counter(pairs)
    f1s = []
    for lv in LEVELS:
        tp = conf[(lv, lv)]
        fp = sum(c for (g, p), c in conf.items() if p == lv and g != lv)
        fn = sum(c for (g, p), c in conf.items() if g == lv and p != lv)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    tp = sum(c for (g, p), c in conf.items() if g != "non" and p != "non")
    fp = sum(c for (g, p), c in conf.items() if g == "non" and p != "non")
    fn = sum(c for (g, p), c in conf.items() if g != "non" and p == "non")
    return {
        "n": len(pairs),
        "accuracy": sum(conf[(lv, lv)] for lv in LEVELS) / max(1, len(pairs)),
        "macro_f1": sum(f1s) / 3,
        "f1_by_level": dict(zip(LEVELS, f1s, strict=True)),
        "derived_f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "confusion": {g: {p: conf[(g, p)] for p in LEVELS} for g in LEVELS},
    }


def score_pairs(
    docs: dict[str, dict[str, Any]],
    gold: list[dict[str, Any]],
    preds: dict[tuple[str, str], dict[str, Any] | None],
) -> dict[str, Any]:
    """Sentence links, fragments and pair levels of the predictions for every gold pair
    (``preds[(story, wire)]`` from ``oriented``; None when the pair was not reported)."""
    found_kind: Counter[str] = Counter()
    total_kind: Counter[str] = Counter()
    pred_kind: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    links_total = links_hit = links_on_non = 0
    run_words = run_words_hit = frag_words = frag_words_hit = 0
    levels, misses = [], []
    for g in gold:
        text = docs[g["id"]]["text"]
        tokens = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        for src in g["sources"]:
            p = preds.get((g["id"], src))
            links = p["links"] if p else []
            side = p["derived"] if p else None
            levels.append((g["pair_levels"][src], side["level"] if side else "non"))
            sents = [s for s in g["sentences"] if s["source"] == src]
            runs = [r for r in g["runs"] if r["source"] == src]
            if g["level"] == "non":
                links_on_non += len(links)
            else:
                links_total += len(links)
                links_hit += sum(any(_link_hits(x, s) for s in sents) for x in links)
            for s in sents:
                total_kind[s["kind"]] += 1
                if "origin" in s:
                    total_kind[f"{s['kind']}/{s['origin']}"] += 1
                hit = [x for x in links if _link_hits(x, s)]
                if hit:
                    found_kind[s["kind"]] += 1
                    if "origin" in s:
                        found_kind[f"{s['kind']}/{s['origin']}"] += 1
                    pred_kind[s["kind"]][max(hit, key=lambda x: x.similarity).kind] += 1
                else:
                    pred_kind[s["kind"]]["missed"] += 1
                    misses.append(
                        {
                            "story": g["id"],
                            "wire": src,
                            "kind": s["kind"],
                            "origin": s.get("origin"),
                            "level": g["level"],
                            "story_text": text[s["start"] : s["end"]],
                            "wire_text": " | ".join(docs[src]["text"][a:b] for a, b in s["source_spans"]),
                            "pair_reported": p is not None,
                        }
                    )
            # verbatim words: a gold run's words inside a predicted fragment (or verbatim link)
            # whose wire side overlaps the run's wire side
            spans = [f for x in links for f in x.fragments]
            spans += [(x.d0, x.d1, x.s0, x.s1) for x in links if x.kind == "verbatim"]
            for r in runs:
                for t0, t1 in tokens:
                    if r["start"] <= t0 and t1 <= r["end"]:
                        run_words += 1
                        mid = (t0 + t1) / 2
                        run_words_hit += any(
                            f[0] <= mid < f[1] and _hits(f[2], f[3], r["source_start"], r["source_end"])
                            for f in spans
                        )
            for f in (f for x in links for f in x.fragments):
                for t0, t1 in tokens:
                    if f[0] <= t0 and t1 <= f[1]:
                        frag_words += 1
                        mid = (t0 + t1) / 2
                        frag_words_hit += any(
                            r["start"] <= mid < r["end"]
                            and _hits(f[2], f[3], r["source_start"], r["source_end"])
                            for r in runs
                        )
    n_sent = sum(total_kind[k] for k in KINDS)
    n_found = sum(found_kind[k] for k in KINDS)
    return {
        "sentence_recall": n_found / max(1, n_sent),
        "sentence_precision": links_hit / max(1, links_total + links_on_non),
        "gold_sentences": n_sent,
        "predicted_links": links_total + links_on_non,
        "links_on_non_pairs": links_on_non,
        "recall_by_kind": {k: found_kind[k] / max(1, total_kind[k]) for k in (*KINDS, *ORIGINS)},
        "gold_by_kind": {k: total_kind[k] for k in (*KINDS, *ORIGINS)},
        "predicted_kind_by_gold_kind": {k: dict(pred_kind[k]) for k in KINDS},
        "fragment_word_recall": run_words_hit / max(1, run_words),
        "fragment_word_precision": frag_words_hit / max(1, frag_words),
        "gold_run_words": run_words,
        "predicted_fragment_words": frag_words,
        "pair_levels": level_scores(levels),
        "misses": misses,
    }


def gold_pairs(gold: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(g["id"], src) for g in gold for src in g["sources"]]


def settings(semantic: bool, min_fragment: int | None) -> Any:
    from copytrace import Settings

    s = Settings(semantic=semantic)
    return s if min_fragment is None else s.replace(min_fragment=min_fragment)


def as_document(rec: dict[str, Any]) -> Any:
    from copytrace import Document

    return Document(rec["id"], rec["text"], date=rec.get("date"), source=rec.get("source"))


def compare_gold(
    docs: dict[str, dict[str, Any]], gold: list[dict[str, Any]], s: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """``compare(story, wire)`` of every gold pair, as pair records."""
    from copytrace import compare

    return {
        (d, w): compare(as_document(docs[d]), as_document(docs[w]), s).to_dict() for d, w in gold_pairs(gold)
    }


def run_scan(d: Path, out: Path, semantic: bool, min_fragment: int | None) -> float:
    exe = ROOT / ".venv" / "bin" / "copytrace"
    cmd = [str(exe), "scan", str(d / "corpus.jsonl"), "--out", str(out), "--quiet"]
    if semantic:
        cmd.append("--semantic")
    if min_fragment is not None:
        cmd += ["--min-fragment", str(min_fragment)]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return time.perf_counter() - t0


def score_scan(docs: dict[str, dict[str, Any]], gold: list[dict[str, Any]], out: Path) -> dict[str, Any]:
    """The scan's pairs.jsonl against the gold pairs, and its documents.jsonl against the gold
    levels and sources of the newspaper stories (wire stories should come out ``non``)."""
    wanted = set(gold_pairs(gold))
    preds: dict[tuple[str, str], dict[str, Any] | None] = {}
    reported = 0
    with open(out / "pairs.jsonl", encoding="utf-8") as fh:
        for line in fh:
            p = json.loads(line)
            reported += 1
            if p.get("relation") == "unrelated" and not (p.get("derivation") or {}).get("sentences"):
                continue
            for d, w, derived_is_a in ((p["a"], p["b"], True), (p["b"], p["a"], False)):
                if (d, w) in wanted:
                    preds[(d, w)] = oriented(p, derived_is_a)
    res = score_pairs(docs, gold, preds)
    derived = [(g["id"], w) for g in gold if g["level"] != "non" for w in g["sources"]]
    non = [(g["id"], w) for g in gold if g["level"] == "non" for w in g["sources"]]
    res["pair_recall"] = sum(k in preds for k in derived) / max(1, len(derived))
    res["non_pairs_reported"] = sum(k in preds for k in non)
    res["pairs_reported"] = reported
    ddocs = {}
    with open(out / "documents.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            ddocs[r["id"]] = r.get("derivation") or {}
    # papers made from the same wire ("siblings") share its text: the scan may name an earlier
    # sibling as a source; counted apart from other wrong sources
    by_wire = defaultdict(set)
    for g in gold:
        if g["level"] != "non":
            for w in g["sources"]:
                by_wire[w].add(g["id"])
    levels, src_hit, src_total = [], 0, 0
    named: Counter[str] = Counter()
    for g in gold:
        der = ddocs.get(g["id"], {})
        levels.append((g["level"], der.get("level", "non")))
        got = [x["id"] for x in der.get("sources", [])]
        siblings = set().union(*(by_wire[w] for w in g["sources"])) if g["level"] != "non" else set()
        for x in got:
            named[
                "gold"
                if x in g["sources"] and g["level"] != "non"
                else "sibling"
                if x in siblings
                else "other"
            ] += 1
        if g["level"] != "non":
            src_total += len(g["sources"])
            src_hit += sum(x in got for x in g["sources"])
    res["document_levels"] = level_scores(levels)
    res["document_source_recall"] = src_hit / max(1, src_total)
    res["document_source_precision"] = named["gold"] / max(1, sum(named.values()))
    res["document_sources_named"] = dict(named)
    paper_ids = {g["id"] for g in gold}
    res["wire_document_levels"] = dict(
        Counter(ddocs.get(i, {}).get("level", "non") for i in docs if i not in paper_ids)
    )
    return res


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    cols = list(results)
    rows = [
        ("derived-sentence recall", "sentence_recall"),
        ("derived-sentence precision", "sentence_precision"),
        ("gold sentences", "gold_sentences"),
        ("predicted links", "predicted_links"),
        ("  of them on non pairs", "links_on_non_pairs"),
        *[(f"  recall {k}", ("recall_by_kind", k)) for k in (*KINDS, *ORIGINS)],
        ("verbatim word recall", "fragment_word_recall"),
        ("fragment word precision", "fragment_word_precision"),
        ("pair level accuracy", ("pair_levels", "accuracy")),
        ("pair level macro F1", ("pair_levels", "macro_f1")),
        ("pair derived-vs-not F1", ("pair_levels", "derived_f1")),
        ("scan pair recall", "pair_recall"),
        ("scan non pairs reported", "non_pairs_reported"),
        ("document level accuracy", ("document_levels", "accuracy")),
        ("document level macro F1", ("document_levels", "macro_f1")),
        ("document derived-vs-not F1", ("document_levels", "derived_f1")),
        ("document source recall", "document_source_recall"),
        ("document source precision", "document_source_precision"),
        ("  sources named: sibling papers", ("document_sources_named", "sibling")),
        ("  sources named: other", ("document_sources_named", "other")),
        ("seconds", "seconds"),
    ]
    print("| metric | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for label, key in rows:
        vals = []
        for c in cols:
            v: Any = results[c]
            for k in key if isinstance(key, tuple) else (key,):
                v = v.get(k, "") if isinstance(v, dict) else ""
            vals.append(_fmt(v))
        print(f"| {label} | " + " | ".join(vals) + " |")
    for c in cols:
        for name in ("pair_levels", "document_levels"):
            if name in results[c]:
                conf = results[c][name]["confusion"]
                cells = "; ".join(
                    f"{g}: " + " ".join(f"{p[:4]}={conf[g][p]}" for p in LEVELS) for g in LEVELS
                )
                print(f"{c} {name} (gold: predicted): {cells}")


def cmd_score(args: argparse.Namespace) -> None:
    d = Path(args.dir)
    docs, gold = load_corpus(d)
    s = settings(args.semantic, args.min_fragment)
    results: dict[str, dict[str, Any]] = {}
    if args.only in (None, "compare"):
        t0 = time.perf_counter()
        pairs = compare_gold(docs, gold, s)
        cmp_s = time.perf_counter() - t0
        results["compare"] = score_pairs(docs, gold, {k: oriented(v, True) for k, v in pairs.items()})
        results["compare"]["seconds"] = round(cmp_s, 1)
    if args.only in (None, "scan"):
        out = d / ("scan-semantic" if args.semantic else "scan")
        scan_s = run_scan(d, out, args.semantic, args.min_fragment)
        results["scan"] = score_scan(docs, gold, out)
        results["scan"]["seconds"] = round(scan_s, 1)
    print(f"{d}: {len(docs)} documents, {len(gold)} newspaper stories, semantic={args.semantic}")
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": s.to_dict(), **results}, indent=1) + "\n")
        print(f"wrote {args.json}")


# ================================================================ Clough & Stevenson


def clough_pairs() -> list[tuple[str, Any, Any]]:
    """(category, answer, source) for the 95 answers; answers decoded UTF-8 with cp1252 fallback."""
    from copytrace import Document
    from copytrace.read import decode

    d = DATA / "clough-stevenson-short-answers"
    out = []
    with open(d / "_derived" / "file_list.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            src = d / "corpus-20090418" / f"orig_task{row['Task']}.txt"
            ans = d / "corpus-20090418" / row["File"]
            a = Document(row["File"], decode(ans.read_bytes(), str(ans), warn=lambda _: None))
            b = Document(src.stem, decode(src.read_bytes(), str(src), warn=lambda _: None))
            out.append((row["Category"], a, b))
    return out


def fragment_words(pair: dict[str, Any], text: str, side: str = "a") -> int:
    return sum(
        len(_WORD.findall(text[f[f"{side}_start"] : f[f"{side}_end"]]))
        for x in pair["derivation"]["sentences"]
        for f in x["fragments"]
    )


def clough_rows(s: Any) -> list[dict[str, Any]]:
    from copytrace import compare

    rows = []
    for cat, a, b in clough_pairs():
        p = compare(a, b, s).to_dict()
        side = p["derivation"]["a"]
        rows.append(
            {
                "file": a.id,
                "label": cat,
                "relation": p["relation"],
                "containment": p["containment_a"],
                "verbatim": side["verbatim"],
                "rewritten": side["rewritten"],
                "new": side["new"],
                "level": side["level"],
                "links": len(p["derivation"]["sentences"]),
                "links_by_kind": dict(Counter(x["kind"] for x in p["derivation"]["sentences"])),
                "fragment_words": fragment_words(p, a.text),
                "class": clough_class(p),
                "source_side": p["derivation"]["b"],
            }
        )
    return rows


def cmd_clough(args: argparse.Namespace) -> None:
    s = settings(args.semantic, None)
    rows = clough_rows(s)
    print(
        "| file | label | class | level | verbatim | rewritten | new | containment | links | fragment words |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (CLOUGH_CLASSES.index(r["label"]), r["file"])):
        print(
            f"| {r['file']} | {r['label']} | {r['class']} | {r['level']} | {r['verbatim']:.2f} | {r['rewritten']:.2f} | "
            f"{r['new']:.2f} | {r['containment']:.2f} | {r['links']} | {r['fragment_words']} |"
        )
    binary = sum((r["level"] != "non") == (r["label"] != "non") for r in rows) / len(rows)
    four = sum(r["class"] == r["label"] for r in rows) / len(rows)
    conf = Counter((r["label"], r["class"]) for r in rows)
    print(
        f"\nbinary reuse accuracy (level != non): {binary:.3f}; 4-class accuracy (clough_class): {four:.3f}"
    )
    print(
        "| gold \\ class | " + " | ".join(CLOUGH_CLASSES) + " | mean verbatim | mean rewritten | mean new |"
    )
    print("|---|" + "---:|" * (len(CLOUGH_CLASSES) + 3))
    for g in CLOUGH_CLASSES:
        sub = [r for r in rows if r["label"] == g]
        means = [sum(r[k] for r in sub) / len(sub) for k in ("verbatim", "rewritten", "new")]
        print(
            f"| {g} | "
            + " | ".join(str(conf[(g, c)]) for c in CLOUGH_CLASSES)
            + " | "
            + " | ".join(f"{m:.3f}" for m in means)
            + " |"
        )
    if args.json:
        out = {
            "semantic": args.semantic,
            "binary_accuracy": binary,
            "four_class_accuracy": four,
            "confusion": {g: {c: conf[(g, c)] for c in CLOUGH_CLASSES} for g in CLOUGH_CLASSES},
            "answers": rows,
        }
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.json}")


# ================================================================ features for fitting thresholds


def features(pair: dict[str, Any]) -> dict[str, Any]:
    """What a threshold fit reads from a pair record: both sides' shares and levels (``a_side``,
    ``b_side``), links by kind, fragments, relation and containment."""
    der = pair["derivation"]
    return {
        "relation": pair["relation"],
        "containment_a": pair["containment_a"],
        "containment_b": pair["containment_b"],
        "a_side": der["a"],
        "b_side": der["b"],
        "links": len(der["sentences"]),
        "links_by_kind": dict(Counter(x["kind"] for x in der["sentences"])),
        "fragments": sum(len(x["fragments"]) for x in der["sentences"]),
        "mean_link_similarity": sum(x["similarity"] for x in der["sentences"])
        / max(1, len(der["sentences"])),
    }


def cmd_dump(args: argparse.Namespace) -> None:
    s = settings(args.semantic, args.min_fragment)
    out = []
    if args.dir:
        docs, gold = load_corpus(Path(args.dir))
        pairs = compare_gold(docs, gold, s)
        for g in gold:
            for w in g["sources"]:
                p = pairs[(g["id"], w)]
                out.append(
                    {
                        "dataset": "wire",
                        "a": g["id"],
                        "b": w,
                        "gold_level": g["pair_levels"][w],
                        "gold_document_level": g["level"],
                        "gold_shares": {k: g["shares"][k] for k in ("verbatim", "rewritten", "new")},
                        "gold_share_from_b": g["shares"]["by_source"][w],
                        "gold_sentences": sum(x["source"] == w for x in g["sentences"]),
                        "gold_run_words": sum(r["words"] for r in g["runs"] if r["source"] == w),
                        "fragment_words_a": fragment_words(p, docs[g["id"]]["text"]),
                        **features(p),
                    }
                )
    for cat, a, b in clough_pairs():
        from copytrace import compare

        p = compare(a, b, s).to_dict()
        out.append(
            {
                "dataset": "clough",
                "a": a.id,
                "b": b.id,
                "gold_level": cat,
                "fragment_words_a": fragment_words(p, a.text),
                **features(p),
            }
        )
    Path(args.out).write_text(json.dumps({"settings": s.to_dict(), "pairs": out}, indent=1) + "\n")
    print(f"wrote {len(out)} pairs to {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make", help="generate the wire-rewrite corpus")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n-wire", type=int, default=400)
    p.set_defaults(func=cmd_make)
    p = sub.add_parser("score", help="compare and scan the corpus, score against the gold")
    p.add_argument("dir")
    p.add_argument("--semantic", action="store_true")
    p.add_argument("--min-fragment", type=int, default=None)
    p.add_argument("--json", default=None)
    p.add_argument(
        "--only", choices=("compare", "scan"), default=None, help="run one of the two (default both)"
    )
    p.set_defaults(func=cmd_score)
    p = sub.add_parser("clough", help="the Clough & Stevenson short answers")
    p.add_argument("--semantic", action="store_true")
    p.add_argument("--json", default=None)
    p.set_defaults(func=cmd_clough)
    p = sub.add_parser("dump", help="per-pair features of the corpus pairs and the Clough answers")
    p.add_argument("dir", nargs="?", default=None)
    p.add_argument("--out", required=True)
    p.add_argument("--semantic", action="store_true")
    p.add_argument("--min-fragment", type=int, default=None)
    p.set_defaults(func=cmd_dump)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
