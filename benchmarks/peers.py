#!/usr/bin/env python3
"""Run a MinHash-LSH peer over a corpus made by make_corpus.py and write the pairs it reports.

    .venv/bin/python benchmarks/peers.py rensa benchmarks/.work/c10000_s1 --out OUT --processes 2
    .venv/bin/python benchmarks/peers.py datasketch benchmarks/.work/c10000_s1 --out OUT

Both peers get the same settings: word 5-gram shingles as defined in the shared common.py,
128 permutations, LSH threshold 0.5. Hashing (read, shingle, sketch) runs in a pool of
--processes workers over batches of input lines; LSH insert and query run in the parent.

Writes into --out:
    pairs.jsonl      {"a", "b"}          every LSH candidate pair (what the tool reports)
    pairs_est.jsonl  {"a", "b", "est"}   candidates whose estimated Jaccard is >= --threshold
    stats.json       parameters, counts, seconds per stage
`a` precedes `b` in input order (corpus.jsonl line order).

Banding: datasketch derives (bands, rows) from the threshold by minimising the mean of the
false-positive and false-negative areas. rensa needs bands to divide num_perm, so it gets the
divisor pair that minimises the same quantity (32 bands x 4 rows for 128 permutations at 0.5;
datasketch picks 25 x 5 and uses 125 of the 128 values).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from benchlib import use_shared_common, write_json_atomic, write_jsonl_atomic

use_shared_common()
from common import shingles  # noqa: E402  (shared definition: words = \w+ lowercased, 5-grams)

BATCH_LINES = 1000


class Peer(Protocol):
    name: str
    threshold: float

    def sketch_batch(self, lines: list[str]) -> tuple[list[str], list[Any]]: ...

    def candidates(self, sketches: list[Any]) -> list[tuple[int, int]]: ...

    def estimate(self, sketches: list[Any], i: int, j: int) -> float: ...

    def params(self) -> dict[str, Any]: ...


def _ids_and_shingles(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    ids: list[str] = []
    sets: list[list[str]] = []
    for line in lines:
        rec = json.loads(line)
        ids.append(str(rec["id"]))
        sets.append(list(shingles(rec["text"])))
    return ids, sets


def lsh_error(bands: int, rows: int, threshold: float, points: int = 2001) -> float:
    """Mean of the false-positive area below and the false-negative area above the threshold."""
    s_lo = np.linspace(0.0, threshold, points)
    s_hi = np.linspace(threshold, 1.0, points)
    fp = np.trapezoid(1.0 - (1.0 - s_lo**rows) ** bands, s_lo)
    fn = np.trapezoid((1.0 - s_hi**rows) ** bands, s_hi)
    return float(0.5 * fp + 0.5 * fn)


def divisor_bands(num_perm: int, threshold: float) -> tuple[int, int]:
    """(bands, rows) with bands * rows == num_perm minimising lsh_error."""
    options = [(b, num_perm // b) for b in range(1, num_perm + 1) if num_perm % b == 0]
    return min(options, key=lambda br: lsh_error(br[0], br[1], threshold))


def _pairs_from_lists(neighbours: Iterable[Iterable[int]]) -> list[tuple[int, int]]:
    pairs = {(i, j) for i, found in enumerate(neighbours) for j in found if j > i}
    return sorted(pairs)


class RensaPeer:
    """rensa: RMinHash sketches, RMinHashLSH index (insert_many + query_all)."""

    name = "rensa"

    def __init__(self, num_perm: int, threshold: float, seed: int, num_bands: int | None) -> None:
        self.num_perm = num_perm
        self.threshold = threshold
        self.seed = seed
        if num_bands is None:
            num_bands, _ = divisor_bands(num_perm, threshold)
        if num_perm % num_bands:
            raise SystemExit(f"--num-bands must divide --num-perm ({num_perm}), got {num_bands}")
        self.num_bands = num_bands

    def sketch_batch(self, lines: list[str]) -> tuple[list[str], list[Any]]:
        from rensa import RMinHash

        ids, sets = _ids_and_shingles(lines)
        return ids, list(RMinHash.from_token_sets(sets, self.num_perm, self.seed))

    def candidates(self, sketches: list[Any]) -> list[tuple[int, int]]:
        from rensa import RMinHashLSH

        lsh = RMinHashLSH(threshold=self.threshold, num_perm=self.num_perm, num_bands=self.num_bands)
        lsh.insert_many(sketches, start_key=0)
        return _pairs_from_lists(lsh.query_all(sketches))

    def estimate(self, sketches: list[Any], i: int, j: int) -> float:
        return float(sketches[i].jaccard(sketches[j]))

    def params(self) -> dict[str, Any]:
        return {
            "num_perm": self.num_perm,
            "threshold": self.threshold,
            "seed": self.seed,
            "bands": self.num_bands,
            "rows": self.num_perm // self.num_bands,
            "version": metadata.version("rensa"),
        }


class DatasketchPeer:
    """datasketch: MinHash.bulk sketches kept as LeanMinHash, MinHashLSH with an insertion session."""

    name = "datasketch"

    def __init__(self, num_perm: int, threshold: float, seed: int) -> None:
        self.num_perm = num_perm
        self.threshold = threshold
        self.seed = seed

    def sketch_batch(self, lines: list[str]) -> tuple[list[str], list[Any]]:
        from datasketch import LeanMinHash, MinHash

        ids, sets = _ids_and_shingles(lines)
        encoded = [[s.encode("utf-8") for s in shingle_set] for shingle_set in sets]
        full = MinHash.bulk(encoded, num_perm=self.num_perm, seed=self.seed)
        return ids, [LeanMinHash(m) for m in full]

    def _lsh(self) -> Any:
        from datasketch import MinHashLSH

        return MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)

    def candidates(self, sketches: list[Any]) -> list[tuple[int, int]]:
        lsh = self._lsh()
        with lsh.insertion_session() as session:
            for key, m in enumerate(sketches):
                session.insert(key, m, check_duplication=False)
        return _pairs_from_lists(lsh.query(m) for m in sketches)

    def estimate(self, sketches: list[Any], i: int, j: int) -> float:
        return float(sketches[i].jaccard(sketches[j]))

    def params(self) -> dict[str, Any]:
        lsh = self._lsh()
        return {
            "num_perm": self.num_perm,
            "threshold": self.threshold,
            "seed": self.seed,
            "bands": lsh.b,
            "rows": lsh.r,
            "version": metadata.version("datasketch"),
        }


PEERS = ("rensa", "datasketch")


def make_peer(name: str, num_perm: int, threshold: float, seed: int, num_bands: int | None) -> Peer:
    if name == "rensa":
        return RensaPeer(num_perm, threshold, seed, num_bands)
    if name == "datasketch":
        if num_bands is not None:
            raise SystemExit("--num-bands applies to rensa only (datasketch derives it from --threshold)")
        return DatasketchPeer(num_perm, threshold, seed)
    raise SystemExit(f"unknown peer {name!r}; valid peers: {', '.join(PEERS)}")


def line_batches(path: Path, size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                batch.append(line)
                if len(batch) == size:
                    yield batch
                    batch = []
    if batch:
        yield batch


def bounded_map(
    fn: Callable[[list[str]], tuple[list[str], list[Any]]],
    batches: Iterable[list[str]],
    processes: int,
) -> Iterator[tuple[list[str], list[Any]]]:
    """Ordered map over batches with at most 2 * processes batches in flight (bounded memory)."""
    if processes <= 1:
        yield from map(fn, batches)
        return
    with mp.get_context("fork").Pool(processes) as pool:
        pending: deque[Any] = deque()
        for batch in batches:
            pending.append(pool.apply_async(fn, (batch,)))
            if len(pending) >= 2 * processes:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def run(peer: Peer, corpus: Path, out: Path, processes: int) -> dict[str, Any]:
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    ids: list[str] = []
    sketches: list[Any] = []
    for batch_ids, batch_sketches in bounded_map(
        peer.sketch_batch, line_batches(corpus, BATCH_LINES), processes
    ):
        ids.extend(batch_ids)
        sketches.extend(batch_sketches)
    stages["sketch"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    pairs = peer.candidates(sketches)
    stages["lsh"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    scored = [(i, j, peer.estimate(sketches, i, j)) for i, j in pairs]
    kept = [(i, j, est) for i, j, est in scored if est >= peer.threshold]
    stages["estimate"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(out / "pairs.jsonl", ({"a": ids[i], "b": ids[j]} for i, j in pairs))
    write_jsonl_atomic(
        out / "pairs_est.jsonl", ({"a": ids[i], "b": ids[j], "est": round(e, 6)} for i, j, e in kept)
    )
    stages["write"] = time.perf_counter() - t3

    stats = {
        "peer": peer.name,
        "corpus": str(corpus),
        "processes": processes,
        "params": peer.params(),
        "docs": len(ids),
        "candidate_pairs": len(pairs),
        "est_pairs": len(kept),
        "stages": stages,
        "total_s": time.perf_counter() - t0,
    }
    write_json_atomic(out / "stats.json", stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", choices=PEERS)
    ap.add_argument("corpus", type=Path, help="corpus dir from make_corpus.py, or its corpus.jsonl")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--processes", type=int, default=2, help="hashing processes (default 2)")
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1, help="sketch seed")
    ap.add_argument("--num-bands", type=int, default=None, help="rensa only; default: derived from threshold")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    corpus = args.corpus / "corpus.jsonl" if args.corpus.is_dir() else args.corpus
    if not corpus.is_file():
        raise SystemExit(f"corpus file not found: {corpus}")
    peer = make_peer(args.peer, args.num_perm, args.threshold, args.seed, args.num_bands)
    stats = run(peer, corpus, args.out, max(1, args.processes))
    if not args.quiet:
        print(json.dumps(stats, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
