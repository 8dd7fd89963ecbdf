"""Secondary suppression: keep every secret cell from being recomputed out of published cells and totals.

Model: for every additive quantity (contributors and each measure's sum), each *line* — the cells that
differ only in one totals dim plus the margin cell where that dim is totalled — satisfies
sum(members) = margin. With published values substituted, the secret cells are the unknowns of a linear
system whose coefficients (+1 members, -1 margin) are the same for every quantity, so one audit serves
all. A secret cell is exactly recoverable iff its unit vector lies in the row space of that system
restricted to the unknowns, i.e. iff its row of a null-space basis is zero.

The heuristic closes every line with a single secret cell, then audits each connected component of
unknowns exactly and suppresses one more cell next to each recoverable one, until none is.

The audit is exact, not a floating-point SVD: a cell is determined iff it is zero in every null vector,
so the audit brings each component to echelon form by sparse integer elimination (Markowitz ordering
keeps the fill-in low; no rounding) and checks which cells are zero in a random null vector. This stays
fast on large components: one slice of 163 communes x 30 days x 3 segments with all three dims totalled
(about 9,500 unknowns in one component) audits in about a second, where a dense SVD takes minutes.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass
from math import gcd

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The Mersenne prime 2^61 - 1 and a fixed seed: the exact audit is deterministic, its rare error one-sided.
_PRIME = 2**61 - 1
_NULL_SEED = 20240101


@dataclass(frozen=True)
class Lines:
    """Additivity constraints: the members of line i are `members[indptr[i]:indptr[i+1]]`, summing to
    cell `margin[i]`."""

    margin: IntArray
    indptr: IntArray
    members: IntArray
    n_cells: int

    @classmethod
    def build(cls, margin: IntArray, members: IntArray, member_line: IntArray, n_cells: int) -> Lines:
        """Lines from each member's line index (any order)."""
        order = np.argsort(member_line, kind="stable")
        counts = np.bincount(member_line, minlength=len(margin))
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(margin=margin, indptr=indptr, members=members[order], n_cells=n_cells)

    def incidence(self) -> sp.csr_matrix:
        """The (lines × cells) constraint matrix: +1 for members, -1 for the margin."""
        n_lines = len(self.margin)
        rows = np.concatenate([np.repeat(np.arange(n_lines), np.diff(self.indptr)), np.arange(n_lines)])
        cols = np.concatenate([self.members, self.margin])
        data = np.concatenate([np.ones(len(self.members)), -np.ones(n_lines)])
        return sp.csr_matrix((data, (rows, cols)), shape=(n_lines, self.n_cells))


class _Graph:
    """Python adjacency of lines and cells for the greedy loops (faster than numpy item access)."""

    def __init__(self, lines: Lines) -> None:
        ptr = lines.indptr.tolist()
        members = lines.members.tolist()
        self.line_cells: list[list[int]] = [
            [*members[ptr[i] : ptr[i + 1]], m] for i, m in enumerate(lines.margin.tolist())
        ]
        self.cell_lines: list[list[int]] = [[] for _ in range(lines.n_cells)]
        for i, cells in enumerate(self.line_cells):
            for c in cells:
                self.cell_lines[c].append(i)


def secondary_suppression(lines: Lines, primary: BoolArray, rank: IntArray) -> BoolArray:
    """The secret mask: `primary` plus complementary cells (lowest `rank` first) until none is recoverable."""
    secret = primary.copy()
    if len(lines.margin) == 0:
        return secret
    graph = _Graph(lines)
    incidence = lines.incidence()
    rank_of = rank.tolist()
    safe: set[bytes] = set()
    while True:
        _close_single_lines(graph, secret, rank_of)
        found = recoverable(incidence, secret, safe_cache=safe)
        if len(found) == 0:
            return secret
        _protect(graph, secret, rank_of, found.tolist())


def _close_single_lines(graph: _Graph, secret: BoolArray, rank: list[int]) -> None:
    """While a line has exactly one secret cell (recoverable by subtraction), suppress its cheapest other."""
    hidden = secret.tolist()
    count = [sum(hidden[c] for c in cells) for cells in graph.line_cells]
    queue = deque(i for i, n in enumerate(count) if n == 1)
    while queue:
        line = queue.popleft()
        if count[line] != 1:
            continue
        cell = min((c for c in graph.line_cells[line] if not hidden[c]), key=rank.__getitem__)
        hidden[cell] = True
        secret[cell] = True
        for other in graph.cell_lines[cell]:
            count[other] += 1
            if count[other] == 1:
                queue.append(other)


def _protect(graph: _Graph, secret: BoolArray, rank: list[int], found: list[int]) -> None:
    """Suppress the cheapest published cell next to each recoverable cell whose lines did not change yet."""
    touched: set[int] = set()
    for cell in found:
        if touched.intersection(graph.cell_lines[cell]):
            continue
        extra = _cheapest_published_near(graph, secret, rank, cell)
        secret[extra] = True
        touched.update(graph.cell_lines[extra])


