"""Disclosure control on small tables computed by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from territoria.opendata.disclosure import Contributions, ControlSpec, NoiseSpec, control
from territoria.opendata.disclosure_report import build_report
from territoria.opendata.suppression import fixed_columns

Row = tuple[str, str, int, float]  # area_code, segment, contributor, kwh


def contributions(rows: list[Row], k: int | list[int] = 3, p: float | list[float] = 100.0) -> Contributions:
    """Contributions over (area_code, segment) with one measure, kwh."""
    n = len(rows)
    return Contributions(
        dims=("area_code", "segment"),
        keys={
            "area_code": np.array([r[0] for r in rows], dtype=object),
            "segment": np.array([r[1] for r in rows], dtype=object),
        },
        contributor=np.array([r[2] for r in rows], dtype=np.int64),
        values={"kwh": np.array([r[3] for r in rows], dtype=np.float64)},
        k=np.array(k if isinstance(k, list) else [k] * n, dtype=np.int64),
        p=np.array(p if isinstance(p, list) else [p] * n, dtype=np.float64),
    )


def cells(rows: list[Row], ids: range, area: str, segment: str, value: float = 10.0) -> None:
    """Append one contribution of `value` per contributor id in `ids` to the cell (area, segment)."""
    rows.extend((area, segment, i, value) for i in ids)


def by_key(table: pa.Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Table rows keyed by (area_code, segment) (None where totalled)."""
    return {(r["area_code"], r["segment"]): r for r in table.to_pylist()}


def two_by_three() -> list[Row]:
    """Communes A, B x segments r, p, i; (A, p) has 2 contributors."""
    rows: list[Row] = []
    cells(rows, range(1, 5), "A", "r")  # 4
    cells(rows, range(5, 7), "A", "p")  # 2: below k = 3
    cells(rows, range(7, 13), "A", "i")  # 6
    cells(rows, range(13, 18), "B", "r")  # 5
    cells(rows, range(18, 21), "B", "p")  # 3
    cells(rows, range(21, 28), "B", "i")  # 7
    return rows


def test_two_contributors_with_k_3_is_secret_and_complements_are_the_cheapest() -> None:
    out = control(contributions(two_by_three()), ControlSpec(totals=("area_code", "segment")))
    rows = by_key(out.table)
    secret = {key for key, r in rows.items() if r["secret"]}
    # (A, p) is primary. Line A: cheapest other is (A, r) with 4; column p: (B, p) with 3; then line B has
    # (B, p) alone: (B, r) with 5. Column r then holds two secrets: done, a 2 x 2 rectangle.
    assert secret == {("A", "p"), ("A", "r"), ("B", "p"), ("B", "r")}
    reasons = dict(
        zip([(r["area_code"], r["segment"]) for r in out.table.to_pylist()], out.reasons, strict=True)
    )
    assert reasons[("A", "p")] == "k"
    assert {reasons[c] for c in secret - {("A", "p")}} == {"secondary"}
    assert out.suppressed == {"k": 1, "dominance": 0, "secondary": 3}
    assert out.report["suppressed"] == out.suppressed
    assert out.report["passed"] is True
    assert (out.report["cells"], out.report["published"], out.report["secret"]) == (12, 8, 4)
    # Margins are published, with distinct contributors.
    assert rows[("A", None)]["contributors"] == 12
    assert rows[(None, "p")]["contributors"] == 5
    assert rows[(None, None)] == rows[(None, None)] | {"contributors": 27, "kwh_sum": 270.0, "kwh_mean": 10.0}


def test_secret_cells_are_null_never_zero() -> None:
    out = control(contributions(two_by_three()), ControlSpec(totals=("area_code", "segment")))
    for r in out.table.to_pylist():
        if r["secret"]:
            assert r["contributors"] is None
            assert r["kwh_sum"] is None
            assert r["kwh_mean"] is None
        else:
            assert r["contributors"] > 0
    assert "reason" not in out.table.column_names
    assert not any("dominance" in name for name in out.table.column_names)


