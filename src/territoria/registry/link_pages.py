"""HTML routes of one-time links: accept an invitation (then log in at once), reset a password.

The secret in the address is the only credential: these forms need no session and no CSRF token, but a
cross-site post is refused. An unknown, used or expired link answers 404 with a page saying so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from territoria.access import accounts, users, websessions
from territoria.access.clients import client_address
from territoria.access.cookies import same_origin, set_session_cookie
from territoria.access.passwords import MIN_LENGTH
from territoria.context import Context
from territoria.errors import DomainError, Invalid, NotFound
from territoria.http.deps import ContextDep
from territoria.registry.account_pages import Message, PasswordField, message, page, weak_password

router = APIRouter(tags=["pages"], include_in_schema=False)
Purpose = Literal["invite", "reset"]
Secret = Annotated[str, Path(max_length=200)]
PAGES: dict[str, str] = {"invite": "invitation", "reset": "password-reset"}


def _invalid(request: Request, ctx: Context) -> HTMLResponse:
    """The page of an unusable link."""
    return page(request, ctx, "link_invalid.html", {"nav": ""}, status_code=404)


def _form(
    request: Request,
    ctx: Context,
    purpose: Purpose,
    secret: str,
    *,
    name: str | None = None,
    error: Message | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The form of a usable link (404 page otherwise)."""
    with ctx.session() as session:
        try:
            link = users.find_link(session, secret, purpose)
        except NotFound:
            return _invalid(request, ctx)
        email, stored_name = link.user.email, link.user.name
    values: dict[str, Any] = {
        "purpose": purpose,
        "email": email,
        "name": stored_name if name is None else name,
        "action": f"/{PAGES[purpose]}/{secret}",
        "min": MIN_LENGTH,
        "error": message(request, error),
        "nav": "",
    }
    return page(request, ctx, "link_password.html", values, status_code=status_code)


def _checked(request: Request, password: str, confirm: str) -> tuple[Message, int] | None:
    """Why the form cannot be accepted as sent, before any work (cross-site post, two passwords differ)."""
    if not same_origin(request):
        return ("login.error.cross_site", {}), 403
    if password != confirm:
        return ("password.error.mismatch", {}), 422
    return None


@router.get("/invitation/{secret}", response_class=HTMLResponse)
def invitation_page(secret: Secret, request: Request, ctx: ContextDep) -> HTMLResponse:
    """Accept an invitation: choose a name and a password."""
    return _form(request, ctx, "invite", secret)


@router.post("/invitation/{secret}", response_model=None)
def invitation_submit(
    secret: Secret,
    request: Request,
    ctx: ContextDep,
    name: Annotated[str, Form(max_length=200)] = "",
    password: PasswordField = "",
    confirm_password: PasswordField = "",
) -> Response:
    """Set the password, then open a session at once (the person just proved the link and the password)."""
    refused = _checked(request, password, confirm_password)
    if refused is not None:
        return _form(request, ctx, "invite", secret, name=name, error=refused[0], status_code=refused[1])
    try:
        with ctx.session(write=True) as session:
            user = users.use_link(session, secret, "invite", password, name=name.strip() or None)
            outcome = websessions.login(session, ctx.settings, user.email, password, client_address(request))
    except NotFound:
        return _invalid(request, ctx)
    except Invalid as exc:
        error = weak_password(exc)
        return _form(request, ctx, "invite", secret, name=name, error=error, status_code=422)
    if isinstance(outcome, DomainError):  # e.g. a disabled account: the password is set all the same
        return RedirectResponse("/login?done=invited", status_code=303)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, outcome.cookie, ctx.settings)
    return response


@router.get("/password-reset/{secret}", response_class=HTMLResponse)
def reset_page(secret: Secret, request: Request, ctx: ContextDep) -> HTMLResponse:
    """Reset a password: choose a new one."""
    return _form(request, ctx, "reset", secret)


@router.post("/password-reset/{secret}", response_model=None)
def reset_submit(
    secret: Secret,
    request: Request,
    ctx: ContextDep,
    password: PasswordField = "",
    confirm_password: PasswordField = "",
) -> Response:
    """Set the new password; every open session ends, and the person logs in with it."""
    refused = _checked(request, password, confirm_password)
    if refused is not None:
        return _form(request, ctx, "reset", secret, error=refused[0], status_code=refused[1])
    try:
        with ctx.session(write=True) as session:
            user = users.use_link(session, secret, "reset", password)
            # A reset often follows a suspected leak: whoever held a session loses it.
            accounts.revoke_sessions(session, user)
    except NotFound:
        return _invalid(request, ctx)
    except Invalid as exc:
        return _form(request, ctx, "reset", secret, error=weak_password(exc), status_code=422)
    return RedirectResponse("/login?done=reset", status_code=303)
