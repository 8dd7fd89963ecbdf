"""KPI statistics through the API: trend on a growing series, year-over-year, profile, correlation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.analytics.test_kpi_api import CUSTOM
from tests.conftest import World

from territoria.catalog.service import get_dataset
from territoria.ingest.batches import Origin
from territoria.ingest.service import ingest_measurements


def _grow(world: World) -> None:
    """One reading a month on L000 growing by 10 W a month for two years, and hourly readings lately."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = datetime(now.year - 2, now.month, 1, 12, tzinfo=UTC)
    rows: list[dict[str, object]] = []
    for i in range(24):
        month = first.month - 1 + i
        at = first.replace(year=first.year + month // 12, month=month % 12 + 1)
        rows.append({"asset": "L000", "metric": "power", "ts": at.isoformat(), "value": 10.0 * (i + 1)})
    for h in range(1, 24 * 14):  # two weeks of hourly readings: light at night only
        at = now - timedelta(hours=h)
        rows.append(
            {"asset": "L001", "metric": "power", "ts": at.isoformat(), "value": 80.0 if at.hour < 6 else 0.0}
        )
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "lights")
        result = ingest_measurements(
            s, ds, list(enumerate(rows)), Origin(source="file"), checksum="g", future_tolerance_s=300
        )
        assert result.rejected == 0, result.errors


def test_statistics_of_a_growing_kpi(world: World) -> None:
    _grow(world)
    assert world.client.post("/api/v1/kpis", json=CUSTOM, headers=world.operator).status_code == 201
    r = world.client.get("/api/v1/kpis/lights_power_sum/stats", params={"lang": "en"}, headers=world.reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["points"] >= 20
    assert body["trend"]["direction"] == "increasing" and body["trend"]["significant"] is True
    assert body["trend"]["slope_per_year"] > 0 and "increase" in body["trend"]["summary"].lower()
    assert any(y["change"] is not None for y in body["year_over_year"])
    profile = body["profile"]
    assert profile is not None and len(profile["matrix"]) == 7 and len(profile["hours"]) == 24
    assert "Peak" in profile["summary"]
    fr = world.client.get("/api/v1/kpis/lights_power_sum/stats", headers=world.reader).json()
    assert "Hausse" in fr["trend"]["summary"] or "hausse" in fr["trend"]["summary"]
    r = world.client.get(
        "/api/v1/kpis/lights_power_sum/stats", params={"level": "commune"}, headers=world.reader
    )
    assert r.status_code == 422
    assert world.client.get("/api/v1/kpis/lights_power_sum/stats", headers=world.other).status_code == 404


def test_correlation_between_two_kpis(world: World) -> None:
    _grow(world)
    c = world.client
    assert c.post("/api/v1/kpis", json=CUSTOM, headers=world.operator).status_code == 201
    count = {**CUSTOM, "code": "lights_readings", "aggregation": "count"}
    assert c.post("/api/v1/kpis", json=count, headers=world.operator).status_code == 201
    params = {"with": "lights_readings", "level": "territory", "period": "month", "lang": "en"}
    r = c.get("/api/v1/kpis/lights_power_sum/correlation", params=params, headers=world.reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n"] >= 3 and body["with"] == "lights_readings" and body["summary"]
    params["with"] = "nope"
    assert (
        c.get("/api/v1/kpis/lights_power_sum/correlation", params=params, headers=world.reader).status_code
        == 404
    )
