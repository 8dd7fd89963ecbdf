"""The demo's steering: three plan targets and the operators' contracts, installed once, visible to their parties."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from territoria.access.audit_models import AuditEvent
from territoria.access.websessions import COOKIE, LoginResult, login
from territoria.analytics.models import Contract, PlanTarget
from territoria.app import create_app
from territoria.context import Context
from territoria.simulate.city import build_city
from territoria.simulate.demo_people import DEMO_PASSWORD, install_people
from territoria.simulate.demo_steering import ELECTRICITY_FALLBACK, install_steering
from territoria.simulate.service import install_city


def _client(ctx: Context, email: str) -> TestClient:
    """A browser logged in as a demo user."""
    with ctx.session(write=True) as s:
        result = login(s, ctx.settings, email, DEMO_PASSWORD, "test")
        assert isinstance(result, LoginResult), result
    client = TestClient(create_app(context=ctx))
    client.cookies.set(COOKIE, result.cookie)
    return client


def test_install_steering_is_idempotent_and_follows_access(ctx: Context) -> None:
    install_city(ctx, build_city(60, 6))
    install_people(ctx)
    install_steering(ctx)
    install_steering(ctx)  # a demo restarted on its data directory adds nothing
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(PlanTarget)) == 3
        assert s.scalar(select(func.count()).select_from(Contract)) == 3
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "demo")))
        assert actions.count("target.create") == 3 and actions.count("contract.create") == 3
    elected = _client(ctx, "elus@metropole.demo")
    targets = {t["kpi_code"]: t for t in elected.get("/api/v1/targets").json()}
    assert set(targets) == {"electricity_per_inhabitant", "no2_mean", "lights_out_of_service"}
    power = targets["electricity_per_inhabitant"]  # no history: the fallback baseline, −20 % by 2030
    assert (power["baseline_value"], power["target_value"]) == (
        ELECTRICITY_FALLBACK,
        ELECTRICITY_FALLBACK * 0.8,
    )
    assert power["progress"]["status"] == "no_data"
    assert targets["no2_mean"]["area_name"] == "Nice" and targets["no2_mean"]["target_value"] == 30.0
    references = {c["reference"] for c in elected.get("/api/v1/contracts").json()}
    assert references == {"DSP-IRVE-2025", "DSP-EAU-2025", "CONV-ELEC-2025"}
    water = _client(ctx, "exploitation@eau-azur.demo")
    assert [c["reference"] for c in water.get("/api/v1/contracts").json()] == ["DSP-EAU-2025"]
    assert "DSP-EAU-2025" in water.get("/contracts").text
