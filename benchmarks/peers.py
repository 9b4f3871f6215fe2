#!/usr/bin/env python3
"""Run a MinHash-LSH peer over a corpus made by make_corpus.py and write the pairs it reports.

    .venv/bin/python benchmarks/peers.py rensa benchmarks/.work/c10000_s1 --out OUT --processes 2
    .venv/bin/python benchmarks/peers.py datasketch benchmarks/.work/c10000_s1 --out OUT

Both peers get the same settings: word 5-gram shingles as defined in the shared common.py,
128 permutations, LSH threshold 0.5. Sketching (read, shingle, MinHash) runs in a pool of
--processes workers over byte ranges of the corpus; banding, estimates and writing run in the
parent.

Writes into --out:
    pairs.jsonl      {"a", "b"}          every LSH candidate pair (what the tool reports)
    pairs_est.jsonl  {"a", "b", "est"}   candidates whose estimated Jaccard is >= --threshold
    stats.json       parameters, counts, seconds per stage
`a` precedes `b` in input order (corpus.jsonl line order).

Banding: datasketch derives (bands, rows) from the threshold by minimising the mean of the
false-positive and false-negative areas. rensa needs bands to divide num_perm, so it gets the
divisor pair that minimises the same quantity (32 bands x 4 rows for 128 permutations at 0.5;
datasketch picks 25 x 5 and uses 125 of the 128 values).

Each peer runs as fast as its library allows for the same work (chosen by interleaved runs
against the previous harness; figures in BENCHMARKS.md). By default the library hashes the
shingles itself and its own sketches are the ones banded (what a user of the library gets);
`--token-hashes` hands it hashes made by compiled code of ours instead, which measures our
shingle hashing more than the library:

- `--token-hashes`: `shingle_hashes` hashes every shingle of common.py in one compiled
  pass over the batch's words (`shingle_hash`: each word FNV-1a 64 then MurmurHash3's fmix64,
  the n word hashes chained through fmix64), and the libraries' pre-hashed entry points take
  them: rensa's `RMinHash.digest_matrix_from_flat_token_hashes`, datasketch's `MinHash.bulk`
  with the low 32 bits and `hashfunc=int` (its default sha1_hash32 is 32 bits too). The
  shingle sets are those of common.py (`--verify-shingles` checks every document, and every
  hash against a plain-Python `shingle_hash`); only the function mapping a shingle to an integer
  differs from the libraries' own (rensa: rustc FxHash of the bytes; datasketch: sha1), which
  moves a few borderline pairs like another seed would (10k corpus: rensa 2,799 pairs instead of
  2,787, recall J>=0.5 0.995 both ways; BENCHMARKS.md). Building one Python string per shingle
  for the libraries to hash was 70% of the workers' time: at 100k this path takes 0.16x the
  previous harness's CPU, the exact-token path below 0.37x.
- Exact tokens (default): `shingle_tokens` gives the shingles as UTF-8 bytes, hashed by the
  library (rensa `digest_matrix_from_token_byte_sets`: rensa hashes a `str` token by its UTF-8
  bytes, so these are the sketches of `from_token_sets` on the strings; datasketch `MinHash.bulk`
  with sha1). Pairs byte-identical to the previous harness on the 10k and 100k corpora.
- Words, both paths: an ASCII text is lower-cased and split on non-word bytes by one
  `bytes.translate` (in ASCII, Python's `\\w` is exactly [A-Za-z0-9_] and `str.lower` only maps
  A-Z), any other text goes through common.py's `words`. Repeated shingles are passed as they
  come (a MinHash is a minimum over its tokens) instead of building a set.
- Workers read 4 MiB byte ranges of the corpus themselves and return the sketches as uint32
  numpy arrays; pickling one `RMinHash` / `LeanMinHash` object a document back to the parent
  cost more than rensa's hashing itself.
- LSH: both libraries' indexes key a band by its values (datasketch: the band's bytes; rensa: a
  64-bit FxHash of them) and report the keys sharing any band key. `band_pairs` does that on the
  sketch matrix with a sort per band: the same pairs (rensa could only add one by a 64-bit hash
  collision), 2.5x faster than rensa's `insert_many` + `query_all` at 10k, and no sketch
  objects in the parent (`query_all` takes `RMinHash` objects only; datasketch's index queries
  one sketch at a time in Python).
- Estimates: equal values / num_perm over the sketch rows, as both libraries' `jaccard`.
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

import numba
import numpy as np
from benchlib import use_shared_common, write_json_atomic, write_jsonl_atomic

try:  # orjson parses the same JSON into the same strings, faster
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover
    json_loads = json.loads

use_shared_common()
from common import NGRAM, shingles, words  # noqa: E402  (shared: words = \w+ lowercased, 5-grams)

BATCH_BYTES = 4 << 20  # ~1,400 documents of the synthetic corpus
ESTIMATE_CHUNK = 1 << 16

# ASCII bytes -> the lower-cased byte for [A-Za-z0-9_] (what `\w` matches in ASCII text), else space
ASCII_WORDS = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95) else 32 for c in range(256)
)


def shingle_tokens(text: str) -> list[bytes]:
    """common.shingles(text) as UTF-8 bytes, as a list (repeats kept: a MinHash ignores them)."""
    if text.isascii():
        ws = text.encode("ascii").translate(ASCII_WORDS).split()
    else:
        ws = [w.encode("utf-8") for w in words(text)]
    if len(ws) < NGRAM:
        return [b" ".join(ws)] if ws else []
    return list(map(b" ".join, zip(*(ws[k:] for k in range(NGRAM)), strict=False)))


FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3  # FNV-1a 64 (Fowler, Noll, Vo)
FMIX_1, FMIX_2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53  # MurmurHash3's 64-bit finaliser
MASK64 = (1 << 64) - 1
SPACE = 32


@numba.njit(cache=True, inline="always")
def _fmix64(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX_1)
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX_2)
    h ^= h >> np.uint64(33)
    return h


@numba.njit(cache=True)
def _shingle_hashes(buf: np.ndarray, ends: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes of every document's word n-grams (the `shingle_hash` of each, in text order)
    and each document's [start, end) into them. `buf` holds the documents' words separated by
    spaces (any number), each document ending with a space at ends[d] - 1."""
    out = np.empty(len(buf) // 2 + len(ends), dtype=np.uint64)
    offsets = np.zeros(len(ends) + 1, dtype=np.uint64)
    ring = np.zeros(n, dtype=np.uint64)  # the hashes of the last n words
    k = 0
    start = 0
    for d in range(len(ends)):
        count = 0
        h = np.uint64(0)
        in_word = False
        for i in range(start, ends[d]):
            c = buf[i]
            if c != SPACE:
                if not in_word:
                    h = np.uint64(FNV_OFFSET)
                    in_word = True
                h = (h ^ np.uint64(c)) * np.uint64(FNV_PRIME)
            elif in_word:
                in_word = False
                ring[count % n] = _fmix64(h)
                count += 1
                if count >= n:
                    s = np.uint64(n)
                    for j in range(count - n, count):
                        s = _fmix64(s ^ ring[j % n])
                    out[k] = s
                    k += 1
        if 0 < count < n:  # common.py: a document of fewer words is one shingle of all of them
            s = np.uint64(count)
            for j in range(count):
                s = _fmix64(s ^ ring[j])
            out[k] = s
            k += 1
        offsets[d + 1] = k
        start = ends[d]
    return out[:k], offsets


def shingle_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, offsets): the `shingle_hash` of every shingle of common.py's `shingles` of each
    text, text d's at hashes[offsets[d]:offsets[d + 1]] (uint64; repeats kept)."""
    parts = [
        t.encode("ascii").translate(ASCII_WORDS) if t.isascii() else " ".join(words(t)).encode("utf-8")
        for t in texts
    ]
    ends = np.cumsum(np.fromiter((len(p) + 1 for p in parts), dtype=np.int64, count=len(parts)))
    buf = np.frombuffer(b" ".join(parts) + b" ", dtype=np.uint8)
    return _shingle_hashes(buf, ends, NGRAM)


