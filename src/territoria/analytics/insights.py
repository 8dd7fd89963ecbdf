"""Statistics shown with a KPI: trend, year-over-year change, anomalies, seasonal profile, correlation."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.engine import KpiRow, Scope
from territoria.analytics.periods import period_start
from territoria.analytics.service import MissGuard, default_scope, kpi_rows, sources
from territoria.analytics.stats import correlation, year_over_year
from territoria.analytics.stats_profile import seasonal_profile
from territoria.analytics.stats_trend import anomalies, trend
from territoria.catalog.models import Asset, Metric, Series
from territoria.context import Context
from territoria.timeseries.models import rollup_hour

HISTORY = {"day": 120, "week": 104, "month": 36, "year": 10}  # periods behind a trend
PROFILE_DAYS = 28


def _clean(x: float | None) -> float | None:
    """JSON-safe number (NaN and infinities become null)."""
    return None if x is None or not math.isfinite(x) else x


def history(
    ctx: Context, kpi: KpiDefinition, level: str, area: str, period: str, guard: MissGuard | None = None
) -> list[KpiRow]:
    """The KPI's series for one area over the periods behind its statistics."""
    end = default_scope(period, None, None, level).end
    start = end
    for _ in range(HISTORY[period]):
        start = previous_start(start, period)
    rows = kpi_rows(ctx, kpi, Scope(level, period, start, end), guard).rows
    return [r for r in rows if r.area_code == area]


def previous_start(start: date, period: str) -> date:
    """The first day of the period before the one starting at `start`."""
    return period_start(start - timedelta(days=1), period)


def hourly_series(
    session: Session, kpi: KpiDefinition, area: str, level: str
) -> tuple[list[datetime], list[float]]:
    """Hourly means of the KPI's source metric over the last weeks, for the profile (none for ratios)."""
    # A ratio has no one metric; a provided KPI's metric holds codes whose hourly mean means nothing.
    if kpi.aggregation in ("ratio", "provided") or kpi.metric is None:
        return [], []
    ds, _ = sources(session, kpi)[0]
    metric_id = session.scalar(select(Metric.id).where(Metric.dataset_id == ds.id, Metric.name == kpi.metric))
    since = datetime.now(UTC) - timedelta(days=PROFILE_DAYS)
    query = (
        select(rollup_hour.c.bucket, func.sum(rollup_hour.c.sum) / func.sum(rollup_hour.c.n))
        .join(Series, Series.id == rollup_hour.c.series_id)
        .join(Asset, Asset.id == Series.asset_id)
        .where(Series.metric_id == metric_id, rollup_hour.c.bucket >= since, Asset.in_territory.is_(True))
        .group_by(rollup_hour.c.bucket)
        .order_by(rollup_hour.c.bucket)
    )
    if level == "commune":
        query = query.where(Asset.area_code == area)
    rows = session.execute(query).all()
    return [r[0] for r in rows], [float(r[1]) * kpi.scale for r in rows]


def statistics(
    ctx: Context,
    kpi: KpiDefinition,
    level: str,
    area: str,
    period: str,
    lang: str,
    guard: MissGuard | None = None,
) -> dict[str, Any]:
    """Trend, year-over-year, anomalies and the hour × weekday profile of a KPI for one area."""
    rows = [r for r in history(ctx, kpi, level, area, period, guard) if r.value is not None]
    times = [datetime(r.period.year, r.period.month, r.period.day, tzinfo=UTC) for r in rows]
    values = [float(r.value) for r in rows if r.value is not None]
    slope = trend(times, values)
    yoy = year_over_year([r.period for r in rows], values)
    found = anomalies(times, values) if len(values) >= 5 else []
    with ctx.session() as session:
        hours, hourly = hourly_series(session, kpi, area, level)
    profile = seasonal_profile(hours, hourly) if hours else None
    return {
        "kpi": kpi.code,
        "level": level,
        "area": area,
        "period": period,
        "points": len(values),
        "trend": {
            "slope_per_year": _clean(slope.slope_per_year),
            "relative_per_year": _clean(slope.relative_per_year),
            "significant": slope.significant,
            "p_value": _clean(slope.p_value),
            "direction": slope.direction,
            "summary": slope.summary(lang, kpi.unit_in(lang)),
        },
        "year_over_year": [
            {
                "period": y.period.isoformat(),
                "value": _clean(y.value),
                "previous": _clean(y.previous),
                "change": _clean(y.change),
                "change_pct": _clean(y.relative * 100) if y.relative is not None else None,
                "summary": y.summary(lang),
            }
            for y in yoy[-12:]
        ],
        "anomalies": [
            {
                "period": a.time.date().isoformat(),
                "value": _clean(a.value),
                "expected": _clean(a.expected),
                "score": _clean(a.score),
                "kind": a.direction,
                "summary": a.summary(lang, unit=kpi.unit_in(lang)),
            }
            for a in found
        ],
        "profile": _profile(profile, lang),
    }


def _profile(profile: Any, lang: str) -> dict[str, Any] | None:
    """The profile as JSON (null cells where no data)."""
    if profile is None or not profile.enough_data:
        return None
    matrix = [[_clean(float(v)) for v in row] for row in profile.mean]
    hours = [_clean(float(v)) for v in profile.hourly_mean]
    return {"matrix": matrix, "hours": hours, "summary": profile.summary(lang), "tz": profile.tz}


def correlate(
    ctx: Context, a: KpiDefinition, b: KpiDefinition, scope: Scope, lang: str, guard: MissGuard | None = None
) -> dict[str, Any]:
    """Correlation between two KPIs over the cells (area × period) where both have a value."""
    left = {(r.area_code, r.period): r.value for r in kpi_rows(ctx, a, scope, guard).rows}
    right = {(r.area_code, r.period): r.value for r in kpi_rows(ctx, b, scope, guard).rows}
    keys = sorted(k for k in left.keys() & right.keys() if left[k] is not None and right[k] is not None)
    result = correlation([left[k] for k in keys], [right[k] for k in keys])
    return {
        "kpi": a.code,
        "with": b.code,
        "level": scope.level,
        "period": scope.period,
        "n": result.n,
        "r": _clean(result.pearson_r),
        "p_value": _clean(result.pearson_p),
        "rho": _clean(result.spearman_rho),
        "rho_p_value": _clean(result.spearman_p),
        "strength": result.strength,
        "summary": result.summary(lang),
    }
