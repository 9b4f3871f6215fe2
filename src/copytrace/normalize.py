"""Normalize and tokenize with offsets: the hot loop, compiled with numba.

A token is a maximal run of word characters (Unicode letters, digits, combining marks);
CJK ideographs, kana, hangul syllables and Thai letters are one token each (no spaces there).
Every token keeps ``(start, end)``: half-open ``str`` indices into the original text.

Normalization happens per code point through two lookup tables built once from
``unicodedata`` (NFKC, then case-fold; curly quotes and dashes are separators so their
style never matters), so the compiled loop never leaves machine code:

* ``CLASS[cp]``: 0 separator, 1 word char, 2 single-char token (CJK), 3 hyphen, 4 ignorable
  inside a word (soft hyphen, zero-width joiners);
* ``FOLD[cp, 0:3]``: the NFKC + case-folded form (up to three code points, 0 = none).

A word broken by a hyphen at a line end (``opposi-\\n tion``) is joined back into one token.
Token hashes are 64-bit FNV-1a over the folded code points, finished with splitmix64.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np

TABLE_SIZE = 0x10000

SEP, WORD, SINGLE, HYPHEN, IGNORABLE = 0, 1, 2, 3, 4

_SINGLE_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK Ext A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
)
_HYPHENS = "-\u2010\u2011"
_IGNORABLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(CLASS, FOLD) for the Basic Multilingual Plane: built once (about 60 ms) and kept beside
    the compiled kernels (``_tables_file``), so each worker process loads them in a millisecond;
    built again when this module or the Unicode database changes."""
    path = _tables_file()
    try:
        with np.load(path) as saved:
            return saved["cls"], saved["fold"]
    except Exception:  # noqa: BLE001  (missing, or damaged: a truncated zip raises its own errors)
        pass
    cls, fold = _build_tables()
    try:  # a read-only install only builds them each time
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, cls=cls, fold=fold)
        os.replace(tmp, path)
    except OSError:
        pass
    return cls, fold


def _tables_file() -> Path:
    """Where the tables are kept: named by the Unicode version and a digest of this module's
    source (which holds every input of the build)."""
    here = Path(__file__)
    digest = hashlib.sha1(here.read_bytes()).hexdigest()[:16]
    return here.parent / "__pycache__" / f"normalize-tables-{unicodedata.unidata_version}-{digest}.npz"


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    cls = np.zeros(TABLE_SIZE, dtype=np.uint8)
    fold = np.zeros((TABLE_SIZE, 3), dtype=np.uint32)
    for cp in range(TABLE_SIZE):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if ch in _IGNORABLE:
            cls[cp] = IGNORABLE
            continue
        if ch in _HYPHENS:
            cls[cp] = HYPHEN
            continue
        if ch.isalnum() or cat in ("Mn", "Mc"):
            cls[cp] = WORD
            for lo, hi in _SINGLE_RANGES:
                if lo <= cp <= hi:
                    cls[cp] = SINGLE
            norm = unicodedata.normalize("NFKC", ch).casefold()
            # keep only word characters of the expansion ("ﬁ" -> "fi", "ß" -> "ss", "½" -> "1", "2")
            kept = [c for c in norm if c.isalnum() or unicodedata.category(c) in ("Mn", "Mc")][:3]
            if not kept:
                kept = [ch]
            for k, c in enumerate(kept):
                fold[cp, k] = ord(c)
    return cls, fold


@lru_cache(maxsize=1)
def ascii_tables() -> tuple[np.ndarray, np.ndarray]:
    """(AFOLD, AKEEP) for code points below 128, derived from ``tables()`` so both paths agree:
    ``AFOLD[cp]`` is the folded code point of a word character (every ASCII word character folds
    to one code point) and 0 for anything else (separators and the hyphen); ``AKEEP[cp]`` is 1
    where a separator enters the separator hash (everything but space, tab, CR and LF)."""
    cls, fold = tables()
    afold = np.zeros(128, dtype=np.uint64)
    akeep = np.zeros(128, dtype=np.bool_)
    for cp in range(128):
        if cls[cp] == WORD:
            assert fold[cp, 0] != 0 and fold[cp, 1] == 0
            afold[cp] = fold[cp, 0]
        else:
            # no ASCII character is single-char or ignorable: the rest are separators or "-"
            assert cls[cp] in (SEP, HYPHEN)
            akeep[cp] = cp not in (32, 9, 10, 13)
    return afold, akeep


