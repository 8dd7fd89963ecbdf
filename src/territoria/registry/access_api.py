"""HTTP routes of the trust framework: organisations, data-sharing agreements, members and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy.orm import Session

from territoria import paging
from territoria.access import agreements, members, policy
from territoria.access.offers import offers_of
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.access.schemas import (
    AgreementCreate,
    AgreementPublic,
    MemberChanged,
    MemberPublic,
    MemberSet,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    agreement_public,
    member_public,
    offer_public,
    token_public,
)
from territoria.access.service import list_tokens, revoke_token
from territoria.access.user_models import MembershipOffer
from territoria.access.users import members as org_members
from territoria.catalog.models import Organisation
from territoria.catalog.schemas import OrganisationPublic
from territoria.catalog.service import get_organisation
from territoria.errors import Invalid, NotFound
from territoria.http.deps import ContextDep, PageCursor, PageLimit, PrincipalDep, SessionDep, link_next_page

router = APIRouter(prefix="/api/v1", tags=["access"])
Email = Annotated[str, Path(min_length=3, max_length=254)]
# `{org}`, not `{slug}`: in this API `{slug}` always names a dataset.
OrgSlug = Annotated[str, Path(max_length=64)]
# Bounded like the integer columns: a larger number is a 422, not a database overflow.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/organisations", response_model=list[OrganisationPublic])
def list_organisations(
    request: Request,
    response: Response,
    session: SessionDep,
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[OrganisationPublic]:
    """Organisations taking part in the platform (public information), a page at a time (Link: next)."""
    found = members.list_organisations(session)
    page, following = paging.page_in_memory(found, lambda o: o.slug, cursor, limit)
    link_next_page(request, response, following)
    return [OrganisationPublic.model_validate(o) for o in page]


# --- data-sharing agreements ---------------------------------------------------------------------


@router.get("/agreements", response_model=list[AgreementPublic])
def list_agreements(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    status: agreements.Status | None = None,
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[AgreementPublic]:
    """Agreements the caller's organisation gave or received (every agreement for a platform admin)."""
    policy.require_org_capability(
        principal,
        principal.organisation_id,
        Capability.READ,
        "see data-sharing agreements",
        target="agreements",
    )
    scope = None if principal.platform_admin else principal.organisation_id
    rows = agreements.list_agreements(session, scope, status=status)
    page, following = paging.page_in_memory(rows, lambda a: a.id, cursor, limit)
    link_next_page(request, response, following)
    return [agreement_public(a, principal.organisation_id) for a in page]


@router.post("/agreements", response_model=AgreementPublic, status_code=status.HTTP_201_CREATED)
def create_agreement(body: AgreementCreate, ctx: ContextDep, principal: PrincipalDep) -> AgreementPublic:
    """Share one of the caller organisation's datasets with another organisation (`share` capability)."""
    terms = agreements.Terms(
        dataset=body.dataset,
        recipient=body.organisation,
        purpose=body.purpose,
        expires_at=body.expires_at,
        fields=body.fields,
        starts_at=body.starts_at,
    )
    with ctx.session(write=True) as session:
        agreement = agreements.create_agreement(session, terms, principal)
        return agreement_public(agreement, principal.organisation_id)


@router.get("/agreements/{agreement_id}", response_model=AgreementPublic)
def get_agreement(agreement_id: Id, session: SessionDep, principal: PrincipalDep) -> AgreementPublic:
    """One agreement, for its two sides and platform admins."""
    agreement = agreements.get_agreement(session, agreement_id, principal)
    return agreement_public(agreement, principal.organisation_id)


@router.post("/agreements/{agreement_id}/revoke", response_model=AgreementPublic)
def revoke_agreement(agreement_id: Id, ctx: ContextDep, principal: PrincipalDep) -> AgreementPublic:
    """End an agreement now (the owner's `share` capability); revoking twice changes nothing."""
    with ctx.session(write=True) as session:
        agreement = agreements.revoke_agreement(session, agreement_id, principal)
        return agreement_public(agreement, principal.organisation_id)


# --- members ----------------------------------------------------------------------------------------


def _managed(session: Session, principal: Principal, slug: str, what: str) -> Organisation:
    """The organisation, once the caller is allowed to manage its members (its admins, platform admins)."""
    org = get_organisation(session, slug)
    policy.require_org_capability(
        principal, org.id, Capability.MEMBERS, f"{what} of '{slug}'", target=f"organisation:{slug}"
    )
    return org


