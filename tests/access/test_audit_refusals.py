"""Refusals of anonymous callers are counted per route and address, not written one row each."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import World

from territoria.access.audit import verify
from territoria.access.audit_models import AuditEvent
from territoria.access.audit_refusals import MAX_KEYS, SUMMARY_ACTION, RefusalCounter
from territoria.app import create_app
from territoria.http.deps import flush_refusals

# A private dataset: 401/403, or 404 where its existence is not revealed; the refusal is noted either way.
REFUSED = (401, 403, 404)


def rows(world: World, action: str) -> list[AuditEvent]:
    """Events of one action, oldest first."""
    with world.ctx.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def total(world: World) -> int:
    """Events on the trail."""
    with world.ctx.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_a_hundred_anonymous_refusals_write_a_bounded_number_of_rows(world: World) -> None:
    before = total(world)
    with TestClient(create_app(context=world.ctx)) as client:  # leaving it stops the app: counts flushed
        for _ in range(60):
            assert client.get("/api/v1/datasets/lights").status_code in REFUSED
        for _ in range(40):
            assert client.get("/api/v1/datasets/lights/measurements").status_code in REFUSED
    written = total(world) - before
    # One refusal of each (route, address) in full, then one summary with the counts.
    assert written == 3, [(e.action, e.target) for e in rows(world, "access.denied")]
    denied = [e for e in rows(world, "access.denied") if e.actor == "anonymous"]
    assert len(denied) == 2 and denied[0].details["path"] == "/api/v1/datasets/lights"
    (summary,) = rows(world, SUMMARY_ACTION)
    counts = {c["route"]: c for c in summary.details["counts"]}
    assert counts["/api/v1/datasets/{slug}"]["count"] == 60
    assert counts["/api/v1/datasets/{slug}/measurements"]["count"] == 40
    assert {c["address"] for c in counts.values()} == {"testclient"}
    assert all(
        c["action"] == "access.denied" and c["methods"] == {"GET": c["count"]} for c in counts.values()
    )
    assert summary.details["total"] == 100 and summary.details["written_in_full"] == 2
    with world.ctx.session() as s:
        assert verify(s).ok


def test_refusals_of_authenticated_callers_stay_one_row_each(world: World) -> None:
    before = len(rows(world, "access.denied"))
    for _ in range(5):
        assert world.client.get("/api/v1/datasets/lights", headers=world.other).status_code in REFUSED
    assert len(rows(world, "access.denied")) - before == 5


def test_the_summary_is_written_once_the_interval_is_over(world: World) -> None:
    ctx = world.ctx
    ctx.settings = ctx.settings.model_copy(update={"audit_refusal_interval_s": 0})
    client = TestClient(create_app(context=ctx))
    for _ in range(3):
        assert client.get("/api/v1/datasets/lights").status_code in REFUSED
    # Interval 0: each request closes the interval, so each refusal is the first of its own.
    assert len([e for e in rows(world, "access.denied") if e.actor == "anonymous"]) == 3
    assert rows(world, SUMMARY_ACTION) == []
    flush_refusals(ctx)  # nothing counted: nothing written
    assert rows(world, SUMMARY_ACTION) == []


def test_the_counter_is_bounded() -> None:
    counter = RefusalCounter(60)
    event = {"action": "access.denied", "target": "request", "details": {"reason": "anonymous"}}
    written = 0
    for i in range(MAX_KEYS + 100):
        for _ in range(2):
            written += len(
                counter.absorb([event], method="GET", route="/x", address=f"10.0.{i // 256}.{i % 256}")
            )
    summary = counter.take_summary(force=True)
    assert summary is not None and written == MAX_KEYS
    assert len(summary["counts"]) == MAX_KEYS and summary["other_keys_count"] == 200
    assert summary["total"] == 2 * (MAX_KEYS + 100)
    kept = counter.absorb(
        [{"action": "login.failure", "target": "user:x", "details": {}}],
        method="POST",
        route="/login",
        address="a",
    )
    assert len(kept) == 1  # other events are not counted
