"""The people, invitations and API tokens pages: allowed to an organisation's admins, refused to others."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.access.test_admin_pages import csrf, person
from tests.conftest import World

from territoria.access.audit_models import AuditEvent
from territoria.access.models import ApiToken
from territoria.access.users import find_user

SECRET = re.compile(r'id="token-secret" class="secret-value" type="text" readonly value="([^"]+)"')
LINK = re.compile(r'id="invite-url" class="secret-value" type="text" readonly value="([^"]+)"')


def actions(world: World) -> list[str]:
    """The audit trail's actions, oldest first."""
    with world.ctx.session() as s:
        return [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_an_admin_invites_changes_a_role_and_removes(world: World) -> None:
    admin = person(world, "ada@lightco.example", "lightco", "admin")
    account = admin.get("/account")
    assert 'href="/organisations/lightco/people"' in account.text and 'href="/account/tokens"' in account.text
    page = admin.get("/organisations/lightco/people?lang=en")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "ada@lightco.example" in page.text and "Invite a person" in page.text
    token = csrf(page.text)
    # A forged or missing CSRF token is refused before anything happens.
    forged = admin.post("/organisations/lightco/people", data={"email": "x@y.org", "role": "viewer"})
    assert forged.status_code == 403
    # Errors stand next to their field, in the page's language.
    bad = admin.post(
        "/organisations/lightco/people?lang=fr",
        data={"email": "pas une adresse", "role": "viewer", "csrf_token": token},
    )
    assert bad.status_code == 422 and 'id="invite-email-error"' in bad.text
    assert "adresse électronique valide" in bad.text and 'value="pas une adresse"' in bad.text
    bad = admin.post(
        "/organisations/lightco/people", data={"email": "a@b.org", "role": "boss", "csrf_token": token}
    )
    assert bad.status_code == 422 and 'id="invite-role-error"' in bad.text
    # A new address: the invitation link is shown once, in this answer only.
    invited = admin.post(
        "/organisations/lightco/people?lang=en",
        data={"email": "Nina@LightCo.example", "role": "analyst", "csrf_token": token},
    )
    assert invited.status_code == 200 and invited.headers["cache-control"] == "no-store"
    link = LINK.search(invited.text)
    assert link is not None and link.group(1).startswith("http")
    assert "never be shown again" in invited.text
    again = admin.get("/organisations/lightco/people")
    assert link.group(1) not in again.text and "nina@lightco.example" in again.text
    # Change the role, then remove; each is audited like the API.
    changed = admin.post(
        "/organisations/lightco/people/nina@lightco.example/role",
        data={"role": "producer", "csrf_token": token},
        follow_redirects=False,
    )
    assert changed.status_code == 303 and changed.headers["location"].endswith("done=role")
    with world.ctx.session() as s:
        nina = find_user(s, "nina@lightco.example")
        assert nina is not None and [m.role for m in nina.memberships] == ["producer"]
    # The last admin stays admin: the page says so.
    last = admin.post(
        "/organisations/lightco/people/ada@lightco.example/role",
        data={"role": "viewer", "csrf_token": token},
        follow_redirects=False,
    )
    assert last.headers["location"].endswith("error=last_admin")
    assert "last administrator" in admin.get(last.headers["location"]).text
    removed = admin.post(
        "/organisations/lightco/people/nina@lightco.example/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.headers["location"].endswith("done=removed")
    assert "nina@lightco.example" not in admin.get("/organisations/lightco/people").text
    trail = actions(world)
    assert "user.create" in trail and "membership.set" in trail and "membership.remove" in trail


def test_others_may_not_manage_people_or_tokens(world: World) -> None:
    steward = person(world, "sam@lightco.example", "lightco", "steward")
    page = steward.get("/organisations/lightco/people?lang=en")
    assert page.status_code == 403 and "administrators (and the platform" in page.text
    assert 'href="/organisations/lightco/people"' not in steward.get("/account").text
    token = csrf(steward.get("/account").text)
    refused = steward.post(
        "/organisations/lightco/people", data={"email": "x@y.org", "role": "admin", "csrf_token": token}
    )
    assert refused.status_code == 403
    with world.ctx.session() as s:
        assert find_user(s, "x@y.org") is None
    removed = steward.post(
        "/organisations/lightco/people/sam@lightco.example/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.headers["location"].endswith("error=forbidden")
    assert steward.get("/account/tokens").status_code == 403
    made = steward.post("/account/tokens", data={"scopes": "read", "ttl": "30", "csrf_token": token})
    assert made.status_code == 403
    # Another organisation's admin sees nothing of lightco's people.
    other = person(world, "otto@waterco.example", "waterco", "admin")
    assert other.get("/organisations/lightco/people").status_code == 403
    assert other.get("/organisations/nowhere/people").status_code == 403
    # Anonymous visitors are sent to the login form.
    anonymous = TestClient(world.client.app)
    r = anonymous.get("/organisations/lightco/people", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = anonymous.get("/account/tokens", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_an_admin_creates_and_revokes_a_token(world: World) -> None:
    admin = person(world, "ada@lightco.example", "lightco", "admin")
    page = admin.get("/account/tokens?lang=en")
    assert page.status_code == 200 and "Create a token" in page.text
    token = csrf(page.text)
    bad = admin.post("/account/tokens?lang=en", data={"name": "feed", "ttl": "30", "csrf_token": token})
    assert (
        bad.status_code == 422
        and 'id="token-scopes-error"' in bad.text
        and "Tick at least one scope" in bad.text
    )
    made = admin.post(
        "/account/tokens?lang=en",
        data={
            "name": "Gateway",
            "scopes": ["ingest"],
            "ttl": "90",
            "datasets": ["lights"],
            "csrf_token": token,
        },
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = SECRET.search(made.text)
    assert secret is not None and "never be shown again" in made.text
    # The secret works with the API, and is never shown again.
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"}).json()[
        "scopes"
    ] == ["ingest"]
    listed = admin.get("/account/tokens?lang=en")
    assert secret.group(1) not in listed.text and "Gateway" in listed.text and "data sending" in listed.text
    with world.ctx.session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.name == "Gateway")).one()
        assert row.datasets == ["lights"] and row.expires_at is not None
    revoked = admin.post(
        f"/account/tokens/{row.id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert revoked.status_code == 303 and revoked.headers["location"] == "/account/tokens?done=revoked"
    assert (
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"}).status_code
        == 401
    )
    missing = admin.post("/account/tokens/999999/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert missing.headers["location"] == "/account/tokens?error=not_found"
    assert "token.revoke" in actions(world)
    assert admin.post(f"/account/tokens/{row.id}/revoke", data={}).status_code == 403  # no CSRF token