@router.get("/organisations/{org}/members", response_model=list[MemberPublic])
def list_members(org: OrgSlug, session: SessionDep, principal: PrincipalDep) -> list[MemberPublic]:
    """People of an organisation and their roles, then the invitations waiting for consent."""
    managed = _managed(session, principal, org, "see the members")
    listed = [member_public(m) for m in org_members(session, managed)]
    return listed + [offer_public(o) for o in offers_of(session, managed)]


@router.put("/organisations/{org}/members/{email}", response_model=MemberChanged)
def put_member(
    org: OrgSlug, email: Email, body: MemberSet, response: Response, ctx: ContextDep, principal: PrincipalDep
) -> MemberChanged:
    """Give someone a role: a new address gets an account and a one-time invitation link (201); an
    existing account outside the organisation gets an invitation it accepts itself (202)."""
    with ctx.session(write=True) as session:
        managed = _managed(session, principal, org, "manage the members")
        change = members.put_member(
            session, ctx.settings, managed, email, body.role.value, actor=principal.actor
        )
        offered = isinstance(change.subject, MembershipOffer)
        if isinstance(change.subject, MembershipOffer):
            member = offer_public(change.subject)
        else:
            member = member_public(change.subject)
    if change.created:
        response.status_code = status.HTTP_201_CREATED
    elif offered:
        response.status_code = status.HTTP_202_ACCEPTED
    return MemberChanged(**member.model_dump(), created=change.created, invitation_url=change.invitation_url)


@router.delete("/organisations/{org}/members/{email}", status_code=status.HTTP_204_NO_CONTENT)
def delete_member(org: OrgSlug, email: Email, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Take someone out of the organisation (the last admin stays)."""
    with ctx.session(write=True) as session:
        managed = _managed(session, principal, org, "manage the members")
        members.delete_member(session, managed, email, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/organisations/{org}/members/{email}/unlock", status_code=status.HTTP_204_NO_CONTENT)
def unlock_member(org: OrgSlug, email: Email, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Lift a member's lockout after repeated wrong passwords (the organisation's admins)."""
    with ctx.session(write=True) as session:
        managed = _managed(session, principal, org, "manage the members")
        members.unlock_member(session, managed, email, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- tokens -----------------------------------------------------------------------------------------


@router.get("/tokens", response_model=list[TokenPublic])
def tokens(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    organisation: Annotated[str | None, Query(max_length=64, description="platform admins only")] = None,
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[TokenPublic]:
    """The tokens of the caller's organisation, without their secrets."""
    org_id = get_organisation(session, organisation).id if organisation else principal.organisation_id
    what = "see the tokens of " + (f"'{organisation}'" if organisation else "your organisation")
    policy.require_org_capability(principal, org_id, Capability.MEMBERS, what, target="tokens")
    if org_id is None:
        raise Invalid("name the organisation whose tokens to list: ?organisation=slug")
    found = list_tokens(session, org_id)
    page, following = paging.page_in_memory(found, lambda t: t.id, cursor, limit)
    link_next_page(request, response, following)
    return [token_public(t) for t in page]


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, ctx: ContextDep, principal: PrincipalDep) -> TokenCreated:
    """Create a token for the caller's organisation; its secret is in this answer only."""
    policy.require_capability(principal, Capability.MEMBERS, "create tokens", target="tokens")
    with ctx.session(write=True) as session:
        org = session.get(Organisation, principal.organisation_id)
        if org is None:
            raise NotFound("your organisation no longer exists")
        token, secret = members.new_token(
            session,
            principal,
            org,
            body.scopes,
            datasets=body.datasets,
            name=body.name,
            ttl_days=body.ttl_days,
        )
        return TokenCreated(**token_public(token).model_dump(), secret=secret)


@router.post("/tokens/{token_id}/revoke", response_model=TokenPublic)
def revoke(token_id: Id, ctx: ContextDep, principal: PrincipalDep) -> TokenPublic:
    """Revoke a token of the caller's organisation (any token for a platform admin)."""
    policy.require_org_capability(
        principal, principal.organisation_id, Capability.MEMBERS, "revoke tokens", target=f"token:{token_id}"
    )
    scope = None if principal.platform_admin else principal.organisation_id
    with ctx.session(write=True) as session:
        token = revoke_token(session, token_id, scope, actor=principal.actor)
        return token_public(token)
