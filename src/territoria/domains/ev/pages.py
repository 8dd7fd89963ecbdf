"""Public pages of the EV charging observatory: the territory's figures, maps, defects and stations."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access.policy import can_read, read_scope
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.domains.ev import availability_measure as measure
from territoria.domains.ev import history, indicators, live
from territoria.domains.ev.api import _communes, _facts, afir_by_level
from territoria.domains.ev.availability import DEFAULT_MAX_GAP, out_of_service_since
from territoria.domains.ev.consolidation import Consolidation
from territoria.domains.ev.coverage import DEFAULT_DISTANCE_KM, CommuneShape, coverage
from territoria.domains.ev.membership import moves, station_history
from territoria.domains.ev.model import ChargePoint
from territoria.domains.ev.sessions_stats import session_stats
from territoria.domains.ev.sessions_store import SESSIONS_DATASET
from territoria.domains.ev.status import status_events
from territoria.domains.ev.status_access import STATUS_METRICS
from territoria.domains.ev.visibility import consolidation_for, fleet_for, irve_slugs
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.web.render import map_tiles, page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
TOP_COMMUNES = 20
FIRST_FINDINGS = 50
FIRST_CONFLICTS = 50
CLASSES = [*indicators.POWER_CLASSES, indicators.UNKNOWN]
# ColorBrewer YlOrRd (low power pale, high power dark) and grey for an unknown power.
CLASS_COLOURS = ["#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#800026", "#9aa3ad"]
TREND_DAYS = 30  # availability chart window (whole UTC days)
MONTHS_SHOWN = 13  # months of availability listed on /ev (the current one and twelve complete ones)
STATION_DAYS = 7  # station timeline window
OUTAGE_DAYS = 7  # "out of service for more than N days"
OUTAGE_LOOKBACK_DAYS = 90  # status history read to date outages (the import horizon)
INDICATORS = ("cp_per_100k", "kw_per_100k", "charge_points", "installed_kw", "fast")
AFIR = "afir"  # offered when registered EV counts are loaded
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
    state: str = live.UNKNOWN  # live state, from the points' latest status reports
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


def _afir_value(ratio: indicators.AfirRatio | None) -> float | None:
    """Public power over the AFIR target, in % (None without registered vehicles)."""
    return None if ratio is None or ratio.ratio is None else round(ratio.ratio * 100, 1)


def map_config(
    stations: dict[str, Station],
    rows: list[indicators.AreaIndicators],
    lang: str,
    afir: dict[str, indicators.AfirRatio] | None = None,
    tiles: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ev.js needs: background, stations, commune values per indicator, colours and labels."""
    located = [s for s in stations.values() if s.lon is not None and s.lat is not None]
    return {
        "lang": lang,
        "tiles": tiles or {"name": "none", "url": None, "attribution": "", "maxZoom": 19},
        "areasUrl": "/api/v1/areas?level=commune",
        "classes": CLASSES,
        "classColours": CLASS_COLOURS,
        "states": list(live.STATES),
        "stateColours": [live.STATE_COLOURS[k] for k in live.STATES],
        "stateLabels": [i18n.t(f"ev.state.{k}", lang) for k in live.STATES],
        "hasStatus": any(s.state != live.UNKNOWN for s in stations.values()),
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
                "state": s.state,
                "n": len(s.points),
                "href": f"/ev/stations/{s.id}",
            }
            for s in sorted(located, key=lambda s: s.id)
        ],
        "communes": {
            r.code: {
                "name": r.name,
                "cp": r.charge_points,
                **{k: _value(r, k) for k in INDICATORS},
                **({AFIR: _afir_value(afir.get(r.code))} if afir else {}),
            }
            for r in rows
        },
        "indicators": {k: i18n.t(f"ev.ind.{k}", lang) for k in (*INDICATORS, *([AFIR] if afir else []))},
        "labels": {
            "none": i18n.t("ev.choro.none", lang),
            "noPopulation": i18n.t("ev.choro.no_population", lang),
            "error": i18n.t("ev.map.error", lang),
            "kw": i18n.t("ev.installed_kw", lang),
            "points": i18n.t("ev.charge_points", lang),
            "unknown": i18n.t("ev.class.unknown", lang),
            "byClass": i18n.t("ev.chart.by_class", lang),
            "byImplantation": i18n.t("ev.chart.by_implantation", lang),
            "state": i18n.t("ev.state", lang),
            "month": i18n.t("ev.trend.month", lang),
            "availability": i18n.t("ev.trend.availability", lang),
            "occupancy": i18n.t("ev.trend.occupancy", lang),
            # The background's name in the map's layer control (platform messages).
            "base": i18n.t(f"map.base.{(tiles or {}).get('name', 'none')}", lang),
            "noBase": i18n.t("map.base.none", lang),
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
            "message": f.message(lang),
            "fix": f.proposed_fix or {},
        }
        for f in result.findings[:FIRST_FINDINGS]
    ]
    return {
        "defect_counts": [(code, severity[code], n) for code, n in counts.most_common()],
        "defects": first,
        "defect_total": len(result.findings),
    }


