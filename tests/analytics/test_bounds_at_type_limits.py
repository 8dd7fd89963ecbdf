"""Dates at the limits of Python's types on every route taking a date or instant: a clear 422, never a 500."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from tests.conftest import World

from territoria.analytics.service import default_scope
from territoria.dates import parse_instant
from territoria.errors import Invalid

CUSTOM = {
    "code": "lights_power_sum",
    "title": {"fr": "Puissance cumulée", "en": "Summed power"},
    "description": {"fr": "Somme des puissances.", "en": "Sum of the power readings."},
    "dataset": "lights",
    "metric": "power",
    "aggregation": "sum",
    "unit": "W",
}
LIMITS = ("0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
ROUTES = (
    ("/api/v1/kpis/lights_power_sum", ("start", "end")),
    ("/api/v1/kpis/lights_power_sum/correlation?with=lights_power_sum", ("start", "end")),
    ("/kpis/lights_power_sum.csv", ("start", "end")),
    ("/api/v1/datasets/lights/quality", ("start", "end")),
    ("/api/v1/datasets/lights/report", ("start", "end")),
    ("/datasets/lights/report", ("start", "end")),
    ("/api/v1/datasets/lights/measurements", ("start", "end")),
    ("/api/v1/audit", ("since", "until")),
)


def test_dates_at_the_type_limits_answer_422_everywhere(world: World) -> None:
    """Each date parameter of each route, at 0001-01-01, 9999-12-31 and with offsets past the limits."""
    client = TestClient(world.client.app, raise_server_exceptions=False)
    assert client.post("/api/v1/kpis", json=CUSTOM, headers=world.operator).status_code == 201
    for path, names in ROUTES:
        for name in names:
            for value in LIMITS:
                kind = "day" if "T" not in value else "instant"
                if kind == "instant" and ("kpis" in path or "quality" in path):
                    continue  # day parameters: a datetime is refused as a malformed day already
                sep = "&" if "?" in path else "?"
                r = client.get(f"{path}{sep}{name}={value.replace('+', '%2B')}", headers=world.operator)
                assert r.status_code == 422, (path, name, value, r.status_code, r.text[:300])
                assert "1900" in r.text and "2200" in r.text, r.text[:300]


def test_the_shared_validator_refuses_the_limits_and_keeps_ordinary_dates() -> None:
    for value in LIMITS:
        with pytest.raises(Invalid, match="1900"):
            parse_instant(value, "end")
    assert parse_instant("2026-11-01", "end") is not None
    with pytest.raises(Invalid, match="1900"):
        default_scope("month", None, date(1, 1, 1), "commune")
    with pytest.raises(Invalid, match="1900"):
        default_scope("week", date(9999, 12, 31), None, "commune")
    assert default_scope("month", date(2026, 1, 1), date(2026, 3, 1), "commune").end == date(2026, 3, 1)


def test_deep_or_aliased_kpi_yaml_is_422_and_deep_json_is_a_4xx(world: World) -> None:
    """YAML nested 500 levels was a RecursionError (500) on POST /api/v1/kpis."""
    client = TestClient(world.client.app, raise_server_exceptions=False)
    yaml_type = {**world.operator, "Content-Type": "application/yaml"}
    deep_flow = "- code: x\n  extra: " + "[" * 600 + "]" * 600
    deep_block = "- code: x\n  extra:\n" + "".join("  " * (i + 2) + "a:\n" for i in range(500))
    aliases = "- &a [1, 2]\n- [" + ", ".join(["*a"] * 50) + "]\n"
    for body in (deep_flow, deep_block, aliases):
        r = client.post("/api/v1/kpis", content=body.encode(), headers=yaml_type)
        assert r.status_code == 422, (r.status_code, r.text[:300])
        assert "YAML" in r.json()["detail"]
    deep_json = '{"code": "x", "extra": ' + "[" * 5000 + "]" * 5000 + "}"
    r = client.post(
        "/api/v1/kpis",
        content=deep_json.encode(),
        headers={**world.operator, "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    ok = "- " + "\n  ".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in CUSTOM.items())
    assert client.post("/api/v1/kpis", content=ok.encode(), headers=yaml_type).status_code == 201


def test_admin_audit_page_ignores_dates_at_the_limits_with_a_note(world: World) -> None:
    """`/admin/audit?until=9999-12-31` overflowed while adding the day (a 500 for platform admins)."""
    from tests.conftest import web_login

    client = TestClient(world.client.app, raise_server_exceptions=False)
    web_login(world.ctx, client, org="city", role="admin", platform_admin=True)
    for name in ("since", "until"):
        for value in ("0001-01-01", "9999-12-31"):
            r = client.get("/admin/audit", params={name: value})
            assert r.status_code == 200, (name, value, r.status_code, r.text[-300:])


def test_agreement_form_with_an_expiry_at_the_limits_is_a_bad_date(world: World) -> None:
    """`expires=9999-12-31` on the agreements form overflowed computing the end of that day (a 500)."""
    from tests.conftest import web_login

    client = TestClient(world.client.app, raise_server_exceptions=False)
    csrf = web_login(world.ctx, client, org="lightco", role="admin")
    form = {"dataset": "lights", "organisation": "waterco", "purpose": "planning", "fields": "power"}
    for value in ("9999-12-31", "0001-01-01"):
        r = client.post("/agreements", data={**form, "expires": value, "csrf_token": csrf})
        assert r.status_code == 422 and "AAAA-MM-JJ" in r.text, (value, r.status_code, r.text[-300:])
