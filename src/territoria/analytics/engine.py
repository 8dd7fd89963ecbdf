"""The KPI engine: partial aggregates per commune and period from the daily rollups, combined to the
asked level, finalised (scale, share, normalisation per inhabitant or km²)."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Float, Select, bindparam, cast, func, literal_column, select
from sqlalchemy.orm import Session

from territoria.analytics import providers
from territoria.analytics.definitions import Condition, KpiDefinition
from territoria.analytics.periods import as_date, midnight, period_start_sql
from territoria.catalog.models import Asset, Dataset, Metric, Series
from territoria.errors import Invalid
from territoria.territory.models import Area
from territoria.timeseries.models import rollup_day

TERRITORY = "territory"
HOURS_PER_DAY = 24.0
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass
class Partial:
    """What can be added up across communes: readings, sums, extremes, contributors, condition counts."""

    n: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")
    means: float = 0.0  # sum of daily means (time-weighted average)
    days: int = 0  # series-days behind `means`
    met: int = 0  # assets meeting a share's condition
    assets: set[int] = field(default_factory=set)  # for shares: the assets judged
    contributors: int = 0  # distinct assets with data (an asset sits in one commune: counts add up)
    weight: float = 0.0  # for a provided KPI: the denominator of total / weight (e.g. observed seconds)

    def add(self, other: Partial) -> None:
        """Fold another partial into this one."""
        self.n += other.n
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        self.means += other.means
        self.days += other.days
        self.met += other.met
        self.assets |= other.assets
        self.contributors += other.contributors
        self.weight += other.weight


@dataclass(frozen=True)
class KpiRow:
    """One KPI value: area, period start, value (None when undefined), contributing assets."""

    area_code: str
    period: date
    value: float | None
    contributors: int


@dataclass(frozen=True)
class Scope:
    """What to compute: level (commune, territory, or a level above communes), period, [start, end)."""

    level: str
    period: str
    start: date
    end: date


def _asset_ids(session: Session, ds: Dataset, kpi: KpiDefinition) -> list[int] | None:
    """Assets passing the KPI's property and kind filters (None: no filter, every asset)."""
    if not kpi.filter and not kpi.asset_kind:
        return None
    rows = session.execute(select(Asset.id, Asset.kind, Asset.properties).where(Asset.dataset_id == ds.id))
    return [
        asset_id
        for asset_id, kind, props in rows
        if (kpi.asset_kind is None or kind == kpi.asset_kind)
        and all((props or {}).get(key) == value for key, value in kpi.filter.items())
    ]


def _series_ids(session: Session, ds: Dataset, kpi: KpiDefinition) -> Select[Any]:
    """The ids of the series a KPI reads: its metric's, or every series of the dataset."""
    if kpi.metric is None:
        return select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == ds.id)
    metric_id = session.scalar(select(Metric.id).where(Metric.dataset_id == ds.id, Metric.name == kpi.metric))
    if metric_id is None:
        raise Invalid(f"KPI '{kpi.code}': dataset '{ds.slug}' has no metric '{kpi.metric}'")
    return select(Series.id).where(Series.metric_id == metric_id)


def _per_series(session: Session, ds: Dataset, kpi: KpiDefinition, scope: Scope) -> Any:
    """Daily rollups reduced to one row per series and period, before any join.

    Why this order: the daily rows are many (series × days) and the assets few; reducing first keeps
    the joins and the final grouping on series × periods rows, and lets PostgreSQL aggregate in
    parallel (a DISTINCT over the daily rows forced one big sort instead).
    """
    r = rollup_day.c
    period = period_start_sql(session, r.bucket, scope.period).label("period")
    columns: list[Any] = [
        r.series_id,
        period,
        func.sum(r.n).label("n"),
        func.sum(r.sum).label("total"),
        func.min(r.min).label("low"),
        func.max(r.max).label("high"),
        func.count().label("days"),
    ]
    if kpi.aggregation in ("twa", "integral"):  # daily means, only when asked: a division per row
        columns.append(func.sum(cast(r.sum, Float) / r.n).label("means"))
    return (
        select(*columns)
        .where(
            r.bucket >= midnight(scope.start),
            r.bucket < midnight(scope.end),
            r.series_id.in_(_series_ids(session, ds, kpi)),
        )
        .group_by(r.series_id, period)
        .subquery("per_series")
    )


def _base(
    session: Session, ds: Dataset, kpi: KpiDefinition, per_series: Any, columns: list[Any]
) -> Select[Any]:
    """SELECT area, period, … FROM (rollups per series and period) ⋈ series ⋈ asset, in the territory."""
    query = (
        select(Asset.area_code, per_series.c.period, *columns)
        .select_from(per_series)
        .join(Series, Series.id == per_series.c.series_id)
        .join(Asset, Asset.id == Series.asset_id)
        .where(Asset.in_territory.is_(True), Asset.area_code.is_not(None))
    )
    ids = _asset_ids(session, ds, kpi)
    if ids is not None:
        query = query.where(Asset.id.in_(bindparam("asset_ids", ids, expanding=True)))
    return query


def _met(condition: Condition, n: int, total: float, low: float, high: float) -> bool:
    """Does one asset's aggregate over a period meet the share's condition."""
    value = {"avg": total / n if n else float("nan"), "min": low, "max": high}[condition.of]
    return OPS[condition.op](value, condition.value)


