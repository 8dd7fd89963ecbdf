"""Public pages of the EV charging observatory: the territory's figures, maps, defects and stations."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from territoria.api.deps import ContextDep, PrincipalDep, SessionDep
from territoria.domains.ev import indicators
from territoria.domains.ev.api import _communes, _facts
from territoria.domains.ev.consolidation import Consolidation, consolidate, irve_datasets
from territoria.domains.ev.coverage import DEFAULT_DISTANCE_KM, CommuneShape, coverage
from territoria.domains.ev.model import ChargePoint
from territoria.web import i18n
from territoria.web.pages import TILES_ATTRIBUTION, TILES_URL, page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
TOP_COMMUNES = 20
FIRST_FINDINGS = 50
FIRST_CONFLICTS = 50
CLASSES = [*indicators.POWER_CLASSES, indicators.UNKNOWN]
# ColorBrewer YlOrRd (low power pale, high power dark) and grey for an unknown power.
CLASS_COLOURS = ["#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#800026", "#9aa3ad"]
INDICATORS = ("cp_per_100k", "kw_per_100k", "charge_points", "installed_kw", "fast")
IMPORT_HELP = {
    "dataset": '{"slug": "irve", "title": "IRVE", "domain": "ev_charging", "kind": "records", '
    '"schema": "irve-statique"}',
    "command": "territoria import irve-statique.csv --dataset irve",
}


@dataclass
class Station:
    """A station as the map and the station page show it: its points summed up."""

    id: str
    name: str
    operator: str
    lon: float | None = None
    lat: float | None = None
    area_code: str | None = None
    total_kw: float = 0.0
    top_class: str = indicators.UNKNOWN
    public: bool = False
    points: list[ChargePoint] = field(default_factory=list)


def class_rank(name: str) -> int:
    """Order of a power class, unknown lowest."""
    return CLASSES.index(name) if name != indicators.UNKNOWN else -1


def stations_of(points: list[ChargePoint]) -> dict[str, Station]:
    """The stations of the consolidated points, by identifier."""
    out: dict[str, Station] = {}
    for p in points:
        if not p.id_station:
            continue
        st = out.setdefault(p.id_station, Station(p.id_station, p.station_name, p.operator))
        st.points.append(p)
        st.total_kw = round(st.total_kw + (p.power_kw or 0.0), 3)
        cls = indicators.power_class(p.power_kw)
        if class_rank(cls) > class_rank(st.top_class):
            st.top_class = cls
        st.public = st.public or indicators.is_public(p.access)
        if st.lon is None and p.lon is not None and p.lat is not None:
            st.lon, st.lat, st.area_code = p.lon, p.lat, p.area_code
    return out


def _value(row: indicators.AreaIndicators, key: str) -> float | None:
    """One choropleth indicator of a commune row (None when its population is unknown)."""
    return {
        "cp_per_100k": row.per_100k.get("charge_points"),
        "kw_per_100k": row.per_100k.get("installed_kw"),
        "charge_points": float(row.charge_points),
        "installed_kw": row.installed_kw,
        "fast": float(row.fast_chargers),
    }[key]


def map_config(
    stations: dict[str, Station], rows: list[indicators.AreaIndicators], lang: str
) -> dict[str, Any]:
    """What ev.js needs: stations, commune values per indicator, colours and labels."""
    located = [s for s in stations.values() if s.lon is not None and s.lat is not None]
    return {
        "lang": lang,
        "tiles": {"url": TILES_URL, "attribution": TILES_ATTRIBUTION},
        "areasUrl": "/api/v1/areas?level=commune",
        "classes": CLASSES,
        "classColours": CLASS_COLOURS,
        "stations": [
            {
                "id": s.id,
                "name": s.name,
                "lon": s.lon,
                "lat": s.lat,
                "kw": s.total_kw,
                "cls": s.top_class,
                "op": s.operator,
                "public": s.public,
                "n": len(s.points),
                "href": f"/ev/stations/{s.id}",
            }
            for s in sorted(located, key=lambda s: s.id)
        ],
        "communes": {
            r.code: {"name": r.name, "cp": r.charge_points, **{k: _value(r, k) for k in INDICATORS}}
            for r in rows
        },
        "indicators": {k: i18n.t(f"ev.ind.{k}", lang) for k in INDICATORS},
        "labels": {
            "none": i18n.t("ev.choro.none", lang),
            "noPopulation": i18n.t("ev.choro.no_population", lang),
            "error": i18n.t("ev.map.error", lang),
            "kw": i18n.t("ev.installed_kw", lang),
            "points": i18n.t("ev.charge_points", lang),
            "unknown": i18n.t("ev.class.unknown", lang),
            "byClass": i18n.t("ev.chart.by_class", lang),
            "byImplantation": i18n.t("ev.chart.by_implantation", lang),
        },
    }


def chart_config(territory: indicators.AreaIndicators, lang: str) -> dict[str, Any]:
    """The two breakdowns drawn by ECharts (the same figures are in the page's tables)."""
    unknown = i18n.t("ev.implantation.unknown", lang)
    return {
        "classes": [i18n.t("ev.class.unknown", lang) if c == indicators.UNKNOWN else c for c in CLASSES],
        "classCounts": [territory.by_power_class.get(c, 0) for c in CLASSES],
        "implantations": [unknown if k == indicators.UNKNOWN else k for k in territory.by_implantation],
        "implantationCounts": list(territory.by_implantation.values()),
    }


def defects_view(result: Consolidation, lang: str) -> dict[str, Any]:
    """Findings counted by code (with their severity) and the first ones, in the visitor's language."""
    counts = Counter(f.code for f in result.findings)
    severity = {f.code: f.severity for f in result.findings}
    first = [
        {
            "code": f.code,
            "severity": f.severity,
            "id_pdc": f.id_pdc,
            "field": f.field,
            "message": f.message_fr if lang == "fr" else f.message_en,
            "fix": f.proposed_fix or {},
        }
        for f in result.findings[:FIRST_FINDINGS]
    ]
    return {
        "defect_counts": [(code, severity[code], n) for code, n in counts.most_common()],
        "defects": first,
        "defect_total": len(result.findings),
    }


def _territory_view(session: Session, lang: str) -> dict[str, Any]:
    """Every figure, table and map setting of the observatory page."""
    result = consolidate(session)
    areas = _communes(session)
    facts = _facts(areas)
    territory = indicators.for_territory(result.points, facts)
    rows = indicators.by_commune(result.points, facts)
    shapes = [CommuneShape(a.code, a.name, a.population, a.geometry) for a in areas]
    cover = coverage(result.points, shapes, DEFAULT_DISTANCE_KM)
    stations = stations_of(result.points)
    ranked = sorted(rows, key=lambda r: (-r.charge_points, -r.installed_kw, r.code))
    return {
        "territory": territory,
        "outside": len(result.points) - territory.charge_points,
        "coverage": cover,
        "top": ranked[:TOP_COMMUNES],
        "ranked": ranked,
        "classes": CLASSES,
        "conflicts": result.conflicts[:FIRST_CONFLICTS],
        "conflict_total": len(result.conflicts),
        "operators": sorted({s.operator for s in stations.values() if s.operator}),
        "config": {"map": map_config(stations, rows, lang), "chart": chart_config(territory, lang)},
        **defects_view(result, lang),
    }


@router.get("/ev", response_class=HTMLResponse)
def ev_page(request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """The EV observatory: figures, station map, commune map, breakdowns, coverage, defects, conflicts."""
    lang = page_lang(request)
    values: dict[str, Any] = {"nav": "ev", "help": IMPORT_HELP, "empty": not irve_datasets(session)}
    if not values["empty"]:
        values.update(_territory_view(session, lang))
        values["empty"] = not values["territory"].charge_points and not values["outside"]
    return render(request, ctx, "ev.html", values)


@router.get("/ev/stations/{id_station}", response_class=HTMLResponse)
def station_page(
    id_station: str, request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """One station: its charge points with power, connectors, operator and sources, and its defects."""
    lang = page_lang(request)
    result = consolidate(session) if irve_datasets(session) else Consolidation()
    station = stations_of(result.points).get(id_station)
    if station is None:
        missing = {"nav": "ev", "missing": id_station[:200]}
        return render(request, ctx, "ev_station.html", missing, status_code=404)
    ids = {p.id_pdc for p in station.points}
    names = {a.code: a.name for a in _communes(session)}
    mine = Consolidation(
        findings=[f for f in result.findings if f.id_pdc in ids],
        conflicts=[c for c in result.conflicts if c.id_pdc in ids],
    )
    values: dict[str, Any] = {
        "nav": "ev",
        "missing": None,
        "station": station,
        "commune": names.get(station.area_code or "", ""),
        "power_class": indicators.power_class,
        "conflicts": mine.conflicts,
        **defects_view(mine, lang),
    }
    return render(request, ctx, "ev_station.html", values)
