"""Live status, indicators over time and the station timeline, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import World
from tests.domains.ev.irve_factory import COMMUNES, OPEN_IRVE_DATASET, irve_csv, pdc_id
from tests.domains.ev.test_status import dyn

from territoria.catalog.service import get_organisation
from territoria.domains.ev import history, live
from territoria.domains.ev.availability import StatusEvent
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.model import ChargePoint
from territoria.domains.ev.records_import import import_rows
from territoria.domains.ev.sessions_store import SESSIONS_DATASET, checked_rows, ensure_sessions_dataset
from territoria.domains.ev.status import ensure_status_dataset, import_dynamic, sync_assets
from territoria.territory.groups import DEFAULT_EPCI, load_groups

NICE, CANNES = COMMUNES["Nice"][0], COMMUNES["Cannes"][0]
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = datetime.combine(NOW.date(), datetime.min.time(), tzinfo=UTC)
H = timedelta(hours=1)
# "An hour ago", but never before today's midnight: yesterday's figures must not depend on the hour the
# suite runs (between 00:00 and 01:00 UTC an hour ago is yesterday).
FREE_AGAIN = max(NOW - H, TODAY)
# station 0 (Nice): point 0 free now, point 1 out of service for 10 days; station 1 (Cannes): occupied;
# station 2 (Antibes): its only report is 8 hours old, so unknown now.
S0A, S0B, S1A, S1B, S2A = pdc_id(0, 0), pdc_id(0, 1), pdc_id(1, 0), pdc_id(1, 1), pdc_id(2, 0)
ROWS = [
    dyn(S0A, TODAY - 2 * 24 * H),  # yesterday-but-one 00:00, en service and free
    dyn(S0A, TODAY - 24 * H + 12 * H, occupation="occupe"),  # yesterday noon: occupied
    dyn(S0A, FREE_AGAIN),  # free again an hour ago (or since midnight)
    dyn(S0B, NOW - 10 * 24 * H, etat="hors_service", occupation="inconnu"),
    dyn(S1A, NOW - 2 * H, occupation="occupe"),
    dyn(S1B, NOW - 2 * H, occupation="reserve"),
    dyn(S2A, NOW - 8 * H),
]


@pytest.fixture
def fed(world: World) -> World:
    """Ten IRVE points (five stations of two), registered, with the status rows above."""
    body = dict(OPEN_IRVE_DATASET)
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve/records", content=irve_csv().encode(), headers=headers)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
    with world.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        sync_assets(s, world.ctx.locator(), ds, consolidate(s).points)
        report = import_dynamic(s, ds, ROWS, now=NOW + timedelta(seconds=1))
        assert report.rejected == 0, report
    return world


def test_latest_status_and_station_states(fed: World) -> None:
    with fed.ctx.session() as s:
        ds = live.status_dataset(s)
        assert ds is not None
        latest = live.latest_status(s, ds)
    assert set(latest) == {S0A, S0B, S1A, S1B, S2A}
    assert (latest[S0A].at, latest[S0A].etat, latest[S0A].occupation) == (FREE_AGAIN, "en_service", "libre")
    states = {p: live.point_state(st, NOW) for p, st in latest.items()}
    assert states == {
        S0A: live.AVAILABLE,
        S0B: live.OUT_OF_SERVICE,
        S1A: live.OCCUPIED,
        S1B: live.OCCUPIED,  # reserved counts as not available to a driver
        S2A: live.UNKNOWN,  # 8 h old: beyond the 6 h a status is trusted
    }
    assert live.station_state([states[S0A], states[S0B]]) == live.AVAILABLE
    assert live.station_state([states[S1A], states[S1B]]) == live.OCCUPIED
    assert live.station_state([live.UNKNOWN, live.OUT_OF_SERVICE]) == live.OUT_OF_SERVICE
    assert live.station_state([]) == live.UNKNOWN


def test_live_route_counts_stations(fed: World) -> None:
    body = fed.client.get("/api/v1/ev/live", headers=fed.operator).json()
    by_id = {st["id_station"]: st for st in body["stations"]}
    assert by_id["FRA68P060000"]["state"] == "available"
    assert by_id["FRA68P060000"]["points"] == {S0A: "available", S0B: "out_of_service"}
    assert by_id["FRA68P060001"]["state"] == "occupied"
    assert by_id["FRA68P060002"]["state"] == "unknown"
    assert body["counts"] == {
        "available": 1,
        "in_service": 0,
        "occupied": 1,
        "out_of_service": 0,
        "unknown": 3,
    }
    assert live.point_state(live.LiveStatus(S0B, NOW - 30 * 24 * H, "hors_service", "inconnu"), NOW) == (
        live.OUT_OF_SERVICE
    )


def test_daily_availability_route_hand_computed(fed: World) -> None:
    owner = fed.operator
    r = fed.client.get(
        "/api/v1/ev/availability/daily", params={"level": "commune", "code": NICE, "days": 2}, headers=owner
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["charge_points"] == 2
    first, second = body["days"]
    # day -2: S0A en service (free) 00:00-06:00 (6 h gap), S0B out of service all day (no max-gap limit? no:
    # S0B's report is 10 days old, beyond 6 h, so unknown): availability 6/6 = 100 %, 42 h unknown of 48
    assert first["availability_rate"] == pytest.approx(1.0) and first["unknown_h"] == pytest.approx(42.0)
    assert first["occupancy_rate"] == pytest.approx(0.0)
    # yesterday: S0A occupied 12:00-18:00 (6 h), nothing else known
    assert second["occupancy_rate"] == pytest.approx(1.0) and second["unknown_h"] == pytest.approx(42.0)
    daily = "/api/v1/ev/availability/daily"
    assert fed.client.get(daily, params={"level": "commune"}, headers=owner).status_code == 422
    assert fed.client.get(daily, params={"days": 0}, headers=owner).status_code == 422
    territory = fed.client.get(daily, params={"days": 3}, headers=owner).json()
    assert territory["charge_points"] == 10 and len(territory["days"]) == 3


def test_growth_by_commissioning_month() -> None:
    def cp(pdc: str, station: str, kw: float, when: date | None) -> ChargePoint:
        return ChargePoint(
            pdc, station, "", "", "", None, 7.2, 43.7, None, NICE, kw, None, None, commissioned=when
        )

    points = [
        cp("a", "S1", 22, date(2025, 11, 3)),
        cp("b", "S1", 22, date(2026, 1, 31)),
        cp("c", "S2", 150, date(2026, 1, 1)),
        cp("d", "S3", 50, None),
        cp("e", "S4", 7, date(2027, 5, 1)),  # in the future of `today`: not in service yet
    ]
    grown = history.growth(points, date(2026, 2, 10))
    assert grown.undated == 1
    assert [(m.month, m.charge_points, m.stations, m.installed_kw) for m in grown.months] == [
        ("2025-11", 1, 1, 22.0),
        ("2025-12", 1, 1, 22.0),
        ("2026-01", 3, 2, 194.0),
        ("2026-02", 3, 2, 194.0),
    ]
    assert history.growth([], date(2026, 2, 10)).months == []


def test_segments_cover_the_window_with_unknown_gaps() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = start + 24 * H
    events = [
        StatusEvent("p", start - H, "en_service", "libre"),  # sets the state at start
        StatusEvent("p", start + 2 * H, "en_service", "libre"),  # same state: joined
        StatusEvent("p", start + 4 * H, "hors_service", "inconnu"),
        StatusEvent("p", start + 20 * H, "en_service", "occupe"),
    ]
    parts = history.segments(events, start, end, id_pdcs=["p", "q"])
    assert [(s.id_pdc, (s.start - start) / H, (s.end - start) / H, s.state) for s in parts] == [
        ("p", 0, 4, live.AVAILABLE),
        ("p", 4, 10, live.OUT_OF_SERVICE),  # 6 h at most after a report
        ("p", 10, 20, live.UNKNOWN),
        ("p", 20, 24, live.OCCUPIED),
        ("q", 0, 24, live.UNKNOWN),
    ]


def test_growth_route_by_level(fed: World) -> None:
    r = fed.client.get("/api/v1/ev/indicators/history")
    assert r.status_code == 200, r.text
    months = r.json()["months"]
    assert months and months[-1]["charge_points"] == 10 and months[-1]["stations"] == 5
    nice = fed.client.get("/api/v1/ev/indicators/history", params={"level": "commune", "code": NICE}).json()
    assert nice["months"][-1]["charge_points"] == 2
    assert fed.client.get("/api/v1/ev/indicators/history", params={"code": NICE}).status_code == 422
    r = fed.client.get("/api/v1/ev/indicators/history", params={"level": "epci", "code": "123456789"})
    assert r.status_code == 404 and "load-groups" in r.text


def test_pages_show_live_state_outages_trends_and_timeline(fed: World) -> None:
    page = fed.client.get("/ev?lang=en", headers=fed.operator)
    assert page.status_code == 200
    html = page.text
    # per charge point: S0A free, S0B out, S1A/S1B occupied, S2A stale and five never reported
    assert 'data-state="available">1<' in html and 'data-state="occupied">2<' in html
    assert 'data-state="out_of_service">1<' in html and 'data-state="unknown">6<' in html
    assert "Charge points out of service for more than 7 days" in html and S0B in html
    assert 'id="ev-chart-growth"' in html and 'id="ev-chart-days"' in html
    assert '<option value="state" selected>' in html
    station = fed.client.get("/ev/stations/FRA68P060000?lang=fr", headers=fed.operator)
    assert station.status_code == 200
    assert 'data-station-state="available"' in station.text and 'id="ev-timeline-config"' in station.text
    assert "Historique des points de la station" in station.text and "<code>irve</code>" in station.text


def test_without_status_feed_the_page_says_how_to_load_one(world: World) -> None:
    body = dict(OPEN_IRVE_DATASET)
    world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    headers = {**world.operator, "content-type": "text/csv"}
    world.client.post("/api/v1/datasets/irve/records", content=irve_csv().encode(), headers=headers)
    html = world.client.get("/ev?lang=en").text
    assert "import-dynamic" in html and 'id="ev-chart-growth"' in html
    assert world.client.get("/api/v1/ev/live").status_code == 404


def test_css_state_colours_match_the_map() -> None:
    css = (Path(live.__file__).parent / "static" / "ev.css").read_text(encoding="utf-8")
    found = dict(re.findall(r"\.ev-state-(\w+) \{ background-color: (#[0-9a-f]{6}); \}", css))
    assert found == live.STATE_COLOURS


def test_session_figures_are_shown_to_readers_of_the_sessions_dataset_only(fed: World) -> None:
    with fed.ctx.session(write=True) as s:
        ensure_sessions_dataset(s, get_organisation(s, "lightco"))
    day = TODAY - 24 * H
    rows = [
        {
            "id_pdc_itinerance": S0A,
            "start": (day + 8 * H).isoformat(),
            "end": (day + 9 * H).isoformat(),
            "energy": "20",
        },
        {
            "id_pdc_itinerance": S1A,
            "start": (day + 10 * H).isoformat(),
            "end": (day + 10 * H + timedelta(minutes=1)).isoformat(),
            "energy": "0.1",
        },
    ]
    report = import_rows(
        fed.ctx, SESSIONS_DATASET, checked_rows(list(enumerate(rows, start=1)), None), key="t"
    )
    assert report.accepted == 2
    anonymous = fed.client.get("/ev?lang=en").text
    assert (
        "Charging sessions are private data of LightCo" in anonymous
        and 'data-figure="sessions"' not in anonymous
    )
    owner = fed.client.get("/ev?lang=en", headers=fed.operator).text
    assert 'data-figure="sessions">2<' in owner and 'data-figure="energy_kwh">20<' in owner
    assert 'data-figure="success_share">50.0 %<' in owner  # the one-minute 0.1 kWh session failed


ODD_QUERIES = [
    "/api/v1/ev/indicators/history?level=epci",
    "/api/v1/ev/indicators/history?level=commune&code=%27%3B--",
    "/api/v1/ev/indicators/history?level=x",
    "/api/v1/ev/availability/daily?days=100000",
    "/api/v1/ev/availability/daily?level=territory&code=06088",
    "/api/v1/ev/availability/daily?level=epci&code=200030195",
    "/api/v1/ev/indicators?level=epci",
    "/ev/stations/%00%2F..",
    "/ev/stations/" + "x" * 5000,
]


def test_odd_queries_get_a_clear_4xx_or_an_answer(fed: World) -> None:
    for query in ODD_QUERIES:
        r = fed.client.get(query, headers=fed.operator)
        assert r.status_code in (200, 404, 422), (query, r.status_code, r.text)


def test_availability_and_sessions_by_epci(fed: World) -> None:
    owner = fed.operator
    assert (
        fed.client.get("/api/v1/ev/availability", params={"level": "epci"}, headers=owner).status_code == 422
    )
    with fed.ctx.session(write=True) as s:
        load_groups(s, DEFAULT_EPCI)
        ensure_sessions_dataset(s, get_organisation(s, "lightco"))
    day = TODAY - 24 * H
    rows = [
        {
            "id_pdc_itinerance": S0A,
            "start": (day + 8 * H).isoformat(),
            "end": (day + 9 * H).isoformat(),
            "energy": "20",
        },
        {
            "id_pdc_itinerance": S1A,
            "start": (day + 8 * H).isoformat(),
            "end": (day + 9 * H).isoformat(),
            "energy": "10",
        },
    ]
    import_rows(fed.ctx, SESSIONS_DATASET, checked_rows(list(enumerate(rows, start=1)), None), key="epci")
    available = "/api/v1/ev/availability"
    by_epci = fed.client.get(available, params={"level": "epci", "days": 3}, headers=owner).json()["rows"]
    communes = fed.client.get(available, params={"level": "commune", "days": 3}, headers=owner).json()["rows"]
    metro = next(r for r in by_epci if r["area_code"] == "200030195")  # Nice's EPCI: station 0 only
    nice = next(r for r in communes if r["area_code"] == NICE)
    assert metro["charge_points"] == nice["charge_points"] == 2
    assert metro["en_service_h"] == pytest.approx(nice["en_service_h"])
    assert sum(r["charge_points"] for r in by_epci) == 10
    sessions = fed.client.get(
        "/api/v1/ev/sessions", params={"level": "epci", "days": 3}, headers=fed.operator
    )
    got = {r["area_code"]: (r["sessions"], r["energy_kwh"]) for r in sessions.json()["rows"]}
    assert got["200030195"] == (1, 20.0) and got["200039915"] == (1, 10.0)  # Cannes Pays de Lérins
