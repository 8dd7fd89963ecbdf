"""The independent disclosure-control checker: proves a public table safe before it is published.

It trusts nothing from the suppression engine: it recomputes every cell from the raw contributions with
pyarrow group-bys, matches them to the public table's rows, rebuilds the additivity lines from the cell
keys, and decides recoverability with a pseudo-inverse projector rather than the engine's null space.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

# The one thing shared with the engine: its generic exact kernel, for components too large to go dense.
from territoria.opendata.suppression import fixed_columns

if TYPE_CHECKING:
    from territoria.opendata.disclosure import Contributions, ControlSpec, NoiseSpec
    from territoria.opendata.noise import NoiseApplied

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Key = tuple[str, tuple[Any, ...]]  # (total label, dim values with None where totalled)

_WHO, _K, _P = "__who__", "__k__", "__p__"
MAX_EXAMPLES = 5
# Components with more unknowns than this, where a dense pseudo-inverse would take minutes, are audited
# by the engine's exact sparse kernel instead: the only code shared with the engine, and only its
# generic linear algebra, never its cells, lines or decisions.
DENSE_LIMIT = 3000
# Squared distance of e_i to the row space below which a secret cell counts as determined (errs towards
# failing the check).
_RESIDUAL_TOL = 1e-8
# Rounding slack on the dominance comparison: the engine and pyarrow sum in different orders.
_DOMINANCE_SLACK = 1e-9


@dataclass(frozen=True)
class _Truth:
    """Every true cell recomputed from the contributions, and the table row showing it (-1: none)."""

    keys: list[Key]
    row: IntArray
    contributors: IntArray
    k: IntArray
    p: FloatArray
    sums: dict[str, FloatArray]
    top: dict[str, FloatArray]
    stray_rows: list[int]  # table rows that are no true cell


def build_report(
    contributions: Contributions,
    spec: ControlSpec,
    table: pa.Table,
    secret: np.ndarray,
    noise: NoiseApplied | None,
) -> dict[str, Any]:
    """The JSON disclosure-control report of `table` (rows flagged by `secret`) for `contributions`."""
    c = contributions
    measures = list(c.values)
    truth = _recompute(c, spec.totals, table)
    hidden = np.asarray(table["secret"].to_numpy(zero_copy_only=False), dtype=bool)
    row_keys = _table_keys(table, c.dims)
    shown = np.zeros(len(truth.keys), dtype=bool)
    shown[truth.row >= 0] = ~hidden[truth.row[truth.row >= 0]]

    checks = [
        _check_min_contributors(truth, shown, row_keys, c.dims),
        _check_dominance(truth, shown, c.dims),
        _check_secret(table, np.asarray(secret, dtype=bool), measures, row_keys, c.dims),
        _check_recoverable(truth, shown, c.dims, spec.totals),
    ]
    if spec.noise is not None:
        checks.append(_check_noise(truth, spec.noise, spec.totals, noise, table, measures))
    k_fail = truth.contributors < truth.k
    dominated = _dominated(truth)
    secret_truth = (truth.row >= 0) & ~shown
    k_arr, p_arr = np.asarray(c.k), np.asarray(c.p, dtype=np.float64)
    return {
        "passed": all(check["passed"] for check in checks),
        "cells": table.num_rows,
        "published": int((~hidden).sum()),
        "secret": int(hidden.sum()),
        "suppressed": {
            "k": int((secret_truth & k_fail).sum()),
            "dominance": int((secret_truth & ~k_fail & dominated).sum()),
            "secondary": int((secret_truth & ~k_fail & ~dominated).sum()),
        },
        "checks": checks,
        "rules": {
            "k": [int(k_arr.min()), int(k_arr.max())] if len(k_arr) else [None, None],
            "p": [float(p_arr.min()), float(p_arr.max())] if len(p_arr) else [None, None],
        },
        **({"noise": noise.as_json()} if noise is not None else {}),
    }


def dim_columns(c: Contributions) -> dict[str, pa.Array]:
    """The contributions' dimension columns, typed like the public table's (UTC times or text)."""
    columns: dict[str, pa.Array] = {}
    for d in c.dims:
        raw = np.asarray(c.keys[d])
        if np.issubdtype(raw.dtype, np.datetime64):
            columns[d] = pa.array(raw.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC"))
        else:
            columns[d] = pa.array([str(v) for v in raw.tolist()], type=pa.string())
    return columns


def _raw_table(c: Contributions) -> pa.Table:
    """The contributions as an Arrow table with the public table's dim types."""
    columns = dim_columns(c)
    columns[_WHO] = pa.array(np.asarray(c.contributor, dtype=np.int64))
    for i, v in enumerate(c.values.values()):
        columns[f"__m{i}__"] = pa.array(np.asarray(v, dtype=np.float64))
    columns[_K] = pa.array(np.asarray(c.k, dtype=np.int64))
    columns[_P] = pa.array(np.asarray(c.p, dtype=np.float64))
    return pa.table(columns)


