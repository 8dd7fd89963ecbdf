"""Plan targets: a KPI objective for an area (baseline, milestones, target) and how far along it is."""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access import policy
from territoria.access.audit import record
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.analytics import service
from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.engine import TERRITORY, Scope
from territoria.analytics.models import PlanTarget
from territoria.analytics.steering_schemas import TargetCreate
from territoria.context import Context
from territoria.errors import DomainError, Invalid, NotFound
from territoria.territory.models import Area

log = logging.getLogger(__name__)
Status = Literal["on_track", "off_track", "achieved", "no_data"]
Goal = Literal["reduce", "increase", "cap", "floor"]
# Yearly totals: a year to date is a fraction of a year, so it is scaled up before any comparison.
ADDITIVE = frozenset({"sum", "count"})


@dataclass(frozen=True)
class YearPoint:
    """The KPI's value for one year (None without data) beside the value expected on the trajectory."""

    year: int
    value: float | None
    expected: float
    partial: bool


@dataclass(frozen=True)
class Progress:
    """Where a target stands."""

    status: Status
    goal: Goal
    year: int | None  # year of the current value
    current: float | None
    partial: bool  # the current value is the year to date
    extrapolated: bool  # … scaled to a full year (additive KPIs)
    expected: float | None  # on the trajectory, for the current value's year
    percent: float | None  # (baseline − current) / (baseline − target), clipped to [0, 100]
    years: list[YearPoint]


def _error(field: str, code: str, message: str) -> dict[str, Any]:
    """One entry of a refusal's `errors` list."""
    return {"field": field, "code": code, "message": message}


def goal_of(kpi: KpiDefinition, baseline: float, target: float) -> Goal:
    """Which way the target is judged: the KPI's own direction when it has one, the target's otherwise.

    A target moving against the KPI's direction is a limit, not an ambition: allowing electricity use to
    grow by at most 10 % is a cap (lower is still better), keeping availability above 95 % when it is at
    99 % today is a floor.
    """
    if kpi.direction == "lower_is_better":
        return "reduce" if target < baseline else "cap"
    if kpi.direction == "higher_is_better":
        return "increase" if target > baseline else "floor"
    return "reduce" if target < baseline else "increase"


def _check_trajectory(body: TargetCreate) -> tuple[list[list[float]], list[dict[str, Any]]]:
    """Milestones as [[year, value], …]: whole years strictly between baseline and target, increasing."""
    errors: list[dict[str, Any]] = []
    milestones: list[list[float]] = []
    previous = body.baseline_year
    for i, (year, value) in enumerate(body.trajectory or []):
        field = f"trajectory.{i}"
        if not float(year).is_integer():
            errors.append(_error(field, "YEAR", f"the year {year} is not a whole year"))
            continue
        if not body.baseline_year < year < body.target_year:
            message = f"{int(year)} is not strictly between {body.baseline_year} and {body.target_year}"
            errors.append(_error(field, "YEAR_RANGE", message))
        elif year <= previous:
            errors.append(_error(field, "YEAR_ORDER", "milestone years must increase"))
        previous = max(previous, int(year))
        milestones.append([int(year), value])
    return milestones, errors


def _check_area(session: Session, level: str, code: str) -> tuple[str, list[dict[str, Any]]]:
    """The stored area code ('' for the territory) and any problem with the area."""
    if level == TERRITORY:
        if code not in ("", TERRITORY):
            return "", [_error("area_code", "AREA", "leave area_code empty for the whole territory")]
        return "", []
    if not code:
        return "", [_error("area_code", "AREA", f"name the area of level '{level}' (e.g. an INSEE code)")]
    exists = session.scalar(select(Area.code).where(Area.level == level, Area.code == code))
    if exists is None:
        return code, [_error("area_code", "AREA", f"no area '{code}' of level '{level}' is loaded")]
    return code, []


def check_target(session: Session, body: TargetCreate) -> tuple[KpiDefinition, str, list[list[float]]]:
    """The KPI, area code and milestones of a new target, or every problem at once (422)."""
    errors: list[dict[str, Any]] = []
    kpi = service.registry(session).get(body.kpi_code)
    if kpi is None:
        errors.append(_error("kpi_code", "KPI", f"no KPI '{body.kpi_code}': GET /api/v1/kpis lists them"))
    if body.baseline_year >= body.target_year:
        errors.append(_error("target_year", "YEAR_RANGE", "target_year must come after baseline_year"))
    milestones, problems = _check_trajectory(body)
    area_code, area_problems = _check_area(session, body.area_level, body.area_code)
    errors += problems + area_problems
    if kpi is not None and kpi.direction == "neutral" and body.target_value == body.baseline_value:
        message = "the KPI has no direction and the target equals the baseline: there is nothing to steer"
        errors.append(_error("target_value", "NO_DIRECTION", message))
    if errors or kpi is None:
        raise Invalid("the target is not valid", errors=errors)
    return kpi, area_code, milestones