def readable_status(session: Session, principal: Principal) -> Dataset | None:
    """The status dataset when the caller may read it (live states and timelines are never released)."""
    ds = live.status_dataset(session)
    if ds is None or read_scope(principal, ds, needs=STATUS_METRICS) != "data":
        return None
    return ds


def hidden_status(session: Session, principal: Principal) -> str:
    """The owner's name when a status feed exists that the caller may not read (else empty)."""
    ds = live.status_dataset(session)
    if ds is None or read_scope(principal, ds, needs=STATUS_METRICS) == "data":
        return ""
    return ds.owner.name if ds.owner else "?"


def apply_live(
    session: Session, stations: dict[str, Station], now: datetime, ds: Dataset | None
) -> dict[str, str]:
    """Set each station's live state; answer the state of every charge point (empty without a status feed
    the caller may read)."""
    if ds is None:
        return {}
    latest = live.latest_status(session, ds)
    states: dict[str, str] = {}
    for st in stations.values():
        mine = [live.point_state(latest.get(p.id_pdc), now) for p in st.points]
        states.update({p.id_pdc: state for p, state in zip(st.points, mine, strict=True)})
        st.state = live.station_state(mine)
    return states


def status_view(
    session: Session, points: list[ChargePoint], states: dict[str, str], now: datetime, ds: Dataset | None
) -> dict[str, Any]:
    """Live counts, availability by day over the last weeks, and the long outages (readers only)."""
    if ds is None or not states:
        return {"status": None}
    located = {p.id_pdc for p in points if p.area_code}
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=TREND_DAYS)
    # The one measure (availability_measure): the same points and times as the KPI and the contracts,
    # read once for the months shown; the 30-day window is its whole days from `start` to `end`.
    months = measure.point_days(session, ds, min(start, month_floor(end, MONTHS_SHOWN)), now, now=now)
    in_window = [r for r in months.rows if start.date() <= r.day < end.date()]
    days = history.by_day(in_window)
    recent = status_events(session, ds, now - timedelta(days=OUTAGE_LOOKBACK_DAYS), now)
    by_id = {p.id_pdc: p for p in points}
    outages = [
        (o, by_id[o.id_pdc]) for o in out_of_service_since(recent, now, OUTAGE_DAYS) if o.id_pdc in by_id
    ]
    return {
        "status": {
            "counts": Counter(states[p] for p in located if p in states),
            "days": days,
            "window": measure.summed(in_window, start.date()),
            "months": measure.by_period(months, "month")[::-1],
            "outages": sorted(outages, key=lambda item: item[0].since),
            "outage_days": OUTAGE_DAYS,
        }
    }


