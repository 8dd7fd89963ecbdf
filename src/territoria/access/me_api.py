"""`GET /api/v1/me`: who the caller is, for which organisation, with which rights."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from territoria.access.user_models import User
from territoria.api.deps import PrincipalDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["access"])


class MeUser(BaseModel):
    """The logged-in person."""

    model_config = ConfigDict(strict=True)

    email: str
    name: str


class MeOrganisation(BaseModel):
    """The organisation the caller acts for."""

    model_config = ConfigDict(strict=True)

    slug: str
    kind: str


class MePublic(BaseModel):
    """The caller as the platform sees it: anonymous, a token, or a logged-in user."""

    model_config = ConfigDict(strict=True)

    anonymous: bool
    user: MeUser | None
    token_id: int | None
    organisation: MeOrganisation | None
    roles: list[str]
    scopes: list[str]
    capabilities: list[str]
    platform_admin: bool


@router.get("/me", response_model=MePublic)
def me(principal: PrincipalDep, session: SessionDep) -> MePublic:
    """The caller's identity, organisation, roles or token scopes, and what they allow."""
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    org = (
        MeOrganisation(slug=principal.organisation_slug, kind=principal.organisation_kind)
        if principal.organisation_slug is not None and principal.organisation_kind is not None
        else None
    )
    return MePublic(
        anonymous=principal.anonymous,
        user=MeUser(email=user.email, name=user.name) if user is not None else None,
        token_id=principal.token_id,
        organisation=org,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        capabilities=sorted(c.value for c in principal.capabilities),
        platform_admin=principal.platform_admin,
    )
