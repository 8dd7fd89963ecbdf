"""The audit trail over HTTP: filters, keyset paging, streamed exports, chain verification, who may see."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select, update
from tests.access.audit_tamper import tampering
from tests.conftest import World

from territoria.access.audit import event_hash, record
from territoria.access.audit_chain import KEYED_HMAC, chain_key
from territoria.access.audit_models import AuditEvent
from territoria.catalog.service import get_organisation


def org_id(world: World, slug: str) -> int:
    """The id of an organisation."""
    with world.ctx.session() as s:
        return get_organisation(s, slug).id


def count(world: World) -> int:
    """Events on the trail."""
    with world.ctx.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_platform_admins_filter_and_page_the_trail(world: World) -> None:
    c = world.client
    expires = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    body = {"dataset": "lights", "organisation": "waterco", "purpose": "p", "expires_at": expires}
    assert c.post("/api/v1/agreements", json=body, headers=world.operator).status_code == 201
    assert c.get("/api/v1/datasets/lights", headers=world.other).status_code == 200
    everything = c.get("/api/v1/audit?limit=1000", headers=world.admin).json()
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True) and len(ids) == count(world)
    assert {"id", "at", "actor", "organisation_id", "action", "target", "details", "hash"} <= set(
        everything[0]
    )

    def ask(query: str) -> list[dict[str, object]]:
        r = c.get(f"/api/v1/audit?{query}", headers=world.admin)
        assert r.status_code == 200, r.text
        return list(r.json())

    assert len(ask("action=token.create")) == 4
    assert [e["action"] for e in ask("action=agreement.")] == ["agreement.create"]
    assert {e["action"] for e in ask("action=token")} == set()  # exact unless it ends with '.'
    assert all(str(e["actor"]).startswith("org:lightco/") for e in ask("actor=org:lightco/"))
    assert [e["action"] for e in ask("target=dataset:lights&action=dataset.read")] == ["dataset.read"]
    assert {e["organisation_id"] for e in ask("organisation=lightco")} == {org_id(world, "lightco")}
    soon = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ask(f"since={soon}") == []
    assert ask("until=2000-01-01") == []
    assert len(ask("since=2000-01-01T00:00:00")) == len(ids)  # no time zone: UTC
    assert ask("actor=%25") == []  # LIKE wildcards are plain characters
    first = c.get("/api/v1/audit?limit=2", headers=world.admin)
    assert [e["id"] for e in first.json()] == ids[:2]
    link = first.headers["link"]
    assert link.endswith('>; rel="next"') and "cursor=" in link  # the cursor, not before_id, pages now
    after = c.get(link[1 : link.index(">")], headers=world.admin)
    assert [e["id"] for e in after.json()] == ids[2:4]
    assert [e["id"] for e in ask(f"limit=2&before_id={ids[1]}")] == ids[2:4]  # still accepted
    assert c.get("/api/v1/audit?organisation=nobody", headers=world.admin).status_code == 404
    assert c.get("/api/v1/audit?limit=0", headers=world.admin).status_code == 422


def test_organisation_admins_see_their_own_events_only(world: World) -> None:
    c = world.client
    lightco = org_id(world, "lightco")
    own = c.get("/api/v1/audit?limit=1000", headers=world.operator)
    assert own.status_code == 200 and own.json()
    assert {e["organisation_id"] for e in own.json()} == {lightco}
    assert c.get("/api/v1/audit?organisation=lightco", headers=world.operator).status_code == 200
    r = c.get("/api/v1/audit?organisation=waterco", headers=world.operator)
    assert r.status_code == 403
    with world.ctx.session() as s:
        denied = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "access.denied").order_by(AuditEvent.id.desc())
        ).first()
        assert denied is not None and denied.target == "audit" and denied.actor.startswith("org:lightco/")
    exported = c.get("/api/v1/audit/export?format=ndjson", headers=world.operator)
    assert exported.status_code == 200
    lines = [orjson.loads(line) for line in exported.text.splitlines()]
    assert lines and {line["organisation_id"] for line in lines} == {lightco}
    assert c.get("/api/v1/audit", headers=world.reader).status_code == 403  # read-only token
    assert c.get("/api/v1/audit").status_code == 401
    assert c.get("/api/v1/audit/export").status_code == 401
    assert c.get("/api/v1/audit/verify", headers=world.operator).status_code == 403
    assert c.get("/api/v1/audit/verify").status_code == 401


def test_exports_stream_every_event_in_chain_order(world: World) -> None:
    with world.ctx.session(write=True) as s:
        for i in range(1100):  # more than one keyset page
            record(s, actor=f"bot:{i}", action="test.bulk", target=f"thing:{i}", details={"i": i})
        record(s, actor="=HYPERLINK(1)", action="test.formula", target="-x")
    total = count(world)
    r = world.client.get("/api/v1/audit/export?format=csv", headers=world.admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:3] == ["id", "at", "actor"] and len(rows) - 1 == total
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(ids)
    assert rows[-1][2] == "=HYPERLINK(1)"  # exact by default …
    sheet = world.client.get("/api/v1/audit/export?format=csv&bom=true&action=test.", headers=world.admin)
    assert sheet.text.startswith("\ufeff")
    last = list(csv.reader(io.StringIO(sheet.text.lstrip("\ufeff"))))[-1]
    assert last[2] == "'=HYPERLINK(1)" and last[5] == "'-x"  # … neutralised for spreadsheets
    only = world.client.get("/api/v1/audit/export?format=csv&action=test.bulk", headers=world.admin)
    assert len(only.text.strip().splitlines()) == 1101
    total = count(world)  # the exports so far are on the trail too
    nd = world.client.get("/api/v1/audit/export?format=ndjson", headers=world.admin)
    assert nd.headers["content-type"].startswith("application/x-ndjson")
    events = [orjson.loads(line) for line in nd.text.splitlines()]
    assert len(events) == total
    # The exported values are those the hash covers: the chain can be checked outside the platform,
    # by whoever holds the audit key.
    key = chain_key(world.ctx.settings)
    previous = "0" * 64
    for e in events:
        assert e["prev_hash"] == previous
        fields = {k: e[k] for k in ("id", "actor", "organisation_id", "action", "target", "details")}
        at = datetime.fromisoformat(e["at"])
        version = e["hash_version"]
        assert event_hash(**fields, at=at, prev_hash=e["prev_hash"], version=version, key=key) == e["hash"]
        assert version == KEYED_HMAC and event_hash(**fields, at=at, prev_hash=e["prev_hash"]) != e["hash"]
        previous = e["hash"]
    assert world.client.get("/api/v1/audit/export?format=xml", headers=world.admin).status_code == 422
    with world.ctx.session() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "audit.export")) == 4


def test_verify_reports_the_chain_state(world: World) -> None:
    c = world.client
    r = c.get("/api/v1/audit/verify", headers=world.admin)
    assert r.status_code == 200
    report = r.json()
    assert report["ok"] is True and report["checked"] == count(world) and report["first_bad_id"] is None
    with tampering(world.ctx) as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 2).values(actor="someone-else"))
    broken = c.get("/api/v1/audit/verify", headers=world.admin).json()
    assert broken["ok"] is False and broken["first_bad_id"] == 2 and "modified" in broken["reason"]