@numba.njit(cache=True, inline="always")
def _mix64(x: np.uint64) -> np.uint64:
    # splitmix64 finalizer (Steele, Lea & Flood 2014)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True)
def _classify(cp: np.uint32, cls_table: np.ndarray) -> int:
    if cp < 0x10000:
        return cls_table[cp]
    if 0x20000 <= cp <= 0x3FFFF:
        return SINGLE
    if 0x1F000 <= cp <= 0x1FAFF:  # emoji and pictographs are separators
        return SEP
    return WORD


@numba.njit(cache=True)
def _hyphen_break(cps: np.ndarray, p: int, end: int, cls_table: np.ndarray) -> int:
    """If cps[p] is a hyphen followed by spaces, one line break and spaces, then a word
    character, return the index of that word character; else -1."""
    q = p + 1
    while q < end and (cps[q] == 32 or cps[q] == 9):
        q += 1
    if q < end and cps[q] == 13:
        q += 1
    if q >= end or cps[q] != 10:
        return -1
    q += 1
    while q < end and (cps[q] == 32 or cps[q] == 9):
        q += 1
    if q < end and _classify(cps[q], cls_table) == WORD:
        return q
    return -1


@numba.njit(cache=True)
def _scan(
    cps: np.ndarray,
    bounds: np.ndarray,
    cls_table: np.ndarray,
    fold: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    seps: np.ndarray,
    counts: np.ndarray,
) -> int:
    """Tokenize documents cps[bounds[d]:bounds[d+1]] into the arrays while they have room (the
    first ``starts.shape[0]`` tokens); returns the count of all tokens and sets ``counts``."""
    total = 0
    cap = starts.shape[0]
    fnv_offset = np.uint64(0xCBF29CE484222325)
    fnv_prime = np.uint64(0x100000001B3)
    for d in range(bounds.shape[0] - 1):
        lo = bounds[d]
        end = bounds[d + 1]
        p = lo
        n_doc = 0
        sep = fnv_offset
        while p < end:
            cp = cps[p]
            c = _classify(cp, cls_table)
            if c == SEP or c == HYPHEN or c == IGNORABLE:
                if n_doc > 0 and not (cp == 32 or cp == 9 or cp == 10 or cp == 13 or cp == 0xA0):
                    sep = (sep ^ np.uint64(cp)) * fnv_prime
                p += 1
                continue
            if n_doc > 0 and total <= cap:
                seps[total - 1] = sep
            sep = fnv_offset
            start = p
            h = fnv_offset
            if c == SINGLE:
                cp = cps[p]
                h = (h ^ np.uint64(cp)) * fnv_prime
                p += 1
            else:
                while p < end:
                    cp = cps[p]
                    k = _classify(cp, cls_table)
                    if k == WORD:
                        if cp < 0x10000:
                            for j in range(3):
                                f = fold[cp, j]
                                if f == 0:
                                    break
                                h = (h ^ np.uint64(f)) * fnv_prime
                        else:
                            h = (h ^ np.uint64(cp)) * fnv_prime
                        p += 1
                    elif k == IGNORABLE:
                        p += 1
                    elif k == HYPHEN:
                        q = _hyphen_break(cps, p, end, cls_table)
                        if q < 0:
                            break
                        p = q
                    else:
                        break
            if total < cap:
                starts[total] = start - lo
                ends[total] = p - lo
                hashes[total] = _mix64(h)
            total += 1
            n_doc += 1
        counts[d] = n_doc
        if n_doc > 0 and total <= cap:
            seps[total - 1] = sep
    return total


