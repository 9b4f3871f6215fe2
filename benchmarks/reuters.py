"""Reuters-21578 (research use only; read from ../shared/data, never copied into the repo).

    python benchmarks/reuters.py [--data ../shared/data/reuters-21578] [--out benchmarks/.work/reuters]

Converts the SGML to JSONL (id = NEWID, text = BODY, date, title), runs ``copytrace scan`` on
all stories, and prints the pair and relation counts, the time, and whether every exact-duplicate
group (stories whose whitespace-normalised bodies are equal) came out as ``duplicate`` pairs.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import re
import time
from collections import defaultdict
from pathlib import Path

_DOC = re.compile(r"<REUTERS[^>]*NEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_DATE = re.compile(r"<DATE>\s*(\d+)-([A-Z]{3})-(\d{4})")
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}


def stories(data: Path) -> list[dict[str, str]]:
    """Every story with a body, in file order."""
    out = []
    for f in sorted(data.glob("reut2-*.sgm")):
        raw = f.read_bytes().decode("latin-1")
        for m in _DOC.finditer(raw):
            body = _BODY.search(m.group(2))
            if not body:
                continue
            text = html.unescape(body.group(1)).replace("\x03", "").strip()
            rec = {"id": m.group(1), "text": text}
            title = _TITLE.search(m.group(2))
            if title:
                rec["title"] = html.unescape(title.group(1)).strip()
            d = _DATE.search(m.group(2))
            if d:
                rec["date"] = f"{d.group(3)}-{_MONTHS[d.group(2)]:02d}-{int(d.group(1)):02d}"
            out.append(rec)
    return out


def write_jsonl(records: list[dict[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def duplicate_groups(records: list[dict[str, str]]) -> list[list[str]]:
    """Groups of ids whose whitespace-normalised bodies are equal."""
    groups: dict[str, list[str]] = defaultdict(list)
    for r in records:
        groups[" ".join(r["text"].split())].append(r["id"])
    return [ids for ids in groups.values() if len(ids) > 1]


def missing_duplicates(groups: list[list[str]], pairs_path: Path) -> list[tuple[str, str]]:
    """Pairs inside duplicate groups that pairs.jsonl does not report as ``duplicate``."""
    found = set()
    with open(pairs_path, encoding="utf-8") as fh:
        for line in fh:
            p = json.loads(line)
            if p["relation"] == "duplicate":
                found.add(frozenset((p["a"], p["b"])))
    return [
        (a, b) for ids in groups for a, b in itertools.combinations(ids, 2) if frozenset((a, b)) not in found
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parents[1]
    ap.add_argument("--data", default=str(root.parent / "shared" / "data" / "reuters-21578"))
    ap.add_argument("--out", default=str(root / "benchmarks" / ".work" / "reuters"))
    args = ap.parse_args()
    from copytrace import scan

    out = Path(args.out)
    records = stories(Path(args.data))
    write_jsonl(records, out / "reuters.jsonl")
    t0 = time.perf_counter()
    stats = scan([str(out / "reuters.jsonl")], str(out / "scan"), quiet=True)
    seconds = time.perf_counter() - t0
    groups = duplicate_groups(records)
    missing = missing_duplicates(groups, out / "scan" / "pairs.jsonl")
    print(
        json.dumps(
            {
                "stories": len(records),
                "seconds": round(seconds, 1),
                "pairs": stats["pairs"],
                "relations": stats["relations"],
                "duplicate_groups": len(groups),
                "docs_in_groups": sum(len(g) for g in groups),
                "group_pairs_missing": len(missing),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
