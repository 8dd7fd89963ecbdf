"""Compliance of a contract's clauses month by month, and the monthly report built on it."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.analytics import service
from territoria.analytics.contracts import DELIVERY
from territoria.analytics.engine import OPS, TERRITORY, Scope
from territoria.analytics.models import Contract, ContractClause
from territoria.analytics.periods import midnight, next_start
from territoria.catalog.models import Dataset
from territoria.context import Context
from territoria.errors import Invalid
from territoria.quality.models import QualityScore

MAX_MONTHS = 120
MAX_DAYS = 800  # the engine's limit of daily periods: beyond it, no worst day for KPI clauses
DECIMALS = {"completeness": 1, "delivery_delay_h": 2}
MonthStatus = Literal["compliant", "breach", "no_data"]


@dataclass(frozen=True)
class Evidence:
    """What a month's value rests on: days with data, reporting assets, the worst day."""

    days: int = 0
    contributors: int | None = None
    worst_day: date | None = None
    worst_value: float | None = None
    refused: str | None = None  # why the caller may not read the data behind the clause


@dataclass(frozen=True)
class ClauseResult:
    """One clause in one month: the value, the threshold and whether it is met (None: no data)."""

    clause: str
    month: date
    complete: bool
    value: float | None
    comparator: str
    threshold: float
    ok: bool | None
    evidence: Evidence


@dataclass(frozen=True)
class _Cell:
    """A month's value and evidence before judging."""

    value: float | None
    evidence: Evidence = field(default_factory=Evidence)


def month_start(day: date) -> date:
    """The first day of the month holding `day`."""
    return day.replace(day=1)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months meeting [start, end)."""
    months, cursor = [], month_start(start)
    while cursor < end:
        months.append(cursor)
        cursor = next_start(cursor, "month")
        if len(months) > MAX_MONTHS:
            raise Invalid(f"at most {MAX_MONTHS} months per request")
    return months


def contract_months(contract: Contract, start: date, end: date) -> list[date]:
    """The months of [start, end) during which the contract runs (its last day included)."""
    first = max(start, contract.starts_on.date())
    stop = min(end, contract.ends_on.date() + timedelta(days=1))
    return months_between(first, stop) if first < stop else []


def _worst(
    values: list[tuple[date, float]], comparator: str, decimals: int
) -> tuple[date | None, float | None]:
    """The day furthest on the wrong side: the lowest for ≥ / >, the highest for ≤ / <."""
    if not values:
        return None, None
    pick = min if comparator in (">=", ">") else max
    day, value = pick(values, key=lambda pair: pair[1])
    return day, round(value, decimals)


def _kpi_cells(ctx: Context, clause: ContractClause, months: list[date]) -> dict[date, _Cell]:
    """The clause's KPI at territory level per month (its dataset alone), with its worst day."""
    with ctx.session() as session:
        kpi = service.registry(session).get(clause.indicator)
    if kpi is None:  # a KPI no longer defined (e.g. its domain left out): the clause has no data
        return {}
    end = next_start(months[-1], "month")
    monthly = service.kpi_rows(ctx, kpi, Scope(TERRITORY, "month", months[0], end)).rows
    daily: dict[date, list[tuple[date, float]]] = defaultdict(list)
    if (end - months[0]).days <= MAX_DAYS:
        for row in service.kpi_rows(ctx, kpi, Scope(TERRITORY, "day", months[0], end)).rows:
            if row.value is not None:
                daily[month_start(row.period)].append((row.period, row.value))
    cells = {}
    for row in monthly:
        days = daily.get(row.period, [])
        worst_day, worst_value = _worst(days, clause.comparator, kpi.decimals)
        value = round(row.value, kpi.decimals) if row.value is not None else None
        evidence = Evidence(len(days), row.contributors, worst_day, worst_value)
        cells[row.period] = _Cell(value, evidence)
    return cells


def p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank: a value that was actually observed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def expected_days(month: date, today: date) -> int:
    """The days of a month whose readings are expected by today (the whole month once it has ended)."""
    end = min(next_start(month, "month"), today)
    return max(0, (end - month).days)