def test_columns_types_and_order() -> None:
    out = control(contributions(two_by_three()), ControlSpec(totals=("area_code", "segment")))
    assert out.table.schema.names == [
        "area_code",
        "segment",
        "total",
        "contributors",
        "kwh_sum",
        "kwh_mean",
        "secret",
    ]
    assert out.table.schema.field("contributors").type == pa.int64()
    assert out.table.schema.field("secret").type == pa.bool_()
    totals = out.table["total"].to_pylist()
    assert totals == sorted(totals)
    assert totals[0] == "" and set(totals) == {"", "area_code", "segment", "area_code,segment"}
    detail = [(r["area_code"], r["segment"]) for r in out.table.to_pylist() if r["total"] == ""]
    assert detail == sorted(detail)


def test_a_90_percent_contributor_with_p_85_is_secret() -> None:
    rows: list[Row] = []
    cells(rows, range(1, 4), "A", "r", 5.0)
    rows.append(("A", "r", 4, 135.0))  # 135 / 150 = 90 %
    cells(rows, range(5, 10), "B", "r", 10.0)
    rows.append(("B", "r", 10, 160.0))  # 160 / 200 = 80 %: published
    out = control(contributions(rows, k=1, p=85.0), ControlSpec(totals=()))
    table = by_key(out.table)
    assert table[("A", "r")]["secret"] is True
    assert table[("B", "r")]["secret"] is False
    assert out.reasons == ("dominance", "")
    assert out.report["suppressed"] == {"k": 0, "dominance": 1, "secondary": 0}
    assert out.report["passed"] is True


def test_dominance_sums_a_contributors_repeated_values_first() -> None:
    rows: list[Row] = [("A", "r", 1, 45.0), ("A", "r", 1, 45.0), ("A", "r", 2, 5.0), ("A", "r", 3, 5.0)]
    out = control(contributions(rows, k=1, p=85.0), ControlSpec(totals=()))
    assert out.reasons == ("dominance",)
    # Without the repetition contributor 1 would hold 45 / 55 = 82 %: published, counted once.
    out = control(contributions(rows[1:], k=1, p=85.0), ControlSpec(totals=()))
    assert out.reasons == ("",)
    assert out.table["contributors"].to_pylist() == [3]


def test_dominance_only_for_measures_with_a_positive_total() -> None:
    rows: list[Row] = [("A", "r", i, 0.0) for i in range(3)]
    out = control(contributions(rows, k=1, p=50.0), ControlSpec(totals=()))
    assert out.reasons == ("",)


def test_margin_counts_a_contributor_once_with_its_strictest_rules() -> None:
    # Contributor 1 is in both segments of A; in the margin (A, *) it is one contributor of 3 (max k = 3).
    rows: list[Row] = [("A", "r", 1, 10.0), ("A", "r", 2, 10.0), ("A", "p", 1, 10.0), ("A", "p", 3, 10.0)]
    out = control(contributions(rows, k=[1, 1, 3, 1]), ControlSpec(totals=("segment",)))
    margin = by_key(out.table)[("A", None)]
    assert margin["contributors"] == 3
    assert margin["kwh_sum"] == 40.0
    # (A, p) holds a k = 3 contribution with 2 contributors: secret, and (A, r) (2 contributors, cheaper
    # than the margin's 3) is its complement.
    table = by_key(out.table)
    assert table[("A", "p")]["secret"] and table[("A", "r")]["secret"]
    assert not table[("A", None)]["secret"]
    assert out.report["passed"] is True


def test_single_member_line_suppresses_its_margin() -> None:
    # A has one segment: its margin equals its only detail cell and must be secret with it.
    rows: list[Row] = []
    cells(rows, range(1, 3), "A", "r")  # 2 < k
    cells(rows, range(3, 10), "B", "r")
    cells(rows, range(10, 20), "B", "p")
    out = control(contributions(rows), ControlSpec(totals=("area_code", "segment")))
    table = by_key(out.table)
    assert table[("A", "r")]["secret"] and table[("A", None)]["secret"]
    assert out.report["passed"] is True


