"""HTML routes of the dashboard: a KPI's page and CSV download, a commune's page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.analytics import service as kpis
from territoria.analytics.api import area_names
from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.engine import TERRITORY, Scope
from territoria.analytics.periods import next_start, period_start, period_state
from territoria.dashboard import figures as dash
from territoria.dates import QueryDay
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.http.limits import expensive_guard
from territoria.spreadsheet import safe_cell
from territoria.web.render import page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
TOP_BARS = 30
# The statistics, correlation and plan-target APIs are optional blocks of the KPI page: it only asks
# for those the app serves, so that a browser never meets a 404 for a block it cannot show anyway.
STATS_ROUTE = "/api/v1/kpis/{code}/stats"
CORRELATION_ROUTE = "/api/v1/kpis/{code}/correlation"
TARGETS_ROUTE = "/api/v1/targets"
SCRIPT_TEXTS = ("stats.", "corr.", "targets.")


def csv_href(code: str, scope: Scope, area: str | None = None, *, decimal: str = "point") -> str:
    """The CSV download of a chart's rows (with a BOM, so that spreadsheets read UTF-8); `decimal="comma"`
    is the variant French spreadsheets open as columns: `;` between cells, decimal commas."""
    query: dict[str, str] = {
        "level": scope.level,
        "period": scope.period,
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
    }
    if area:
        query["area"] = area
    query["bom"] = "1"
    if decimal == "comma":
        query["decimal"] = "comma"
    return f"/kpis/{code}.csv?{urlencode(query)}"


def rounded(value: float | None, decimals: int, decimal: str) -> object:
    """A KPI value as the CSV writes it: rounded to the KPI's decimals, with a decimal comma if asked."""
    if value is None:
        return ""
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if decimal == "comma" else text


def _spreadsheet_row(row: Sequence[object]) -> list[object]:
    """A row for spreadsheets: text cells cannot run as formulas, numbers stay numbers."""
    return [safe_cell(cell) if isinstance(cell, str) else cell for cell in row]


def _lines(
    header: Sequence[str], rows: Sequence[Sequence[object]], bom: bool, delimiter: str = ","
) -> Iterator[str]:
    """CSV text, a few hundred rows at a time (`bom`: for spreadsheets, formulas neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow(header)
    for i, row in enumerate(rows, start=1):
        writer.writerow(_spreadsheet_row(row) if bom else row)
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get("/kpis/{code}.csv")
def kpi_csv(
    code: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    level: Annotated[str, Query(pattern=r"^[a-z_]{1,16}$")] = "commune",
    period: Literal["day", "week", "month", "year"] | None = None,
    start: QueryDay | None = None,
    end: QueryDay | None = None,
    area: Annotated[str | None, Query(max_length=16)] = None,
    bom: bool = False,
    lang: Literal["fr", "en"] = "fr",
    decimal: Literal["point", "comma"] = "point",
) -> StreamingResponse:
    """The rows of `GET /api/v1/kpis/{code}` as CSV (UTF-8; `bom=1` adds a BOM for spreadsheets), values
    rounded to the KPI's decimals; `decimal=comma`: `;` between cells and decimal commas (French Excel)."""
    kpi = kpis.get_kpi(session, code)
    kpis.require_kpi(session, principal, kpi)
    scope = kpis.default_scope(period or kpi.period, start, end, level)
    result = kpis.kpi_rows(ctx, kpi, scope, expensive_guard(request, principal))
    names = area_names(session, level, lang)
    # Everything is read before streaming: the request's session is closed once the route returns.
    rows = [
        (kpi.code, r.area_code, names.get(r.area_code, r.area_code), r.period.isoformat())
        + (rounded(r.value, kpi.decimals, decimal), kpi.unit_in(lang), r.contributors)
        for r in result.rows
        if area is None or r.area_code == area
    ]
    header = ("kpi", "area", "name", "period", "value", "unit", "contributors")
    variant = "-fr" if decimal == "comma" else ""
    filename = f"{kpi.code}-{level}-{scope.period}-{scope.start}-{scope.end}{variant}.csv"
    return StreamingResponse(
        _lines(header, rows, bom, ";" if decimal == "comma" else ","),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-cache"},
    )


