"""Cells of a disclosure-controlled table: detail and margin aggregates per contributor, and their lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from territoria.opendata.suppression import Lines

if TYPE_CHECKING:
    from territoria.opendata.disclosure import Contributions

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Below this product of cardinalities a cell key is one int64 (fast); above, rows are compared whole.
_RADIX_LIMIT = 2**62


@dataclass(frozen=True)
class Cells:
    """Every detail and margin cell: coordinates, true aggregates, rules, and the lines that tie them."""

    dims: tuple[str, ...]
    uniques: tuple[np.ndarray, ...]  # per dim, its sorted distinct values; codes index into them
    level: IntArray  # (c,) bitmask over dims: bit i set when dims[i] is totalled
    codes: IntArray  # (c, len(dims)) value codes, -1 where totalled
    contributors: IntArray  # distinct contributors
    sums: dict[str, FloatArray]
    top: dict[str, FloatArray]  # the largest contributor's value (after summing per contributor)
    clipped: dict[str, FloatArray]  # sums of per-contributor values clipped for noise; {} without noise
    k: IntArray  # max of the contributions' k
    p: FloatArray  # min of the contributions' p
    lines: Lines
    composition_bound: int  # upper bound on the number of cells one contributor is in


@dataclass
class _Pairs:
    """One row per (cell, contributor) at some level: the contributor's values summed, its strictest rules."""

    cell: IntArray
    contributor: IntArray
    values: dict[str, FloatArray]
    k: IntArray
    p: FloatArray


def aggregate(c: Contributions, totals: tuple[str, ...], clip: dict[str, float] | None) -> Cells:
    """All cells of `c`: detail cells, then margins for every non-empty subset of `totals`."""
    nd = len(c.dims)
    uniques: list[np.ndarray] = []
    codes = np.zeros((len(c.contributor), nd), dtype=np.int64)
    for j, d in enumerate(c.dims):
        raw = np.asarray(c.keys[d])
        raw = raw.astype("datetime64[us]") if np.issubdtype(raw.dtype, np.datetime64) else raw.astype(str)
        u, inv = np.unique(raw, return_inverse=True)
        uniques.append(u)
        codes[:, j] = inv.reshape(-1)
    _, who = np.unique(np.asarray(c.contributor, dtype=np.int64), return_inverse=True)
    who = who.reshape(-1).astype(np.int64)
    detail_codes, row_cell = _group(codes, list(range(nd)))
    values = {m: np.asarray(v, dtype=np.float64) for m, v in c.values.items()}
    base = _pairs(row_cell, who, values, np.asarray(c.k, np.int64), np.asarray(c.p, np.float64))

    tbits = [c.dims.index(t) for t in totals]
    n_levels = 2 ** len(tbits)
    parts: list[dict[str, np.ndarray]] = []
    ancestors: list[IntArray] = []  # per level mask, the global id of each detail cell's cell at that level
    offset = 0
    cells_per_contributor = np.zeros(int(who.max()) + 1 if len(who) else 1, dtype=np.int64)
    for tmask in range(n_levels):
        level = sum(1 << tbits[j] for j in range(len(tbits)) if tmask >> j & 1)
        kept = [i for i in range(nd) if not level >> i & 1]
        kept_codes, dmap = _group(detail_codes, kept)
        n_cells = len(kept_codes)
        full = np.full((n_cells, nd), -1, dtype=np.int64)
        full[:, kept] = kept_codes
        pairs = _pairs(dmap[base.cell], base.contributor, base.values, base.k, base.p)
        cells_per_contributor += np.bincount(pairs.contributor, minlength=len(cells_per_contributor))
        part = _cell_aggregates(pairs, n_cells, clip)
        part["level"] = np.full(n_cells, level, dtype=np.int64)
        part["codes"] = full
        parts.append(part)
        ancestors.append(dmap + offset)
        offset += n_cells

    def cat(name: str) -> np.ndarray:
        return np.concatenate([p[name] for p in parts]) if parts else np.zeros(0)

    measures = list(c.values)
    n_slices = len(parts[-1]["level"])
    return Cells(
        dims=c.dims,
        uniques=tuple(uniques),
        level=cat("level").astype(np.int64),
        codes=np.concatenate([p["codes"] for p in parts]).astype(np.int64),
        contributors=cat("contributors").astype(np.int64),
        sums={m: cat(f"sum:{m}") for m in measures},
        top={m: cat(f"top:{m}") for m in measures},
        clipped={m: cat(f"clipped:{m}") for m in measures} if clip is not None else {},
        k=cat("k").astype(np.int64),
        p=cat("p").astype(np.float64),
        lines=_lines(ancestors, len(tbits), offset),
        composition_bound=max(n_levels * max(n_slices, 1), int(cells_per_contributor.max())),
    )