def test_dims_outside_totals_split_the_table_without_margins() -> None:
    days = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[us]")
    n = 12
    c = Contributions(
        dims=("area_code", "period"),
        keys={"area_code": np.array(["A", "B"] * 6, dtype=object), "period": np.repeat(days, 6)},
        contributor=np.arange(n, dtype=np.int64),
        values={"kwh": np.ones(n)},
        k=np.ones(n, dtype=np.int64),
        p=np.full(n, 100.0),
    )
    out = control(c, ControlSpec(totals=("area_code",)))
    assert out.table.schema.field("period").type == pa.timestamp("us", tz="UTC")
    assert set(out.table["total"].to_pylist()) == {"", "area_code"}
    assert out.table.num_rows == 6  # 2 x 2 detail cells + one area total per day
    assert out.table["period"].null_count == 0
    assert out.report["passed"] is True


NOISY = ["contributors", "kwh_sum", "kwh_mean"]


def test_noise_on_counts_and_sums() -> None:
    rows: list[Row] = []
    for area, segment, first in [("A", "r", 0), ("A", "p", 20), ("B", "r", 40), ("B", "p", 60)]:
        rows += [(area, segment, first + i, 5.0 + i) for i in range(20)]
    noise = NoiseSpec(epsilon=1.0, clip={"kwh": 10.0})
    spec = ControlSpec(totals=("area_code", "segment"), noise=noise)
    exact = control(contributions(rows), ControlSpec(totals=("area_code", "segment")))
    noisy = control(contributions(rows), spec)
    # OpenDP cannot be seeded: each build draws afresh (a release is built once, its noise stored with it).
    again = control(contributions(rows), spec)
    assert noisy.table.drop_columns(NOISY).equals(again.table.drop_columns(NOISY))
    assert noisy.table["kwh_sum"].to_pylist() != exact.table["kwh_sum"].to_pylist()
    counts = noisy.table["contributors"].to_pylist()
    assert all(isinstance(v, int) and v >= 0 for v in counts)
    assert all(v >= 0 for v in noisy.table["kwh_sum"].to_pylist())
    # 4 margin levels x 1 slice x 2 quantities.
    assert noisy.report["noise"] == {
        "epsilon": 1.0,
        "composition": 8,
        "scales": {"contributors": 8.0, "kwh_sum": 80.0},
    }
    check = next(c for c in noisy.report["checks"] if c["code"] == "NOISE")
    assert check["passed"] and check["epsilon"] == 1.0
    assert noisy.report["passed"] is True
    for r in noisy.table.to_pylist():
        if r["contributors"]:
            assert r["kwh_mean"] == pytest.approx(r["kwh_sum"] / r["contributors"])


def test_noise_keeps_secret_cells_null() -> None:
    noise = NoiseSpec(epsilon=0.5, clip={"kwh": 10.0})
    out = control(contributions(two_by_three()), ControlSpec(totals=("area_code", "segment"), noise=noise))
    hidden = [r for r in out.table.to_pylist() if r["secret"]]
    assert len(hidden) == 4
    assert all(r["contributors"] is None and r["kwh_sum"] is None for r in hidden)
    assert out.report["passed"] is True


