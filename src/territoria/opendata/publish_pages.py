"""The open-data panel of a dataset page and the steward's "publish" button."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access.cookies import same_origin
from territoria.access.policy import decide
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.errors import Forbidden, Invalid, NotFound, Unauthenticated
from territoria.http.deps import ContextDep, PrincipalDep
from territoria.i18n.i18n_keys import N_
from territoria.opendata.models import PrivacyPolicy
from territoria.opendata.policies import check, current_policy, parse_body
from territoria.opendata.service import publish, releases_of
from territoria.web.render import page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
# Keys the confirmation page builds from the policy's coded values.
KEYS = (
    N_("pubconf.period.hour"),
    N_("pubconf.period.day"),
    N_("pubconf.period.month"),
    N_("pubconf.location.commune"),
    N_("pubconf.location.iris"),
    N_("pubconf.location.none"),
    N_("pubconf.problem.K_UNREACHABLE"),
    N_("pubconf.problem.UNKNOWN_FIELD"),
)


def publish_panel(session: Session, principal: Principal, ds: Dataset) -> dict[str, Any]:
    """What the dataset page shows about publication: policy, latest releases, the button if allowed."""
    policy = current_policy(session, ds)
    history = releases_of(session, ds)[:5]
    latest = next((r for r in history if r.status == "published"), None)
    return {
        "policy_version": policy.version if policy else None,
        "latest": latest,
        "last_failed": history[0] if history and history[0].status == "failed" else None,
        "can_publish": decide(principal, ds, Capability.PUBLISH).allowed and policy is not None,
    }


def _back(slug: str, **params: object) -> RedirectResponse:
    """Back to the dataset page with a message key (never raw text in a link)."""
    return RedirectResponse(f"/datasets/{quote(slug)}?{urlencode(params)}#publication", status_code=303)


def _summary(session: Session, ds: Dataset, found: PrivacyPolicy) -> dict[str, Any]:
    """What the policy will publish, in plain terms, and what the check finds against the dataset now."""
    try:
        body = parse_body(ds, found.body)
    except Invalid:
        return {"version": found.version, "body": None, "problems": ["invalid"]}
    problems = [str(p.get("code", "invalid")) for p in check(session, ds, body)]
    return {
        "version": found.version,
        "body": body,
        "measures": [m.name for m in body.measures],
        "problems": problems,
    }


def _confirm_page(request: Request, ctx: Context, principal: Principal, slug: str) -> Response:
    """The confirmation asked before publishing: the policy summary and the latest release as a reference."""
    lang = page_lang(request)
    with ctx.session() as session:
        ds = get_dataset(session, slug)
        if not decide(principal, ds, Capability.PUBLISH).allowed:
            return _back(slug, publish_error="forbidden")
        found = current_policy(session, ds)
        if found is None:
            return _back(slug, publish_error="no_policy")
        history = releases_of(session, ds)
        latest = next((r for r in history if r.status == "published"), None)
        values = {
            "ds": ds,
            "policy": _summary(session, ds, found),
            "next_version": (history[0].version + 1) if history else 1,
            "latest": (
                {
                    "version": latest.version,
                    "rows": latest.rows,
                    "secret": int(latest.report.get("secret", 0) or 0),
                    "day": i18n.day_text(latest.created_at, lang),
                }
                if latest is not None
                else None
            ),
            "csrf_token": principal.csrf_token,
            "nav": "datasets",
        }
    response = render(request, ctx, "publish_confirm.html", values)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/datasets/{slug}/publish", response_model=None)
def publish_form(
    slug: Annotated[str, Path(max_length=64)],
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Build the next release from the dataset page (the owner's publish capability).

    The dataset page's button first shows what will be published and asks to confirm (a second POST,
    with `confirm=yes`): a release is public and stays in the history.
    """
    if not same_origin(request):
        return _back(slug, publish_error="forbidden")
    if confirm != "yes":
        try:
            return _confirm_page(request, ctx, principal, slug)
        except NotFound:
            return _back(slug, publish_error="forbidden")
    try:
        with ctx.session(write=True) as session:
            outcome = publish(session, ctx.settings, get_dataset(session, slug), principal)
            version, published = outcome.release.version, outcome.published
    except (Forbidden, Unauthenticated):
        return _back(slug, publish_error="forbidden")
    except NotFound:
        return _back(slug, publish_error="no_policy")
    except Invalid:
        return _back(slug, publish_error="invalid")
    if not published:
        return _back(slug, publish_error="failed", version=version)
    return _back(slug, published=version)