def _recompute(c: Contributions, totals: tuple[str, ...], table: pa.Table) -> _Truth:
    """All true cells: per contributor first (max k, min p), then per cell, at every margin level."""
    raw = _raw_table(c)
    n_m = len(c.values)
    keys: list[Key] = []
    parts: list[pa.Table] = []
    levels = (
        [t for size in range(len(totals) + 1) for t in combinations(totals, size)] if raw.num_rows else []
    )
    for totalled in levels:
        keep = [d for d in c.dims if d not in totalled]
        pairs = raw.group_by([*keep, _WHO], use_threads=False).aggregate(
            [(f"__m{i}__", "sum") for i in range(n_m)] + [(_K, "max"), (_P, "min")]
        )
        cells = pairs.group_by(keep, use_threads=False).aggregate(
            [(_WHO, "count")]
            + [(f"__m{i}___sum", agg) for i in range(n_m) for agg in ("sum", "max")]
            + [(f"{_K}_max", "max"), (f"{_P}_min", "min")]
        )
        label = ",".join(d for d in c.dims if d in totalled)
        values = {d: cells[d].to_pylist() for d in keep}
        for r in range(cells.num_rows):
            keys.append((label, tuple(values[d][r] if d in values else None for d in c.dims)))
        parts.append(cells.drop_columns(keep))
    index = {key: r for r, key in enumerate(_table_keys(table, c.dims))}
    row = np.array([index.pop(key, -1) for key in keys], dtype=np.int64)
    merged = pa.concat_tables(parts) if parts else None

    def col(name: str) -> np.ndarray:
        return merged[name].to_numpy() if merged is not None else np.zeros(0)

    return _Truth(
        keys=keys,
        row=row,
        contributors=col(f"{_WHO}_count").astype(np.int64),
        k=col(f"{_K}_max_max").astype(np.int64),
        p=col(f"{_P}_min_min").astype(np.float64),
        sums={m: col(f"__m{i}___sum_sum").astype(np.float64) for i, m in enumerate(c.values)},
        top={m: col(f"__m{i}___sum_max").astype(np.float64) for i, m in enumerate(c.values)},
        stray_rows=sorted(index.values()),
    )


def _table_keys(table: pa.Table, dims: tuple[str, ...]) -> list[Key]:
    """The key of each public row: its total label and dim values."""
    labels = table["total"].to_pylist()
    values = [table[d].to_pylist() for d in dims]
    return [(labels[r], tuple(v[r] for v in values)) for r in range(table.num_rows)]


def _example(key: Key, dims: tuple[str, ...]) -> dict[str, str]:
    """A cell named by its dim values as strings (totalled dims left out) and its total label."""
    label, values = key
    named = {
        d: v.isoformat() if isinstance(v, datetime) else str(v)
        for d, v in zip(dims, values, strict=True)
        if v is not None
    }
    return named | {"total": label}