def has_route(request: Request, path: str) -> bool:
    """True when the app serves an API path (its OpenAPI paths: built once, then cached by FastAPI)."""
    return path in request.app.openapi().get("paths", {})


def _not_found(request: Request, ctx: ContextDep, key: str, code: str) -> HTMLResponse:
    """The dashboard's 404 page."""
    return render(request, ctx, "dashboard_not_found.html", {"key": key, "code": code}, status_code=404)


def export_caption(
    kpi: KpiDefinition, area: str, period: str, sources: Sequence[str], lang: str
) -> dict[str, str]:
    """What a chart's PNG carries so that it can go into a report as it is: the KPI, the area, the period,
    the unit and the source (drawn above and below the chart by dashboard.js)."""
    parts = [area, period] + (
        [i18n.t("export.unit", lang, unit=kpi.unit_in(lang))] if kpi.unit_in(lang) else []
    )
    day = i18n.day_text(dash.today(), lang)
    return {
        "title": kpi.title.get(lang),
        "subtitle": " · ".join(parts),
        "source": i18n.t("export.source", lang, sources=", ".join(sources), day=day),
    }


def source_names(session: Session, kpi: KpiDefinition, lang: str = "fr") -> list[str]:
    """The datasets a KPI reads, as « title – owner »."""
    pairs = kpis.sources(session, kpi)
    return list(dict.fromkeys(f"{ds.title_in(lang)} – {ds.owner.name}" for ds, _ in pairs))


def time_chart(kpi: KpiDefinition, points: Sequence[dash.Point], scope: Scope, lang: str) -> dict[str, Any]:
    """The ECharts data of a KPI's territory series (the last period is in progress)."""
    return {
        "type": "line",
        "lang": lang,
        "title": kpi.title.get(lang),
        "unit": kpi.unit_in(lang),
        "decimals": kpi.decimals,
        "categories": [dash.short_label(p.period, scope.period, lang) for p in points],
        "values": [p.value for p in points],
        # Periods the data covers only in part: drawn dashed and hollow, named in the legend.
        "partial": [p.partial for p in points],
        "partialLabel": i18n.t("kpi.partial_legend", lang),
        "reference": (
            {"value": kpi.reference.value, "label": kpi.reference.label.get(lang)} if kpi.reference else None
        ),
        "filename": f"{kpi.code}-{TERRITORY}-{scope.period}",
    }


def bar_chart(kpi: KpiDefinition, values: Sequence[dash.CommuneValue], lang: str) -> dict[str, Any]:
    """The ECharts data of the top communes (highest first)."""
    top = [v for v in values if v.value is not None][:TOP_BARS]
    return {
        "type": "bar",
        "lang": lang,
        "title": kpi.title.get(lang),
        "unit": kpi.unit_in(lang),
        "decimals": kpi.decimals,
        "categories": [v.name for v in top],
        "values": [v.value for v in top],
        "links": [f"/communes/{v.code}" for v in top],
        "filename": f"{kpi.code}-communes",
    }


def page_config(request: Request, kpi: KpiDefinition, period: str, lang: str) -> dict[str, Any]:
    """What the KPI page's script fetches (only the APIs the app serves) and its labels."""
    query = urlencode({"level": TERRITORY, "period": period, "lang": lang})
    code = kpi.code
    stats = f"/api/v1/kpis/{code}/stats?{query}" if has_route(request, STATS_ROUTE) else None
    # Correlated over communes × periods: a territory series alone has too few points.
    pairs = urlencode({"level": "commune", "period": period, "lang": lang})
    correlation = (
        f"/api/v1/kpis/{code}/correlation?{pairs}" if has_route(request, CORRELATION_ROUTE) else None
    )
    targets = f"/api/v1/targets?{urlencode({'kpi': code})}" if has_route(request, TARGETS_ROUTE) else None
    # The script's texts: every statistics, correlation and target label, and a few shared ones.
    keys = [k for k in i18n.keys(lang) if k.startswith(SCRIPT_TEXTS)] + ["col.period", "chart.png"]
    return {
        "lang": lang,
        "period": period,
        "unit": kpi.unit_in(lang),
        "decimals": kpi.decimals,
        "statsUrl": stats,
        "correlationUrl": correlation,
        "targetsUrl": targets,
        "labels": {key: i18n.t(key, lang) for key in keys} | {"value": i18n.t("col.value_plain", lang)},
    }


