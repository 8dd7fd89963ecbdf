"""Statistical disclosure control of an open-data release: from personal contributions to a safe public table.

`control()` aggregates contributions into detail and margin cells, applies the primary rules (minimum
number of contributors k, dominance p%), the secondary suppression that keeps every secret cell from
being recomputed out of published cells and totals, optional Laplace noise, and has the independent
checker of `disclosure_report` prove the result before anything is published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from territoria.opendata import disclosure_history as history
from territoria.opendata.disclosure_cells import Cells, aggregate, total_label
from territoria.opendata.disclosure_report import build_report
from territoria.opendata.noise import NoiseApplied, add_noise

REASONS = ("k", "dominance", "differencing", "secondary")


@dataclass(frozen=True)
class Contributions:
    """Each contributor's values in each detail cell, with the k and p rules that protect them."""

    dims: tuple[str, ...]
    keys: dict[str, np.ndarray]
    contributor: np.ndarray
    values: dict[str, np.ndarray]
    k: np.ndarray
    p: np.ndarray


@dataclass(frozen=True)
class NoiseSpec:
    """Differential-privacy budget of a release and the per-measure clipping bound of one contributor."""

    epsilon: float
    clip: dict[str, float]


@dataclass(frozen=True)
class ControlSpec:
    """Dims along which margins are published, and optional noise."""

    totals: tuple[str, ...]
    noise: NoiseSpec | None = None


@dataclass(frozen=True)
class Controlled:
    """The safe public table, its disclosure-control report, and the internal reason of each secret row.

    `reasons` is aligned with the table rows ("" for a published cell, else "k", "dominance",
    "differencing" (its change since a previous release would show too few contributors, see
    `disclosure_history`) or "secondary") and must never be published: "dominance" tells that one
    contributor dominates a cell.
    """

    table: pa.Table
    report: dict[str, Any]
    reasons: tuple[str, ...]
    suppressed: dict[str, int]


def control(
    contributions: Contributions, spec: ControlSpec, previous: Sequence[history.Previous] = ()
) -> Controlled:
    """Aggregate, suppress and optionally noise `contributions`; the report proves published cells safe.

    `previous`: the published releases of the same dataset; no cell's change since any of them may
    show fewer than k contributors or a dominant one (`disclosure_history`).
    """
    validate(contributions, spec)
    cells = aggregate(contributions, spec.totals, spec.noise.clip if spec.noise else None)
    primary_k = cells.contributors < cells.k
    primary_dominance = ~primary_k & _dominated(cells)
    primary = primary_k | primary_dominance
    keys = history.cell_keys(cells) if previous else []
    changes = [history.compare(keys, cells, contributions, p, spec.totals) for p in previous]
    secret, differencing = history.protect(cells.lines, primary, changes, _cost_rank(cells))

    counts = cells.contributors.astype(np.float64)
    sums = dict(cells.sums)
    noise: NoiseApplied | None = None
    if spec.noise is not None:
        # Suppression above used the true values: noise protects published values, it never decides secrecy.
        counts, sums, noise = add_noise(
            cells.contributors, cells.clipped, ~secret, spec.noise, cells.composition_bound
        )

    order = _row_order(cells)
    table = _public_table(cells, order, secret, counts, sums)
    reason = np.full(len(secret), "", dtype=object)
    reason[secret] = "secondary"
    reason[differencing] = "differencing"
    reason[primary_dominance] = "dominance"
    reason[primary_k] = "k"
    reasons = tuple(str(r) for r in reason[order])
    suppressed = {r: reasons.count(r) for r in REASONS if r != "differencing" or previous}
    report = build_report(contributions, spec, table, secret[order], noise)
    if changes:
        # The independent checker counts these as secondary; the history tells them apart.
        report["suppressed"]["secondary"] -= suppressed["differencing"]
        report["suppressed"]["differencing"] = suppressed["differencing"]
        found = history.check(keys, ~secret, changes, cells.dims, spec.totals)
        report["checks"].append(found)
        report["passed"] = report["passed"] and found["passed"]
    return Controlled(table=table, report=report, reasons=reasons, suppressed=suppressed)


