"""The agreements page and the audit trail page, for the people who may see them and the others."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.access.audit_tamper import tampering
from tests.conftest import World

from territoria.access.agreement_models import Agreement
from territoria.access.audit import record
from territoria.access.audit_models import AuditEvent
from territoria.access.users import create_user, set_membership
from territoria.catalog.service import get_organisation

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def person(world: World, email: str, org: str, role: str, *, platform_admin: bool = False) -> TestClient:
    """A browser logged in (through the login form) as a new person with a role in an organisation."""
    with world.ctx.session(write=True) as s:
        user = create_user(s, email, password=PASSWORD, platform_admin=platform_admin, actor="test")
        set_membership(s, user, get_organisation(s, org), role, actor="test")
    browser = TestClient(world.client.app)
    r = browser.post(
        "/login", data={"email": email, "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return browser


def csrf(page: str) -> str:
    """The CSRF token carried by a page's forms."""
    found = CSRF.search(page)
    assert found is not None
    return found.group(1)


def expiry(days: int = 60) -> str:
    """A date input's value some days ahead."""
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def test_anonymous_visitors_are_sent_to_the_login_form(world: World) -> None:
    anonymous = TestClient(world.client.app)
    r = anonymous.get("/agreements", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fagreements"
    r = anonymous.get("/admin/audit?action=login.", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fadmin%2Faudit%3Faction%3Dlogin."
    r = anonymous.post("/agreements", data={"dataset": "lights"}, follow_redirects=False)
    assert r.status_code in (303, 422)


def test_a_steward_shares_and_revokes_from_the_page(world: World) -> None:
    steward = person(world, "sam@lightco.example", "lightco", "steward")
    page = steward.get("/agreements")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Conventions de partage de données" in page.text and "Nouvelle convention" in page.text
    assert '<option value="lights"' in page.text and '<option value="waterco"' in page.text
    assert '<option value="lightco"' not in page.text  # not to oneself
    token = csrf(page.text)
    form = {
        "dataset": "lights",
        "organisation": "waterco",
        "purpose": "planning",
        "fields": "power",
        "expires": expiry(),
        "csrf_token": token,
    }
    assert steward.post("/agreements", data={**form, "csrf_token": "forged"}).status_code == 403
    # Refused terms: the form comes back with the reasons, in the page's language.
    bad = steward.post("/agreements", data={**form, "purpose": " ", "fields": "power, voltage"})
    assert bad.status_code == 422
    assert (
        "voltage" in bad.text
        and "power, on" in bad.text
        and 'name="fields" value="power" checked' in bad.text
    )
    assert 'id="ag-fields-error"' in bad.text  # the reason stands next to the field picker
    bad = steward.post("/agreements", data={**form, "expires": "demain"})
    assert bad.status_code == 422 and "AAAA-MM-JJ" in bad.text
    done = steward.post("/agreements", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/agreements?done=created"
    with world.ctx.session() as s:
        agreement = s.scalars(select(Agreement)).one()
        assert (
            agreement.fields == ["power"] and agreement.created_by == "user:sam@lightco.example@org:lightco"
        )
        assert agreement.expires_at.date().isoformat() > expiry()  # the expiry day is included
    listed = steward.get("/agreements?done=created")
    assert "Convention créée" in listed.text and "planning" in listed.text and "En vigueur" in listed.text
    assert f'action="/agreements/{agreement.id}/revoke"' in listed.text
    revoked = steward.post(
        f"/agreements/{agreement.id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert revoked.status_code == 303 and revoked.headers["location"] == "/agreements?done=revoked"
    after = steward.get("/agreements")
    assert "Révoquée" in after.text and f'action="/agreements/{agreement.id}/revoke"' not in after.text
    missing = steward.post("/agreements/999/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert missing.headers["location"] == "/agreements?error=not_found"
    english = steward.get("/agreements?lang=en&error=not_found")
    assert "Data-sharing agreements" in english.text and "does not exist" in english.text


def test_each_side_sees_what_it_may_do(world: World) -> None:
    expires = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    body = {"dataset": "lights", "organisation": "waterco", "purpose": "leak study", "expires_at": expires}
    made = world.client.post("/api/v1/agreements", json=body, headers=world.operator).json()
    viewer = person(world, "vic@lightco.example", "lightco", "viewer")
    page = viewer.get("/agreements?lang=en")
    assert page.status_code == 200 and "leak study" in page.text and "Given to" in page.text
    assert "New agreement" not in page.text and "/revoke" not in page.text  # a viewer cannot share
    recipient = person(world, "rita@waterco.example", "waterco", "admin")
    page = recipient.get("/agreements?lang=en")
    assert "Received from" in page.text and "LightCo" in page.text and "/revoke" not in page.text
    assert "New agreement" not in page.text  # waterco owns no dataset
    refused = recipient.post(
        f"/agreements/{made['id']}/revoke", data={"csrf_token": csrf(page.text)}, follow_redirects=False
    )
    assert refused.headers["location"] == "/agreements?error=forbidden"
    shown = recipient.get("/agreements?error=forbidden&lang=en")
    assert "your role does not allow you to share" in shown.text
    with world.ctx.session() as s:
        assert s.get(Agreement, made["id"]).revoked_at is None  # type: ignore[union-attr]
    # Someone acting for no organisation at all has no agreements to see.
    with world.ctx.session(write=True) as s:
        create_user(s, "nobody@example.org", password=PASSWORD, actor="test")
    lonely = TestClient(world.client.app)
    lonely.post("/login", data={"email": "nobody@example.org", "password": PASSWORD, "next": "/"})
    assert lonely.get("/agreements").status_code == 403


def test_the_audit_page_is_for_platform_admins(world: World) -> None:
    admin = person(world, "alice@city.example", "city", "admin", platform_admin=True)
    with world.ctx.session(write=True) as s:
        for i in range(60):
            record(s, actor="bot", action="test.page", target=f"thing:{i}")
    page = admin.get("/admin/audit")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Journal d&#39;audit" in page.text and "Chaîne intacte" in page.text
    assert "/api/v1/audit/export?format=csv&amp;bom=true" in page.text
    assert 'rel="next"' in page.text  # more than one page
    older = re.search(r'href="/admin/audit\?([^"]*before_id=\d+)"', page.text)
    assert (
        older is not None
        and admin.get("/admin/audit?" + older.group(1).replace("&amp;", "&")).status_code == 200
    )
    filtered = admin.get(
        "/admin/audit?action=token.create&organisation=lightco&since=2000-01-01&until=2999-12-31&lang=en"
    )
    assert filtered.status_code == 200 and "Chain intact" in filtered.text
    assert filtered.text.count('<code class="audit-action">token.create</code>') == 2  # lightco's two tokens
    assert "thing:1" not in filtered.text
    noted = admin.get("/admin/audit?since=yesterday&organisation=nowhere&lang=en")
    assert "is not valid" in noted.text and "Unknown organisation" in noted.text
    export = admin.get("/api/v1/audit/export?format=csv&action=test.page")  # the page's link, with the cookie
    assert export.status_code == 200 and len(export.text.strip().splitlines()) == 61
    with tampering(world.ctx) as s:
        event = s.get(AuditEvent, 3)
        assert event is not None
        event.target = "tampered"
    broken = admin.get("/admin/audit?lang=en")
    assert "Chain broken at event 3" in broken.text
    # An organisation's admin is not a platform admin: refused, and the refusal is on the trail.
    org_admin = person(world, "oscar@lightco.example", "lightco", "admin")
    refused = org_admin.get("/admin/audit")
    assert refused.status_code == 403 and "réservé aux administrateurs de la plateforme" in refused.text
    with world.ctx.session() as s:
        denied = s.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
        assert any(e.target == "audit" and e.actor.startswith("user:oscar@") for e in denied)
