"""The private status history (`ev-status`) through the EV routes and pages: its readers (owner, agreement
holders) get every figure; everyone else gets only what its published open-data release holds, or
nothing, on SQLite and PostgreSQL (issue 13, item 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from tests.conftest import World
from tests.domains.ev.irve_factory import irve_rows, pdc_id
from tests.opendata.test_ev_releases import STATUS, policy_and_publish, two_sources

from territoria.access.agreement_models import Agreement
from territoria.app import create_app
from territoria.catalog.service import get_dataset, get_organisation
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.records_import import import_rows
from territoria.domains.ev.samples import to_csv
from territoria.domains.ev.sessions_store import SESSIONS_DATASET, checked_rows, ensure_sessions_dataset
from territoria.domains.ev.status import ensure_status_dataset, import_dynamic, sync_assets

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
ANTIBES = "06004"  # station 2: a single charge point, whose occupancy the release withholds
NICE = "06088"  # station 0: two charge points
ROUTES = ("/api/v1/ev/live", "/api/v1/ev/availability", "/api/v1/ev/availability/daily")


@pytest.fixture
def fed(world: World) -> World:
    """Operator A's IRVE file (open) and its status history (private, owned by lightco)."""
    two_sources(world)
    for slug in ("irve-a", "irve-b"):  # IRVE static data is public: its datasets are open here
        r = world.client.patch(f"/api/v1/datasets/{slug}", json={"access": "open"}, headers=world.operator)
        assert r.status_code == 200, r.text
    with world.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        sync_assets(s, world.ctx.locator(), ds, consolidate(s).points)
        report = import_dynamic(s, ds, STATUS, now=NOW)
        assert report.rejected == 0, report.rejected_by_code
    return world


def share(world: World, org: str, fields: list[str] | None = None) -> None:
    """An agreement on ev-status for `org` (optionally limited to some metrics)."""
    now = datetime.now(UTC)
    with world.ctx.session(write=True) as s:
        s.add(
            Agreement(
                dataset_id=get_dataset(s, "ev-status").id,
                organisation_id=get_organisation(s, org).id,
                purpose="test",
                fields=fields,
                starts_at=now - timedelta(days=1),
                expires_at=now + timedelta(days=30),
            )
        )