def create_target(session: Session, principal: Principal, body: TargetCreate) -> PlanTarget:
    """Record a target: the authority's analysts (or a platform admin), on a KPI they may read."""
    policy.require_authority(principal, Capability.ANALYSE, "set plan targets", target="target:*")
    kpi, area_code, milestones = check_target(session, body)
    # A target is followed through its KPI: one cannot be set on data the author may not see.
    service.require_kpi(session, principal, kpi)
    return store_target(
        session,
        body,
        kpi,
        area_code,
        milestones,
        actor=principal.actor,
        organisation_id=principal.organisation_id,
    )


def store_target(
    session: Session,
    body: TargetCreate,
    kpi: KpiDefinition,
    area_code: str,
    milestones: list[list[float]],
    *,
    actor: str,
    organisation_id: int | None,
) -> PlanTarget:
    """Insert a checked target (see `check_target`) and note it in the audit trail."""
    target = PlanTarget(
        kpi_code=kpi.code,
        plan=body.plan,
        area_level=body.area_level,
        area_code=area_code,
        baseline_year=body.baseline_year,
        baseline_value=body.baseline_value,
        target_year=body.target_year,
        target_value=body.target_value,
        trajectory=milestones or None,
        organisation_id=organisation_id,
        created_by=actor,
    )
    session.add(target)
    session.flush()
    record(
        session,
        actor=actor,
        action="target.create",
        target=f"target:{target.id}",
        organisation_id=organisation_id,
        details={
            "kpi": kpi.code,
            "plan": body.plan,
            "area": f"{body.area_level}:{area_code}",
            "baseline": [body.baseline_year, body.baseline_value],
            "target": [body.target_year, body.target_value],
        },
    )
    return target


def list_targets(session: Session, principal: Principal, kpi: str | None = None) -> list[PlanTarget]:
    """Targets whose KPI the principal may read (all sources), optionally of one KPI."""
    query = select(PlanTarget).order_by(PlanTarget.kpi_code, PlanTarget.target_year, PlanTarget.id)
    if kpi is not None:
        query = query.where(PlanTarget.kpi_code == kpi)
    registry = service.registry(session)
    readable: dict[str, bool] = {}
    out = []
    for target in session.scalars(query):
        definition = registry.get(target.kpi_code)
        if definition is None:
            continue
        if target.kpi_code not in readable:
            readable[target.kpi_code] = service.readable(session, principal, definition)
        if readable[target.kpi_code]:
            out.append(target)
    return out


def _find(session: Session, target_id: int) -> PlanTarget:
    """A target by id, or 404."""
    target = session.get(PlanTarget, target_id)
    if target is None:
        raise NotFound(f"no target {target_id}: GET /api/v1/targets lists them")
    return target


def get_target(session: Session, principal: Principal, target_id: int) -> PlanTarget:
    """One target, if the principal may read its KPI (the policy notes a refusal: 401/403); a target over
    data the principal may not even see answers like an unknown target."""
    target = _find(session, target_id)
    try:
        service.require_kpi(session, principal, service.get_kpi(session, target.kpi_code))
    except NotFound:
        raise NotFound(f"no target {target_id}: GET /api/v1/targets lists them") from None
    return target


def delete_target(session: Session, principal: Principal, target_id: int) -> None:
    """Remove a target (the authority's analysts or a platform admin); the audit trail keeps its trace."""
    policy.require_authority(
        principal, Capability.ANALYSE, "delete plan targets", target=f"target:{target_id}"
    )
    target = _find(session, target_id)
    details = {"kpi": target.kpi_code, "plan": target.plan, "area": f"{target.area_level}:{target.area_code}"}
    session.delete(target)
    session.flush()
    record(
        session,
        actor=principal.actor,
        action="target.delete",
        target=f"target:{target_id}",
        organisation_id=principal.organisation_id,
        details=details,
    )


def milestones(target: PlanTarget) -> list[tuple[int, float]]:
    """Baseline, intermediate milestones and target as (year, value), in year order."""
    middle = [(int(year), float(value)) for year, value in target.trajectory or []]
    return [(target.baseline_year, target.baseline_value), *middle, (target.target_year, target.target_value)]


def expected_value(points: Sequence[tuple[int, float]], year: int) -> float:
    """The value on the trajectory for a year: straight lines between points, flat before and after."""
    if year <= points[0][0]:
        return points[0][1]
    for (y0, v0), (y1, v1) in zip(points, points[1:], strict=False):
        if y0 <= year <= y1:
            return v0 + (v1 - v0) * (year - y0) / (y1 - y0)
    return points[-1][1]


