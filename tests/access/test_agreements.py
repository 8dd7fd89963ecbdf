"""Data-sharing agreements: creation and its checks, both sides' listings, revocation, reads under them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from tests.conftest import World, bearer
from typer.testing import CliRunner

from territoria.access.agreement_models import Agreement
from territoria.access.audit import verify
from territoria.access.audit_models import AuditEvent
from territoria.access.service import create_token
from territoria.catalog.schemas import DatasetCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, get_organisation
from territoria.cli.main import app as cli_app


def later(days: float = 30) -> str:
    """An ISO instant some days from now."""
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def share(world: World, headers: dict[str, str] | None = None, **changes: Any) -> httpx.Response:
    """Ask for an agreement on 'lights' for waterco, with some terms changed."""
    body = {
        "dataset": "lights",
        "organisation": "waterco",
        "purpose": "network planning",
        "expires_at": later(),
    }
    return world.client.post("/api/v1/agreements", json=body | changes, headers=headers or world.operator)


def outsider(world: World, slug: str = "gasco") -> dict[str, str]:
    """A fourth organisation, party to nothing, with an admin token."""
    with world.ctx.session(write=True) as s:
        org = create_organisation(s, OrganisationCreate(slug=slug, name=slug.title(), kind="operator"))
        _, secret = create_token(s, org, ["admin", "read", "ingest"])
    return bearer(secret)


def events(world: World, action: str) -> list[AuditEvent]:
    """The audit events of one action, oldest first."""
    with world.ctx.session() as s:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(s.scalars(query))


def test_owner_shares_and_both_sides_see_the_agreement(world: World) -> None:
    r = share(world, fields=["power"])
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["dataset"] == "lights" and made["owner"] == "lightco" and made["organisation"] == "waterco"
    assert made["fields"] == ["power"] and made["status"] == "active" and made["direction"] == "given"
    assert made["created_by"].startswith("org:lightco/token:")
    c = world.client
    given = c.get("/api/v1/agreements", headers=world.operator).json()
    received = c.get("/api/v1/agreements", headers=world.other).json()
    assert [(a["id"], a["direction"]) for a in given] == [(made["id"], "given")]
    assert [(a["id"], a["direction"]) for a in received] == [(made["id"], "received")]
    everything = c.get("/api/v1/agreements", headers=world.admin).json()  # platform admin, not a party
    assert [(a["id"], a["direction"]) for a in everything] == [(made["id"], None)]
    for headers in (world.operator, world.other, world.admin):
        assert c.get(f"/api/v1/agreements/{made['id']}", headers=headers).status_code == 200
    stranger = outsider(world)
    assert c.get("/api/v1/agreements", headers=stranger).json() == []
    assert c.get(f"/api/v1/agreements/{made['id']}", headers=stranger).status_code == 404
    assert c.get(f"/api/v1/agreements/{made['id']}").status_code == 401
    assert c.get("/api/v1/agreements").status_code == 401
    assert c.get("/api/v1/agreements?status=revoked", headers=world.operator).json() == []
    (event,) = events(world, "agreement.create")
    assert event.target == f"agreement:{made['id']}" and event.actor == made["created_by"]
    assert event.details["recipient"] == "waterco" and event.details["fields"] == ["power"]
    with world.ctx.session() as s:
        assert event.organisation_id == get_organisation(s, "lightco").id


def test_the_recipient_reads_under_the_agreement_until_it_is_revoked(world: World) -> None:
    c = world.client
    assert c.get("/api/v1/datasets/lights", headers=world.other).status_code == 404  # unseen: as unknown
    assert "lights" not in [d["slug"] for d in c.get("/api/v1/datasets", headers=world.other).json()]
    agreement = share(world).json()
    assert "lights" in [d["slug"] for d in c.get("/api/v1/datasets", headers=world.other).json()]
    r = c.get("/api/v1/datasets/lights", headers=world.other)
    assert r.status_code == 200 and r.json()["access"] == "private"  # the declared access stays
    reads = events(world, "dataset.read")
    assert reads and reads[-1].details["agreement"] == agreement["id"]
    assert reads[-1].actor.startswith("org:waterco/") and reads[-1].target == "dataset:lights"
    # Another organisation still cannot read it, and its attempt is on the trail.
    stranger = outsider(world)
    assert c.get("/api/v1/datasets/lights", headers=stranger).status_code == 404
    denied = events(world, "access.denied")[-1]
    assert denied.actor.startswith("org:gasco/") and denied.target == "dataset:lights"
    # Only the owner revokes; revoking twice is harmless and traced once.
    url = f"/api/v1/agreements/{agreement['id']}/revoke"
    assert c.post(url, headers=world.other).status_code == 403
    assert c.post(url, headers=stranger).status_code == 404
    assert c.post(url, headers=world.reader).status_code == 403  # read-only token of the owner
    first = c.post(url, headers=world.operator)
    assert first.status_code == 200 and first.json()["status"] == "revoked"
    again = c.post(url, headers=world.operator)
    assert again.status_code == 200 and again.json()["revoked_at"] == first.json()["revoked_at"]
    assert len(events(world, "agreement.revoke")) == 1
    assert c.get("/api/v1/datasets/lights", headers=world.other).status_code == 404
    assert "lights" not in [d["slug"] for d in c.get("/api/v1/datasets", headers=world.other).json()]
    with world.ctx.session() as s:
        assert verify(s).ok


def test_an_expired_agreement_grants_nothing(world: World) -> None:
    agreement = share(world).json()
    assert world.client.get("/api/v1/datasets/lights", headers=world.other).status_code == 200
    past = datetime.now(UTC) - timedelta(hours=1)
    with world.ctx.session(write=True) as s:
        s.execute(
            update(Agreement)
            .where(Agreement.id == agreement["id"])
            .values(starts_at=past - timedelta(days=1), expires_at=past)
        )
    assert world.client.get("/api/v1/datasets/lights", headers=world.other).status_code == 404
    listed = world.client.get("/api/v1/agreements", headers=world.other).json()
    assert [a["status"] for a in listed] == ["expired"]


def test_an_upcoming_agreement_grants_nothing_yet(world: World) -> None:
    r = share(world, starts_at=later(2))
    assert r.status_code == 201 and r.json()["status"] == "upcoming"
    assert world.client.get("/api/v1/datasets/lights", headers=world.other).status_code == 404


def test_only_the_owner_shares(world: World) -> None:
    r = share(world, world.other, organisation="city")
    assert r.status_code == 404  # another organisation may not even see the dataset
    denied = events(world, "access.denied")[-1]
    assert denied.details["capability"] == "share" and denied.target == "dataset:lights"
    assert share(world, world.reader).status_code == 403  # the owner's read-only token
    assert share(world, world.admin).status_code == 404  # a platform admin is not the owner
    assert world.client.post("/api/v1/agreements", json={}).status_code == 422
    body = {"dataset": "lights", "organisation": "waterco", "purpose": "x", "expires_at": later()}
    assert world.client.post("/api/v1/agreements", json=body).status_code == 404
    assert share(world, dataset="nope").status_code == 404
    with world.ctx.session() as s:
        assert s.scalars(select(Agreement)).all() == []


def codes(r: httpx.Response) -> list[str]:
    """The error codes of a refusal."""
    return [e["code"] for e in r.json().get("errors", [])]


def test_terms_are_checked_with_clear_errors(world: World) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"organisation": "nobody"}, "RECIPIENT_UNKNOWN"),
        ({"organisation": "lightco"}, "RECIPIENT_IS_OWNER"),
        ({"purpose": "   "}, "PURPOSE_EMPTY"),
        ({"expires_at": later(-1)}, "EXPIRY_PAST"),
        ({"expires_at": later(6 * 366)}, "EXPIRY_TOO_FAR"),
        ({"starts_at": later(40), "expires_at": later(30)}, "START_AFTER_EXPIRY"),
        ({"starts_at": later(-2)}, "START_PAST"),
        ({"fields": ["power", "voltage"]}, "FIELD_UNKNOWN"),
        ({"fields": [" "]}, "FIELDS_EMPTY"),
    ]
    for changes, code in cases:
        r = share(world, **changes)
        assert r.status_code == 422, (changes, r.text)
        assert code in codes(r), (changes, r.json())
    unknown = share(world, fields=["voltage"]).json()
    assert "voltage" in unknown["detail"] and "power, on" in unknown["detail"]
    # Shape errors: strict input, time zones required, bounded purpose, no unknown keys.
    for changes in (
        {"purpose": "x" * 1001},
        {"expires_at": "2030-01-01T00:00:00"},
        {"fields": "power"},
        {"organisation": 3},
        {"platform_admin": True},
    ):
        assert share(world, **changes).status_code == 422, changes
    several = share(world, organisation="lightco", purpose=" ", expires_at=later(-1))
    assert {"RECIPIENT_IS_OWNER", "PURPOSE_EMPTY", "EXPIRY_PAST"} <= set(codes(several))
    assert share(world, expires_at=later(5 * 365)).status_code == 201


def test_records_datasets_share_table_schema_fields(world: World) -> None:
    schema = {"fields": [{"name": "id", "type": "string"}, {"name": "address", "type": "string"}]}
    with world.ctx.session(write=True) as s:
        owner = get_organisation(s, "lightco")
        body = DatasetCreate(slug="poles", title="Poles", domain="lighting", kind="records", schema=schema)
        create_dataset(s, body, owner)
    r = share(world, dataset="poles", fields=["address", "id", "id"])
    assert r.status_code == 201 and r.json()["fields"] == ["id", "address"]  # the schema's order
    r = share(world, dataset="poles", fields=["power"])
    assert r.status_code == 422 and codes(r) == ["FIELD_UNKNOWN"]


def test_the_console_manages_agreements(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", world.ctx.settings.database_url)
    runner = CliRunner()
    expires = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    args = ["agreement", "create", "--dataset", "lights", "--org", "waterco", "--purpose", "audit"]
    result = runner.invoke(cli_app, [*args, "--expires", expires, "--field", "power"])
    assert result.exit_code == 0, result.output
    ident = int(result.stdout.strip().splitlines()[-1])
    assert world.client.get("/api/v1/datasets/lights", headers=world.other).status_code == 200
    (event,) = events(world, "agreement.create")
    assert event.actor == "cli" and event.target == f"agreement:{ident}"
    listed = runner.invoke(cli_app, ["agreement", "list", "--org", "waterco"])
    assert listed.exit_code == 0 and "lights" in listed.stdout and "active" in listed.stdout
    bad = runner.invoke(cli_app, [*args, "--expires", "2001-01-01"])
    assert bad.exit_code == 1 and "past" in bad.stderr
    bad = runner.invoke(cli_app, [*args, "--expires", "soon"])
    assert bad.exit_code == 2
    assert runner.invoke(cli_app, ["agreement", "revoke", str(ident)]).exit_code == 0
    assert runner.invoke(cli_app, ["agreement", "revoke", str(ident)]).exit_code == 0
    assert len(events(world, "agreement.revoke")) == 1
    assert runner.invoke(cli_app, ["agreement", "revoke", "999"]).exit_code == 1
    assert world.client.get("/api/v1/datasets/lights", headers=world.other).status_code == 404
