"""Members and tokens over HTTP: who may manage them, invitations, the last admin, no escalation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import World, bearer, web_login

from territoria.access.audit_models import AuditEvent
from territoria.access.service import create_token
from territoria.access.users import create_user, find_link, find_user
from territoria.catalog.service import get_organisation
from territoria.errors import NotFound

ANA = "/api/v1/organisations/lightco/members/ana@example.org"


def actions(world: World) -> list[str]:
    """The actions on the trail, oldest first."""
    with world.ctx.session() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_organisations_are_listed_publicly(world: World) -> None:
    r = world.client.get("/api/v1/organisations")
    assert r.status_code == 200
    assert [o["slug"] for o in r.json()] == ["city", "lightco", "waterco"]
    assert set(r.json()[0]) == {"slug", "name", "kind", "siren"}


def test_admins_invite_members_and_change_their_roles(world: World) -> None:
    c = world.client
    r = c.put(ANA, json={"role": "steward"}, headers=world.operator)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == "ana@example.org" and body["role"] == "steward" and body["pending"] is True
    assert body["created"] is True and body["invitation_url"].startswith(world.ctx.settings.public_url)
    first_secret = body["invitation_url"].rsplit("/", 1)[1]
    listed = c.get("/api/v1/organisations/lightco/members", headers=world.operator).json()
    assert [(m["email"], m["role"]) for m in listed] == [("ana@example.org", "steward")]
    # A second call changes the role and sends a fresh invitation; the first link stops working.
    again = c.put(ANA.replace("ana@", "ANA@"), json={"role": "analyst"}, headers=world.operator)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["role"] == "analyst" and again.json()["invitation_url"] != body["invitation_url"]
    with world.ctx.session() as s, pytest.raises(NotFound):
        find_link(s, first_secret, "invite")
    assert {"user.create", "membership.set", "user.invite_link"} <= set(actions(world))
    # Someone who already has an account gets no link: an invitation they accept themselves (even when a
    # platform admin asks).
    with world.ctx.session(write=True) as s:
        create_user(s, "bob@example.org", password="a long enough passphrase 42")
    known = c.put(
        "/api/v1/organisations/lightco/members/bob@example.org", json={"role": "viewer"}, headers=world.admin
    )
    assert known.status_code == 202 and known.json()["invitation_url"] is None
    assert known.json()["awaiting_consent"] is True
    gone = c.delete(ANA, headers=world.operator)
    assert gone.status_code == 204
    assert [
        m["email"] for m in c.get("/api/v1/organisations/lightco/members", headers=world.operator).json()
    ] == ["bob@example.org"]
    assert c.delete(ANA, headers=world.operator).status_code == 404
    assert "membership.remove" in actions(world)


def test_only_the_organisation_admins_and_platform_admins_manage_members(world: World) -> None:
    c = world.client
    assert c.put(ANA, json={"role": "viewer"}, headers=world.other).status_code == 403
    assert c.put(ANA, json={"role": "viewer"}, headers=world.reader).status_code == 403
    assert c.put(ANA, json={"role": "viewer"}).status_code == 401
    assert c.get("/api/v1/organisations/lightco/members", headers=world.other).status_code == 403
    assert c.get("/api/v1/organisations/nowhere/members", headers=world.admin).status_code == 404
    with world.ctx.session() as s:
        denied = s.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
        assert any(e.target == "organisation:lightco" and e.actor.startswith("org:waterco/") for e in denied)
        assert find_user(s, "ana@example.org") is None
    # Organisation roles only: platform administration cannot be granted here.
    for bad in ({"role": "platform_admin"}, {"role": "admin", "platform_admin": True}, {"role": 1}, {}):
        assert c.put(ANA, json=bad, headers=world.operator).status_code == 422, bad
    assert (
        c.put(
            "/api/v1/organisations/lightco/members/not-an-email",
            json={"role": "viewer"},
            headers=world.operator,
        ).status_code
        == 422
    )
    r = c.put(ANA, json={"role": "admin"}, headers=world.operator)
    assert r.status_code == 201
    with world.ctx.session() as s:
        user = find_user(s, "ana@example.org")
        assert user is not None and user.platform_admin is False


def test_an_organisation_keeps_an_admin(world: World) -> None:
    c = world.client
    boss = "/api/v1/organisations/waterco/members/boss@example.org"
    assert c.put(boss, json={"role": "admin"}, headers=world.other).status_code == 201
    r = c.put(boss, json={"role": "viewer"}, headers=world.other)
    assert r.status_code == 409 and "last admin" in r.json()["detail"]
    assert c.delete(boss, headers=world.other).status_code == 409
    assert (
        c.put(boss.replace("boss", "deputy"), json={"role": "admin"}, headers=world.other).status_code == 201
    )
    assert c.put(boss, json={"role": "viewer"}, headers=world.other).status_code == 200
    assert c.delete(boss, headers=world.other).status_code == 204


def test_admins_create_list_and_revoke_tokens(world: World) -> None:
    c = world.client
    listed = c.get("/api/v1/tokens", headers=world.operator).json()
    assert len(listed) == 2 and all(t["organisation"] == "lightco" for t in listed)
    assert all("secret" not in t and "secret_hash" not in t for t in listed)
    body = {"scopes": ["read"], "datasets": ["lights"], "name": "dashboard", "ttl_days": 30}
    r = c.post("/api/v1/tokens", json=body, headers=world.operator)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["secret"].startswith("trt_") and made["scopes"] == ["read"] and made["datasets"] == ["lights"]
    assert made["expires_at"] is not None and made["status"] == "active"
    new = bearer(made["secret"])
    assert c.get("/api/v1/datasets/lights", headers=new).status_code == 200
    assert [t["id"] for t in c.get("/api/v1/tokens", headers=world.operator).json()][0] == made["id"]
    assert all("secret" not in t for t in c.get("/api/v1/tokens", headers=world.operator).json())
    with world.ctx.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.target == f"token:{made['id']}")).one()
        assert event.action == "token.create" and event.actor.startswith("org:lightco/token:")
    # Revocation: by the organisation's admins, or any token by a platform admin.
    url = f"/api/v1/tokens/{made['id']}/revoke"
    assert c.post(url, headers=world.reader).status_code == 403
    assert c.post(url, headers=world.other).status_code == 404
    revoked = c.post(url, headers=world.operator)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert c.get("/api/v1/datasets/lights", headers=new).status_code == 401
    waterco = c.get("/api/v1/tokens?organisation=waterco", headers=world.admin).json()
    assert len(waterco) == 1
    assert c.get("/api/v1/tokens?organisation=waterco", headers=world.operator).status_code == 403
    assert c.post(f"/api/v1/tokens/{waterco[0]['id']}/revoke", headers=world.admin).status_code == 200
    assert c.get("/api/v1/datasets", headers=world.other).status_code == 401
    assert c.post("/api/v1/tokens/99999/revoke", headers=world.admin).status_code == 404


def test_token_creation_is_checked_and_never_escalates(world: World) -> None:
    c = world.client
    assert c.post("/api/v1/tokens", json={"scopes": ["read"]}, headers=world.reader).status_code == 403
    assert c.post("/api/v1/tokens", json={"scopes": ["read"]}).status_code == 401
    assert c.get("/api/v1/tokens", headers=world.reader).status_code == 403
    for bad in (
        {"scopes": []},
        {"scopes": ["root"]},
        {"scopes": ["read"], "ttl_days": 0},
        {"scopes": ["read"], "ttl_days": "30"},
        {"scopes": ["read"], "datasets": []},
        {"scopes": ["read"], "extra": 1},
    ):
        assert c.post("/api/v1/tokens", json=bad, headers=world.operator).status_code == 422, bad
    r = c.post("/api/v1/tokens", json={"scopes": ["read"], "datasets": ["nope"]}, headers=world.operator)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "UNKNOWN_DATASET"
    # A token limited to some datasets cannot mint a wider one.
    with world.ctx.session(write=True) as s:
        _, limited = create_token(s, get_organisation(s, "lightco"), ["admin"], datasets=["lights"])
    wider = c.post("/api/v1/tokens", json={"scopes": ["read"]}, headers=bearer(limited))
    assert wider.status_code == 403 and "limited" in wider.json()["detail"]
    inside = {"scopes": ["read"], "datasets": ["lights"]}
    assert c.post("/api/v1/tokens", json=inside, headers=bearer(limited)).status_code == 201
    # An admin of the authority who is not a platform admin cannot mint a platform-admin token.
    browser = TestClient(c.app)
    csrf = web_login(world.ctx, browser, org="city", role="admin")
    headers = {"X-CSRF-Token": csrf}
    refused = browser.post("/api/v1/tokens", json={"scopes": ["admin"]}, headers=headers)
    assert refused.status_code == 403 and "platform administrator" in refused.json()["detail"]
    assert browser.post("/api/v1/tokens", json={"scopes": ["read"]}, headers=headers).status_code == 201
    assert browser.post("/api/v1/tokens", json={"scopes": ["read"]}).status_code == 403  # no CSRF token
    # The city's platform-admin token may.
    assert c.post("/api/v1/tokens", json={"scopes": ["admin"]}, headers=world.admin).status_code == 201


def test_an_organisation_admin_lifts_the_lockout_of_its_members_only(world: World) -> None:
    from territoria.access.users import set_membership
    from territoria.access.websessions import LoginResult, login

    password = "a long enough passphrase 42"  # noqa: S105 - a test password
    with world.ctx.session(write=True) as s:
        for email, org in (("ana@example.org", "lightco"), ("wes@example.org", "waterco")):
            user = create_user(s, email, password=password)
            set_membership(s, user, get_organisation(s, org), "viewer", actor="test")
    for email in ("ana@example.org", "wes@example.org"):
        for _ in range(world.ctx.settings.login_max_failures):
            with world.ctx.session(write=True) as s:
                login(s, world.ctx.settings, email, "guess guess guess", "t")
    c = world.client
    listed = c.get("/api/v1/organisations/lightco/members", headers=world.operator).json()
    assert [m["locked"] for m in listed] == [True]
    assert c.post(ANA + "/unlock", headers=world.other).status_code == 403
    wes = "/api/v1/organisations/lightco/members/wes@example.org/unlock"
    assert c.post(wes, headers=world.operator).status_code == 404  # another organisation's person
    assert c.post(ANA + "/unlock", headers=world.operator).status_code == 204
    assert c.get("/api/v1/organisations/lightco/members", headers=world.operator).json()[0]["locked"] is False
    with world.ctx.session(write=True) as s:
        assert isinstance(login(s, world.ctx.settings, "ana@example.org", password, "t"), LoginResult)
        assert not isinstance(login(s, world.ctx.settings, "wes@example.org", password, "t"), LoginResult)
    assert "user.unlock" in actions(world)
