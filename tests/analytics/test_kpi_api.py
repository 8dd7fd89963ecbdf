"""KPI API: listing follows access, values per area and period, cache and its invalidation, custom KPIs."""

from __future__ import annotations

from typing import Any

from tests.analytics.test_engine import NICE, lit  # noqa: F401 - the fixture
from tests.conftest import World

CUSTOM: dict[str, Any] = {
    "code": "lights_power_sum",
    "title": {"fr": "Puissance cumulée", "en": "Summed power"},
    "description": {"fr": "Somme des puissances relevées.", "en": "Sum of the power readings."},
    "dataset": "lights",
    "metric": "power",
    "aggregation": "sum",
    "unit": "W",
}
OCT = {"period": "month", "start": "2026-10-01", "end": "2026-11-01"}


def test_create_and_read_a_custom_kpi(lit: World) -> None:  # noqa: F811
    c = lit.client
    assert c.post("/api/v1/kpis", json=CUSTOM).status_code == 401
    assert c.post("/api/v1/kpis", json=CUSTOM, headers=lit.reader).status_code == 403  # read-only token
    r = c.post("/api/v1/kpis", json=CUSTOM, headers=lit.operator)
    assert r.status_code == 201, r.text
    assert r.json()["origin"] == "custom" and r.json()["sources"] == ["lights"]
    assert c.post("/api/v1/kpis", json=CUSTOM, headers=lit.operator).status_code == 409
    codes = [k["code"] for k in c.get("/api/v1/kpis", headers=lit.reader).json()]
    assert "lights_power_sum" in codes
    assert "lights_power_sum" not in [k["code"] for k in c.get("/api/v1/kpis").json()]  # private source
    r = c.get("/api/v1/kpis/lights_power_sum", params={**OCT, "lang": "en"}, headers=lit.reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kpi"]["title"] == "Summed power" and body["cached"] is False
    nice = next(row for row in body["rows"] if row["area"] == NICE)
    assert nice == {"area": NICE, "name": "Nice", "period": "2026-10-01", "value": 600.0, "contributors": 2}
    again = c.get("/api/v1/kpis/lights_power_sum", params={**OCT, "lang": "en"}, headers=lit.reader).json()
    assert again["cached"] is True and again["rows"] == body["rows"]
    # New data invalidates the cache.
    point = [{"asset": "L002", "metric": "power", "ts": "2026-10-05T00:00:00Z", "value": 11}]
    assert c.post("/api/v1/datasets/lights/measurements", json=point, headers=lit.operator).status_code == 200
    fresh = c.get("/api/v1/kpis/lights_power_sum", params={**OCT, "area": NICE}, headers=lit.reader).json()
    assert fresh["cached"] is False and fresh["rows"][0]["value"] == 611.0


def test_kpi_access_and_bad_input(lit: World) -> None:  # noqa: F811
    c = lit.client
    assert c.post("/api/v1/kpis", json=CUSTOM, headers=lit.operator).status_code == 201
    assert c.get("/api/v1/kpis/lights_power_sum").status_code == 404  # its dataset is unseen
    assert c.get("/api/v1/kpis/lights_power_sum", headers=lit.other).status_code == 404
    assert c.get("/api/v1/kpis/nope", headers=lit.reader).status_code == 404
    bad = {**CUSTOM, "code": "x_share", "aggregation": "share"}  # a share without its condition
    r = c.post("/api/v1/kpis", json=bad, headers=lit.operator)
    assert r.status_code == 422 and "condition" in r.text
    r = c.post("/api/v1/kpis", json={**CUSTOM, "code": "y", "metric": "nope"}, headers=lit.operator)
    assert r.status_code == 422
    r = c.post("/api/v1/kpis", json={**CUSTOM, "code": "zz", "dataset": "nope"}, headers=lit.operator)
    assert r.status_code == 404
    r = c.post("/api/v1/kpis", content=b"{", headers={**lit.operator, "content-type": "application/json"})
    assert r.status_code == 400
    params = {"period": "day", "start": "2020-01-01", "end": "2026-01-01"}
    r = c.get("/api/v1/kpis/lights_power_sum", params=params, headers=lit.reader)
    assert r.status_code == 422 and "at most" in r.text
    r = c.get("/api/v1/kpis/lights_power_sum", params={**OCT, "level": "epci"}, headers=lit.reader)
    assert r.status_code == 422 and "level" in r.text


def test_yaml_definition_and_territory_level(lit: World) -> None:  # noqa: F811
    yaml_body = """
- code: lights_on_share
  title: {fr: Allumés, en: Lit}
  description: {fr: Part allumée, en: Share lit}
  dataset: lights
  metric: power
  aggregation: share
  condition: {of: max, op: ">=", value: 1}
  unit: "%"
"""
    headers = {**lit.operator, "content-type": "application/yaml"}
    r = lit.client.post("/api/v1/kpis", content=yaml_body.encode(), headers=headers)
    assert r.status_code == 201, r.text
    r = lit.client.get(
        "/api/v1/kpis/lights_on_share", params={**OCT, "level": "territory"}, headers=lit.reader
    )
    rows = r.json()["rows"]
    assert [(x["area"], x["name"], round(x["value"], 2)) for x in rows] == [
        ("territory", "Territoire", 66.67)
    ]