def _cheapest_published_near(graph: _Graph, secret: BoolArray, rank: list[int], cell: int) -> int:
    """The cheapest published cell in the lines of `cell`, else in those of their secret cells, and so on."""
    frontier, seen_cells, seen_lines = [cell], {cell}, set[int]()
    while frontier:
        lines = {line for c in frontier for line in graph.cell_lines[c]} - seen_lines
        seen_lines |= lines
        near = {c for line in lines for c in graph.line_cells[line]}
        published = [c for c in near if not secret[c]]
        if published:
            return min(published, key=rank.__getitem__)
        frontier = sorted(near - seen_cells)
        seen_cells |= near
    # A fully secret component has a positive solution besides the true one, so nothing in it is
    # recoverable and the audit never reports it: reaching here means the model is broken.
    raise RuntimeError(f"cell {cell} is recoverable but no published cell is connected to it")


def recoverable(
    incidence: sp.csr_matrix, secret: BoolArray, *, safe_cache: set[bytes] | None = None
) -> IntArray:
    """Secret cells exactly determined by the published ones through the lines, audited per component."""
    unknown = np.flatnonzero(secret)
    sub = incidence[:, unknown].tocoo()
    if sub.nnz == 0:
        return np.zeros(0, dtype=np.int64)
    n_lines, n_unknown = incidence.shape[0], len(unknown)
    graph = sp.coo_matrix((np.ones(sub.nnz), (sub.row, n_lines + sub.col)), shape=(n_lines + n_unknown,) * 2)
    _, labels = connected_components(graph, directed=False)
    entry_label = labels[n_lines + sub.col]
    order = np.argsort(entry_label, kind="stable")
    bounds = np.flatnonzero(np.diff(entry_label[order])) + 1
    found: list[IntArray] = []
    for group in np.split(order, bounds):
        cols, col_local = np.unique(sub.col[group], return_inverse=True)
        key = unknown[cols].tobytes()
        if safe_cache is not None and key in safe_cache:
            continue
        _, row_local = np.unique(sub.row[group], return_inverse=True)
        data = sub.data[group]
        determined = fixed_columns(row_local, col_local, data)
        if len(determined):
            found.append(unknown[cols[determined]])
        elif safe_cache is not None:
            safe_cache.add(key)
    return np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def fixed_columns(rows: IntArray, cols: IntArray, data: np.ndarray) -> IntArray:
    """Local columns fixed by the system, from an exact echelon form and one random null vector.

    Sparse fraction-free elimination over the integers (rows divided by their gcd, no rounding) brings the
    rows to echelon form: each pivot row only holds its pivot, free columns and later pivots.
    Back-substitution from random values of the free columns, modulo a large prime, gives a random null
    vector x. A determined column is 0 in
    every null vector, hence in x; an undetermined one is a nonzero linear form of the free values, zero
    only by a 1/p accident or if p divides all its coefficients. The error is thus one-sided and safe: at
    worst a free cell is reported recoverable and one more cell is suppressed.
    """
    remaining: dict[int, dict[int, int]] = {}
    col_rows: dict[int, set[int]] = {}
    for r, c, v in zip(rows.tolist(), cols.tolist(), data.tolist(), strict=True):
        remaining.setdefault(r, {})[c] = int(v)
        col_rows.setdefault(c, set()).add(r)
    # Markowitz ordering (shortest row, then its least used column) keeps the fill-in of the sparse rows low.
    heap = [(len(row), r) for r, row in remaining.items()]
    heapq.heapify(heap)
    eliminated: list[tuple[int, dict[int, int]]] = []
    while heap:
        size, r = heapq.heappop(heap)
        row = remaining.get(r)
        if row is None or len(row) != size:
            continue
        del remaining[r]
        pivot = min(row, key=lambda c: (len(col_rows[c]), c))
        for c in row:
            col_rows[c].discard(r)
        for q in sorted(col_rows[pivot]):
            before = remaining[q]
            after = _combine(before, row, pivot)
            for c in before.keys() - after.keys():
                col_rows[c].discard(q)
            for c in after.keys() - before.keys():
                col_rows.setdefault(c, set()).add(q)
            if after:
                remaining[q] = after
                heapq.heappush(heap, (len(after), q))
            else:
                del remaining[q]
        eliminated.append((pivot, row))
    pivots = dict(eliminated)
    x: dict[int, int] = {}
    chooser = random.Random(_NULL_SEED)  # noqa: S311 - not a secret: any values work, see the docstring
    for c in set(cols.tolist()) - pivots.keys():
        x[c] = chooser.randrange(1, _PRIME)
    for pivot, row in reversed(eliminated):
        if row[pivot] % _PRIME == 0:
            raise ArithmeticError("pivot divisible by the prime: cannot audit this component")
        rest = sum(v * x[c] for c, v in row.items() if c != pivot)
        x[pivot] = -rest * pow(row[pivot], -1, _PRIME) % _PRIME
    return np.array(sorted(c for c, v in x.items() if v % _PRIME == 0), dtype=np.int64)


def _combine(row: dict[int, int], pivot_row: dict[int, int], col: int) -> dict[int, int]:
    """`row` with column `col` eliminated by `pivot_row`, divided by the gcd of its coefficients."""
    a, b = pivot_row[col], row[col]
    out = {c: a * v for c, v in row.items()}
    for c, v in pivot_row.items():
        w = out.get(c, 0) - b * v
        if w:
            out[c] = w
        else:
            out.pop(c, None)
    g = 0
    for v in out.values():
        g = gcd(g, v)
    return {c: v // g for c, v in out.items()} if g > 1 else out
