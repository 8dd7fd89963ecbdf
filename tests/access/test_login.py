"""Web login: cookie, generic failures, lockout, rate limit, audit, tampered cookies, CSRF, logout, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update
from tests.access.browsers import PASSWORD, add_person, browser, csrf_token, events, login
from tests.conftest import World

from territoria.access.audit import verify
from territoria.access.user_models import OneTimeLink, User, WebSession
from territoria.access.users import find_user, issue_link

BAD = "Adresse e-mail ou mot de passe incorrect, ou compte verrouillé après plusieurs échecs."


def test_login_sets_the_cookie_and_the_pages_and_api_see_the_user(world: World) -> None:
    add_person(world)
    b = browser(world)
    anonymous = b.get("/")
    assert 'href="/login"' in anonymous.text and "Street lights" not in anonymous.text
    r = login(b)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("trt_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert f"Max-Age={world.ctx.settings.session_hours * 3600}" in cookie and "Secure" not in cookie
    me = b.get("/api/v1/me").json()
    assert me["anonymous"] is False and me["user"] == {"email": "ana@lightco.example", "name": "Ana"}
    assert me["organisation"] == {"slug": "lightco", "kind": "operator"} and me["roles"] == ["producer"]
    assert "ingest" in me["capabilities"] and "manage" not in me["capabilities"]
    assert me["token_id"] is None and me["platform_admin"] is False
    home = b.get("/")
    # The private dataset of the user's organisation is visible; the header names the user.
    assert "Street lights" in home.text and "ana@lightco.example · lightco" in home.text
    assert 'action="/logout"' in home.text and 'name="csrf_token"' in home.text
    assert 'href="/agreements"' in home.text and 'href="/admin/audit"' not in home.text
    assert "Log out" in b.get("/?lang=en").text
    # Behind a trusted TLS proxy the cookie is Secure; a client claiming TLS itself is not believed.
    forged = login(browser(world), **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in forged.headers["set-cookie"]
    world.ctx.settings.trusted_proxies = "10.0.0.5"
    secure = login(browser(world, "10.0.0.5"), **{"X-Forwarded-Proto": "https"})
    assert "Secure" in secure.headers["set-cookie"]


def test_me_for_anonymous_and_tokens_and_in_openapi(world: World) -> None:
    c = world.client
    assert c.get("/api/v1/me").json()["anonymous"] is True
    me = c.get("/api/v1/me", headers=world.reader).json()
    assert me["token_id"] is not None and me["scopes"] == ["read"] and me["capabilities"] == ["read"]
    assert me["organisation"]["slug"] == "lightco" and me["user"] is None
    assert c.get("/api/v1/me", headers=world.admin).json()["platform_admin"] is True
    paths = c.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/me" in paths and "/login" not in paths and "/account" not in paths


def test_wrong_password_and_unknown_email_get_the_same_401(world: World) -> None:
    add_person(world)
    b = browser(world)
    wrong = login(b, password="not the password")
    unknown = login(b, email="nobody@lightco.example")
    for r in (wrong, unknown):
        assert r.status_code == 401 and BAD in r.text and "set-cookie" not in r.headers
    assert 'value="ana@lightco.example"' in wrong.text  # the form keeps the address, never the password
    assert "not the password" not in wrong.text
    failures = events(world, "login.failure")
    assert [e.target for e in failures] == ["user:ana@lightco.example", "user:nobody@lightco.example"]
    assert failures[0].actor == "client:testclient"
    assert login(b).status_code == 303
    success = events(world, "login.success")
    assert len(success) == 1 and success[0].actor == "user:ana@lightco.example"
    with world.ctx.session() as s:
        assert verify(s).ok


def test_lockout_after_repeated_failures_persists_across_requests(world: World) -> None:
    add_person(world)
    limit = world.ctx.settings.login_max_failures
    for _ in range(limit):
        assert login(browser(world), password="guess guess guess").status_code == 401
    locked = login(browser(world))  # the right password, from a new browser
    assert locked.status_code == 401 and BAD in locked.text and "set-cookie" not in locked.headers
    with world.ctx.session() as s:
        user = find_user(s, "ana@lightco.example")
        assert user is not None and user.locked_until is not None and user.failed_logins == limit
    assert "locked_until" in events(world, "login.failure")[limit - 1].details
    with world.ctx.session(write=True) as s:  # the lockout ends
        s.execute(update(User).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert login(browser(world)).status_code == 303
    with world.ctx.session() as s:
        user = find_user(s, "ana@lightco.example")
        assert user is not None and user.failed_logins == 0 and user.locked_until is None


def _same_page(a: httpx.Response, b: httpx.Response, email_a: str, email_b: str) -> bool:
    """The two login answers are identical but for the address the form keeps."""
    return a.status_code == b.status_code and a.text.replace(email_a, email_b) == b.text


def test_a_locked_account_answers_like_a_wrong_password_and_an_unknown_address(world: World) -> None:
    add_person(world)
    for _ in range(world.ctx.settings.login_max_failures):
        login(browser(world), password="guess guess guess")
    known, unknown = "ana@lightco.example", "nobody@lightco.example"
    locked_right = login(browser(world))
    locked_wrong = login(browser(world), password="guess guess guess")
    nobody = login(browser(world), email=unknown, password="guess guess guess")
    assert locked_right.status_code == 401 and "verrouillé" in locked_right.text  # the person learns why
    assert _same_page(locked_right, nobody, known, unknown) and _same_page(
        locked_wrong, nobody, known, unknown
    )
    add_person(world, "bob@lightco.example")
    wrong = login(browser(world), email="bob@lightco.example", password="guess guess guess")
    assert _same_page(wrong, nobody, "bob@lightco.example", unknown)


def test_attempts_during_a_lockout_do_not_extend_it(world: World) -> None:
    add_person(world)
    for _ in range(world.ctx.settings.login_max_failures):
        login(browser(world), password="guess guess guess")
    with world.ctx.session() as s:
        user = find_user(s, "ana@lightco.example")
        assert user is not None
        until, count = user.locked_until, user.failed_logins
    for _ in range(3):
        assert login(browser(world), password="guess guess guess").status_code == 401
    with world.ctx.session() as s:
        user = find_user(s, "ana@lightco.example")
        assert user is not None and user.locked_until == until and user.failed_logins == count
    assert len(events(world, "login.failure")) == count + 3  # still on the trail


def test_every_refused_login_costs_one_argon2_verification(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_person(world)
    add_person(world, "pending@lightco.example", password=None)
    add_person(world, "off@lightco.example")
    with world.ctx.session(write=True) as s:
        s.execute(update(User).where(User.email == "off@lightco.example").values(active=False))
    calls: list[str] = []
    real = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        calls.append(str(password))
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    cases = {
        "unknown": ("nobody@lightco.example", "guess guess guess"),
        "wrong": ("ana@lightco.example", "guess guess guess"),
        "pending": ("pending@lightco.example", "guess guess guess"),
        "disabled": ("off@lightco.example", PASSWORD),
    }
    for what, (email, password) in cases.items():
        calls.clear()
        assert login(browser(world), email=email, password=password).status_code == 401, what
        assert len(calls) == 1, what
    for _ in range(world.ctx.settings.login_max_failures):
        login(browser(world), password="guess guess guess")
    calls.clear()
    assert login(browser(world)).status_code == 401  # locked, with the right password
    assert len(calls) == 1


def test_rate_limit_per_client_address(world: World) -> None:
    add_person(world)
    world.ctx.settings.login_rate_per_client = 3
    noisy = browser(world, "10.0.0.1")
    for i in range(3):
        assert login(noisy, email=f"x{i}@example.org", password="nope nope nope").status_code == 401
    limited = login(noisy)
    assert limited.status_code == 429 and "patientez" in limited.text
    assert limited.headers["retry-after"] == str(world.ctx.settings.login_rate_window_minutes * 60)
    assert events(world, "login.rate_limited")
    # A refused client hammering the form is noted once per window, not once per request.
    for _ in range(20):
        assert login(noisy).status_code == 429
    assert len(events(world, "login.rate_limited")) == 1
    # Another address is not concerned, and the account itself is not locked.
    assert login(browser(world, "10.0.0.2")).status_code == 303


def test_cross_site_login_post_is_refused(world: World) -> None:
    add_person(world)
    r = login(browser(world), Origin="https://evil.example")
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert not events(world, "login.failure") and not events(world, "login.success")
    assert login(browser(world), Origin="http://testserver").status_code == 303
    fetch = login(browser(world), **{"Sec-Fetch-Site": "cross-site"})
    assert fetch.status_code == 403


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
        "",
    ],
)
def test_open_redirects_go_home(world: World, target: str) -> None:
    add_person(world)
    r = login(browser(world), next_url=target)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_local_next_is_kept(world: World) -> None:
    add_person(world)
    r = login(browser(world), next_url="/datasets/lights?lang=en")
    assert r.headers["location"] == "/datasets/lights?lang=en"
    page = browser(world).get("/login", params={"next": '/x"><script>'})
    assert "<script>" not in page.text  # escaped (and replaced by "/" when posted back)


def test_tampered_or_expired_cookie(world: World) -> None:
    add_person(world)
    c = browser(world)
    forged = {"Cookie": "trt_session=forged-value"}
    api = c.get("/api/v1/me", headers=forged)
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"
    page = c.get("/map", headers=forged)
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert "Session expirée" in page.text and "/login?next=%2Fmap" in page.text
    assert 'trt_session=""' in page.headers["set-cookie"] and "Max-Age=0" in page.headers["set-cookie"]
    assert events(world, "auth.invalid_credential")
    # A session past its expiry is refused the same way.
    b = browser(world)
    login(b)
    with world.ctx.session(write=True) as s:
        s.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert b.get("/api/v1/me").status_code == 401
    assert b.get("/").status_code == 401


def test_post_with_the_cookie_but_no_csrf_token_is_refused_and_audited(world: World) -> None:
    add_person(world)
    b = browser(world)
    login(b)
    r = b.post("/logout", follow_redirects=False)
    assert r.status_code == 403
    denied = [e for e in events(world, "access.denied") if e.details.get("path") == "/logout"]
    assert denied and denied[0].actor == "user:ana@lightco.example@org:lightco"
    assert "CSRF" in denied[0].details["reason"]
    assert b.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False).status_code == 403
    assert b.get("/api/v1/me").json()["anonymous"] is False  # still logged in
    # Scripts of a logged-in page send the header instead.
    token = csrf_token(b)
    assert b.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False).status_code == 303


def test_logout_revokes_the_session(world: World) -> None:
    add_person(world)
    b = browser(world)
    cookie = login(b).cookies["trt_session"]
    r = b.post("/logout", data={"csrf_token": csrf_token(b)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "Max-Age=0" in r.headers["set-cookie"]
    # The old cookie, presented again (a copy elsewhere), no longer works.
    assert browser(world).get("/api/v1/me", headers={"Cookie": f"trt_session={cookie}"}).status_code == 401
    assert [e.target for e in events(world, "logout")] == ["user:ana@lightco.example"]


def _link(world: World, email: str, purpose: str) -> str:
    """Issue a one-time link and return its path."""
    with world.ctx.session(write=True) as s:
        user = find_user(s, email)
        assert user is not None
        issued = issue_link(s, user, purpose, hours=1, actor="test")
        return issued.url("")


def test_invitation_link_works_once_and_logs_in(world: World) -> None:
    add_person(world, "bob@lightco.example", password=None)
    path = _link(world, "bob@lightco.example", "invite")
    b = browser(world)
    form = b.get(path)
    assert form.status_code == 200 and "bob@lightco.example" in form.text
    assert form.headers["cache-control"] == "no-store"
    fields = {"name": "Bob", "password": PASSWORD, "confirm_password": PASSWORD}
    assert b.post(path, data={**fields, "confirm_password": "other"}).status_code == 422
    assert b.post(path, data={**fields, "password": "short", "confirm_password": "short"}).status_code == 422
    assert b.post(path, data=fields, headers={"Origin": "https://evil.example"}).status_code == 403
    r = b.post(path, data=fields, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/" and "trt_session=" in r.headers["set-cookie"]
    assert b.get("/api/v1/me").json()["user"] == {"email": "bob@lightco.example", "name": "Bob"}
    for again in (b.get(path), b.post(path, data=fields)):
        assert again.status_code == 404 and "Lien inutilisable" in again.text
    assert browser(world).get("/invitation/not-a-real-secret").status_code == 404
    assert events(world, "user.invite_accepted")


def test_reset_link_sets_a_password_once_and_ends_sessions(world: World) -> None:
    add_person(world)
    old = browser(world)
    login(old)
    path = _link(world, "ana@lightco.example", "reset")
    new_password = "a brand new passphrase"
    b = browser(world)
    assert b.get(path).status_code == 200
    r = b.post(
        path, data={"password": new_password, "confirm_password": new_password}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/login?done=reset"
    assert old.get("/api/v1/me").status_code == 401  # the session opened before the reset ended
    assert login(browser(world)).status_code == 401
    assert login(browser(world), password=new_password).status_code == 303
    assert b.get(path).status_code == 404
    # An expired link answers the same 404 page.
    path = _link(world, "ana@lightco.example", "reset")
    with world.ctx.session(write=True) as s:
        s.execute(update(OneTimeLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert b.get(path).status_code == 404
    assert b.post(path, data={"password": new_password, "confirm_password": new_password}).status_code == 404
