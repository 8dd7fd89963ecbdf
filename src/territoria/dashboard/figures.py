"""What the dashboard pages show: KPI figures by theme, series, values per commune (no HTTP here).

Every figure comes from `kpi_rows`, whose cache is keyed by the scope: the pages share a few fixed
scopes (territory: 24 months and the current one; communes: 12 months and the current one) so that the
home page, the KPI pages, the commune pages and the map reuse each other's computations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access.principal import Principal
from territoria.analytics import service as kpis
from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.engine import TERRITORY, KpiRow, Scope
from territoria.analytics.periods import Coverage, PeriodState, next_start, period_start, period_state
from territoria.catalog.models import Dataset
from territoria.context import Context
from territoria.quality import scores
from territoria.territory.models import Area
from territoria.web.sparkline import Spark, sparkline

THEME_ORDER = ("lighting", "energy", "mobility", "water", "waste", "air")
# Complete periods shown before the current one on a KPI's time chart.
SPAN: dict[str, int] = {"month": 24, "week": 52, "year": 5}
CHART_PERIODS = tuple(SPAN)
COMMUNE_MONTHS = 12
SPARK_PERIODS = 12
# Relative changes smaller than this are shown as stable rather than better or worse.
STABLE = 0.005
Tone = Literal["better", "worse", "stable", "up", "down", "none"]


def today() -> date:
    """The current UTC day (the KPI periods are UTC periods)."""
    return datetime.now(UTC).date()


def window(period: str, complete: int, day: date) -> tuple[date, date]:
    """[start, end) covering `complete` whole periods before the one holding `day`, and that one."""
    current = period_start(day, period)
    start = current
    for _ in range(complete):
        start = period_start(start - timedelta(days=1), period)
    return start, next_start(current, period)


def territory_scope(period: str, day: date) -> Scope:
    """The territory-level scope of the time charts and home cards."""
    start, end = window(period, SPAN[period], day)
    return Scope(TERRITORY, period, start, end)


def commune_scope(day: date) -> Scope:
    """The commune-level monthly scope of the commune pages, the bar charts and the map."""
    start, end = window("month", COMMUNE_MONTHS, day)
    return Scope("commune", "month", start, end)


def periods_of(scope: Scope) -> list[date]:
    """Every period start of a scope, oldest first."""
    out, cursor = [], scope.start
    while cursor < scope.end:
        out.append(cursor)
        cursor = next_start(cursor, scope.period)
    return out


def period_label(day: date, period: str, lang: str) -> str:
    """A period as people name it: "octobre 2026", "week of 2026-10-05", "2026"."""
    if period == "year":
        return str(day.year)
    if period == "month":
        return i18n.month_name(day, lang)
    if period == "week":
        return i18n.t("dash.week_of", lang, day=i18n.day_text(day, lang))
    return i18n.day_text(day, lang)


def short_label(day: date, period: str, lang: str) -> str:
    """A compact period label for chart axes: 10/2026, 2026-10-05, 2026."""
    if period == "year":
        return str(day.year)
    if period == "month":
        return i18n.month_number(day, lang)
    return i18n.day_text(day, lang)


def theme_rank(theme: str) -> tuple[int, str]:
    """Sort key of a theme: the shipped order, then other themes alphabetically."""
    return (THEME_ORDER.index(theme), "") if theme in THEME_ORDER else (len(THEME_ORDER), theme)


def readable_kpis(session: Session, principal: Principal) -> list[KpiDefinition]:
    """The KPIs whose every source the visitor may read, by theme (registry order within a theme)."""
    found = [k for k in kpis.registry(session).values() if kpis.readable(session, principal, k)]
    return sorted(found, key=lambda k: theme_rank(k.theme))


@dataclass(frozen=True)
class Point:
    """A KPI value for one period (None: no data, or undefined) and how far the data covers it."""

    period: date
    value: float | None
    state: PeriodState = "complete"

    @property
    def partial(self) -> bool:
        """True when the value covers only part of the period (see analytics.periods.period_state)."""
        return self.state != "complete"


def series_of(
    rows: Sequence[KpiRow], area: str, scope: Scope, coverage: Coverage | None = None, day: date | None = None
) -> list[Point]:
    """One point per period of the scope for an area, None where it has no row, each with its state."""
    values = {r.period: r.value for r in rows if r.area_code == area}
    when = day or today()
    return [Point(p, values.get(p), period_state(p, scope.period, coverage, when)) for p in periods_of(scope)]


def coverage_of(ctx: Context, kpi: KpiDefinition) -> Coverage | None:
    """The days a KPI's data covers."""
    with ctx.session() as session:
        return kpis.coverage(session, kpi)


