"""What the open-data dataset page shows, ready for its template: cells, chart, map, downloads, API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import Request

from territoria import i18n
from territoria.catalog.models import Dataset
from territoria.opendata import portal
from territoria.opendata.models import Release
from territoria.opendata.tables import ReleaseColumn, ReleaseTable
from territoria.web.render import map_tiles

LICENCES: dict[str, tuple[str, str]] = {
    "etalab-2.0": (
        "Licence Ouverte 2.0 (Etalab)",
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    ),
    "odbl-1.0": ("Open Database License (ODbL) 1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
}
EXPORTS = ("csv", "csv-bom", "json", "geojson", "parquet")
REASONS = ("k", "dominance", "differencing", "secondary")
NEXT_LINE = " \\\n  "  # a shell line continuation, so that long curl lines read without scrolling


def licence_info(code: str) -> dict[str, str]:
    """The licence's name and page (the code itself, without a link, when unknown)."""
    name, url = LICENCES.get(code, (code, ""))
    return {"code": code, "name": name, "url": url}


def title_of(column: ReleaseColumn, lang: str) -> str:
    """The column's title in the page's language."""
    return column.title_in(lang)


def _text(value: Any, lang: str) -> tuple[str, str]:
    """A non-null cell as text, with its CSS class."""
    if isinstance(value, bool):
        return (i18n.t("od.yes", lang) if value else i18n.t("od.no", lang)), ""
    if isinstance(value, int | float):
        return i18n.number(value, lang), "num"
    if isinstance(value, datetime):
        plain = value.hour == value.minute == value.second == 0
        return value.strftime("%Y-%m-%d" if plain else "%Y-%m-%d %H:%M"), ""
    if isinstance(value, date):
        return value.isoformat(), ""
    return str(value), ""


def cell(value: Any, column: ReleaseColumn, row: dict[str, Any], lang: str) -> dict[str, str]:
    """One preview cell: a value, « secret » (never 0) for a secret measure, « Total » for a totalled dim."""
    if value is not None:
        text, css = _text(value, lang)
        return {"text": text, "class": css}
    if row.get("secret") and column.role == "measure":
        return {"text": i18n.t("od.secret", lang), "class": "od-secret"}
    if column.name in set((row.get("total") or "").split(",")) - {""}:
        return {"text": i18n.t("od.total_cell", lang), "class": "od-total"}
    return {"text": "—", "class": "muted"}


def preview_rows(table: ReleaseTable, rows: list[dict[str, Any]], lang: str) -> list[list[dict[str, str]]]:
    """The preview rows as formatted cells, in the order of the columns."""
    return [[cell(row.get(c.name), c, row, lang) for c in table.columns] for row in rows]


def _unit(table: ReleaseTable, name: str | None) -> str:
    """The unit of a column ('' when none)."""
    column = table.column(name) if name else None
    return column.unit if column is not None else ""


def chart_config(table: ReleaseTable, series: portal.Series | None, lang: str) -> dict[str, Any] | None:
    """What opendata.js needs to draw the time series."""
    if series is None:
        return None
    column = table.column(series.measure)
    return {
        "categories": series.periods,
        "values": series.values,
        "unit": _unit(table, series.measure),
        "title": title_of(column, lang) if column else series.measure,
        "lang": lang,
    }