def _area_key(target: PlanTarget) -> str:
    """The area code as the KPI engine names it."""
    return TERRITORY if target.area_level == TERRITORY else target.area_code


def _yearly(ctx: Context, kpi: KpiDefinition, target: PlanTarget, first: int, last: int) -> dict[int, float]:
    """The KPI's yearly values for the target's area, years [first, last]."""
    scope = Scope(target.area_level, "year", date(first, 1, 1), date(last + 1, 1, 1))
    area = _area_key(target)
    rows = service.kpi_rows(ctx, kpi, scope).rows
    return {r.period.year: r.value for r in rows if r.area_code == area and r.value is not None}


def _days_with_data(ctx: Context, kpi: KpiDefinition, target: PlanTarget, today: date) -> int:
    """Days of the current year (to today) on which the KPI has a value for the target's area."""
    scope = Scope(target.area_level, "day", date(today.year, 1, 1), today + timedelta(days=1))
    area = _area_key(target)
    return sum(
        1 for r in service.kpi_rows(ctx, kpi, scope).rows if r.area_code == area and r.value is not None
    )


def judge(goal: Goal, current: float, expected: float, target: float) -> Status:
    """Achieved when the target is met, on track when the trajectory is, off track otherwise."""
    lower = goal in ("reduce", "cap")

    def as_good(value: float, bar: float) -> bool:
        """At least as good as the bar, in the goal's direction."""
        return value <= bar if lower else value >= bar

    if as_good(current, target):
        return "achieved"
    return "on_track" if as_good(current, expected) else "off_track"


def percent_done(goal: Goal, baseline: float, target: float, current: float, status: Status) -> float:
    """Share of the way from baseline to target, in [0, 100]; a cap or a floor is met (100) or not (0)."""
    if goal in ("cap", "floor") or baseline == target:
        return 100.0 if status == "achieved" else 0.0
    return max(0.0, min(100.0, (baseline - current) / (baseline - target) * 100.0))


def _current(values: dict[int, float], today: date) -> tuple[int, float, bool] | None:
    """The latest complete year with a value, else the current year to date (partial)."""
    complete = [year for year in values if year < today.year]
    if complete:
        year = max(complete)
        return year, values[year], False
    if today.year in values:
        return today.year, values[today.year], True
    return None


def progress(ctx: Context, target: PlanTarget, *, today: date | None = None) -> Progress:
    """The target's KPI year by year for its area, the current value and how it compares."""
    today = today or datetime.now(UTC).date()
    with ctx.session() as session:
        kpi = service.registry(session).get(target.kpi_code)
    goal: Goal = "reduce" if target.target_value < target.baseline_value else "increase"
    points = milestones(target)
    last = max(target.baseline_year, today.year)
    values = _yearly(ctx, kpi, target, target.baseline_year, last) if kpi is not None else {}
    extrapolated = False
    current = _current(values, today)
    if kpi is not None:
        goal = goal_of(kpi, target.baseline_value, target.target_value)
        if current is not None and current[2] and kpi.aggregation in ADDITIVE:
            days = _days_with_data(ctx, kpi, target, today)
            if days:
                # A total over the days with data, scaled to the whole year: a fair yearly estimate as long
                # as the missing days look like the others (the page says it is an extrapolation).
                yearly = current[1] * (366 if calendar.isleap(today.year) else 365) / days
                current, extrapolated = (current[0], yearly, True), True
                values[today.year] = yearly
    years = [
        YearPoint(year, values.get(year), expected_value(points, year), year == today.year)
        for year in range(target.baseline_year, last + 1)
    ]
    if current is None or kpi is None:
        return Progress("no_data", goal, None, None, False, False, None, None, years)
    year, value, partial = current
    # Judged on values as displayed, so that a page never shows 30.0 "off track" against a target of 30.
    shown, expected = round(value, kpi.decimals), round(expected_value(points, year), kpi.decimals)
    status = judge(goal, shown, expected, target.target_value)
    percent = percent_done(goal, target.baseline_value, target.target_value, shown, status)
    return Progress(status, goal, year, value, partial, extrapolated, expected, round(percent, 1), years)


def progress_or_none(ctx: Context, target: PlanTarget) -> Progress:
    """Progress for lists and pages: a target whose KPI cannot be computed any more (its area level or
    metric was removed) reads as "no data" instead of failing the whole list."""
    try:
        return progress(ctx, target)
    except DomainError as exc:
        log.warning("progress of target %s not computed: %s", target.id, exc.message)
        return Progress("no_data", "reduce", None, None, False, False, None, None, [])
