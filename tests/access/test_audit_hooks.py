"""Security-relevant actions leave a trace in the hash-chained audit trail."""

from __future__ import annotations

from sqlalchemy import select
from tests.conftest import World

from territoria.access.audit import verify
from territoria.access.audit_models import AuditEvent


def test_tokens_datasets_and_quarantine_decisions_are_audited(world: World) -> None:
    c = world.client
    body = {
        "slug": "lights2",
        "title": "L",
        "domain": "lighting",
        "kind": "timeseries",
        "metrics": [{"name": "power", "unit": "W", "min": 0, "max": 400}],
    }
    assert c.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    patch = {"metrics": [{"name": "power", "unit": "W", "min": 0, "max": 300}]}
    assert c.patch("/api/v1/datasets/lights2", json=patch, headers=world.operator).status_code == 200
    bad = [{"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 999}]
    c.post("/api/v1/datasets/lights/measurements", json=bad, headers=world.operator)
    rid = c.get("/api/v1/datasets/lights/quarantine", headers=world.operator).json()[0]["id"]
    r = c.post(
        "/api/v1/datasets/lights/quarantine/discard",
        json={"ids": [rid], "reason": "test"},
        headers=world.operator,
    )
    assert r.status_code == 200
    with world.ctx.session() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        actions = [e.action for e in events]
        assert actions.count("token.create") == 4  # the fixture's tokens
        assert "dataset.create" in actions and "dataset.schema_change" in actions
        assert "quarantine.discard" in actions
        discard = next(e for e in events if e.action == "quarantine.discard")
        assert discard.actor.startswith("org:lightco/") and discard.details["reason"] == "test"
        assert verify(s).ok
