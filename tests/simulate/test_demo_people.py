"""The demo's people: the authority, an operator and a partner each log in and see exactly their share."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from territoria.access.audit import verify
from territoria.access.audit_models import AuditEvent
from territoria.access.websessions import COOKIE, LoginResult, login
from territoria.app import create_app
from territoria.context import Context
from territoria.simulate import networks
from territoria.simulate.city import build_city
from territoria.simulate.demo_people import DEMO_PASSWORD, install_people
from territoria.simulate.service import install_city

OPEN = {networks.TRAFFIC_COUNTERS.slug, networks.AIR_QUALITY_STATIONS.slug}


def _client(ctx: Context, email: str) -> TestClient:
    """A browser logged in as a demo user."""
    with ctx.session(write=True) as s:
        result = login(s, ctx.settings, email, DEMO_PASSWORD, "test")
        assert isinstance(result, LoginResult), result
    client = TestClient(create_app(context=ctx))
    client.cookies.set(COOKIE, result.cookie)
    return client


def _slugs(client: TestClient) -> set[str]:
    """Datasets listed to this client."""
    r = client.get("/api/v1/datasets")
    assert r.status_code == 200, r.text
    return {d["slug"] for d in r.json()}


def test_each_demo_user_sees_its_share(ctx: Context) -> None:
    install_city(ctx, build_city(60, 6))
    install_people(ctx)
    install_people(ctx)  # idempotent: a demo restarted on its data directory
    everything = {n.slug for n in networks.NETWORKS}
    assert _slugs(_client(ctx, "admin@metropole.demo")) == everything
    assert _slugs(_client(ctx, "elus@metropole.demo")) == everything  # through the contract agreements
    water = _client(ctx, "exploitation@eau-azur.demo")
    assert _slugs(water) == OPEN | {networks.WATER_METERS.slug}
    partner = _client(ctx, "analyste@observatoire.demo")
    assert _slugs(partner) == OPEN | {networks.ELECTRICITY_METERS.slug}
    # The partner's study on water ended: refused (as if unknown), and the refusal is in the audit trail.
    assert partner.get(f"/api/v1/datasets/{networks.WATER_METERS.slug}").status_code == 404
    assert water.get(f"/api/v1/datasets/{networks.ELECTRICITY_METERS.slug}").status_code == 404
    assert TestClient(create_app(context=ctx)).get("/api/v1/datasets").json() != []  # open data only
    with ctx.session() as s:
        denied = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")))
        actors = {e.actor for e in denied}
        assert "user:analyste@observatoire.demo@org:observatoire-energie-demo" in actors
        assert "user:exploitation@eau-azur.demo@org:eau-azur-demo" in actors
        assert verify(s).ok
