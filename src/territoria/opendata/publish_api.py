"""HTTP routes for stewards: a dataset's privacy policy and its releases (thin: logic in policies/service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel

from territoria.access.policy import is_owner, require, require_read
from territoria.access.roles import Capability
from territoria.catalog.service import get_dataset
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.opendata.models import PrivacyPolicy, Release
from territoria.opendata.policies import require_policy, set_policy
from territoria.opendata.service import publish, releases_of

router = APIRouter(prefix="/api/v1", tags=["opendata"])


class PolicyPublic(BaseModel):
    """One version of a privacy policy."""

    dataset: str
    version: int
    policy: dict[str, Any]
    comment: str
    created_by: str
    created_at: datetime


class ReleasePublic(BaseModel):
    """A release: status, size, coverage, disclosure-control report and change log."""

    dataset: str
    version: int
    status: str
    policy_version: int
    rows: int
    sha256: str
    licence: str
    coverage_start: datetime | None
    coverage_end: datetime | None
    created_at: datetime
    created_by: str
    report: dict[str, Any]
    changelog: dict[str, Any]


def policy_public(slug: str, row: PrivacyPolicy) -> PolicyPublic:
    """The API view of a policy version."""
    return PolicyPublic(
        dataset=slug,
        version=row.version,
        policy=row.body,
        comment=row.comment,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def release_public(slug: str, release: Release, *, owner: bool) -> ReleasePublic:
    """The API view of a release (who built it is shown to the owner only)."""
    return ReleasePublic(
        dataset=slug,
        version=release.version,
        status=release.status,
        policy_version=release.policy_version,
        rows=release.rows,
        sha256=release.sha256,
        licence=release.licence,
        coverage_start=release.coverage_start,
        coverage_end=release.coverage_end,
        created_at=release.created_at,
        created_by=release.created_by if owner else "",
        report=release.report,
        changelog=release.changelog,
    )


@router.get("/datasets/{slug}/privacy-policy", response_model=PolicyPublic)
def get_policy(slug: str, session: SessionDep, principal: PrincipalDep) -> PolicyPublic:
    """The current privacy policy of a dataset (for those who may read the dataset)."""
    ds = get_dataset(session, slug)
    require_read(principal, ds)
    return policy_public(slug, require_policy(session, ds))


@router.put("/datasets/{slug}/privacy-policy", response_model=PolicyPublic)
def put_policy(
    slug: str,
    ctx: ContextDep,
    principal: PrincipalDep,
    body: dict[str, Any] = Body(..., examples=[{"preset": "fr-energy-by-commune"}]),
    comment: str = "",
) -> PolicyPublic:
    """Store a new version of the policy (owner's `publish` capability), or say why it cannot hold."""
    with ctx.session(write=True) as session:
        row = set_policy(session, get_dataset(session, slug), body, principal, comment[:500])
        return policy_public(slug, row)


@router.get("/datasets/{slug}/releases", response_model=list[ReleasePublic])
def list_releases(slug: str, session: SessionDep, principal: PrincipalDep) -> list[ReleasePublic]:
    """Every release of a dataset, failed ones included, newest first (owner's `publish` capability)."""
    ds = get_dataset(session, slug)
    require(principal, ds, Capability.PUBLISH)
    return [release_public(slug, r, owner=True) for r in releases_of(session, ds)]


@router.post("/datasets/{slug}/releases", response_model=ReleasePublic, status_code=status.HTTP_201_CREATED)
def create_release(slug: str, ctx: ContextDep, principal: PrincipalDep) -> ReleasePublic:
    """Build the next release; `status` is "failed" (and nothing is served) if a disclosure check fails."""
    with ctx.session(write=True) as session:
        ds = get_dataset(session, slug)
        outcome = publish(session, ctx.settings, ds, principal)
        return release_public(slug, outcome.release, owner=is_owner(principal, ds))
