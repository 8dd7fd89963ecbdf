"""HTML routes of an organisation's people, invitations and API tokens, for those who manage its members.

The same service functions and policy checks as the API (`access_api.py`): a page never grants more.
Forms post without any script (the CSRF token rides in a hidden field, checked by PrincipalDep); a change
comes back to the page with a message (post/redirect/get). Two answers are shown once, straight from
the POST and never kept by the browser: a new person's invitation link and a new token's secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access import members, policy
from territoria.access.offers import offers_of
from territoria.access.principal import Principal
from territoria.access.roles import ROLES, Capability
from territoria.access.schemas import member_public, offer_public, token_public
from territoria.access.service import list_tokens, revoke_token
from territoria.access.user_models import MembershipOffer
from territoria.access.users import members as org_members
from territoria.catalog.models import Organisation
from territoria.catalog.service import get_organisation, list_datasets
from territoria.context import Context
from territoria.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from territoria.http.deps import ContextDep, PrincipalDep
from territoria.i18n.i18n_keys import N_
from territoria.registry.account_pages import page, to_login
from territoria.web.render import page_lang

router = APIRouter(tags=["pages"], include_in_schema=False)
OrgSlug = Annotated[str, Path(max_length=64)]
Email = Annotated[str, Path(min_length=3, max_length=254)]
Key = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")]
PEOPLE_DONE = frozenset({"role", "removed", "offered"})
PEOPLE_ERRORS = frozenset({"last_admin", "not_member", "bad_role", "forbidden"})
TOKEN_DONE = frozenset({"revoked"})
TOKEN_ERRORS = frozenset({"not_found", "forbidden"})
SCOPES = ("read", "ingest", "admin")
# Keys the templates build from coded values (label("tokens.scope", …), "people.done." ~ done).
KEYS = (
    N_("people.done.role"),
    N_("people.done.removed"),
    N_("people.done.offered"),
    N_("people.error.not_member"),
    N_("people.error.bad_role"),
    N_("people.error.forbidden"),
    N_("tokens.done.revoked"),
    N_("tokens.error.not_found"),
    N_("tokens.error.forbidden"),
    N_("tokens.scope.read"),
    N_("tokens.scope.ingest"),
    N_("tokens.scope.admin"),
    N_("tokens.scope_help.read"),
    N_("tokens.scope_help.ingest"),
    N_("tokens.scope_help.admin"),
    N_("tokens.status.active"),
    N_("tokens.status.expired"),
    N_("tokens.status.revoked"),
)
TTL_CHOICES = (30, 90, 365)


def _when(value: datetime | None, lang: str) -> str | None:
    """A date and time in the reader's language (None stays None)."""
    return i18n.date_time(value, lang) if value is not None else None


def _people_url(slug: str, **params: str) -> str:
    """The people page of an organisation, with a message key."""
    return f"/organisations/{quote(slug)}/people" + (f"?{urlencode(params)}" if params else "")


# --- people and invitations -------------------------------------------------------------------------


def _managed(session: Session, principal: Principal, slug: str) -> Organisation:
    """The organisation, once the caller may manage its members (its admins, platform admins)."""
    org = get_organisation(session, slug)
    what = f"manage the members of '{slug}'"
    policy.require_org_capability(principal, org.id, Capability.MEMBERS, what, target=f"organisation:{slug}")
    return org


def _denied(request: Request, ctx: Context, template: str, nav: str) -> HTMLResponse:
    """The page's refusal: it says what is refused and who may grant it."""
    return page(request, ctx, template, {"denied": 403, "nav": nav}, status_code=403)


def _people_values(session: Session, org: Organisation, lang: str) -> dict[str, Any]:
    """The members of an organisation and its invitations waiting for an answer."""
    rows = []
    for m in org_members(session, org):
        public = member_public(m)
        rows.append(
            {
                "m": public,
                "since": i18n.day_text(public.since, lang),
                "last_login": _when(public.last_login_at, lang),
            }
        )
    offered = [
        {"email": o.email, "role": o.role, "since": i18n.day_text(o.since, lang)}
        for o in (offer_public(x) for x in offers_of(session, org))
    ]
    named = {"slug": org.slug, "name": org.name}  # read now: the session closes before rendering
    return {"organisation": named, "rows": rows, "offers": offered, "roles": ROLES, "nav": "account"}