@router.get("/kpis/{code}", response_class=HTMLResponse)
def kpi_page(
    code: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    period: Annotated[str, Query(max_length=16)] = "month",
) -> HTMLResponse:
    """A KPI: what it means, its territory series, its values by commune, statistics and targets."""
    kpi = kpis.registry(session).get(code)
    if kpi is None or not kpis.readable(session, principal, kpi):
        return _not_found(request, ctx, "kpi.notfound", code)
    lang = page_lang(request)
    period = period if period in dash.CHART_PERIODS else "month"
    day = dash.today()
    scope = dash.territory_scope(period, day)
    covered = kpis.coverage(session, kpi)
    points = dash.series_of(dash.rows_for(ctx, kpi, scope), TERRITORY, scope, covered, day)
    known = [p for p in points if p.value is not None]
    names = area_names(session, "commune", lang)
    month, communes = dash.commune_values(ctx, kpi, names, day)
    month_scope = Scope("commune", "month", month, next_start(month, "month")) if month else None
    readable = dash.readable_kpis(session, principal)
    named = source_names(session, kpi, lang)
    timeline = time_chart(kpi, points, scope, lang)
    if points:
        span = f"{dash.period_label(points[0].period, scope.period, lang)} – "
        span += dash.period_label(points[-1].period, scope.period, lang)
        timeline["export"] = export_caption(kpi, i18n.t("export.territory", lang), span, named, lang)
    top = bar_chart(kpi, communes, lang)
    if month is not None:
        shown = len(top["values"])
        area = i18n.nt("export.communes", "export.communes.plural", shown, lang, n=shown)
        top["export"] = export_caption(kpi, area, dash.period_label(month, "month", lang), named, lang)
    values = {
        "kpi": kpi,
        "title": kpi.title.get(lang),
        "description": kpi.description.get(lang),
        "sources": sorted({(ds.slug, ds.title_in(lang)) for ds, _ in kpis.sources(session, kpi)}),
        "period": period,
        "periods": dash.CHART_PERIODS,
        "points": points,
        "known": known,
        "scope": scope,
        "current": period_start(day, period),
        "time_chart": timeline,
        "time_csv": csv_href(kpi.code, scope),
        "time_csv_fr": csv_href(kpi.code, scope, decimal="comma"),
        "month": month,
        "month_partial": month is not None and period_state(month, "month", covered, day) != "complete",
        "communes": communes,
        "with_value": [c for c in communes if c.value is not None],
        "bar_chart": top,
        "bar_csv": csv_href(kpi.code, month_scope) if month_scope else None,
        "bar_csv_fr": csv_href(kpi.code, month_scope, decimal="comma") if month_scope else None,
        "top_bars": TOP_BARS,
        "others": [k for k in readable if k.code != kpi.code],
        "config": page_config(request, kpi, period, lang),
        "label_of": dash.period_label,
        "short_label": dash.short_label,
        "nav": "",
    }
    return render(request, ctx, "kpi.html", values)


@router.get("/communes/{code}", response_class=HTMLResponse)
def commune_page(
    code: str, request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """A commune: its facts and the latest month and 12-month trend of each readable KPI."""
    area = dash.commune(session, code)
    if area is None:
        return _not_found(request, ctx, "commune.notfound", code)
    day = dash.today()
    figures = dash.commune_figures(ctx, dash.readable_kpis(session, principal), area.code, day)
    scope = dash.commune_scope(day)
    values = {
        "area": area,
        "density": area.population / area.area_km2 if area.population and area.area_km2 else None,
        "groups": dash.group_by_theme(figures),
        "csv": {f.kpi.code: csv_href(f.kpi.code, scope, area.code) for f in figures},
        "label_of": dash.period_label,
        "nav": "",
    }
    return render(request, ctx, "commune.html", values)
