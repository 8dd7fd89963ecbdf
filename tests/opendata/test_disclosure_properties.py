"""Properties of disclosure control on random contributions, checked against plain recomputations."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.opendata.disclosure import Contributions, ControlSpec, NoiseSpec, control
from territoria.opendata.suppression import fixed_columns

DIMS = ("area_code", "period", "segment")
DAYS = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-07")).astype("datetime64[us]")
MEASURES = ("kwh", "eur")


@dataclass
class Case:
    """Random contributions and the totals to publish."""

    contributions: Contributions
    totals: tuple[str, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """1-3 dims with 1-4 values each, 1-40 contributions from 1-10 contributors, k 1-5, p 50-100."""
    dims = tuple(draw(st.lists(st.sampled_from(DIMS), min_size=1, max_size=3, unique=True)))
    cards = {d: draw(st.integers(1, 4)) for d in dims}
    n = draw(st.integers(1, 40))
    n_who = draw(st.integers(1, 10))
    keys: dict[str, np.ndarray] = {}
    for d in dims:
        codes = draw(st.lists(st.integers(0, cards[d] - 1), min_size=n, max_size=n))
        keys[d] = DAYS[codes] if d == "period" else np.array([f"{d[0]}{c}" for c in codes], dtype=object)
    ints = st.lists(st.integers(0, 100), min_size=n, max_size=n)
    measures = MEASURES[: draw(st.integers(1, 2))]
    contributions = Contributions(
        dims=dims,
        keys=keys,
        contributor=np.array(
            draw(st.lists(st.integers(0, n_who - 1), min_size=n, max_size=n)), dtype=np.int64
        ),
        values={m: np.array(draw(ints), dtype=np.float64) for m in measures},
        k=np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), dtype=np.int64),
        p=np.array(draw(st.lists(st.integers(50, 100), min_size=n, max_size=n)), dtype=np.float64),
    )
    totals = tuple(draw(st.permutations(dims))[: draw(st.integers(0, len(dims)))])
    return Case(contributions, totals)


def row_key(row: dict[str, Any], dims: tuple[str, ...]) -> tuple[Any, ...]:
    """A table row's dim values (None where totalled), as comparable Python values."""
    return tuple(
        None if row[d] is None else str(row[d]) if d != "period" else row[d].isoformat() for d in dims
    )


def truth_of(c: Contributions, key: tuple[Any, ...]) -> dict[str, Any]:
    """The cell `key` recomputed from the raw contributions: per contributor first, then per cell."""
    per: dict[int, dict[str, Any]] = defaultdict(lambda: {"k": 0, "p": 101.0} | dict.fromkeys(c.values, 0.0))
    for i in range(len(c.contributor)):
        values = tuple(
            str(c.keys[d][i]) if d != "period" else f"{np.datetime_as_string(c.keys[d][i], unit='s')}+00:00"
            for d in c.dims
        )
        if all(want is None or want == got for want, got in zip(key, values, strict=True)):
            who = per[int(c.contributor[i])]
            who["k"] = max(who["k"], int(c.k[i]))
            who["p"] = min(who["p"], float(c.p[i]))
            for m, v in c.values.items():
                who[m] += float(v[i])
    return {
        "n": len(per),
        "k": max(w["k"] for w in per.values()),
        "p": min(w["p"] for w in per.values()),
        "sums": {m: sum(w[m] for w in per.values()) for m in c.values},
        "top": {m: max(w[m] for w in per.values()) for m in c.values},
    }