def _check(code: str, checked: int, failing: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    """One check entry of the report."""
    return {
        "code": code,
        "title_key": f"od.check.{code}",  # the title is read in the reader's language
        "checked": checked,
        "failures": len(failing),
        "passed": not failing,
        "examples": failing[:MAX_EXAMPLES],
        **extra,
    }


def _dominated(truth: _Truth) -> np.ndarray:
    """True cells whose largest contributor exceeds p% of the total of some measure with a total > 0."""
    out = np.zeros(len(truth.keys), dtype=bool)
    for m, total in truth.sums.items():
        out |= (total > 0) & (truth.top[m] * 100.0 > truth.p * total * (1 + _DOMINANCE_SLACK))
    return out


def _check_min_contributors(
    truth: _Truth, shown: np.ndarray, row_keys: list[Key], dims: tuple[str, ...]
) -> dict[str, Any]:
    """Published cells have at least k contributors; a public row that is no true cell fails too."""
    bad = np.flatnonzero(shown & (truth.contributors < truth.k))
    failing = [_example(truth.keys[i], dims) for i in bad]
    failing += [_example(row_keys[r], dims) for r in truth.stray_rows]
    return _check("MIN_CONTRIBUTORS", int(shown.sum()) + len(truth.stray_rows), failing)


def _check_dominance(truth: _Truth, shown: np.ndarray, dims: tuple[str, ...]) -> dict[str, Any]:
    """No published cell is dominated by one contributor."""
    bad = np.flatnonzero(shown & _dominated(truth))
    return _check("DOMINANCE", int(shown.sum()), [_example(truth.keys[i], dims) for i in bad])


def _check_secret(
    table: pa.Table, secret: np.ndarray, measures: list[str], row_keys: list[Key], dims: tuple[str, ...]
) -> dict[str, Any]:
    """Secret rows have null count and measures, and the table's flag agrees with the engine's mask."""
    hidden = np.asarray(table["secret"].to_numpy(zero_copy_only=False), dtype=bool)
    value_columns = ["contributors"] + [f"{m}_{s}" for m in measures for s in ("sum", "mean")]
    carries = np.zeros(table.num_rows, dtype=bool)
    for name in value_columns:
        carries |= np.asarray(pc.is_valid(table[name]).to_numpy(zero_copy_only=False), dtype=bool)
    bad = np.flatnonzero((hidden & carries) | (hidden != secret))
    return _check("SECRET_NOT_ZERO", int(hidden.sum()), [_example(row_keys[r], dims) for r in bad])


def _check_recoverable(
    truth: _Truth, shown: np.ndarray, dims: tuple[str, ...], totals: tuple[str, ...]
) -> dict[str, Any]:
    """No unpublished true cell is determined by the published ones through the additivity lines."""
    unknown = np.flatnonzero(~shown)
    determined = determined_cells(truth.keys, shown, dims, totals)
    return _check("NOT_RECOVERABLE", len(unknown), [_example(truth.keys[i], dims) for i in determined])


def _check_noise(
    truth: _Truth,
    declared: NoiseSpec,
    totals: tuple[str, ...],
    noise: NoiseApplied | None,
    table: pa.Table,
    measures: list[str],
) -> dict[str, Any]:
    """The recorded budget is the declared one, every scale is at least sensitivity × composition / epsilon
    (composition = 2^len(totals) × slices × quantities), and noisy published values are non-negative
    (counts integers)."""
    n_totals = len(totals)
    n_slices = sum(1 for label, _ in truth.keys if label and len(label.split(",")) == n_totals)
    if n_totals == 0:
        n_slices = len(truth.keys)
    required = 2**n_totals * max(n_slices, 1) * (1 + len(measures))
    failing: list[dict[str, str]] = []
    if noise is None:
        failing.append({"quantity": "*", "problem": "noise was asked but not applied"})
        return _check("NOISE", 0, failing, epsilon=declared.epsilon)
    if noise.epsilon != declared.epsilon:
        failing.append(
            {"quantity": "*", "problem": f"epsilon {noise.epsilon} != declared {declared.epsilon}"}
        )
    if noise.composition < required:
        failing.append({"quantity": "*", "problem": f"composition {noise.composition} < {required}"})
    sensitivity = {"contributors": 1.0} | {f"{m}_sum": declared.clip[m] for m in measures}
    for quantity, s in sensitivity.items():
        floor = s * required / declared.epsilon
        if noise.scales.get(quantity, 0.0) < floor * (1 - 1e-12):
            failing.append({"quantity": quantity, "problem": f"scale below {floor}"})
        values = table[quantity].drop_null().to_numpy()
        if np.any(values < 0) or (quantity == "contributors" and np.any(values != np.rint(values))):
            failing.append({"quantity": quantity, "problem": "negative or non-integer published value"})
    return _check(
        "NOISE",
        len(sensitivity),
        failing,
        epsilon=noise.epsilon,
        composition=noise.composition,
        scales=dict(noise.scales),
    )


def determined_cells(
    keys: list[Key], shown: np.ndarray, dims: tuple[str, ...], totals: tuple[str, ...]
) -> list[int]:
    """Unpublished cells that the published ones determine: for every line (cells differing in one totals
    dim, summing to the cell where it is totalled) an equation over the unpublished cells; per connected
    component, cell i is determined iff e_i lies in the row space of A (pseudo-inverse projector)."""

    index = {key: i for i, key in enumerate(keys)}
    position = {d: j for j, d in enumerate(dims)}
    lines: dict[tuple[int, str], list[int]] = {}
    for i, (label, values) in enumerate(keys):
        totalled = set(label.split(",")) if label else set()
        for t in totals:
            if t in totalled:
                continue
            j = position[t]
            margin_key = (
                ",".join(d for d in dims if d in totalled or d == t),
                (*values[:j], None, *values[j + 1 :]),
            )
            if margin_key in index:
                lines.setdefault((index[margin_key], t), []).append(i)
    parent = list(range(len(keys)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    equations: list[list[tuple[int, float]]] = []
    for (margin, _), members in lines.items():
        terms = [(c, 1.0) for c in members if not shown[c]] + ([(margin, -1.0)] if not shown[margin] else [])
        if terms:
            equations.append(terms)
            for c, _sign in terms[1:]:
                parent[root(c)] = root(terms[0][0])
    components: dict[int, list[list[tuple[int, float]]]] = {}
    for terms in equations:
        components.setdefault(root(terms[0][0]), []).append(terms)
    out: list[int] = []
    for eqs in components.values():
        cols = sorted({c for terms in eqs for c, _ in terms})
        local = {c: j for j, c in enumerate(cols)}
        at = np.array([(r, local[c], sign) for r, terms in enumerate(eqs) for c, sign in terms])
        rows_idx, cols_idx = at[:, 0].astype(np.int64), at[:, 1].astype(np.int64)
        if len(cols) > DENSE_LIMIT:
            out += [cols[j] for j in fixed_columns(rows_idx, cols_idx, at[:, 2])]
            continue
        a = np.zeros((len(eqs), len(cols)))
        a[rows_idx, cols_idx] = at[:, 2]
        # Projector on the row space: pinv(A) @ A; its diagonal is |projection of e_i|^2, 1 iff determined.
        rtol = max(a.shape) * np.finfo(np.float64).eps
        projected = (np.linalg.pinv(a, rtol=rtol) * a.T).sum(axis=1)
        out += [cols[j] for j in np.flatnonzero(1.0 - projected < _RESIDUAL_TOL)]
    return sorted(out)