def rows_for(ctx: Context, kpi: KpiDefinition, scope: Scope) -> list[KpiRow]:
    """A KPI's rows for a scope, through the cache."""
    return kpis.kpi_rows(ctx, kpi, scope).rows


@dataclass(frozen=True)
class Change:
    """A change from the previous period, and how to read it given the KPI's direction."""

    delta: float | None
    pct: float | None
    tone: Tone


def change_of(kpi: KpiDefinition, value: float | None, previous: float | None) -> Change:
    """The change between two values, good or bad when the KPI says which way is better."""
    if value is None or previous is None:
        return Change(None, None, "none")
    delta = value - previous
    pct = delta / abs(previous) * 100 if previous else None
    if abs(delta) <= STABLE * max(abs(previous), abs(value)):
        return Change(delta, pct, "stable")
    if kpi.direction == "neutral":
        return Change(delta, pct, "up" if delta > 0 else "down")
    better = (delta < 0) == (kpi.direction == "lower_is_better")
    return Change(delta, pct, "better" if better else "worse")


@dataclass(frozen=True)
class Figure:
    """A KPI for one area: the latest complete period with data, the change and a sparkline.

    When no period is complete yet, `latest` is the latest partial one (its `partial` is then True)
    and there is no change to show.
    """

    kpi: KpiDefinition
    points: list[Point]  # the last SPARK_PERIODS complete periods
    latest: Point | None
    previous: Point | None
    change: Change
    spark: Spark

    @property
    def partial(self) -> bool:
        """True when the value shown covers only part of its period."""
        return self.latest is not None and self.latest.partial


def figure_of(kpi: KpiDefinition, points: Sequence[Point]) -> Figure:
    """The figure of a series: its complete periods (ended, and covered by the data) make the trend."""
    complete = [p for p in points if not p.partial][-SPARK_PERIODS:]
    at = next((i for i in range(len(complete) - 1, -1, -1) if complete[i].value is not None), None)
    latest = complete[at] if at is not None else None
    previous = complete[at - 1] if at else None
    if latest is None:  # nothing complete yet: the latest partial value, named as such
        latest = next((p for p in reversed(points) if p.value is not None), None)
    shown = latest.value if latest and previous else None
    change = change_of(kpi, shown, previous.value if previous else None)
    return Figure(kpi, complete, latest, previous, change, sparkline([p.value for p in complete]))


@dataclass
class ThemeGroup:
    """The figures of one theme."""

    theme: str
    figures: list[Figure]


def group_by_theme(figures: Sequence[Figure]) -> list[ThemeGroup]:
    """Figures grouped by theme, in theme order (the input is already sorted by theme)."""
    groups: list[ThemeGroup] = []
    for fig in figures:
        if not groups or groups[-1].theme != fig.kpi.theme:
            groups.append(ThemeGroup(fig.kpi.theme, []))
        groups[-1].figures.append(fig)
    return groups


