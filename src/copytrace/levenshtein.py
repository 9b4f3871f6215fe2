"""Word-level Levenshtein alignment, compiled: the equal runs of an optimal alignment.

Diagonal transition (Ukkonen 1985, "Algorithms for approximate string matching"; Landau &
Vishkin 1989; Myers 1986 gives the insert/delete form): for e = 0, 1, 2, ... edits, the
furthest row reached on each diagonal ``k = j - i`` with ``e`` edits, each step followed by a
slide along equal words. Time O((n + m) d) and memory O(d^2) for the traceback, ``d`` the
distance: two copies of a story a dozen edits apart cost a few microseconds, where a full
table costs n * m.

The alignment returned is one of the optimal ones, chosen deterministically: at each step the
furthest-reaching predecessor wins, and on a tie a deletion before an insertion before a
substitution (so of equally cheap alignments, those matching more words: ``Defense Ministry`` ->
``Ministry of Defense`` keeps ``Ministry`` matched); slides take equal words as early as they come. Only the equal runs are returned:
what lies between two runs is one region of substitutions and insertions or deletions, which is
all the edit explanation reads (``explain``).
"""

from __future__ import annotations

import numba
import numpy as np

# the traceback table holds (d + 1)^2 entries: past this many (d about 2,000 edits, 32 MB) the
# caller aligns another way (``align._refine`` falls back to RapidFuzz's Hirschberg alignment)
MAX_CELLS = 1 << 22


@numba.njit(cache=True)
def _middle(x: np.ndarray, y: np.ndarray, p: int, n: int, m: int, max_cells: int) -> np.ndarray:
    """Equal runs (i1, i2, j1, j2), relative to ``p``, of an optimal alignment of
    ``x[p:p + n]`` and ``y[p:p + m]`` (both non-empty); a (1, 4) array of -1 past ``max_cells``."""
    target = m - n
    table = np.empty(64, dtype=np.int64)  # level e's diagonals -e..e at [e * e, e * e + 2 e + 1)
    i = 0
    while i < n and i < m and x[p + i] == y[p + i]:
        i += 1
    table[0] = i
    e = 0
    done = target == 0 and i >= n
    while not done:
        e += 1
        need = (e + 1) * (e + 1)
        if need > max_cells:
            return np.full((1, 4), -1, dtype=np.int64)
        if need > table.shape[0]:
            grown = np.empty(max(need, 2 * table.shape[0]), dtype=np.int64)
            grown[: e * e] = table[: e * e]
            table = grown
        base, prev = e * e + e, (e - 1) * (e - 1) + e - 1  # where diagonal 0 of level e, e - 1 is
        for k in range(-e, e + 1):
            best = -1
            if -n <= k <= m:
                if k + 1 < e:  # a deletion (a word of x) from diagonal k + 1
                    i0 = table[prev + k + 1]
                    if i0 >= 0 and i0 < n:
                        best = i0 + 1
                if k - 1 > -e:  # an insertion (a word of y) from diagonal k - 1
                    i0 = table[prev + k - 1]
                    if i0 >= 0 and i0 + k - 1 < m and i0 > best:
                        best = i0
                if -e < k < e:  # a substitution on this diagonal
                    i0 = table[prev + k]
                    if i0 >= 0 and i0 < n and i0 + k < m and i0 + 1 > best:
                        best = i0 + 1
                if best >= 0:
                    while best < n and best + k < m and x[p + best] == y[p + best + k]:
                        best += 1
            table[base + k] = best
        done = -e <= target <= e and table[base + target] >= n
    # traceback from (n, m): each level's start recomputed as the forward pass found it
    rev = np.empty((e + 1, 4), dtype=np.int64)
    r = 0
    k = target
    end = n
    while e > 0:
        prev = (e - 1) * (e - 1) + e - 1
        best = -1
        step = 0
        if k + 1 < e:
            i0 = table[prev + k + 1]
            if i0 >= 0 and i0 < n:
                best, step = i0 + 1, 1
        if k - 1 > -e:
            i0 = table[prev + k - 1]
            if i0 >= 0 and i0 + k - 1 < m and i0 > best:
                best, step = i0, -1
        if -e < k < e:
            i0 = table[prev + k]
            if i0 >= 0 and i0 < n and i0 + k < m and i0 + 1 > best:
                best, step = i0 + 1, 0
        if end > best:
            rev[r, 0], rev[r, 1], rev[r, 2], rev[r, 3] = best, end, best + k, end + k
            r += 1
        end = best if step == -1 else best - 1
        k += step
        e -= 1
    if end > 0:
        rev[r, 0], rev[r, 1], rev[r, 2], rev[r, 3] = 0, end, 0, end
        r += 1
    return rev[:r][::-1].copy()


@numba.njit(cache=True)
def equal_runs(x: np.ndarray, y: np.ndarray, max_cells: int = MAX_CELLS) -> np.ndarray:
    """Equal runs (i1, i2, j1, j2), in order, of an optimal word-level Levenshtein alignment of
    the hash sequences ``x`` and ``y`` (a common prefix and suffix are equal runs as they stand);
    a (1, 4) array of -1 when the alignment needs more than ``max_cells`` table entries."""
    n, m = x.shape[0], y.shape[0]
    p = 0
    while p < n and p < m and x[p] == y[p]:
        p += 1
    s = 0
    while s < n - p and s < m - p and x[n - 1 - s] == y[m - 1 - s]:
        s += 1
    mid = np.empty((0, 4), dtype=np.int64)
    if n - p - s > 0 and m - p - s > 0:
        mid = _middle(x, y, p, n - p - s, m - p - s, max_cells)
        if mid.shape[0] == 1 and mid[0, 0] < 0:
            return mid
    out = np.empty((mid.shape[0] + 2, 4), dtype=np.int64)
    r = 0
    if p > 0:
        out[0, 0], out[0, 1], out[0, 2], out[0, 3] = 0, p, 0, p
        r = 1
    for t in range(mid.shape[0]):
        out[r, 0], out[r, 1] = mid[t, 0] + p, mid[t, 1] + p
        out[r, 2], out[r, 3] = mid[t, 2] + p, mid[t, 3] + p
        r += 1
    if s > 0:
        out[r, 0], out[r, 1], out[r, 2], out[r, 3] = n - s, n, m - s, m
        r += 1
    return out[:r]