@numba.njit(cache=True)
def _doc_ascii(
    cps: np.ndarray,
    lo: int,
    end: int,
    afold: np.ndarray,
    akeep: np.ndarray,
    cls_table: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    seps: np.ndarray,
    total: int,
) -> int:
    """``_scan``'s work on one ASCII-only document cps[lo:end] (``cps[end]`` is a 0 sentinel, a
    separator): every look-up in the 128-entry ``afold`` (word character -> its folded code
    point, else 0), no class table, no three-slot fold loop. The word loop needs no bound test
    (the sentinel ends it) and hashes the character it already read. Returns the new total."""
    cap = starts.shape[0]
    fnv_offset = np.uint64(0xCBF29CE484222325)
    fnv_prime = np.uint64(0x100000001B3)
    p = lo
    n_doc = 0
    # the separator hash before a document's first token is never stored (the first token
    # resets it), so it is kept without ``_scan``'s ``n_doc > 0`` test
    sep = fnv_offset
    while p < end:
        cp = cps[p]
        f = afold[cp]
        if f == 0:
            if akeep[cp]:
                sep = (sep ^ np.uint64(cp)) * fnv_prime
            p += 1
            continue
        if n_doc > 0 and total <= cap:
            seps[total - 1] = sep
        sep = fnv_offset
        start = p
        h = fnv_offset
        while True:  # f = afold[cps[p]] != 0 here
            h = (h ^ f) * fnv_prime
            p += 1
            cp = cps[p]
            f = afold[cp]
            if f == 0:
                if cp != 45:
                    break
                q = _hyphen_break(cps, p, end, cls_table)
                if q < 0:
                    break
                p = q
                f = afold[cps[p]]
        if total < cap:
            starts[total] = start - lo
            ends[total] = p - lo
            hashes[total] = _mix64(h)
        total += 1
        n_doc += 1
    if n_doc > 0 and total <= cap:
        seps[total - 1] = sep
    return total


@numba.njit(cache=True)
def _doc_general(
    cps: np.ndarray,
    lo: int,
    end: int,
    afold: np.ndarray,
    akeep: np.ndarray,
    cls_table: np.ndarray,
    fold: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    seps: np.ndarray,
    total: int,
) -> int:
    """``_scan``'s work on one document cps[lo:end] of any text (``cps[end]`` is a 0 sentinel),
    with the ASCII look-ups of ``_doc_ascii`` for code points below 128 (curly quotes and dashes
    in English text leave the rest ASCII). Returns the new total."""
    cap = starts.shape[0]
    fnv_offset = np.uint64(0xCBF29CE484222325)
    fnv_prime = np.uint64(0x100000001B3)
    p = lo
    n_doc = 0
    sep = fnv_offset
    while p < end:
        cp = np.uint32(cps[p])
        c = WORD
        if cp < 128:
            if afold[cp] == 0:
                if akeep[cp]:
                    sep = (sep ^ np.uint64(cp)) * fnv_prime
                p += 1
                continue
        else:
            c = _classify(cp, cls_table)
            if c == SEP or c == HYPHEN or c == IGNORABLE:
                if cp != 0xA0:
                    sep = (sep ^ np.uint64(cp)) * fnv_prime
                p += 1
                continue
        if n_doc > 0 and total <= cap:
            seps[total - 1] = sep
        sep = fnv_offset
        start = p
        h = fnv_offset
        if c == SINGLE:
            h = (h ^ np.uint64(cp)) * fnv_prime
            p += 1
        else:
            while True:  # the sentinel (a separator) ends the word at the latest
                cp = np.uint32(cps[p])
                if cp < 128:
                    f = afold[cp]
                    if f != 0:
                        h = (h ^ f) * fnv_prime
                        p += 1
                        continue
                    if cp != 45:
                        break
                    q = _hyphen_break(cps, p, end, cls_table)
                    if q < 0:
                        break
                    p = q
                    continue
                k = _classify(cp, cls_table)
                if k == WORD:
                    if cp < 0x10000:
                        for j in range(3):
                            f = np.uint64(fold[cp, j])
                            if f == 0:
                                break
                            h = (h ^ f) * fnv_prime
                    else:
                        h = (h ^ np.uint64(cp)) * fnv_prime
                    p += 1
                elif k == IGNORABLE:
                    p += 1
                elif k == HYPHEN:
                    q = _hyphen_break(cps, p, end, cls_table)
                    if q < 0:
                        break
                    p = q
                else:
                    break
        if total < cap:
            starts[total] = start - lo
            ends[total] = p - lo
            hashes[total] = _mix64(h)
        total += 1
        n_doc += 1
    if n_doc > 0 and total <= cap:
        seps[total - 1] = sep
    return total


