"""The one measure of charge-point availability, read by the KPI, the contract clauses and `/ev`.

Definition (docs/ev.md, "Availability"): over a period, the charge points of the status history that are
active and located in the territory; each point's time is split into `en_service`, `hors_service` and
unknown (no report for more than 6 h, `inconnu`, before its first report) by `availability.py`.

* availability = Σ time en service / Σ time with a known state (en service + out of service), summed
  over the points and days: a time-weighted share, in which a point counts for the time it is observed;
* status coverage = Σ time with a known state / Σ time of the period, over the same points: how much
  of the period the availability rests on (unknown time is reported here, never as an outage).

The time before the first status report of the whole feed is no data (no value), not unknown time;
time after now is not counted. The KPI providers below group the same per-point, per-day rows by
commune and period; `/ev` and `GET /api/v1/ev/availability` sum them over a window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.engine import Partial, Scope
from territoria.analytics.periods import midnight, period_start
from territoria.catalog.models import Asset, Dataset, Metric, Series
from territoria.domains.ev.availability import DEFAULT_MAX_GAP, DailyAvailability, daily_availability, total
from territoria.domains.ev.status import ETAT_METRIC, status_events
from territoria.timeseries.models import rollup_day

AVAILABILITY_PROVIDER = "ev_availability"
COVERAGE_PROVIDER = "ev_status_coverage"


@dataclass(frozen=True)
class PointDays:
    """Per charge point and UTC day, the time in each state; and the commune of each point."""

    area_of: dict[str, str]
    rows: list[DailyAvailability]


@dataclass(frozen=True)
class PeriodAvailability:
    """Availability and status coverage of a set of points over one period (rates in 0..1)."""

    start: date
    availability: float | None
    coverage: float | None
    points: int  # points observed at least once in the period

    @property
    def availability_pct(self) -> float | None:
        """Availability in %, rounded as the KPI shows it (one decimal)."""
        return None if self.availability is None else round(self.availability * 100, 1)

    @property
    def coverage_pct(self) -> float | None:
        """Status coverage in %, one decimal."""
        return None if self.coverage is None else round(self.coverage * 100, 1)


def located_points(session: Session, ds: Dataset) -> dict[str, str]:
    """id_pdc → commune of the status history's points that count: active and inside the territory."""
    rows = session.execute(
        select(Asset.external_id, Asset.area_code).where(
            Asset.dataset_id == ds.id,
            Asset.active.is_(True),
            Asset.in_territory.is_(True),
            Asset.area_code.is_not(None),
        )
    )
    return {pdc: code for pdc, code in rows if code is not None}


def first_report(session: Session, ds: Dataset) -> datetime | None:
    """00:00 UTC of the day of the feed's first status report (None: no report yet).

    Read from the daily rollups (one row per point and day): the minimum over the raw reports would
    scan them all on SQLite.
    """
    etat = select(Series.id).join(Metric, Metric.id == Series.metric_id)
    etat = etat.where(Metric.dataset_id == ds.id, Metric.name == ETAT_METRIC)
    first: datetime | None = session.scalar(
        select(func.min(rollup_day.c.bucket)).where(rollup_day.c.series_id.in_(etat))
    )
    if first is None:
        return None
    first = first if first.tzinfo is not None else first.replace(tzinfo=UTC)
    return midnight(first.astimezone(UTC).date())


def point_days(
    session: Session,
    ds: Dataset,
    start: datetime,
    end: datetime,
    *,
    only: Iterable[str] | None = None,
    now: datetime | None = None,
    max_gap: timedelta = DEFAULT_MAX_GAP,
) -> PointDays:
    """The rows behind every availability figure, over [start, end) cut to the feed's life (see above).

    `only` restricts the points (a commune's, an EPCI's, a station's); None keeps all those that count.
    """
    area_of = located_points(session, ds)
    if only is not None:
        wanted = set(only)
        area_of = {pdc: code for pdc, code in area_of.items() if pdc in wanted}
    first = first_report(session, ds)
    now = now or datetime.now(UTC)
    if first is None or not area_of:
        return PointDays(area_of, [])
    start = max(start, first)
    end = min(end, now)
    if end <= start:
        return PointDays(area_of, [])
    # A long IN list would exceed SQLite's bound-parameter limit: filter in Python beyond a few hundred.
    ids = list(area_of) if len(area_of) <= 900 else None
    events = [e for e in status_events(session, ds, start - max_gap, end, id_pdcs=ids) if e.id_pdc in area_of]
    return PointDays(area_of, daily_availability(events, start, end, max_gap=max_gap, id_pdcs=area_of))


def summed(rows: Iterable[DailyAvailability], start: date) -> PeriodAvailability:
    """Availability and coverage of rows summed over points and days (time-weighted)."""
    rows = list(rows)
    t = total(rows)
    coverage = t.observed_s / t.span_s if t.span_s > 0 else None
    observed = len({r.id_pdc for r in rows if r.observed_s > 0})
    return PeriodAvailability(start, t.availability_rate, coverage, observed)


def by_period(found: PointDays, period: str) -> list[PeriodAvailability]:
    """The rows summed per calendar period (day, week, month, year), oldest first."""
    groups: dict[date, list[DailyAvailability]] = defaultdict(list)
    for r in found.rows:
        groups[period_start(r.day, period)].append(r)
    return [summed(groups[p], p) for p in sorted(groups)]


def _partials(
    session: Session, ds: Dataset, scope: Scope, *, coverage: bool
) -> dict[tuple[str, date], Partial]:
    """Per commune and period: numerator (`total`), denominator (`weight`) and the points behind them."""
    found = point_days(session, ds, midnight(scope.start), midnight(scope.end))
    out: dict[tuple[str, date], Partial] = defaultdict(Partial)
    seen: dict[tuple[str, date], set[str]] = defaultdict(set)
    for r in found.rows:
        key = (found.area_of[r.id_pdc], period_start(r.day, scope.period))
        part = out[key]
        if coverage:
            part.total += r.observed_s
            part.weight += r.span_s
            seen[key].add(r.id_pdc)
        else:
            part.total += r.en_service_s
            part.weight += r.observed_s
            if r.observed_s > 0:
                seen[key].add(r.id_pdc)
    for key, part in out.items():
        part.contributors = len(seen[key])
    # A period without any known time has no availability: no row rather than a zero denominator.
    return {key: part for key, part in out.items() if part.weight > 0}


def availability_partials(
    session: Session, ds: Dataset, kpi: KpiDefinition, scope: Scope
) -> dict[tuple[str, date], Partial]:
    """KPI provider `ev_availability`: time en service over time with a known state."""
    return _partials(session, ds, scope, coverage=False)


def coverage_partials(
    session: Session, ds: Dataset, kpi: KpiDefinition, scope: Scope
) -> dict[tuple[str, date], Partial]:
    """KPI provider `ev_status_coverage`: time with a known state over the period's time."""
    return _partials(session, ds, scope, coverage=True)


PROVIDERS = {AVAILABILITY_PROVIDER: availability_partials, COVERAGE_PROVIDER: coverage_partials}
