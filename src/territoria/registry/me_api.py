"""`GET /api/v1/me`: who the caller is, for which organisation, with which rights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from territoria.access import offers
from territoria.access.principal import Principal
from territoria.access.user_models import MembershipOffer, User
from territoria.errors import Forbidden, Unauthenticated
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep

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


# --- invitations waiting for the person's consent -------------------------------------------------

OrgSlug = Annotated[str, Path(max_length=64)]


class MeMembership(BaseModel):
    """The caller's role in one organisation."""

    organisation: str
    organisation_name: str
    role: str


class MeOffer(MeMembership):
    """A role an organisation offers the caller; it becomes a membership once accepted."""

    offered_at: str


def _offer(offer: MembershipOffer) -> MeOffer:
    """The API view of an offer, for the person it is made to."""
    org = offer.organisation
    return MeOffer(
        organisation=org.slug,
        organisation_name=org.name,
        role=offer.role,
        offered_at=offer.created_at.isoformat(),
    )


def _person(session: Session, principal: Principal) -> User:
    """The logged-in person (tokens belong to organisations, not to people)."""
    if principal.anonymous:
        raise Unauthenticated("log in to answer an invitation")
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None:
        raise Forbidden("only a person answers an invitation: log in with your own account")
    return user


@router.get("/me/offers", response_model=list[MeOffer])
def my_offers(principal: PrincipalDep, session: SessionDep) -> list[MeOffer]:
    """Roles organisations offer the caller, waiting for an answer."""
    return [_offer(o) for o in offers.offers_to(session, _person(session, principal))]


@router.post("/me/memberships/{org}/accept", response_model=MeMembership)
def accept(org: OrgSlug, principal: PrincipalDep, ctx: ContextDep) -> MeMembership:
    """Accept the role the organisation offers: the caller becomes its member."""
    with ctx.session(write=True) as session:
        membership = offers.accept_offer(session, _person(session, principal), org)
        joined = membership.organisation
        return MeMembership(organisation=joined.slug, organisation_name=joined.name, role=membership.role)


@router.post("/me/memberships/{org}/decline", status_code=status.HTTP_204_NO_CONTENT)
def decline(org: OrgSlug, principal: PrincipalDep, ctx: ContextDep) -> Response:
    """Decline the role the organisation offers."""
    with ctx.session(write=True) as session:
        offers.decline_offer(session, _person(session, principal), org)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