def _people_page(
    request: Request,
    ctx: Context,
    principal: Principal,
    slug: str,
    extra: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The people page of an organisation (the caller is allowed: checked before)."""
    with ctx.session() as session:
        org = _managed(session, principal, slug)
        values = _people_values(session, org, page_lang(request))
    values |= {"form": {}, "errors": {}, "done": None, "error": None, "csrf_token": principal.csrf_token}
    values |= extra
    return page(request, ctx, "people.html", values, status_code=status_code)


@router.get("/organisations/{org}/people", response_model=None)
def people_page(
    org: OrgSlug,
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    done: Key = None,
    error: Key = None,
) -> Response:
    """People of an organisation with their roles, pending invitations, and the invitation form."""
    if principal.anonymous:
        return to_login(_people_url(org))
    try:
        extra = {
            "done": done if done in PEOPLE_DONE else None,
            "error": error if error in PEOPLE_ERRORS else None,
        }
        return _people_page(request, ctx, principal, org, extra)
    except (Forbidden, NotFound):  # one refusal for an unknown organisation and another's
        return _denied(request, ctx, "people.html", "account")


@router.post("/organisations/{org}/people", response_model=None)
def invite_form(
    org: OrgSlug,
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    email: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Invite someone with a role: a new address gets a one-time link shown here once (never mailed)."""
    if principal.anonymous:
        return to_login(_people_url(org))
    form = {"email": email, "role": role}
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = N_("people.error.role")
    if not email.strip():
        errors["email"] = N_("people.error.email_empty")
    invitation: str | None = None
    offered = False
    if not errors:
        try:
            with ctx.session(write=True) as session:
                managed = _managed(session, principal, org)
                change = members.put_member(
                    session, ctx.settings, managed, email, role, actor=principal.actor
                )
                invitation = change.invitation_url
                offered = isinstance(change.subject, MembershipOffer)
        except (Forbidden, NotFound):
            return _denied(request, ctx, "people.html", "account")
        except Conflict:
            errors["role"] = N_("people.error.last_admin")
        except Invalid:
            errors["email"] = N_("people.error.email")
    if errors:
        try:
            extra = {"form": form, "errors": errors}
            return _people_page(request, ctx, principal, org, extra, status_code=422)
        except (Forbidden, NotFound):
            return _denied(request, ctx, "people.html", "account")
    if invitation is None:
        return RedirectResponse(_people_url(org, done="offered" if offered else "role"), status_code=303)
    # The link is a password: shown in this answer only, not put in a URL to redirect to.
    extra = {"invitation": {"email": email.strip().lower(), "url": invitation, "role": role}}
    return _people_page(request, ctx, principal, org, extra)


@router.post("/organisations/{org}/people/{email}/role", response_model=None)
def role_form(
    org: OrgSlug,
    email: Email,
    ctx: ContextDep,
    principal: PrincipalDep,
    role: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Change a member's role (the last admin stays admin)."""
    if principal.anonymous:
        return to_login(_people_url(org))
    if role not in ROLES:
        return RedirectResponse(_people_url(org, error="bad_role"), status_code=303)
    try:
        with ctx.session(write=True) as session:
            managed = _managed(session, principal, org)
            if not any(m.user.email == email.strip().lower() for m in org_members(session, managed)):
                raise members.not_a_member(email, managed)
            members.put_member(session, ctx.settings, managed, email, role, actor=principal.actor)
    except Conflict:
        return RedirectResponse(_people_url(org, error="last_admin"), status_code=303)
    except NotFound:
        return RedirectResponse(_people_url(org, error="not_member"), status_code=303)
    except (Forbidden, Unauthenticated):
        return RedirectResponse(_people_url(org, error="forbidden"), status_code=303)
    return RedirectResponse(_people_url(org, done="role"), status_code=303)


@router.post("/organisations/{org}/people/{email}/remove", response_model=None)
def remove_form(org: OrgSlug, email: Email, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Take someone out of the organisation, or withdraw its invitation (the account remains)."""
    if principal.anonymous:
        return to_login(_people_url(org))
    try:
        with ctx.session(write=True) as session:
            managed = _managed(session, principal, org)
            members.delete_member(session, managed, email, actor=principal.actor)
    except Conflict:
        return RedirectResponse(_people_url(org, error="last_admin"), status_code=303)
    except NotFound:
        return RedirectResponse(_people_url(org, error="not_member"), status_code=303)
    except (Forbidden, Unauthenticated):
        return RedirectResponse(_people_url(org, error="forbidden"), status_code=303)
    return RedirectResponse(_people_url(org, done="removed"), status_code=303)


# --- API tokens -------------------------------------------------------------------------------------


def _require_tokens(principal: Principal) -> None:
    """Tokens of the organisation the person acts for: its admins (and platform admins) manage them."""
    policy.require_org_capability(
        principal, principal.organisation_id, Capability.MEMBERS, "manage the tokens", target="tokens"
    )


def _grantable_scopes(principal: Principal) -> list[str]:
    """The scopes a new token may carry: never more than its creator holds (the service checks again)."""
    held = principal.capabilities
    wanted = {"read": {Capability.READ}, "ingest": {Capability.INGEST, Capability.QUARANTINE}}
    grantable = [s for s in ("read", "ingest") if wanted[s] <= held]
    if frozenset(Capability) <= held:
        grantable.append("admin")
    return grantable


def _tokens_page(
    request: Request, ctx: Context, principal: Principal, extra: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """The tokens page of the organisation the person acts for."""
    lang = page_lang(request)
    with ctx.session() as session:
        org = session.get(Organisation, principal.organisation_id)
        if org is None:
            raise NotFound("your organisation no longer exists")
        tokens = []
        for token in list_tokens(session, org.id):
            public = token_public(token)
            tokens.append(
                {
                    "t": public,
                    "created": _when(public.created_at, lang),
                    "expires": _when(public.expires_at, lang),
                    "revoked": _when(public.revoked_at, lang),
                }
            )
        datasets = [
            {"slug": ds.slug, "title": ds.title} for ds in list_datasets(session) if ds.owner_id == org.id
        ]
        values: dict[str, Any] = {
            "organisation": {"slug": org.slug, "name": org.name},
            "tokens": tokens,
            "datasets": datasets,
            "scopes": _grantable_scopes(principal),
            "ttl_choices": TTL_CHOICES,
            "form": {"scopes": ["read"], "ttl": "90", "datasets": []},
            "errors": {},
            "done": None,
            "error": None,
            "created": None,
            "csrf_token": principal.csrf_token,
            "nav": "account",
        }
    values |= extra
    return page(request, ctx, "tokens.html", values, status_code=status_code)


@router.get("/account/tokens", response_model=None)
def tokens_page(
    request: Request, ctx: ContextDep, principal: PrincipalDep, done: Key = None, error: Key = None
) -> Response:
    """The API tokens of the organisation the person acts for (never their secrets) and the creation form."""
    if principal.user_id is None:  # people only: a token does not manage tokens from a page
        return to_login("/account/tokens")
    try:
        _require_tokens(principal)
        extra = {
            "done": done if done in TOKEN_DONE else None,
            "error": error if error in TOKEN_ERRORS else None,
        }
        return _tokens_page(request, ctx, principal, extra)
    except (Forbidden, NotFound):
        return _denied(request, ctx, "tokens.html", "account")


def _ttl(value: str) -> tuple[int | None, str | None]:
    """Days of validity from the form ('' for a token that never expires), or the error's key."""
    if value.strip() in ("", "never"):
        return None, None
    try:
        days = int(value.strip())
    except ValueError:
        return None, N_("tokens.error.ttl")
    if not 1 <= days <= 3650:
        return None, N_("tokens.error.ttl")
    return days, None


@router.post("/account/tokens", response_model=None)
def create_token_form(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    scopes: Annotated[list[str] | None, Form(max_length=10)] = None,
    ttl: Annotated[str, Form(max_length=16)] = "",
    datasets: Annotated[list[str] | None, Form(max_length=1000)] = None,
) -> Response:
    """Create a token; its secret is shown in this answer only, with a copy button."""
    if principal.user_id is None:
        return to_login("/account/tokens")
    chosen = [s for s in (scopes or []) if s in SCOPES]
    picked = [d[:64] for d in (datasets or []) if d.strip()]
    form = {"name": name, "scopes": chosen, "ttl": ttl, "datasets": picked}
    errors: dict[str, str] = {}
    days, ttl_error = _ttl(ttl)
    if ttl_error:
        errors["ttl"] = ttl_error
    if not chosen:
        errors["scopes"] = N_("tokens.error.scopes")
    if len(name) > 200:
        errors["name"] = N_("tokens.error.name")
    try:
        _require_tokens(principal)
        if not errors:
            with ctx.session(write=True) as session:
                org = session.get(Organisation, principal.organisation_id)
                if org is None:
                    raise NotFound("your organisation no longer exists")
                token, secret = members.new_token(
                    session, principal, org, chosen, datasets=picked or None, name=name.strip(), ttl_days=days
                )
                created = {"name": token.name, "prefix": token.prefix, "secret": secret}
            return _tokens_page(request, ctx, principal, {"created": created})
    except Forbidden:
        if not errors and principal.user_id is not None:
            errors["scopes"] = N_("tokens.error.too_much")
    except Invalid:
        errors["datasets"] = N_("tokens.error.datasets")
    except DomainError:
        return _denied(request, ctx, "tokens.html", "account")
    try:
        _require_tokens(principal)
        return _tokens_page(request, ctx, principal, {"form": form, "errors": errors}, status_code=422)
    except (Forbidden, NotFound):
        return _denied(request, ctx, "tokens.html", "account")


@router.post("/account/tokens/{token_id}/revoke", response_model=None)
def revoke_token_form(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], ctx: ContextDep, principal: PrincipalDep
) -> Response:
    """Revoke a token of the organisation the person acts for (any token for a platform admin)."""
    if principal.user_id is None:
        return to_login("/account/tokens")
    scope = None if principal.platform_admin else principal.organisation_id
    try:
        _require_tokens(principal)
        with ctx.session(write=True) as session:
            revoke_token(session, token_id, scope, actor=principal.actor)
    except NotFound:
        return RedirectResponse("/account/tokens?error=not_found", status_code=303)
    except (Forbidden, Unauthenticated):
        return RedirectResponse("/account/tokens?error=forbidden", status_code=303)
    return RedirectResponse("/account/tokens?done=revoked", status_code=303)