def partials(
    session: Session, ds: Dataset, kpi: KpiDefinition, scope: Scope
) -> dict[tuple[str, date], Partial]:
    """Partial aggregates per (commune, period start)."""
    if kpi.aggregation == "provided":  # a domain's own computation (analytics/providers.py)
        assert kpi.provider is not None
        return providers.provider(kpi.provider)(session, ds, kpi, scope)
    sub = _per_series(session, ds, kpi, scope)
    p = sub.c
    out: dict[tuple[str, date], Partial] = defaultdict(Partial)
    if kpi.aggregation == "share":
        assert kpi.condition is not None
        # One series per asset for a metric: each row is one asset's aggregate over one period.
        query = _base(session, ds, kpi, sub, [Series.asset_id, p.n, p.total, p.low, p.high])
        for area, period, asset_id, n, total, low, high in session.execute(query):
            part = out[(area, as_date(period))]
            part.assets.add(asset_id)
            part.met += _met(kpi.condition, int(n), float(total), float(low), float(high))
        return out
    means = func.sum(p.means) if kpi.aggregation in ("twa", "integral") else literal_column("0.0")
    cols = [
        func.sum(p.n),
        func.sum(p.total),
        func.min(p.low),
        func.max(p.high),
        means,
        func.sum(p.days),
        func.count(Series.asset_id.distinct()),
    ]
    query = _base(session, ds, kpi, sub, cols).group_by(Asset.area_code, p.period)
    for area, period, n, total, low, high, day_means, days, assets in session.execute(query):
        cell = Partial(int(n), float(total), float(low), float(high), float(day_means or 0.0), int(days))
        cell.contributors = int(assets)
        out[(area, as_date(period))].add(cell)
    return out


def _area_map(session: Session, level: str) -> dict[str, str]:
    """Commune code → code of the area of `level` holding it (itself for communes; one territory)."""
    communes = session.execute(select(Area.code, Area.parent_code).where(Area.level == "commune")).all()
    if level == "commune":
        return {code: code for code, _ in communes}
    if level == TERRITORY:
        return {code: TERRITORY for code, _ in communes}
    parents = set(session.scalars(select(Area.code).where(Area.level == level)))
    if not parents:
        raise Invalid(f"no area of level '{level}' is loaded: use commune, territory or a loaded level")
    return {code: parent for code, parent in communes if parent in parents}


def denominators(session: Session, level: str) -> dict[str, tuple[float, float]]:
    """(population, km²) per area of the level, summed from its communes."""
    mapping = _area_map(session, level)
    sizes: dict[str, tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
    rows = session.execute(select(Area.code, Area.population, Area.area_km2).where(Area.level == "commune"))
    for code, population, km2 in rows:
        if code in mapping:
            pop, area = sizes[mapping[code]]
            sizes[mapping[code]] = (pop + (population or 0), area + (km2 or 0.0))
    return dict(sizes)


def combine(
    parts: dict[tuple[str, date], Partial], mapping: dict[str, str]
) -> dict[tuple[str, date], Partial]:
    """Partials regrouped from communes to the target level."""
    out: dict[tuple[str, date], Partial] = defaultdict(Partial)
    for (commune, period), part in parts.items():
        target = mapping.get(commune)
        if target is not None:
            out[(target, period)].add(part)
    return out


def value_of(kpi: KpiDefinition, part: Partial) -> float | None:
    """The KPI's raw value for one cell, before scale and normalisation (None when undefined)."""
    agg = kpi.aggregation
    if agg == "share":
        return 100.0 * part.met / len(part.assets) if part.assets else None
    if agg == "distinct":
        return float(part.contributors)
    if agg == "provided":
        return part.total / part.weight if part.weight else None
    if part.n == 0:
        return None
    return {
        "sum": part.total,
        "avg": part.total / part.n,
        "min": part.low,
        "max": part.high,
        "count": float(part.n),
        "twa": part.means / part.days if part.days else None,
        # Σ over series-days of (the day's mean × 24 h): energy from power, volume from flow, whatever
        # the reporting interval (a day read every 15 min or once gives the same value).
        "integral": part.means * HOURS_PER_DAY,
    }[agg]


def normalised(kpi: KpiDefinition, value: float, size: tuple[float, float] | None) -> float | None:
    """Scale, then divide per inhabitant / 1,000 / 100,000 or per km² (None without a denominator)."""
    value *= kpi.scale
    if kpi.normalise == "none":
        return value
    population, km2 = size or (0.0, 0.0)
    if kpi.normalise == "per_km2":
        return value / km2 if km2 else None
    per = {"per_inhabitant": 1.0, "per_1000": 1_000.0, "per_100000": 100_000.0}[kpi.normalise]
    return value * per / population if population else None


def finalise(
    kpi: KpiDefinition, cells: dict[tuple[str, date], Partial], sizes: dict[str, tuple[float, float]]
) -> list[KpiRow]:
    """Rows sorted by area and period."""
    rows = []
    for (area, period), part in sorted(cells.items()):
        raw = value_of(kpi, part)
        value = normalised(kpi, raw, sizes.get(area)) if raw is not None else None
        contributors = len(part.assets) if kpi.aggregation == "share" else part.contributors
        rows.append(KpiRow(area, period, value, contributors))
    return rows


def compute_simple(session: Session, ds: Dataset, kpi: KpiDefinition, scope: Scope) -> list[KpiRow]:
    """A non-ratio KPI at the scope's level and period."""
    parts = partials(session, ds, kpi, scope)
    cells = combine(parts, _area_map(session, scope.level))
    return finalise(kpi, cells, denominators(session, scope.level))


def ratio(kpi: KpiDefinition, numerator: Iterable[KpiRow], denominator: Iterable[KpiRow]) -> list[KpiRow]:
    """numerator / denominator × scale, cell by cell (None where the denominator is missing or zero)."""
    below = {(r.area_code, r.period): r for r in denominator}
    rows = []
    for top in numerator:
        low = below.get((top.area_code, top.period))
        value = None
        if top.value is not None and low is not None and low.value:
            value = top.value / low.value * kpi.scale
        rows.append(KpiRow(top.area_code, top.period, value, top.contributors))
    return rows
