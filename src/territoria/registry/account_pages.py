"""HTML routes of people: login and logout, the account page (organisation, password), the login-needed page.

Forms post here without any script and come back with a message (post/redirect/get). Failed logins are
committed before the form is shown again, so that the failure count and the lockout hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from territoria import i18n
from territoria.access import accounts, offers, websessions
from territoria.access.audit import record
from territoria.access.clients import client_address
from territoria.access.cookies import (
    delete_session_cookie,
    safe_next,
    same_origin,
    set_session_cookie,
)
from territoria.access.passwords import MAX_LENGTH, MIN_LENGTH, refusal_code
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.access.user_models import User, WebSession
from territoria.access.websessions import COOKIE
from territoria.context import Context
from territoria.errors import DomainError, Forbidden, Invalid, NotFound, TooManyRequests, Unauthenticated
from territoria.http.deps import ContextDep, PrincipalDep
from territoria.web.render import page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
MessageKey = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")]
NextField = Annotated[str, Form(alias="next", max_length=4096)]
# Longer than any acceptable password, so that a long one is refused with a message, not a 422 document.
PasswordField = Annotated[str, Form(max_length=4 * MAX_LENGTH)]
LOGIN_DONE = frozenset({"reset", "invited"})
ACCOUNT_DONE = frozenset({"password", "organisation", "accepted", "declined"})
Message = tuple[str, dict[str, Any]]


def page(
    request: Request, ctx: Context, template: str, values: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A page that shows or asks for personal data: never kept by the browser or a proxy."""
    response = render(request, ctx, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def message(request: Request, msg: Message | None) -> str | None:
    """A message in the page's language (keys only come from this code: links cannot inject text)."""
    return i18n.t(msg[0], page_lang(request), **msg[1]) if msg is not None else None


def weak_password(exc: Invalid) -> Message:
    """The message saying why a password was refused and what to choose instead."""
    code = refusal_code(exc).lower()
    key = f"password.error.{code}" if code else "password.error.weak"
    return key, {"min": MIN_LENGTH, "max": MAX_LENGTH}


def to_login(next_url: str) -> RedirectResponse:
    """Send the visitor to the login form, coming back here afterwards."""
    return RedirectResponse("/login?" + urlencode({"next": safe_next(next_url)}), status_code=303)


def login_form(
    request: Request,
    ctx: Context,
    next_url: str,
    *,
    email: str = "",
    error: Message | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The login form, with an error or a confirmation."""
    values = {
        "next": safe_next(next_url),
        "email": email,
        "error": message(request, error),
        "done": message(request, (f"login.done.{done}", {})) if done in LOGIN_DONE else None,
        "nav": "login",
    }
    return page(request, ctx, "login.html", values, status_code=status_code)


def _login_error(exc: DomainError, ctx: Context) -> tuple[int, Message]:
    """Status and message of a refused login: one for a wrong e-mail, a wrong password and a lockout."""
    settings = ctx.settings
    if isinstance(exc, TooManyRequests):  # about the caller's address, not about an account
        return 429, ("login.error.rate", {"minutes": settings.login_rate_window_minutes})
    return 401, ("login.error.bad", {"minutes": settings.login_lockout_minutes})


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    ctx: ContextDep,
    next_url: Annotated[str, Query(alias="next", max_length=4096)] = "/",
    done: MessageKey = None,
) -> HTMLResponse:
    """The login form (no principal is resolved: a stale cookie must not stand in the way)."""
    return login_form(request, ctx, next_url, done=done)


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    ctx: ContextDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: PasswordField = "",
    next_url: NextField = "/",
) -> Response:
    """Check the password, open a session and go to `next` (a path of this site only)."""
    if not same_origin(request):
        # Login CSRF: another site must not log the visitor into an account of its choosing.
        error: Message = ("login.error.cross_site", {})
        return login_form(request, ctx, next_url, email=email, error=error, status_code=403)
    with ctx.session(write=True) as session:
        outcome = websessions.login(session, ctx.settings, email, password, client_address(request))
    if isinstance(outcome, DomainError):  # the failure is committed; now answer
        status, error = _login_error(outcome, ctx)
        form = login_form(request, ctx, next_url, email=email, error=error, status_code=status)
        if status == 429:
            form.headers["Retry-After"] = str(ctx.settings.login_rate_window_minutes * 60)
        return form
    response = RedirectResponse(safe_next(next_url), status_code=303)
    set_session_cookie(response, request, outcome.cookie, ctx.settings)
    return response


@router.post("/logout", response_model=None)
def logout_submit(request: Request, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """End the session everywhere and forget the cookie (the CSRF token was checked on the way in)."""
    if principal.session_id is not None:
        with ctx.session(write=True) as session:
            web = session.get(WebSession, principal.session_id)
            if web is not None and web.revoked_at is None:
                websessions.logout(session, web)
    response = RedirectResponse("/", status_code=303)
    delete_session_cookie(response, request)
    return response


def account_page_for(
    request: Request,
    ctx: Context,
    principal: Principal,
    *,
    done: str | None = None,
    error: Message | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The account page of the logged-in user, with a confirmation or an error."""
    with ctx.session() as session:
        user = session.get(User, principal.user_id) if principal.user_id is not None else None
        if user is None:
            raise Unauthenticated("your session is invalid or has expired: log in again")
        orgs = [
            {
                "id": m.organisation_id,
                "slug": m.organisation.slug,
                "name": m.organisation.name,
                "kind": m.organisation.kind,
                "role": m.role,
                "current": m.organisation_id == principal.organisation_id,
            }
            for m in user.memberships
        ]
        invitations = [
            {"slug": o.organisation.slug, "name": o.organisation.name, "role": o.role}
            for o in offers.offers_to(session, user)
        ]
    values = {
        "user": user,
        "orgs": orgs,
        "offers": invitations,
        "current": next((o for o in orgs if o["current"]), None),
        # Links to the people and tokens pages, for those who may manage them (the pages check again).
        "manages": principal.organisation_id is not None
        and (principal.platform_admin or principal.can(Capability.MEMBERS)),
        "min": MIN_LENGTH,
        "done": message(request, (f"account.done.{done}", {})) if done in ACCOUNT_DONE else None,
        "error": message(request, error),
        "nav": "account",
    }
    return page(request, ctx, "account.html", values, status_code=status_code)


@router.get("/account", response_model=None)
def account_page(
    request: Request, ctx: ContextDep, principal: PrincipalDep, done: MessageKey = None
) -> Response:
    """Who I am, my organisations and roles, the organisation I act for, my password."""
    if principal.user_id is None:  # people only: tokens have no account page
        return to_login("/account")
    return account_page_for(request, ctx, principal, done=done)


@router.post("/account/organisation", response_model=None)
def switch_organisation(
    request: Request, ctx: ContextDep, principal: PrincipalDep, organisation: Annotated[int, Form()]
) -> Response:
    """Act for another of my organisations from now on."""
    if principal.session_id is None:
        return to_login("/account")
    try:
        with ctx.session(write=True) as session:
            web = session.get(WebSession, principal.session_id)
            if web is None:
                raise Unauthenticated("your session is invalid or has expired: log in again")
            websessions.switch_organisation(session, web, organisation)
            record(
                session,
                actor=principal.actor,
                action="session.switch_organisation",
                target=f"user:{principal.user_email}",
                organisation_id=organisation,
                details={"from": principal.organisation_slug},
            )
    except Forbidden as exc:
        principal.journal.add("access.denied", f"organisation:{organisation}", reason=exc.message)
        error: Message = ("account.error.not_member", {})
        return account_page_for(request, ctx, principal, error=error, status_code=403)
    return RedirectResponse("/account?done=organisation", status_code=303)


@router.post("/account/offers/{org}/{answer}", response_model=None)
def answer_offer(
    ctx: ContextDep,
    principal: PrincipalDep,
    org: Annotated[str, Path(max_length=64)],
    answer: Literal["accept", "decline"],
) -> Response:
    """Accept or decline a role an organisation offers me (the CSRF token was checked on the way in)."""
    if principal.user_id is None:
        return to_login("/account")
    try:
        with ctx.session(write=True) as session:
            user = session.get(User, principal.user_id)
            if user is None:
                raise Unauthenticated("your session is invalid or has expired: log in again")
            if answer == "accept":
                offers.accept_offer(session, user, org)
            else:
                offers.decline_offer(session, user, org)
    except NotFound:
        return RedirectResponse("/account", status_code=303)  # answered already, or withdrawn meanwhile
    done = "accepted" if answer == "accept" else "declined"
    return RedirectResponse(f"/account?done={done}", status_code=303)


@router.post("/account/password", response_model=None)
def change_password(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    current_password: PasswordField = "",
    new_password: PasswordField = "",
    confirm_password: PasswordField = "",
) -> Response:
    """Change my password (the current one proves it is me); my other sessions end."""
    if principal.user_id is None:
        return to_login("/account")
    if new_password != confirm_password:
        error: Message = ("password.error.mismatch", {})
        return account_page_for(request, ctx, principal, error=error, status_code=422)
    try:
        with ctx.session(write=True) as session:
            user = session.get(User, principal.user_id)
            if user is None:
                raise Unauthenticated("your session is invalid or has expired: log in again")
            outcome = accounts.change_password(
                session,
                ctx.settings,
                user,
                current_password,
                new_password,
                keep_session=principal.session_id,
            )
    except Invalid as exc:
        return account_page_for(request, ctx, principal, error=weak_password(exc), status_code=422)
    if isinstance(outcome, TooManyRequests):
        locked: Message = ("account.error.locked", {"minutes": ctx.settings.login_lockout_minutes})
        return account_page_for(request, ctx, principal, error=locked, status_code=429)
    if isinstance(outcome, DomainError):
        wrong: Message = ("account.error.current", {})
        return account_page_for(request, ctx, principal, error=wrong, status_code=403)
    return RedirectResponse("/account?done=password", status_code=303)


def login_required(request: Request) -> HTMLResponse:
    """The HTML 401 of a page: log in, or log in again when the session cookie no longer holds."""
    ctx: Context = request.app.state.context
    # No principal was resolved: the presented cookie is what failed (tampered, expired, revoked).
    expired = COOKIE in request.cookies and getattr(request.state, "principal", None) is None
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    values = {"expired": expired, "login_url": "/login?" + urlencode({"next": safe_next(target)}), "nav": ""}
    response = page(request, ctx, "login_required.html", values, status_code=401)
    if expired:
        delete_session_cookie(response, request)
    return response