def _delivery_cells(
    session: Session, clause: ContractClause, months: list[date], today: date
) -> dict[date, _Cell]:
    """Completeness (%) or delivery delay (hours) per month.

    Completeness counts the readings expected over the whole month (up to today while it runs): a day
    without any score (no data received) counts as 0 %, so a month the data covers in part is partial,
    never 100 %. A month without any scored day has no value (no data).
    """
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.slug == clause.dataset))
    q = QualityScore
    rows = session.execute(
        select(q.day, q.completeness, q.delay_s).where(
            q.dataset_id == dataset_id,
            q.day >= midnight(months[0]),
            q.day < midnight(next_start(months[-1], "month")),
        )
    )
    daily: dict[date, list[tuple[date, float]]] = defaultdict(list)
    for day, completeness, delay_s in rows:
        d = day.astimezone(UTC).date()
        if clause.indicator == "completeness" and completeness is not None:
            daily[month_start(d)].append((d, completeness * 100.0))
        elif clause.indicator == "delivery_delay_h" and delay_s is not None:
            daily[month_start(d)].append((d, delay_s / 3600.0))
    cells = {}
    for month, days in daily.items():
        values = [v for _, v in days]
        # Delays: the 95th percentile rather than the maximum, so that one outage day (shown as the worst
        # day) does not alone decide a month, while more than one bad day in twenty does.
        if clause.indicator == "completeness":
            value = sum(values) / max(len(values), expected_days(month, today))
        else:
            value = p95(values)
        worst_day, worst_value = _worst(days, clause.comparator, DECIMALS[clause.indicator])
        evidence = Evidence(len(days), None, worst_day, worst_value)
        cells[month] = _Cell(round(value, DECIMALS[clause.indicator]), evidence)
    return cells


def compliance(
    ctx: Context,
    contract: Contract,
    start: date,
    end: date,
    *,
    refused: dict[str, str] | None = None,
    today: date | None = None,
) -> list[ClauseResult]:
    """Each clause in each month of [start, end) the contract runs, by month then clause.

    `refused` (clause code → reason) lists the clauses whose data the caller may not read: they are
    reported without a value rather than computed.
    """
    today = today or datetime.now(UTC).date()
    refused = refused or {}
    months = contract_months(contract, start, end)
    if not months:
        return []
    per_clause: dict[str, dict[date, _Cell]] = {}
    for clause in contract.clauses:
        if clause.code in refused:
            per_clause[clause.code] = {m: _Cell(None, Evidence(refused=refused[clause.code])) for m in months}
        elif clause.indicator in DELIVERY:
            with ctx.session() as session:
                per_clause[clause.code] = _delivery_cells(session, clause, months, today)
        else:
            per_clause[clause.code] = _kpi_cells(ctx, clause, months)
    results = []
    for month in months:
        complete = next_start(month, "month") <= today
        for clause in contract.clauses:
            cell = per_clause[clause.code].get(month, _Cell(None))
            ok = None if cell.value is None else OPS[clause.comparator](cell.value, clause.threshold)
            results.append(
                ClauseResult(
                    clause.code,
                    month,
                    complete,
                    cell.value,
                    clause.comparator,
                    clause.threshold,
                    ok,
                    cell.evidence,
                )
            )
    return results


def month_status(results: list[ClauseResult]) -> MonthStatus:
    """A month at a glance: a breach if any clause is breached, compliant if every clause is met."""
    if any(r.ok is False for r in results):
        return "breach"
    if results and all(r.ok is True for r in results):
        return "compliant"
    return "no_data"


def last_complete_month(today: date | None = None) -> date:
    """The first day of the month before the current one."""
    today = today or datetime.now(UTC).date()
    return month_start(month_start(today) - timedelta(days=1))


@dataclass(frozen=True)
class Report:
    """A contract's monthly report: the month's results and every breach since the contract started."""

    month: date
    results: list[ClauseResult]
    breaches: list[ClauseResult]
    status: MonthStatus


def report(
    ctx: Context,
    contract: Contract,
    month: date,
    *,
    refused: dict[str, str] | None = None,
    today: date | None = None,
) -> Report:
    """The report of one month (the breaches listed run from the contract's start to that month)."""
    month = month_start(month)
    end = next_start(month, "month")
    # The breach history covers at most the last MAX_MONTHS months before the report's month.
    first = max(contract.starts_on.date(), end - timedelta(days=30 * MAX_MONTHS - 31))
    history = compliance(ctx, contract, first, end, refused=refused, today=today)
    results = [r for r in history if r.month == month]
    breaches = [r for r in history if r.ok is False]
    return Report(month, results, breaches, month_status(results))