def lines_of(
    rows: list[dict[str, Any]], dims: tuple[str, ...], totals: tuple[str, ...]
) -> list[tuple[list[int], int]]:
    """Every line of the table: (member row indexes, margin row index)."""
    index = {(r["total"], row_key(r, dims)): i for i, r in enumerate(rows)}
    lines: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        totalled = set(r["total"].split(",")) - {""}
        for t in totals:
            if t in totalled:
                continue
            j = dims.index(t)
            key = row_key(r, dims)
            margin = index[
                (",".join(d for d in dims if d in totalled | {t}), (*key[:j], None, *key[j + 1 :]))
            ]
            lines[margin * len(dims) + j].append(i)
    return [(members, line // len(dims)) for line, members in lines.items()]


def assert_safe(case: Case, noisy: bool = False) -> None:
    """(a) published cells meet k and p, (b) no secret is recoverable, (c) report passed, (d) nulls."""
    c = case.contributions
    out = control(c, ControlSpec(totals=case.totals, noise=_noise(c) if noisy else None))
    rows = out.table.to_pylist()
    assert out.report["passed"], out.report
    for r in rows:
        truth = truth_of(c, row_key(r, c.dims))
        if r["secret"]:  # (d)
            assert r["contributors"] is None
            assert all(r[f"{m}_sum"] is None and r[f"{m}_mean"] is None for m in c.values)
            continue
        assert truth["n"] >= truth["k"]  # (a)
        for m in c.values:
            total = truth["sums"][m]
            assert total == 0 or truth["top"][m] * 100 <= truth["p"] * total
        if not noisy:
            assert r["contributors"] == truth["n"]
            assert all(abs(r[f"{m}_sum"] - truth["sums"][m]) < 1e-6 for m in c.values)
        else:
            assert isinstance(r["contributors"], int) and r["contributors"] >= 0
    _assert_not_recoverable(rows, c.dims, case.totals)
    detail = {row_key(r, c.dims) for r in rows if r["total"] == ""}
    assert len(detail) == len({tuple(str(c.keys[d][i]) for d in c.dims) for i in range(len(c.contributor))})


def _noise(c: Contributions) -> NoiseSpec:
    return NoiseSpec(epsilon=1.0, clip=dict.fromkeys(c.values, 50.0))


def _assert_not_recoverable(
    rows: list[dict[str, Any]], dims: tuple[str, ...], totals: tuple[str, ...]
) -> None:
    """(b) with published values substituted, no secret cell is determined by the lines."""
    secret = [i for i, r in enumerate(rows) if r["secret"]]
    local = {i: j for j, i in enumerate(secret)}
    equations: list[np.ndarray] = []
    for members, margin in lines_of(rows, dims, totals):
        unknown = [i for i in [*members, margin] if rows[i]["secret"]]
        # Simple subtraction: margin minus published members would give a lone secret away.
        assert len(unknown) != 1, (members, margin)
        if unknown:
            eq = np.zeros(len(secret))
            for i in members:
                if rows[i]["secret"]:
                    eq[local[i]] += 1
            if rows[margin]["secret"]:
                eq[local[margin]] -= 1
            equations.append(eq)
    if not equations:
        return
    a = np.array(equations)
    rank = np.linalg.matrix_rank(a)
    for j in range(len(secret)):
        # e_j is in the row space iff dropping column j loses rank: then x_j is determined.
        assert np.linalg.matrix_rank(np.delete(a, j, axis=1)) == rank, rows[secret[j]]


@settings(max_examples=60, deadline=None)
@given(cases())
def test_published_cells_are_safe_and_secrets_unrecoverable(case: Case) -> None:
    assert_safe(case)


@settings(max_examples=30, deadline=None)
@given(cases())
def test_noise_keeps_every_guarantee(case: Case) -> None:
    assert_safe(case, noisy=True)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 8).flatmap(
        lambda n_cols: st.tuples(
            st.just(n_cols),
            st.lists(
                st.lists(st.sampled_from([-1, 0, 0, 1]), min_size=n_cols, max_size=n_cols),
                min_size=1,
                max_size=8,
            ),
        )
    )
)
def test_exact_kernel_matches_matrix_rank(system: tuple[int, list[list[int]]]) -> None:
    n_cols, matrix = system
    a = np.array(matrix, dtype=np.float64)
    rows, cols = np.nonzero(a)
    fixed = set(fixed_columns(rows.astype(np.int64), cols.astype(np.int64), a[rows, cols]).tolist())
    rank = np.linalg.matrix_rank(a)
    for j in range(n_cols):
        in_system = bool(np.any(a[:, j]))
        determined = in_system and np.linalg.matrix_rank(np.delete(a, j, axis=1)) < rank
        assert (j in fixed) == determined, (a, j)


@st.composite
def grids(draw: st.DrawFn) -> Case:
    """Full 2-D or 3-D tables, 2-6 values per dim, 0-6 contributors per cell, k = 3, every dim totalled:
    dense, irregular suppression patterns where single-line closing is not enough."""
    dims = DIMS[: draw(st.integers(2, 3))]
    cards = [draw(st.integers(2, 6 if len(dims) == 2 else 4)) for _ in dims]
    keys: dict[str, list[Any]] = {d: [] for d in dims}
    who: list[int] = []
    for cell in np.ndindex(*cards):
        for _ in range(draw(st.integers(0, 6))):
            for d, code in zip(dims, cell, strict=True):
                keys[d].append(DAYS[code] if d == "period" else f"{d[0]}{code}")
            who.append(len(who))
    n = len(who)
    values = draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))
    contributions = Contributions(
        dims=dims,
        keys={d: np.array(v, dtype="datetime64[us]" if d == "period" else object) for d, v in keys.items()},
        contributor=np.array(who, dtype=np.int64),
        values={"kwh": np.array(values, dtype=np.float64)},
        k=np.full(n, 3, dtype=np.int64),
        p=np.full(n, 100.0),
    )
    return Case(contributions, dims)


@settings(max_examples=60, deadline=None)
@given(grids())
def test_dense_grids_are_safe(case: Case) -> None:
    if len(case.contributions.contributor):
        assert_safe(case)