def _fmix64_py(h: int) -> int:
    h ^= h >> 33
    h = (h * FMIX_1) & MASK64
    h ^= h >> 33
    h = (h * FMIX_2) & MASK64
    return h ^ (h >> 33)


def shingle_hash(shingle: bytes, word_hashes: dict[bytes, int] | None = None) -> int:
    """The 64-bit token hash of one shingle (its words' UTF-8 bytes joined by spaces): each word
    FNV-1a 64 then fmix64, chained through fmix64 from the word count. Reference for
    `_shingle_hashes` (--verify-shingles); `word_hashes` caches the words' hashes."""
    ws = shingle.split(b" ")
    s = len(ws)
    for w in ws:
        wh = word_hashes.get(w) if word_hashes is not None else None
        if wh is None:
            h = FNV_OFFSET
            for c in w:
                h = ((h ^ c) * FNV_PRIME) & MASK64
            wh = _fmix64_py(h)
            if word_hashes is not None:
                word_hashes[w] = wh
        s = _fmix64_py(s ^ wh)
    return s


class Peer(Protocol):
    name: str
    threshold: float
    num_perm: int
    exact_tokens: bool

    def sketch(self, texts: list[str]) -> np.ndarray: ...

    def bands_rows(self) -> tuple[int, int]: ...

    def params(self) -> dict[str, Any]: ...


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