def month_floor(day: datetime, back: int) -> datetime:
    """00:00 UTC on the first day of the month `back - 1` months before the one holding `day`."""
    year, month = day.year, day.month - (back - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


def trend_config(points: list[ChargePoint], days: list[history.DayFigures], now: datetime) -> dict[str, Any]:
    """The two charts over time: the network's growth by month and availability by day."""
    grown = history.growth([p for p in points if p.area_code], now.date())
    return {
        "months": [m.month for m in grown.months],
        "monthPoints": [m.charge_points for m in grown.months],
        "monthKw": [m.installed_kw for m in grown.months],
        "undated": grown.undated,
        "days": [d.day.isoformat() for d in days],
        "availability": [
            None if d.availability_rate is None else round(d.availability_rate * 100, 1) for d in days
        ],
        "occupancy": [None if d.occupancy_rate is None else round(d.occupancy_rate * 100, 1) for d in days],
    }


def sessions_view(session: Session, principal: Principal, now: datetime) -> dict[str, Any]:
    """The territory's charging sessions over the trend window, for those the sessions data is shared with."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == SESSIONS_DATASET))
    if ds is None:
        return {"sessions": None}
    if not can_read(principal, ds):
        return {"sessions": {"hidden": True, "owner": ds.owner.name if ds.owner else ""}}
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    irve = irve_slugs(session, principal)
    stats = session_stats(session, end - timedelta(days=TREND_DAYS), end, "territory", irve=irve)
    row = stats.rows[0] if stats.rows else None
    return {"sessions": {"hidden": False, "days": stats.days, "row": row, "excluded": stats.excluded_by_code}}


def _territory_view(
    session: Session, lang: str, principal: Principal, tiles: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every figure, table and map setting of the observatory page."""
    result = consolidation_for(session, principal)
    areas = _communes(session)
    facts = _facts(areas)
    territory = indicators.for_territory(result.points, facts)
    rows = indicators.by_commune(result.points, facts)
    fleet = fleet_for(session, principal)
    afir = afir_by_level(session, result.points, "commune", [f.code for f in facts], fleet)
    afir_territory = afir_by_level(
        session, result.points, indicators.TERRITORY, [f.code for f in facts], fleet
    )
    shapes = [CommuneShape(a.code, a.name, a.population, a.geometry) for a in areas]
    cover = coverage(result.points, shapes, DEFAULT_DISTANCE_KM)
    stations = stations_of(result.points)
    now = datetime.now(UTC)
    status_ds = readable_status(session, principal)
    states = apply_live(session, stations, now, status_ds)
    status = status_view(session, result.points, states, now, status_ds)
    days = status["status"]["days"] if status["status"] else []
    ranked = sorted(rows, key=lambda r: (-r.charge_points, -r.installed_kw, r.code))
    return {
        "territory": territory,
        "afir": afir,
        "afir_territory": afir_territory.get(indicators.TERRITORY),
        "outside": len(result.points) - territory.charge_points,
        "coverage": cover,
        "top": ranked[:TOP_COMMUNES],
        "ranked": ranked,
        "classes": CLASSES,
        "conflicts": result.conflicts[:FIRST_CONFLICTS],
        "conflict_total": len(result.conflicts),
        "operators": sorted({s.operator for s in stations.values() if s.operator}),
        "config": {
            "map": map_config(stations, rows, lang, afir, tiles),
            "chart": chart_config(territory, lang),
            "trend": trend_config(result.points, days, now),
        },
        "state_colours": live.STATE_COLOURS,
        **status,
        "status_hidden": "" if status_ds is not None else hidden_status(session, principal),
        **sessions_view(session, principal, now),
        **defects_view(result, lang),
    }


def station_status(session: Session, station: Station, lang: str, principal: Principal) -> dict[str, Any]:
    """A station's live state, its points' timeline over the last days, and availability per day (for
    the readers of the status history)."""
    now = datetime.now(UTC)
    ds = readable_status(session, principal)
    point_states = apply_live(session, {station.id: station}, now, ds)
    if ds is None or not point_states:
        return {"point_states": point_states, "timeline": None, "station_days": []}
    ids = [p.id_pdc for p in station.points]
    start = now - timedelta(days=STATION_DAYS)
    events = status_events(session, ds, start - DEFAULT_MAX_GAP, now, id_pdcs=ids)
    parts = history.segments(events, start, now, id_pdcs=ids)
    day_end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "point_states": point_states,
        "station_days": history.daily_figures(
            session, ds, ids, day_end - timedelta(days=STATION_DAYS), day_end
        ),
        "timeline": {
            "lang": lang,
            "points": ids,
            "states": list(live.STATES),
            "colours": [live.STATE_COLOURS[k] for k in live.STATES],
            "labels": [i18n.t(f"ev.state.{k}", lang) for k in live.STATES],
            "start": start.isoformat(),
            "end": now.isoformat(),
            "segments": [
                [ids.index(g.id_pdc), g.start.isoformat(), g.end.isoformat(), live.STATES.index(g.state)]
                for g in parts
            ],
        },
    }


def membership_view(session: Session, station: Station, principal: Principal) -> dict[str, Any]:
    """Which points each source listed under this station, and since when; points that moved (only the
    sources the caller may read)."""
    mine = set(irve_slugs(session, principal))
    spans = [
        s
        for s in station_history(session, station.id, [p.id_pdc for p in station.points])
        if s.dataset in mine
    ]
    return {"memberships": spans, "moves": moves(spans)}


@router.get("/ev", response_class=HTMLResponse)
def ev_page(request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """The EV observatory: figures, station map, commune map, breakdowns, coverage, defects, conflicts."""
    lang = page_lang(request)
    values: dict[str, Any] = {
        "nav": "ev",
        "help": IMPORT_HELP,
        "empty": not irve_slugs(session, principal),
        "month_label": lambda day: i18n.month_name(day, lang),
        "current_month": datetime.now(UTC).date().replace(day=1),
    }
    if not values["empty"]:
        values.update(_territory_view(session, lang, principal, map_tiles(ctx)))
        values["empty"] = not values["territory"].charge_points and not values["outside"]
    return render(request, ctx, "ev.html", values)


@router.get("/ev/stations/{id_station}", response_class=HTMLResponse)
def station_page(
    id_station: str, request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """One station: its charge points with power, connectors, operator and sources, and its defects."""
    lang = page_lang(request)
    result = consolidation_for(session, principal)
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
        **station_status(session, station, lang, principal),
        "status_hidden": hidden_status(session, principal),
        **membership_view(session, station, principal),
        "station": station,
        "commune": names.get(station.area_code or "", ""),
        "power_class": indicators.power_class,
        "conflicts": mine.conflicts,
        **defects_view(mine, lang),
    }
    return render(request, ctx, "ev_station.html", values)