def test_checker_catches_a_published_secret_and_a_zero() -> None:
    c = contributions(two_by_three())
    spec = ControlSpec(totals=("area_code", "segment"))
    out = control(c, spec)
    data = out.table.to_pylist()
    leak = next(i for i, r in enumerate(data) if (r["area_code"], r["segment"]) == ("A", "p"))
    data[leak] |= {"secret": False, "contributors": 2, "kwh_sum": 20.0, "kwh_mean": 10.0}
    zero = next(i for i, r in enumerate(data) if (r["area_code"], r["segment"]) == ("A", "r"))
    data[zero] |= {"contributors": 0}
    table = pa.Table.from_pylist(data, schema=out.table.schema)
    secret = np.array([r["secret"] for r in data])
    report = build_report(c, spec, table, secret, None)
    failed = {check["code"] for check in report["checks"] if not check["passed"]}
    # (A, p) published with 2 < 3; the three other secrets are now recoverable; (A, r) carries a 0.
    assert failed == {"MIN_CONTRIBUTORS", "SECRET_NOT_ZERO", "NOT_RECOVERABLE"}
    assert report["passed"] is False
    check = next(c for c in report["checks"] if c["code"] == "MIN_CONTRIBUTORS")
    assert check["examples"] == [{"area_code": "A", "segment": "p", "total": ""}]


def test_checker_catches_a_recoverable_cell() -> None:
    c = contributions(two_by_three())
    spec = ControlSpec(totals=("area_code", "segment"))
    out = control(c, spec)
    data = out.table.to_pylist()
    # Publish (B, r): (B, p) then follows from line B, and the rest from there.
    i = next(i for i, r in enumerate(data) if (r["area_code"], r["segment"]) == ("B", "r"))
    data[i] |= {"secret": False, "contributors": 5, "kwh_sum": 50.0, "kwh_mean": 10.0}
    table = pa.Table.from_pylist(data, schema=out.table.schema)
    report = build_report(c, spec, table, np.array([r["secret"] for r in data]), None)
    check = next(c for c in report["checks"] if c["code"] == "NOT_RECOVERABLE")
    assert check["failures"] == 3 and not report["passed"]


def test_exact_kernel_on_a_hand_system() -> None:
    # x0 + x1 = a, x1 - x2 = b, x2 = c: all fixed. x3 + x4 = d: neither.
    rows = np.array([0, 0, 1, 1, 2, 3, 3])
    cols = np.array([0, 1, 1, 2, 2, 3, 4])
    data = np.array([1.0, 1, 1, -1, 1, 1, 1])
    assert fixed_columns(rows, cols, data).tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"values": {"kwh": np.array([-1.0])}}, "values"),
        ({"k": np.array([0])}, "k must"),
        ({"p": np.array([120.0])}, "p must"),
        ({"dims": ("area_code",)}, "keys"),
    ],
)
def test_invalid_input_is_refused(change: dict[str, Any], message: str) -> None:
    base = contributions([("A", "r", 1, 1.0)])
    fields = {f: getattr(base, f) for f in ("dims", "keys", "contributor", "values", "k", "p")} | change
    with pytest.raises(ValueError, match=message):
        control(Contributions(**fields), ControlSpec(totals=()))


def test_noise_needs_a_clip_per_measure() -> None:
    with pytest.raises(ValueError, match="clip"):
        control(
            contributions([("A", "r", 1, 1.0)]), ControlSpec(totals=(), noise=NoiseSpec(epsilon=1.0, clip={}))
        )


def test_audit_catches_a_bridge_that_single_lines_miss() -> None:
    # Two secret rectangles {1,2} x {a,b} and {3,4} x {c,d} joined by (1, c): every line holds 0, 2 or 3
    # secrets, so no single subtraction gives one away, yet with primes for "published part of":
    # (1, c) = row 1' - (column a' + column b' - row 2'). The linear audit must suppress one more cell.
    rows: list[Row] = []
    secret = {("1", "a"), ("1", "b"), ("2", "a"), ("2", "b"), ("3", "c"), ("3", "d"), ("4", "c"), ("4", "d")}
    secret.add(("1", "c"))
    who = iter(range(10_000))
    for area in "12345":
        for segment in "abcde":
            n = 1 if (area, segment) in secret else 10
            rows.extend((area, segment, next(who), 10.0) for _ in range(n))
    out = control(contributions(rows), ControlSpec(totals=("area_code", "segment")))
    assert out.suppressed["k"] == 9
    assert out.suppressed["secondary"] >= 1
    assert out.report["passed"] is True