def map_config(
    table: ReleaseTable, figures: portal.Figures, lang: str, tiles: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """What opendata.js needs to draw the map: commune values (choropleth) or markers."""
    labels = {k: i18n.t(f"od.map.{k}", lang) for k in ("secret", "no_data", "rows", "error", "value")}
    no_tiles = {"name": "none", "url": None, "attribution": "", "maxZoom": 19}
    base = {"tiles": tiles or no_tiles, "lang": lang, "labels": labels}
    if figures.areas is not None:
        areas = figures.areas
        return {
            **base,
            "kind": "area",
            "areasUrl": "/api/v1/areas?level=commune",
            "values": areas.values,
            "secret": areas.secret,
            "unit": _unit(table, areas.measure),
        }
    if figures.markers is not None:
        return {
            **base,
            "kind": "point",
            "points": figures.markers.points,
            "unit": _unit(table, figures.markers.measure),
        }
    return None


def downloads(slug: str, release: Release, path_size: int | None) -> list[dict[str, Any]]:
    """The export links, with what each holds."""
    base = f"/api/v1/opendata/{slug}/exports"
    links = []
    for kind in EXPORTS:
        if kind == "geojson" and not release.geometry:
            continue
        href = f"{base}/csv?bom=true" if kind == "csv-bom" else f"{base}/{kind}"
        links.append({"kind": kind, "href": href, "size": path_size if kind == "parquet" else None})
    return links


def _quote(value: Any) -> str:
    """A literal of the explore language: text in single quotes (doubled inside), numbers as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def api_examples(
    request: Request, table: ReleaseTable, layout: portal.Layout, rows: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """curl lines built from the real column names (and a real value) of the release."""
    root = str(request.base_url).rstrip("/")
    api = f"{root}/api/v1/opendata/{table.dataset}"
    out = [
        {"key": "od.api.metadata", "cmd": f'curl "{api}"'},
        {"key": "od.api.schema", "cmd": f'curl "{api}/schema.json"'},
    ]
    texts = [c for c in table.columns if c.type == "string" and c.name != "total"]
    filter_col = next((c for c in texts if any(r.get(c.name) is not None for r in rows)), None)
    args = [f'"{api}/records"']
    if filter_col is not None:
        value = next(r[filter_col.name] for r in rows if r.get(filter_col.name) is not None)
        where = f"{filter_col.name} = {_quote(value)}"
        if layout.aggregated:
            where += " and secret = false"
        args.append(f'--data-urlencode "where={where}"')
    args.append('--data-urlencode "limit=20"')
    out.append({"key": "od.api.where", "cmd": "curl -G " + NEXT_LINE.join(args)})
    dims = [c.name for c in table.columns if c.role == "dimension" and c.name != layout.location] or [
        c.name for c in texts
    ]
    group = layout.time if layout.time else next(iter(dims), None)
    if group is not None:
        if layout.measure is not None:
            select = f"{group}, sum({layout.measure}) as {layout.measure}"
        else:
            select = f"{group}, count(*) as n"
        parts = [f"select={select}", f"group_by={group}", f"order_by={group}"]
        args = [f'"{api}/records"', *(f'--data-urlencode "{p}"' for p in parts)]
        out.append({"key": "od.api.group_by", "cmd": "curl -G " + NEXT_LINE.join(args)})
    out.append({"key": "od.api.export_csv", "cmd": f'curl -o {table.dataset}.csv "{api}/exports/csv"'})
    out.append(
        {"key": "od.api.export_parquet", "cmd": f'curl -o {table.dataset}.parquet "{api}/exports/parquet"'}
    )
    return out


def check_title(check: dict[str, Any], lang: str) -> str:
    """A disclosure check's title in `lang`: its catalog key and parameters, or, in a report stored
    before keys, its title by language (French when the report lacks the language)."""
    key = check.get("title_key")
    if isinstance(key, str) and key:
        params = check.get("title_params")
        return i18n.message(key, params if isinstance(params, dict) else {}, lang)
    title = check.get("title") or {}
    return str(title.get(lang) or title.get("fr") or check.get("code", ""))


def report_view(report: dict[str, Any], lang: str) -> dict[str, Any]:
    """The disclosure-control report in words: checks, cells published and secret by reason, settings."""
    checks = []
    for check in report.get("checks") or []:
        checks.append(
            {
                "code": check.get("code", ""),
                "title": check_title(check, lang),
                "passed": bool(check.get("passed")),
                "checked": check.get("checked"),
                "failures": check.get("failures") or 0,
            }
        )
    suppressed = report.get("suppressed") or {}
    window = report.get("window") or None
    noise = report.get("noise") if isinstance(report.get("noise"), dict) else None
    return {
        "passed": bool(report.get("passed")),
        "checks": checks,
        "cells": report.get("cells"),
        "published": report.get("published"),
        "secret": report.get("secret") or 0,
        "reasons": [{"reason": r, "count": suppressed[r]} for r in REASONS if r in suppressed],
        "policy_version": report.get("policy_version"),
        "window": window,
        "window_start": _iso_day(window.get("start"), lang) if window else None,
        "window_end": _iso_day(window.get("end"), lang, half_open=True) if window else None,
        "window_days": window.get("days") if window else None,
        "delay_days": report.get("delay_days"),
        "noise": noise,
        "outside": report.get("excluded_outside_territory"),
        **thresholds(report, lang),
    }


def thresholds(report: dict[str, Any], lang: str) -> dict[str, str | None]:
    """The release's secrecy thresholds in words: the fewest contributors a published cell needs (a range
    when category rules differ, e.g. 3 for businesses and 10 for households) and the largest share one
    contributor may weigh (None when no rule limits it)."""
    rules = report.get("rules") or {}
    k, p = rules.get("k") or [None, None], rules.get("p") or [None, None]
    k_text = None
    if k[0] is not None and k[1] is not None:
        low, high = i18n.number(k[0], lang), i18n.number(k[1], lang)
        k_text = low if k[0] == k[1] else i18n.t("od.range", lang, low=low, high=high)
    strict = [v for v in p if v is not None and v < 100]
    p_text = i18n.number(min(strict), lang) if strict else None
    return {"k_text": k_text, "p_text": p_text}


def _iso_day(value: Any, lang: str, *, half_open: bool = False) -> str:
    """An ISO instant from a report as a day in the page's language (the last day before a window's end)."""
    try:
        day = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if half_open:
        day -= timedelta(microseconds=1)
    return i18n.day_text(day, lang)


def dataset_values(
    request: Request,
    ds: Dataset,
    release: Release,
    table: ReleaseTable,
    layout: portal.Layout,
    figures: portal.Figures | None,
    lang: str,
) -> dict[str, Any]:
    """Everything the dataset page template needs but the dates."""
    rows = figures.preview if figures is not None else []
    try:
        size: int | None = table.path.stat().st_size
    except OSError:
        size = None
    config: dict[str, Any] = {}
    chart = chart_config(table, figures.series if figures else None, lang)
    tiles = map_tiles(request.app.state.context)
    geo = map_config(table, figures, lang, tiles) if figures is not None else None
    if chart is not None:
        config["chart"] = chart
    if geo is not None:
        config["map"] = geo
    return {
        "ds": ds,
        "owner": ds.owner.name,
        "release": release,
        "licence": licence_info(release.licence or ds.licence),
        "columns": [{"col": c, "title": title_of(c, lang)} for c in table.columns],
        "preview": preview_rows(table, rows, lang),
        "file_missing": figures is None,
        "series": figures.series if figures else None,
        "areas": figures.areas if figures else None,
        "markers": figures.markers if figures else None,
        "chart": chart,
        "geo": geo,
        "config": config,
        "downloads": downloads(ds.slug, release, size),
        "api": api_examples(request, table, layout, rows),
        "report": report_view(release.report or {}, lang),
        "changelog": release.changelog or {},
        "aggregated": layout.aggregated,
    }