@numba.njit(cache=True)
def _scan_fast(
    cps: np.ndarray,
    bounds: np.ndarray,
    afold: np.ndarray,
    akeep: np.ndarray,
    cls_table: np.ndarray,
    fold: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    seps: np.ndarray,
    counts: np.ndarray,
) -> int:
    """``_scan`` with an ASCII fast path, output for output the same. ``cps`` holds document d
    at ``bounds[d] + d`` followed by one 0 (``_sentinel_codepoints``). Compiled once for
    ``uint8`` buffers (an ASCII-only batch, one byte a character: every document goes
    ``_doc_ascii``) and once for ``uint32`` ones (UTF-32: a document goes ``_doc_ascii`` when
    none of its code points reaches 128, else ``_doc_general``)."""
    total = 0
    wide = cps.itemsize > 1
    for d in range(bounds.shape[0] - 1):
        lo = bounds[d] + d
        end = bounds[d + 1] + d
        ascii_doc = True
        if wide:
            m = np.uint32(0)
            for p in range(lo, end):  # an OR-reduction, vectorized
                m |= cps[p]
            ascii_doc = bool(m < 128)
        before = total
        if ascii_doc:
            total = _doc_ascii(cps, lo, end, afold, akeep, cls_table, starts, ends, hashes, seps, total)
        else:
            total = _doc_general(
                cps, lo, end, afold, akeep, cls_table, fold, starts, ends, hashes, seps, total
            )
        counts[d] = total - before
    return total


@dataclass(frozen=True, slots=True)
class Tokens:
    """Tokens of one document: offsets into the original text and 64-bit hashes of the normalized form."""

    starts: np.ndarray  # int32
    ends: np.ndarray  # int32
    hashes: np.ndarray  # uint64
    seps: np.ndarray  # uint64: hash of the non-space characters after each token (punctuation, quotes)

    def __len__(self) -> int:
        return int(self.starts.shape[0])


def _codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    return cps, bounds