MIX = np.uint64(0xFF51AFD7ED558CCD)  # MurmurHash3's fmix64 multiplier


def band_pairs(digests: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Pairs (i, j), i < j, of rows equal on all `rows` values of at least one band: shape
    (pairs, 2), sorted. What an LSH index that buckets each band by its values reports.

    Per band: a 64-bit key of the band's values, one sort, every pair inside a run of equal
    keys, kept when the band's values are equal (a key collision adds no pair)."""
    n = len(digests)
    codes = [np.empty(0, dtype=np.int64)]
    for band in range(bands):
        block = np.ascontiguousarray(digests[:, band * rows : (band + 1) * rows])
        key = np.zeros(n, dtype=np.uint64)
        for col in range(rows):
            key = (key ^ block[:, col]) * MIX
            key ^= key >> np.uint64(29)
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        sizes = np.diff(np.r_[starts, n])
        starts, sizes = starts[sizes > 1], sizes[sizes > 1]
        if not len(starts):
            continue
        # every position of a shared run, and how many later positions share it
        pos = np.repeat(starts, sizes) + (np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes))
        later = np.repeat(starts + sizes, sizes) - pos - 1
        left = np.repeat(pos, later)
        right = left + 1 + (np.arange(later.sum()) - np.repeat(np.cumsum(later) - later, later))
        a, b = order[left], order[right]
        equal = (block[a] == block[b]).all(axis=1)
        a, b = a[equal], b[equal]
        codes.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
    unique = np.unique(np.concatenate(codes))
    return np.stack([unique // n, unique % n], axis=1) if n else np.empty((0, 2), dtype=np.int64)


def estimates(digests: np.ndarray, pairs: np.ndarray, num_perm: int) -> np.ndarray:
    """Share of equal sketch values of each pair (what rensa's and datasketch's jaccard return)."""
    out = np.empty(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), ESTIMATE_CHUNK):
        chunk = pairs[lo : lo + ESTIMATE_CHUNK]
        equal = np.count_nonzero(digests[chunk[:, 0]] == digests[chunk[:, 1]], axis=1)
        out[lo : lo + len(chunk)] = equal / num_perm
    return out


class RensaPeer:
    """rensa: `RMinHash.digest_matrix_from_flat_token_hashes` on `shingle_hashes`
    (`digest_matrix_from_token_byte_sets` on `shingle_tokens` with --exact-tokens), banded as
    `RMinHashLSH` bands."""

    name = "rensa"

    def __init__(
        self, num_perm: int, threshold: float, seed: int, num_bands: int | None, exact_tokens: bool
    ) -> None:
        self.num_perm = num_perm
        self.threshold = threshold
        self.seed = seed
        self.exact_tokens = exact_tokens
        if num_bands is None:
            num_bands, _ = divisor_bands(num_perm, threshold)
        if num_perm % num_bands:
            raise SystemExit(f"--num-bands must divide --num-perm ({num_perm}), got {num_bands}")
        self.num_bands = num_bands

    def sketch(self, texts: list[str]) -> np.ndarray:
        from rensa import RMinHash

        if self.exact_tokens:
            matrix = RMinHash.digest_matrix_from_token_byte_sets(
                [shingle_tokens(t) for t in texts], self.num_perm, self.seed
            )
        else:
            hashes, offsets = shingle_hashes(texts)
            matrix = RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, self.num_perm, self.seed)
        return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(texts), self.num_perm)

    def bands_rows(self) -> tuple[int, int]:
        return self.num_bands, self.num_perm // self.num_bands

    def params(self) -> dict[str, Any]:
        return {
            "num_perm": self.num_perm,
            "threshold": self.threshold,
            "seed": self.seed,
            "bands": self.num_bands,
            "rows": self.num_perm // self.num_bands,
            "tokens": TOKENS[self.exact_tokens],
            "version": metadata.version("rensa"),
        }


