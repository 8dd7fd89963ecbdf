"""The account page: identity, organisations and roles, switching organisation, changing the password."""

from __future__ import annotations

from tests.access.browsers import PASSWORD, add_person, browser, csrf_token, events, login
from tests.conftest import World

from territoria.catalog.service import get_organisation

NEW = "another long passphrase"


def _org_id(world: World, slug: str) -> int:
    with world.ctx.session() as s:
        return get_organisation(s, slug).id


def test_account_needs_a_logged_in_person(world: World) -> None:
    r = browser(world).get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Faccount"
    r = world.client.get("/account", headers=world.operator, follow_redirects=False)
    assert r.status_code == 303  # a token has no account page
    assert browser(world).get("/login").status_code == 200


def test_account_shows_organisations_and_switches(world: World) -> None:
    add_person(world, roles={"lightco": "producer", "waterco": "viewer"}, platform_admin=True)
    b = browser(world)
    login(b)
    page = b.get("/account?lang=en")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "ana@lightco.example" in page.text and "LightCo" in page.text and "WaterCo" in page.text
    assert "Producer" in page.text and "Viewer" in page.text and "You are acting for “LightCo”" in page.text
    assert 'href="/admin/audit"' in page.text  # platform admins see the audit link
    token = csrf_token(b)
    waterco = _org_id(world, "waterco")
    r = b.post(
        "/account/organisation", data={"organisation": waterco, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?done=organisation"
    me = b.get("/api/v1/me").json()
    assert me["organisation"]["slug"] == "waterco" and me["roles"] == ["viewer"]
    assert "Street lights" not in b.get("/").text  # lightco's private dataset is not waterco's
    city = _org_id(world, "city")
    refused = b.post("/account/organisation", data={"organisation": city, "csrf_token": token})
    assert refused.status_code == 403 and "not a member" in refused.text  # the language chosen earlier stays
    assert b.get("/api/v1/me").json()["organisation"]["slug"] == "waterco"
    switches = events(world, "session.switch_organisation")
    assert len(switches) == 1 and switches[0].details == {"from": "lightco"}
    assert any(e.target == f"organisation:{city}" for e in events(world, "access.denied"))


def test_change_password(world: World) -> None:
    add_person(world)
    b, other = browser(world), browser(world)
    login(b)
    login(other)
    token = csrf_token(b)
    form = {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW, "csrf_token": token}
    assert b.post("/account/password", data={**form, "confirm_password": "x"}).status_code == 422
    weak = b.post("/account/password", data={**form, "new_password": "short", "confirm_password": "short"})
    assert weak.status_code == 422 and "au moins 12" in weak.text
    wrong = b.post("/account/password", data={**form, "current_password": "not it at all"})
    assert wrong.status_code == 403 and "actuel est incorrect" in wrong.text
    assert len(events(world, "user.password_change_failed")) == 1
    r = b.post("/account/password", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account?done=password"
    assert "Mot de passe changé" in b.get("/account?done=password").text
    assert b.get("/api/v1/me").json()["anonymous"] is False  # this session stays
    assert other.get("/api/v1/me").status_code == 401  # the other one ended
    assert login(browser(world)).status_code == 401
    assert login(browser(world), password=NEW).status_code == 303
    assert events(world, "user.password_change")[0].details == {"sessions_ended": 1}


def test_guessing_the_current_password_locks_the_account(world: World) -> None:
    add_person(world)
    b = browser(world)
    login(b)
    token = csrf_token(b)
    form = {"current_password": "guess guess guess", "new_password": NEW, "confirm_password": NEW}
    for _ in range(world.ctx.settings.login_max_failures):
        assert b.post("/account/password", data={**form, "csrf_token": token}).status_code == 403
    locked = b.post("/account/password", data={**form, "current_password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429
    assert login(browser(world)).status_code == 401  # the lockout holds for logins too
