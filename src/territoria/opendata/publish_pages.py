"""The open-data panel of a dataset page and the steward's "publish" button."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from territoria.access.cookies import same_origin
from territoria.access.policy import decide
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_dataset
from territoria.errors import Forbidden, Invalid, NotFound, Unauthenticated
from territoria.http.deps import ContextDep, PrincipalDep
from territoria.opendata.policies import current_policy
from territoria.opendata.service import publish, releases_of

router = APIRouter(tags=["pages"], include_in_schema=False)


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
    return RedirectResponse(f"/datasets/{slug}?{urlencode(params)}#publication", status_code=303)


@router.post("/datasets/{slug}/publish", response_model=None)
def publish_form(slug: str, request: Request, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Build the next release from the dataset page (the owner's publish capability)."""
    if not same_origin(request):
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