class DatasketchPeer:
    """datasketch: `MinHash.bulk` on `shingle_hashes` (on `shingle_tokens` with its default sha1
    hash with --exact-tokens), banded as `MinHashLSH` derives its bands."""

    name = "datasketch"

    def __init__(self, num_perm: int, threshold: float, seed: int, exact_tokens: bool) -> None:
        self.num_perm = num_perm
        self.threshold = threshold
        self.seed = seed
        self.exact_tokens = exact_tokens

    def sketch(self, texts: list[str]) -> np.ndarray:
        from datasketch import MinHash

        if self.exact_tokens:
            tokens: list[list[Any]] = [shingle_tokens(t) for t in texts]
            sketches = MinHash.bulk(tokens, num_perm=self.num_perm, seed=self.seed)
        else:  # 32-bit token hashes, as its default sha1_hash32 gives
            hashes, offsets = shingle_hashes(texts)
            low = (hashes & np.uint64(0xFFFFFFFF)).tolist()
            bounds = offsets.tolist()
            tokens = [low[bounds[d] : bounds[d + 1]] for d in range(len(texts))]
            sketches = MinHash.bulk(tokens, num_perm=self.num_perm, seed=self.seed, hashfunc=int)
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)  # values are masked to 32 bits
        for row, m in enumerate(sketches):
            out[row] = m.hashvalues
        return out

    def bands_rows(self) -> tuple[int, int]:
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        return lsh.b, lsh.r

    def params(self) -> dict[str, Any]:
        bands, rows = self.bands_rows()
        return {
            "num_perm": self.num_perm,
            "threshold": self.threshold,
            "seed": self.seed,
            "bands": bands,
            "rows": rows,
            "tokens": TOKENS[self.exact_tokens],
            "version": metadata.version("datasketch"),
        }


PEERS = ("rensa", "datasketch")
TOKENS = {False: "shingle_hash", True: "shingle bytes, the library's own hash"}


def make_peer(
    name: str, num_perm: int, threshold: float, seed: int, num_bands: int | None, exact_tokens: bool = False
) -> Peer:
    if name == "rensa":
        return RensaPeer(num_perm, threshold, seed, num_bands, exact_tokens)
    if name == "datasketch":
        if num_bands is not None:
            raise SystemExit("--num-bands applies to rensa only (datasketch derives it from --threshold)")
        return DatasketchPeer(num_perm, threshold, seed, exact_tokens)
    raise SystemExit(f"unknown peer {name!r}; valid peers: {', '.join(PEERS)}")


def byte_ranges(path: Path, size: int) -> Iterator[tuple[int, int]]:
    """[start, end) byte ranges of whole lines, about `size` bytes each, in file order."""
    total = path.stat().st_size
    with open(path, "rb") as fh:
        start = 0
        while start < total:
            fh.seek(min(start + size, total))
            fh.readline()
            end = min(fh.tell(), total)
            yield start, end
            start = end


class ShingleMismatch(ValueError):
    """--verify-shingles found a document whose shingles differ from common.py's."""


