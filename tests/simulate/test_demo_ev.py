"""The demo's EV observatory: the operator's IRVE file and status feed loaded once, the page filled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select

from territoria.access.agreement_models import Agreement
from territoria.access.service import create_token
from territoria.app import create_app
from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.domains.ev.demo import IRVE_DATASET, install_ev
from territoria.domains.ev.feeds import ev_assets
from territoria.domains.ev.sessions_stats import session_stats
from territoria.domains.ev.sessions_store import SESSIONS_DATASET
from territoria.domains.ev.status import STATUS_DATASET
from territoria.ingest.models import QuarantinedRow, Record
from territoria.simulate.city import build_city
from territoria.simulate.service import install_city


def test_demo_loads_the_irve_file_once_and_the_observatory_shows_it(ctx: Context) -> None:
    city = build_city(400, 6)
    install_city(ctx, city)
    quiet = Console(quiet=True)
    install_ev(ctx, city, 1, quiet)
    install_ev(ctx, city, 1, quiet)  # a restart: nothing imported twice
    with ctx.session() as s:
        ds = get_dataset(s, IRVE_DATASET)
        records = s.scalar(select(func.count()).select_from(Record).where(Record.dataset_id == ds.id))
    assert records == len(ev_assets(city))
    client = TestClient(create_app(context=ctx))
    figures = client.get("/api/v1/ev/indicators?level=territory").json()["rows"][0]
    located = len([a for a in ev_assets(city) if a.expected_area])
    assert 0 < figures["charge_points"] <= located
    page = client.get("/ev?lang=en")
    assert page.status_code == 200
    assert "Charging sessions are private data of" in page.text  # an anonymous visitor sees no figure
    with ctx.session() as s:
        sessions = get_dataset(s, SESSIONS_DATASET)
        stored = s.scalar(select(func.count()).select_from(Record).where(Record.dataset_id == sessions.id))
        stats = session_stats(s, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC), "territory")
    assert stored and stored > 0
    with ctx.session() as s:
        quarantined = s.scalar(
            select(func.count()).select_from(QuarantinedRow).where(QuarantinedRow.dataset_id == sessions.id)
        )
        shared = s.scalar(
            select(func.count()).select_from(Agreement).where(Agreement.dataset_id == sessions.id)
        )
    assert quarantined == 0  # the simulated sessions are all plausible
    assert shared == 1  # the authority reads them under the operator's contract
    [row] = stats.rows
    assert row.sessions > 0 and 0 < row.successful < row.sessions and row.energy_kwh > 0
    url = "/api/v1/ev/availability?level=territory&days=1"
    assert client.get(url).status_code == 404  # the status feed is private and nothing is released yet
    with ctx.session(write=True) as s:
        _, token = create_token(s, get_dataset(s, STATUS_DATASET).owner, ["read"])
    availability = client.get(url, headers={"Authorization": f"Bearer {token}"}).json()
    [territory] = availability["rows"]
    assert territory["area_code"] == "*" and territory["charge_points"] > 0
    assert 0 <= territory["availability_rate"] <= 1 and 0 <= territory["occupancy_rate"] <= 1
    assert territory["en_service_h"] > 0
