"""No takeover of someone else's account through the members API: offers need the person's consent."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.conftest import World, web_login

from territoria.access.users import create_user, find_link, issue_link, set_membership
from territoria.access.websessions import LoginResult, login
from territoria.app import create_app
from territoria.catalog.service import get_organisation

LIGHTCO = "/api/v1/organisations/lightco/members/"
PASSWORD = "a long enough passphrase 42"  # noqa: S105 - a test password
# Fields of an answer that depend on the moment, not on the account.
MOMENT = {"since"}


def _pending_admin_of_waterco(world: World) -> str:
    """WaterCo invites its admin; the secret of the link the real invitee received."""
    r = world.client.put(
        "/api/v1/organisations/waterco/members/boss@example.org", json={"role": "admin"}, headers=world.other
    )
    assert r.status_code == 201, r.text
    return str(r.json()["invitation_url"]).rsplit("/", 1)[1]


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    """An answer without its address and moment: what must not depend on who the address belongs to."""
    return {k: v for k, v in body.items() if k not in MOMENT | {"email"}}


def test_an_operator_cannot_take_over_another_organisations_pending_admin(world: World) -> None:
    secret = _pending_admin_of_waterco(world)
    r = world.client.put(LIGHTCO + "boss@example.org", json={"role": "admin"}, headers=world.operator)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["invitation_url"] is None and body["created"] is False and body["awaiting_consent"] is True
    with world.ctx.session() as s:
        link = find_link(s, secret, "invite")  # the real invitee's link still works
        assert link.user.email == "boss@example.org"
        assert [m.organisation.slug for m in link.user.memberships] == ["waterco"]  # not in lightco
    # Asking again changes nothing either.
    again = world.client.put(LIGHTCO + "boss@example.org", json={"role": "viewer"}, headers=world.operator)
    assert again.status_code == 202 and again.json()["invitation_url"] is None
    with world.ctx.session() as s:
        find_link(s, secret, "invite")


def test_an_operator_cannot_take_over_a_pending_platform_administrator(world: World) -> None:
    with world.ctx.session(write=True) as s:
        root = create_user(s, "root@example.org", platform_admin=True)
        set_membership(s, root, get_organisation(s, "city"), "admin", actor="test")
        secret = issue_link(s, root, "invite", hours=72, actor="test").secret
    for org, headers in (("lightco", world.operator), ("waterco", world.other)):
        url = f"/api/v1/organisations/{org}/members/root@example.org"
        r = world.client.put(url, json={"role": "admin"}, headers=headers)
        assert r.status_code == 202 and r.json()["invitation_url"] is None, r.text
    # Not even the platform administrator's own organisation may hand its account a fresh link.
    r = world.client.put(
        "/api/v1/organisations/city/members/root@example.org", json={"role": "admin"}, headers=world.admin
    )
    assert r.status_code == 200 and r.json()["invitation_url"] is None
    with world.ctx.session() as s:
        assert find_link(s, secret, "invite").user.email == "root@example.org"


def test_the_answer_does_not_tell_whether_or_how_an_address_exists_elsewhere(world: World) -> None:
    _pending_admin_of_waterco(world)
    with world.ctx.session(write=True) as s:
        known = create_user(s, "known@example.org", name="Known Person", password=PASSWORD)
        set_membership(s, known, get_organisation(s, "waterco"), "viewer", actor="test")
    with world.ctx.session(write=True) as s:
        assert isinstance(login(s, world.ctx.settings, "known@example.org", PASSWORD, "t"), LoginResult)
    pending = world.client.put(LIGHTCO + "boss@example.org", json={"role": "viewer"}, headers=world.operator)
    active = world.client.put(LIGHTCO + "known@example.org", json={"role": "viewer"}, headers=world.operator)
    assert pending.status_code == active.status_code == 202
    assert _shape(pending.json()) == _shape(active.json())
    assert active.json()["name"] == "" and active.json()["last_login_at"] is None
    new = world.client.put(LIGHTCO + "nobody@example.org", json={"role": "viewer"}, headers=world.operator)
    assert new.status_code == 201
    differs = {k for k in _shape(new.json()) if new.json()[k] != active.json()[k]}
    assert differs == {"created", "invitation_url", "awaiting_consent"}
    # The list shows the invitations without anything of the accounts either.
    listed = world.client.get("/api/v1/organisations/lightco/members", headers=world.operator).json()
    rows = {m["email"]: _shape(m) for m in listed}
    assert rows["boss@example.org"] == rows["known@example.org"]
    # Taking out someone who is not a member looks the same for an unknown and a known address.
    gone = world.client.delete(LIGHTCO + "ghost@example.org", headers=world.operator)
    stranger = world.client.delete(LIGHTCO + "tom@example.org", headers=world.operator)
    with world.ctx.session(write=True) as s:
        create_user(s, "tom2@example.org")
    tom2 = world.client.delete(LIGHTCO + "tom2@example.org", headers=world.operator)
    assert gone.status_code == stranger.status_code == tom2.status_code == 404
    assert gone.json()["detail"].replace("ghost", "tom2") == tom2.json()["detail"]


def test_the_person_accepts_or_declines_the_invitation(world: World) -> None:
    person = TestClient(create_app(context=world.ctx))
    csrf = web_login(world.ctx, person, org="city", role="viewer", email="eve@example.org")
    world.client.put(LIGHTCO + "eve@example.org", json={"role": "analyst"}, headers=world.operator)
    world.client.put(
        "/api/v1/organisations/waterco/members/eve@example.org", json={"role": "viewer"}, headers=world.other
    )
    offered = person.get("/api/v1/me/offers").json()
    assert [(o["organisation"], o["role"]) for o in offered] == [
        ("lightco", "analyst"),
        ("waterco", "viewer"),
    ]
    # A token answers for an organisation, never for a person.
    assert (
        world.client.post("/api/v1/me/memberships/lightco/accept", headers=world.operator).status_code == 403
    )
    assert person.post("/api/v1/me/memberships/lightco/accept").status_code == 403  # no CSRF token
    r = person.post("/api/v1/me/memberships/lightco/accept", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["role"] == "analyst"
    assert (
        person.post("/api/v1/me/memberships/lightco/accept", headers={"X-CSRF-Token": csrf}).status_code
        == 404
    )
    page = person.get("/account")
    assert "WaterCo" in page.text and "/account/offers/waterco/decline" in page.text
    declined = person.post(
        "/account/offers/waterco/decline", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert declined.status_code == 303 and declined.headers["location"] == "/account?done=declined"
    assert person.get("/api/v1/me/offers").json() == []
    listed = world.client.get("/api/v1/organisations/lightco/members", headers=world.operator).json()
    assert [(m["email"], m["role"], m["awaiting_consent"]) for m in listed] == [
        ("eve@example.org", "analyst", False)
    ]
    assert world.client.get("/api/v1/organisations/waterco/members", headers=world.other).json() == []