def territory_figures(ctx: Context, readable: Sequence[KpiDefinition], day: date) -> list[Figure]:
    """The home cards: each KPI's territory value by month."""
    scope = territory_scope("month", day)
    return [
        figure_of(k, series_of(rows_for(ctx, k, scope), TERRITORY, scope, coverage_of(ctx, k), day))
        for k in readable
    ]


def commune(session: Session, code: str) -> Area | None:
    """A commune by INSEE code (None when there is none)."""
    return session.scalar(select(Area).where(Area.level == "commune", Area.code == code))


def commune_figures(ctx: Context, readable: Sequence[KpiDefinition], code: str, day: date) -> list[Figure]:
    """A commune's KPIs by month."""
    scope = commune_scope(day)
    return [
        figure_of(k, series_of(rows_for(ctx, k, scope), code, scope, coverage_of(ctx, k), day))
        for k in readable
    ]


@dataclass(frozen=True)
class CommuneValue:
    """One commune's value of a KPI for a month."""

    code: str
    name: str
    value: float | None
    contributors: int


def latest_complete_month(rows: Sequence[KpiRow], day: date, coverage: Coverage | None = None) -> date | None:
    """The latest complete month (ended, covered by the data) where some area has a value; failing
    that, the latest month with a value (partial: say so with `period_state`)."""
    with_value = {r.period for r in rows if r.value is not None}
    complete = [m for m in with_value if period_state(m, "month", coverage, day) == "complete"]
    if complete:
        return max(complete)
    return max(with_value) if with_value else None


def commune_values(
    ctx: Context, kpi: KpiDefinition, names: dict[str, str], day: date
) -> tuple[date | None, list[CommuneValue]]:
    """Every commune's value for the latest complete month with data, highest first (no data last)."""
    rows = rows_for(ctx, kpi, commune_scope(day))
    month = latest_complete_month(rows, day, coverage_of(ctx, kpi))
    by_code = {r.area_code: r for r in rows if r.period == month}
    values = [
        CommuneValue(
            code,
            name,
            by_code[code].value if code in by_code else None,
            by_code[code].contributors if code in by_code else 0,
        )
        for code, name in names.items()
    ]
    values.sort(key=lambda v: (v.value is None, -(v.value or 0.0), v.name))
    return month, values


def choropleth(
    ctx: Context, readable: Sequence[KpiDefinition], names: dict[str, str], lang: str, day: date
) -> list[dict[str, object]]:
    """What the map needs to colour the communes by any readable KPI (its latest complete month)."""
    layers: list[dict[str, object]] = []
    for kpi in readable:
        month, values = commune_values(ctx, kpi, names, day)
        partial = month is not None and period_state(month, "month", coverage_of(ctx, kpi), day) != "complete"
        layers.append(
            {
                "code": kpi.code,
                "title": kpi.title.get(lang),
                "unit": kpi.unit_in(lang),
                "decimals": kpi.decimals,
                "month": month.isoformat() if month else None,
                "monthLabel": (
                    i18n.t("dash.partial_period", lang, period=period_label(month, "month", lang))
                    if month and partial
                    else period_label(month, "month", lang)
                    if month
                    else None
                ),
                "partial": partial,
                "page": f"/kpis/{kpi.code}",
                "values": {v.code: v.value for v in values if v.value is not None},
            }
        )
    return layers


@dataclass(frozen=True)
class QualityLine:
    """A dataset's latest overall quality score."""

    slug: str
    title: str
    owner: str
    day: datetime | None
    overall: float | None


def quality_status(session: Session, datasets: Sequence[Dataset], lang: str = "fr") -> list[QualityLine]:
    """The latest stored overall score of each dataset (read only: the quality page refreshes them)."""
    latest = scores.latest_scores(session, [ds.id for ds in datasets])
    lines = []
    for ds in datasets:
        row = latest.get(ds.id)
        day, overall = (row.day, row.overall) if row is not None else (None, None)
        lines.append(QualityLine(ds.slug, ds.title_in(lang), ds.owner.name, day, overall))
    return lines