def _sentinel_codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``_codepoints`` with a 0 after each text (text d starts at ``bounds[d] + d``): one byte a
    character for an ASCII-only batch (``uint8``: skips the four-times-larger UTF-32 encode;
    offsets stay character offsets as each character is one byte; ``str.isascii`` is O(1) in
    CPython), UTF-32 for a batch with any other character."""
    joined = "\0".join(texts) + "\0"
    if joined.isascii():
        cps = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    else:
        cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    return cps, bounds


def tokenize_batch(texts: list[str]) -> tuple[Tokens, np.ndarray]:
    """Tokens of a batch of texts concatenated (offsets relative to each text) and the token
    count of each text: one compiled pass into arrays sized for a token every three characters
    (a second pass with the exact size only where a batch has more, as CJK text may)."""
    return _tokenize_batch(texts, fast=True)


def _tokenize_batch(texts: list[str], fast: bool) -> tuple[Tokens, np.ndarray]:
    """``tokenize_batch`` by the ASCII fast path (``_scan_fast``) or, with ``fast=False``, by the
    general ``_scan`` alone: the reference the fast path is tested against."""
    cls_table, fold = tables()
    afold, akeep = ascii_tables()
    cps, bounds = _sentinel_codepoints(texts) if fast else _codepoints(texts)
    counts = np.zeros(len(texts), dtype=np.int64)
    cap = int(bounds[-1]) // 3 + len(texts) + 16
    for _ in range(2):
        starts = np.empty(cap, dtype=np.int32)
        ends = np.empty(cap, dtype=np.int32)
        hashes = np.empty(cap, dtype=np.uint64)
        seps = np.empty(cap, dtype=np.uint64)
        if fast:
            n = _scan_fast(cps, bounds, afold, akeep, cls_table, fold, starts, ends, hashes, seps, counts)
        else:
            n = _scan(cps, bounds, cls_table, fold, starts, ends, hashes, seps, counts)
        if n <= cap:
            break
        cap = n
    if n < cap:
        # the spare room is not kept alive by the tokens: each array shrinks in place (a realloc,
        # no copy; nothing else refers to these arrays, as ``refcheck=False`` assumes)
        for arr in (starts, ends, hashes, seps):
            arr.resize(n, refcheck=False)
    return Tokens(starts, ends, hashes, seps), counts


def tokenize_many(texts: list[str]) -> list[Tokens]:
    """Tokens of each text of a batch."""
    if not texts:
        return []
    tok, counts = tokenize_batch(texts)
    starts, ends, hashes, seps = tok.starts, tok.ends, tok.hashes, tok.seps
    out = []
    offset = 0
    for c in counts.tolist():
        sl = slice(offset, offset + c)
        out.append(Tokens(starts[sl], ends[sl], hashes[sl], seps[sl]))
        offset += c
    return out


def tokenize(text: str) -> Tokens:
    """Tokens of one text."""
    return tokenize_many([text])[0]


@lru_cache(maxsize=65536)
def normal_form(token_text: str) -> str:
    """The normalized string of one token's original text (NFKC, case-fold, line-break hyphens
    and ignorables removed). Used off the hot path, to read and classify edits."""
    norm = unicodedata.normalize("NFKC", token_text).casefold()
    if norm.isalnum():
        return norm
    return "".join(c for c in norm if c.isalnum() or unicodedata.category(c) in ("Mn", "Mc"))


@numba.njit(cache=True)
def _find_literals(
    cps: np.ndarray,
    lits: np.ndarray,
    bounds: np.ndarray,
    group: np.ndarray,
    pair: np.ndarray,
    i: int,
    out: np.ndarray,
) -> tuple[int, int]:
    """(start, end) rows, into ``out``, of the leftmost non-overlapping occurrences from ``cps[i]``
    on of the literals (code points ``lits[bounds[j]:bounds[j + 1]]``, ordered by first
    character; at each position the first that matches is taken; the literals starting with the
    code point ``c`` below 128 are ``[group[2 c], group[2 c + 1])``, an empty range when ``c``
    starts none; those starting with any other, ``[group[256], group[257])``, tried whole at each
    code point from 128 on; ``pair[128 c + d]`` is 0 when no literal starts with ``c`` and then
    ``d``, both below 128, so most capitals are passed at a look). Returns (rows written, where to
    go on: ``len(cps)`` when done, else the start of the occurrence ``out`` had no room for).
    ``out`` is never grown here: a kernel that grows its output array scanned three times
    slower."""
    n = cps.shape[0]
    cap = out.shape[0]
    m = 0
    after = i  # the end of the last occurrence: none starts before it
    for k in range(i, n):  # a counted loop: 13% faster than stepping over each occurrence
        c = int(cps[k])  # (int: uint8 arithmetic would wrap when the kernel runs interpreted)
        g = 2 * c if c < 128 else 256
        if group[g] == group[g + 1] or k < after:
            continue
        if c < 128 and k + 1 < n and cps[k + 1] < 128 and pair[128 * c + int(cps[k + 1])] == 0:
            continue
        t0 = 1 if c < 128 else 0  # (a group below 128 shares its first character)
        for j in range(group[g], group[g + 1]):
            lo, hi = bounds[j], bounds[j + 1]
            if k + hi - lo > n:
                continue
            t = t0
            while t < hi - lo and cps[k + t] == lits[lo + t]:
                t += 1
            if t == hi - lo:
                if m == cap:
                    return m, k
                out[m, 0] = k
                out[m, 1] = k + t
                m += 1
                after = k + t
                break
    return m, n


def _literal_spans(cps: np.ndarray, literals: tuple[str, ...]) -> np.ndarray:
    """(start, end) rows of ``_find_literals`` over all of ``cps``, into arrays of a size for
    one occurrence in 256 characters (names are rare), a further one twice as large
    each time they run out."""
    lits, bounds, group, pair = _literal_table(literals)
    parts = []
    i = 0
    size = cps.shape[0] // 256 + 16
    while True:
        out = np.empty((size, 2), dtype=np.int64)
        m, i = _find_literals(cps, lits, bounds, group, pair, i, out)
        parts.append(out[:m])
        size *= 2
        if i >= cps.shape[0]:
            return parts[0] if len(parts) == 1 else np.concatenate(parts)


@lru_cache(maxsize=8)
def _literal_table(literals: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not all(x and "\0" not in x for x in literals):
        raise ValueError("literals must be non-empty strings without a 0 character")
    # grouped by first character (any from 128 on as one, 128), each group in the given order:
    # only literals of one group can match at one position, so the first of its group that
    # matches is the first of all
    ordered = sorted(literals, key=lambda x: min(ord(x[0]), 128))  # (a stable sort)
    joined = "".join(ordered).encode("utf-32-le", "surrogatepass")
    lits = np.frombuffer(joined, dtype=np.uint32).copy()
    bounds = np.zeros(len(ordered) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in ordered], out=bounds[1:])
    group = np.zeros(258, dtype=np.int64)  # [start, end) of each first character's literals
    for j, x in enumerate(ordered):
        c = min(ord(x[0]), 128)
        if group[2 * c] == group[2 * c + 1]:
            group[2 * c] = j
        group[2 * c + 1] = j + 1
    pair = np.zeros(128 * 128, dtype=np.uint8)  # 1 where a literal starts with these two
    for x in ordered:
        if ord(x[0]) < 128:
            if len(x) == 1:
                pair[128 * ord(x) : 128 * ord(x) + 128] = 1
            elif ord(x[1]) < 128:
                pair[128 * ord(x[0]) + ord(x[1])] = 1
    return lits, bounds, group, pair


def find_literals(text: str, literals: tuple[str, ...]) -> list[tuple[int, int]]:
    """Character spans of what ``re.finditer("|".join(map(re.escape, literals)), text)`` matches
    (leftmost, non-overlapping, the first literal in order that matches at a position), found
    by one compiled scan: the regular expression engine tries the alternation at every
    character, twice as slow over a news text. Literals hold no 0 character."""
    if text.isascii():
        cps = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    else:
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return [(a, b) for a, b in _literal_spans(cps, literals).tolist()]


def find_literals_many(texts: list[str], literals: tuple[str, ...]) -> list[list[tuple[int, int]]]:
    """``find_literals`` of each text of a batch, by one compiled scan of the texts joined with a
    0 between them (``_sentinel_codepoints``): no literal holds a 0, so none spans two texts and
    each text is scanned as it is alone. Spans are offsets into their own text."""
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    if not texts:
        return out
    cps, ends = _sentinel_codepoints(texts)
    spans = _literal_spans(cps, literals)
    if spans.shape[0] == 0:
        return out
    first = ends[:-1] + np.arange(len(texts), dtype=np.int64)  # where each text starts in ``cps``
    doc = np.searchsorted(first, spans[:, 0], side="right") - 1
    local = spans - first[doc][:, None]
    for d, a, b in zip(doc.tolist(), local[:, 0].tolist(), local[:, 1].tolist(), strict=True):
        out[d].append((a, b))
    return out