class RangeSketcher:
    """Picklable worker task: read a byte range, parse its records, sketch their texts."""

    def __init__(self, peer: Peer, path: Path, verify: bool) -> None:
        self.peer, self.path, self.verify = peer, path, verify

    def __call__(self, span: tuple[int, int]) -> tuple[list[str], np.ndarray]:
        with open(self.path, "rb") as fh:
            fh.seek(span[0])
            data = fh.read(span[1] - span[0])
        ids: list[str] = []
        texts: list[str] = []
        for line in data.split(b"\n"):
            if line.strip():
                rec = json_loads(line)
                ids.append(str(rec["id"]))
                texts.append(rec["text"])
        if self.verify:
            self.check(ids, texts)
        return ids, self.peer.sketch(texts)

    def check(self, ids: list[str], texts: list[str]) -> None:
        hashes, offsets = shingle_hashes(texts)
        cache: dict[bytes, int] = {}
        for d, (doc_id, text) in enumerate(zip(ids, texts, strict=True)):
            tokens = shingle_tokens(text)
            if {t.decode("utf-8") for t in tokens} != shingles(text):
                raise ShingleMismatch(f"{self.path}: record {doc_id}: shingle_tokens differs from common.py")
            if hashes[offsets[d] : offsets[d + 1]].tolist() != [shingle_hash(t, cache) for t in tokens]:
                raise ShingleMismatch(
                    f"{self.path}: record {doc_id}: shingle_hashes differs from shingle_hash"
                )


def bounded_map(
    fn: Callable[[tuple[int, int]], tuple[list[str], np.ndarray]],
    tasks: Iterable[tuple[int, int]],
    processes: int,
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Ordered map over tasks with at most 2 * processes tasks in flight (bounded memory)."""
    if processes <= 1:
        yield from map(fn, tasks)
        return
    with mp.get_context("fork").Pool(processes) as pool:
        pending: deque[Any] = deque()
        for task in tasks:
            pending.append(pool.apply_async(fn, (task,)))
            if len(pending) >= 2 * processes:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def run(peer: Peer, corpus: Path, out: Path, processes: int, verify: bool = False) -> dict[str, Any]:
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    ids: list[str] = []
    blocks: list[np.ndarray] = []
    sketcher = RangeSketcher(peer, corpus, verify)
    if not peer.exact_tokens or verify:
        shingle_hashes(["compile"])  # load the kernel before the workers fork
    for batch_ids, block in bounded_map(sketcher, byte_ranges(corpus, BATCH_BYTES), processes):
        ids.extend(batch_ids)
        blocks.append(block)
    digests = np.concatenate(blocks) if blocks else np.empty((0, peer.num_perm), dtype=np.uint32)
    stages["sketch"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    pairs = band_pairs(digests, *peer.bands_rows())
    stages["lsh"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    est = estimates(digests, pairs, peer.num_perm)
    kept = np.flatnonzero(est >= peer.threshold)
    stages["estimate"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    pair_list = pairs.tolist()
    est_list = est.tolist()
    write_jsonl_atomic(out / "pairs.jsonl", ({"a": ids[i], "b": ids[j]} for i, j in pair_list))
    write_jsonl_atomic(
        out / "pairs_est.jsonl",
        (
            {"a": ids[pair_list[k][0]], "b": ids[pair_list[k][1]], "est": round(est_list[k], 6)}
            for k in kept.tolist()
        ),
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
    ap.add_argument("--processes", type=int, default=2, help="sketching processes (default 2)")
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1, help="sketch seed")
    ap.add_argument("--num-bands", type=int, default=None, help="rensa only; default: derived from threshold")
    ap.add_argument(
        "--verify-shingles",
        action="store_true",
        help="check every document's shingles against common.py's shingles(), and their token hashes "
        "against shingle_hash() (slow; exit 2 on a difference)",
    )
    ap.add_argument(
        "--token-hashes",
        action="store_true",
        help="hand the libraries shingle_hash values (our compiled shingle hashing; faster) instead of the "
        "shingles as bytes for their own token hash (the default: the sketches of their string APIs)",
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    corpus = args.corpus / "corpus.jsonl" if args.corpus.is_dir() else args.corpus
    if not corpus.is_file():
        raise SystemExit(f"corpus file not found: {corpus}")
    exact = not args.token_hashes
    peer = make_peer(args.peer, args.num_perm, args.threshold, args.seed, args.num_bands, exact)
    try:
        stats = run(peer, corpus, args.out, max(1, args.processes), args.verify_shingles)
    except ShingleMismatch as exc:
        print(exc, file=sys.stderr)
        return 2
    if not args.quiet:
        print(json.dumps(stats, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