def total_label(dims: tuple[str, ...], level: int) -> str:
    """The comma-joined names of the totalled dims of a level bitmask, in the order of `dims`."""
    return ",".join(d for i, d in enumerate(dims) if level >> i & 1)


def _group(codes: IntArray, kept: list[int]) -> tuple[IntArray, IntArray]:
    """Distinct rows of `codes[:, kept]` in lexicographic order, and each input row's index among them."""
    n = codes.shape[0]
    if n == 0:
        return np.zeros((0, len(kept)), dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not kept:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(n, dtype=np.int64)
    sub = codes[:, kept]
    cards = [int(sub[:, j].max()) + 1 for j in range(len(kept))]
    if float(np.prod(np.array(cards, dtype=np.float64))) < _RADIX_LIMIT:
        key = np.zeros(n, dtype=np.int64)
        for j, card in enumerate(cards):
            key = key * card + sub[:, j]
        uniq, inv = np.unique(key, return_inverse=True)
        out = np.zeros((len(uniq), len(kept)), dtype=np.int64)
        rest = uniq.copy()
        for j in reversed(range(len(kept))):
            out[:, j] = rest % cards[j]
            rest //= cards[j]
        return out, inv.reshape(-1).astype(np.int64)
    rows, inv = np.unique(sub, axis=0, return_inverse=True)
    return rows.astype(np.int64), inv.reshape(-1).astype(np.int64)


def _pairs(
    cell: IntArray, who: IntArray, values: dict[str, FloatArray], k: IntArray, p: FloatArray
) -> _Pairs:
    """Sum each contributor's values per cell (a pair may repeat); its k is the max and p the min."""
    n_who = int(who.max()) + 1 if len(who) else 1
    uniq, inv = np.unique(cell * n_who + who, return_inverse=True)
    inv = inv.reshape(-1)
    kk = np.zeros(len(uniq), dtype=np.int64)
    np.maximum.at(kk, inv, k)
    pp = np.full(len(uniq), np.inf)
    np.minimum.at(pp, inv, p)
    return _Pairs(
        cell=(uniq // n_who).astype(np.int64),
        contributor=(uniq % n_who).astype(np.int64),
        values={
            m: np.bincount(inv, weights=v, minlength=len(uniq)).astype(np.float64) for m, v in values.items()
        },
        k=kk,
        p=pp,
    )


def _cell_aggregates(pairs: _Pairs, n_cells: int, clip: dict[str, float] | None) -> dict[str, np.ndarray]:
    """Per cell: distinct contributors, sums, largest contributor, clipped sums, strictest k and p."""
    out: dict[str, np.ndarray] = {"contributors": np.bincount(pairs.cell, minlength=n_cells)}
    for m, v in pairs.values.items():
        out[f"sum:{m}"] = np.bincount(pairs.cell, weights=v, minlength=n_cells).astype(np.float64)
        top = np.zeros(n_cells)
        np.maximum.at(top, pairs.cell, v)
        out[f"top:{m}"] = top
        if clip is not None:
            clipped = np.bincount(pairs.cell, weights=np.minimum(v, clip[m]), minlength=n_cells)
            out[f"clipped:{m}"] = clipped.astype(np.float64)
    kk = np.zeros(n_cells, dtype=np.int64)
    np.maximum.at(kk, pairs.cell, pairs.k)
    pp = np.full(n_cells, 100.0)
    np.minimum.at(pp, pairs.cell, pairs.p)
    out["k"], out["p"] = kk, pp
    return out


def _lines(ancestors: list[IntArray], n_totals: int, n_cells: int) -> Lines:
    """For each level, each dim j it does not total: its cells are the members of lines whose margin is the
    cell of the level that also totals j."""
    margins: list[IntArray] = []
    members: list[IntArray] = []
    member_line: list[IntArray] = []
    n_lines = 0
    for tmask, below in enumerate(ancestors):
        for j in range(n_totals):
            if tmask >> j & 1 or len(below) == 0:
                continue
            above = ancestors[tmask | 1 << j]
            lo, hi = int(below.min()), int(below.max()) + 1
            parent = np.empty(hi - lo, dtype=np.int64)
            parent[below - lo] = above
            a_lo = int(above.min())
            n_margins = int(above.max()) + 1 - a_lo
            margins.append(np.arange(a_lo, a_lo + n_margins, dtype=np.int64))
            members.append(np.arange(lo, hi, dtype=np.int64))
            member_line.append(parent - a_lo + n_lines)
            n_lines += n_margins
    if not margins:  # no totals, or no cells at all
        return Lines.build(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), n_cells)
    return Lines.build(np.concatenate(margins), np.concatenate(members), np.concatenate(member_line), n_cells)