def validate(contributions: Contributions, spec: ControlSpec) -> None:
    """Refuse inconsistent input with a ValueError naming the problem."""
    c = contributions
    n = len(c.contributor)
    if len(set(c.dims)) != len(c.dims) or set(c.keys) != set(c.dims):
        raise ValueError(f"keys {sorted(c.keys)} must be exactly the distinct dims {list(c.dims)}")
    if not set(spec.totals) <= set(c.dims) or len(set(spec.totals)) != len(spec.totals):
        raise ValueError(f"totals {list(spec.totals)} must be distinct dims of {list(c.dims)}")
    reserved = {"total", "contributors", "secret"} | {f"{m}_{s}" for m in c.values for s in ("sum", "mean")}
    if reserved & set(c.dims):
        raise ValueError(f"dims {sorted(reserved & set(c.dims))} clash with the public table's columns")
    arrays = {**{f"keys[{d}]": c.keys[d] for d in c.dims}, **{f"values[{m}]": v for m, v in c.values.items()}}
    arrays |= {"k": c.k, "p": c.p}
    for name, arr in arrays.items():
        if np.shape(arr) != (n,):
            raise ValueError(f"{name} has shape {np.shape(arr)}, expected ({n},) like contributor")
    for m, raw in c.values.items():
        v = np.asarray(raw, dtype=np.float64)
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"values[{m}] must be finite and >= 0")
    if np.any(np.asarray(c.k) < 1):
        raise ValueError("k must be >= 1")
    p = np.asarray(c.p, dtype=np.float64)
    if not np.all((p > 0) & (p <= 100)):
        raise ValueError("p must be in ]0, 100]")
    if spec.noise is not None:
        if not (np.isfinite(spec.noise.epsilon) and spec.noise.epsilon > 0):
            raise ValueError("noise epsilon must be > 0")
        missing = set(c.values) - set(spec.noise.clip)
        if missing or any(not (np.isfinite(b) and b > 0) for b in spec.noise.clip.values()):
            raise ValueError(
                f"noise clip must give a bound > 0 for every measure (missing: {sorted(missing)})"
            )


def _dominated(cells: Cells) -> npt.NDArray[np.bool_]:
    """Cells whose largest contributor exceeds p% of the cell total for some measure with a total > 0."""
    out = np.zeros(len(cells.k), dtype=bool)
    for m, total in cells.sums.items():
        out |= (total > 0) & (cells.top[m] * 100.0 > cells.p * total)
    return out


def _cost_rank(cells: Cells) -> npt.NDArray[np.int64]:
    """Rank of each cell as a complementary suppression: fewest contributors, smallest sum, detail first."""
    first = next(iter(cells.sums.values()), np.zeros(len(cells.k)))
    n_totalled = np.array([bin(int(x)).count("1") for x in cells.level], dtype=np.int64)
    order = np.lexsort((np.arange(len(cells.k)), n_totalled, first, cells.contributors))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _row_order(cells: Cells) -> npt.NDArray[np.int64]:
    """Public row order: by total label, then by dims."""
    labels = [total_label(cells.dims, int(x)) for x in cells.level]
    distinct = sorted(set(labels))
    label_rank = np.array([distinct.index(x) for x in labels], dtype=np.int64)
    keys = [cells.codes[:, j] for j in reversed(range(len(cells.dims)))]
    return np.lexsort((*keys, label_rank)).astype(np.int64)


def _public_table(
    cells: Cells,
    order: npt.NDArray[np.int64],
    secret: npt.NDArray[np.bool_],
    counts: npt.NDArray[np.float64],
    sums: dict[str, npt.NDArray[np.float64]],
) -> pa.Table:
    """The public table in `order`: secret cells carry nulls, never zeros."""
    columns: dict[str, pa.Array] = {}
    for j, d in enumerate(cells.dims):
        codes = cells.codes[order, j]
        totalled = codes < 0
        values = cells.uniques[j][np.where(totalled, 0, codes)] if len(cells.uniques[j]) else codes
        if np.issubdtype(cells.uniques[j].dtype, np.datetime64):
            columns[d] = pa.array(values, type=pa.timestamp("us", tz="UTC"), mask=totalled)
        else:
            columns[d] = pa.array([str(v) for v in values], type=pa.string(), mask=totalled)
    columns["total"] = pa.array([total_label(cells.dims, int(x)) for x in cells.level[order]], pa.string())
    hidden = secret[order]
    n = np.rint(counts[order]).astype(np.int64)
    columns["contributors"] = pa.array(n, type=pa.int64(), mask=hidden)
    for m, s in sums.items():
        total = s[order]
        columns[f"{m}_sum"] = pa.array(total, type=pa.float64(), mask=hidden)
        mean = np.divide(total, n, out=np.zeros_like(total), where=n > 0)
        columns[f"{m}_mean"] = pa.array(mean, type=pa.float64(), mask=hidden | (n == 0))
    columns["secret"] = pa.array(hidden, type=pa.bool_())
    return pa.table(columns)