def daily(client: TestClient, code: str, headers: dict[str, str] | None = None) -> Any:
    """The daily figures of a commune over the last week."""
    params = {"level": "commune", "code": code, "days": 7}
    r = client.get("/api/v1/ev/availability/daily", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def test_status_routes_refuse_callers_who_may_not_read_it_when_nothing_is_released(fed: World) -> None:
    anonymous = TestClient(create_app(context=fed.ctx))
    for url in ROUTES:  # a private dataset they may not see: answered as if there were no status feed
        assert anonymous.get(url).status_code == 404, url
        assert fed.client.get(url, headers=fed.other).status_code == 404, url  # another operator
        assert fed.client.get(url, headers=fed.operator).status_code == 200, url
    # the owner still gets the lone charge point's occupancy (station 2, Antibes: occupied 13:00-19:00)
    owner = daily(fed.client, ANTIBES, fed.operator)
    known = [d["occupancy_rate"] for d in owner["days"] if d["occupancy_rate"] is not None]
    assert known == [pytest.approx(1.0), pytest.approx(0.0)]
    assert owner["released_version"] is None


def test_agreement_holders_keep_todays_answers(fed: World) -> None:
    share(fed, "waterco")
    for url in ROUTES:
        got = fed.client.get(url, headers=fed.other).json()
        want = fed.client.get(url, headers=fed.operator).json()
        got.pop("at", None), want.pop("at", None)
        assert got == want, url


def test_an_agreement_without_occupancy_gets_no_live_state(fed: World) -> None:
    share(fed, "waterco", fields=["etat_pdc"])
    assert fed.client.get("/api/v1/ev/live", headers=fed.other).status_code == 403
    assert fed.client.get("/api/v1/ev/availability/daily", headers=fed.other).status_code == 403


def test_anonymous_callers_get_the_released_figures_with_their_secrecy(fed: World) -> None:
    outcome = policy_and_publish(fed, "ev-status", {"preset": "ev-station-availability"})
    assert outcome.published
    anonymous = TestClient(create_app(context=fed.ctx))
    assert anonymous.get("/api/v1/ev/live").status_code == 404  # never released: the release is per day
    lone = daily(anonymous, ANTIBES)
    assert lone["released_version"] == 1 and lone["charge_points"] == 1
    # availability as released (6/13, then 1), the lone point's occupancy withheld (secret)
    assert [(d["availability_rate"], d["occupancy_rate"]) for d in lone["days"]] == [
        (round(6 / 13, 4), None),
        (1.0, None),
    ]
    nice = daily(anonymous, NICE)  # two charge points: occupancy published
    assert [d["occupancy_rate"] for d in nice["days"]] == [round(8 / 21, 4), 0.0]
    r = anonymous.get("/api/v1/ev/availability", params={"level": "commune", "days": 7})
    assert r.status_code == 200, r.text
    rows = {row["area_code"]: row for row in r.json()["rows"]}
    assert set(rows) == {NICE, "06029", ANTIBES}
    assert all(row["occupancy_rate"] is None for row in rows.values())  # not published per area
    assert rows[NICE]["availability_rate"] == pytest.approx(29 / 35, abs=1e-4)
    assert rows[ANTIBES]["hors_service_h"] == pytest.approx(7.0)


def test_pages_show_live_states_and_timelines_to_readers_only(fed: World) -> None:
    anonymous = TestClient(create_app(context=fed.ctx))
    station = "/ev/stations/FRA68P060002?lang=en"
    owner_page = fed.client.get(station, headers=fed.operator).text
    assert 'id="ev-timeline-config"' in owner_page
    for headers, client in (({}, anonymous), (fed.other, fed.client)):
        page = client.get(station, headers=headers)
        assert page.status_code == 200
        assert 'id="ev-timeline-config"' not in page.text and "data-station-days" not in page.text
        home = client.get("/ev?lang=en", headers=headers).text
        assert "data-ev-states" not in home and 'id="ev-chart-days"' not in home
        assert (
            "Charge point status is private data of LightCo" in home and "data-ev-status-hidden" in page.text
        )
    home = fed.client.get("/ev?lang=en", headers=fed.operator).text
    assert "data-ev-states" in home and 'id="ev-chart-days"' in home and "data-ev-status-hidden" not in home


def test_private_irve_datasets_stay_out_of_public_figures(world: World) -> None:
    two_sources(world)  # irve-a and irve-b are private (the default)
    anonymous = TestClient(create_app(context=world.ctx))
    [terr] = anonymous.get("/api/v1/ev/indicators", params={"level": "territory"}).json()["rows"]
    assert terr["charge_points"] == 0
    [mine] = world.client.get(
        "/api/v1/ev/indicators", params={"level": "territory"}, headers=world.operator
    ).json()["rows"]
    assert mine["charge_points"] == 5
    assert anonymous.get("/ev/stations/FRA68P060000").status_code == 404
    assert world.client.get("/ev/stations/FRA68P060000", headers=world.operator).status_code == 200
    months = anonymous.get("/api/v1/ev/indicators/history").json()["months"]
    assert not months or months[-1]["charge_points"] == 0


def test_a_release_never_consolidates_another_organisations_private_irve_data(world: World) -> None:
    two_sources(world)  # lightco's irve-a and irve-b (private)
    body = {"slug": "irve-w", "title": "w", "domain": "ev", "kind": "records", "schema": "irve-statique"}
    assert world.client.post("/api/v1/datasets", json=body, headers=world.other).status_code == 201
    theirs = irve_rows(stations=7, per_station=1)[6:]  # waterco's private point, unknown to lightco
    headers = {**world.other, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve-w/records", content=to_csv(theirs).encode(), headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    outcome = policy_and_publish(world, "irve-a", {"preset": "irve-consolidated"})
    assert outcome.published
    path = world.ctx.settings.releases_root() / outcome.release.path
    ids = set(pq.read_table(path).column("id_pdc_itinerance").to_pylist())
    assert pdc_id(6, 0) not in ids and pdc_id(0, 0) in ids


def test_session_figures_count_only_the_irve_points_the_reader_may_see(world: World) -> None:
    two_sources(world)  # lightco's private IRVE files; no status registry: sessions fall back to them
    with world.ctx.session(write=True) as s:
        ensure_sessions_dataset(s, get_organisation(s, "lightco"))
    now = datetime.now(UTC)
    with world.ctx.session(write=True) as s:
        s.add(
            Agreement(
                dataset_id=get_dataset(s, SESSIONS_DATASET).id,
                organisation_id=get_organisation(s, "waterco").id,
                purpose="test",
                starts_at=now - timedelta(days=1),
                expires_at=now + timedelta(days=30),
            )
        )
    day = datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    row = {"id_pdc_itinerance": pdc_id(0, 0), "start": (day + timedelta(hours=8)).isoformat()}
    row |= {"end": (day + timedelta(hours=9)).isoformat(), "energy": "20"}
    assert import_rows(world.ctx, SESSIONS_DATASET, checked_rows([(1, row)], None), key="t").accepted == 1
    params = {"level": "territory", "days": 3}
    mine = world.client.get("/api/v1/ev/sessions", params=params, headers=world.operator).json()
    theirs = world.client.get("/api/v1/ev/sessions", params=params, headers=world.other).json()
    assert mine["rows"][0]["charge_points"] == 5
    # waterco reads the sessions, not lightco's private IRVE files: no charge point of theirs counted
    assert all(r["charge_points"] == 0 for r in theirs["rows"]) and theirs["outside_territory"] == 1
