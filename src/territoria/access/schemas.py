"""API models of the trust framework: agreements, members, tokens, the audit chain's state.

Audit events themselves use `access.audit.AuditEventPublic`, next to the trail they describe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from territoria.access.agreement_models import Agreement
from territoria.access.agreements import MAX_PURPOSE, Status, status_of
from territoria.access.audit import VerifyReport
from territoria.access.models import ApiToken
from territoria.access.roles import Role
from territoria.access.user_models import Membership, MembershipOffer
from territoria.catalog.types import Slug

# Dates arrive as ISO strings in JSON: the one field-level exception to strict input.
IsoDatetime = Annotated[AwareDatetime, Field(strict=False)]
FieldName = Annotated[str, Field(min_length=1, max_length=200)]
Scope = Literal["ingest", "read", "admin"]


class Strict(BaseModel):
    """Strict input: no coercion (no false as 0.0), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class AgreementCreate(Strict):
    """Body to share a dataset with another organisation."""

    dataset: Slug
    organisation: Slug = Field(description="the recipient organisation")
    purpose: str = Field(min_length=1, max_length=MAX_PURPOSE)
    fields: list[FieldName] | None = Field(
        default=None, max_length=1000, description="metric or field names; leave out to share all"
    )
    starts_at: IsoDatetime | None = Field(default=None, description="default: now")
    expires_at: IsoDatetime = Field(description="at most 5 years ahead")


class AgreementPublic(BaseModel):
    """An agreement as either side (or a platform admin) sees it."""

    id: int
    dataset: str
    dataset_title: str
    owner: str
    owner_name: str
    organisation: str = Field(description="the recipient organisation")
    organisation_name: str
    direction: Literal["given", "received"] | None = Field(
        description="seen from the caller's organisation; null for a platform admin outside both sides"
    )
    purpose: str
    fields: list[str] | None
    starts_at: datetime
    expires_at: datetime
    status: Status
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


def agreement_public(agreement: Agreement, organisation_id: int | None) -> AgreementPublic:
    """The API view of an agreement, oriented for the caller's organisation."""
    ds = agreement.dataset
    direction: Literal["given", "received"] | None = None
    if organisation_id == ds.owner_id:
        direction = "given"
    elif organisation_id == agreement.organisation_id:
        direction = "received"
    return AgreementPublic(
        id=agreement.id,
        dataset=ds.slug,
        dataset_title=ds.title,
        owner=ds.owner.slug,
        owner_name=ds.owner.name,
        organisation=agreement.organisation.slug,
        organisation_name=agreement.organisation.name,
        direction=direction,
        purpose=agreement.purpose,
        fields=agreement.fields,
        starts_at=agreement.starts_at,
        expires_at=agreement.expires_at,
        status=status_of(agreement),
        created_by=agreement.created_by,
        created_at=agreement.created_at,
        revoked_at=agreement.revoked_at,
        revoked_by=agreement.revoked_by,
    )


class MemberSet(Strict):
    """Body to give someone a role in an organisation (an organisation role: never platform admin)."""

    role: Annotated[Role, Field(strict=False)]  # strict enums refuse the JSON string itself


class MemberPublic(BaseModel):
    """A member of an organisation."""

    email: str
    name: str
    role: str
    pending: bool = Field(description="invited: no password set yet, or the invitation not yet accepted")
    active: bool
    since: datetime
    last_login_at: datetime | None
    awaiting_consent: bool = Field(
        default=False, description="an invitation to someone who must accept it from their own account"
    )
    locked: bool = Field(default=False, description="locked after repeated wrong passwords (see …/unlock)")


def member_public(membership: Membership) -> MemberPublic:
    """The API view of a membership."""
    user = membership.user
    return MemberPublic(
        email=user.email,
        name=user.name,
        role=membership.role,
        pending=user.password_hash is None,
        active=user.active,
        since=membership.created_at,
        last_login_at=user.last_login_at,
        locked=user.locked_until is not None and user.locked_until > datetime.now(UTC),
    )


def offer_public(offer: MembershipOffer) -> MemberPublic:
    """The API view of an invitation waiting for consent: nothing of the account but the address."""
    # The name, the password state and the last login belong to the person until they accept.
    return MemberPublic(
        email=offer.user.email,
        name="",
        role=offer.role,
        pending=True,
        active=True,
        since=offer.created_at,
        last_login_at=None,
        awaiting_consent=True,
    )


class MemberChanged(MemberPublic):
    """A role just given; the invitation link is shown once, for an account this call created."""

    created: bool = Field(description="the account was created by this call")
    invitation_url: str | None = None


class TokenCreate(Strict):
    """Body to create an API token for the caller's organisation."""

    scopes: list[Scope] = Field(min_length=1, max_length=3)
    datasets: list[Slug] | None = Field(default=None, min_length=1, max_length=1000)
    name: str = Field(default="", max_length=200)
    ttl_days: int | None = Field(default=None, ge=1, le=3650)


class TokenPublic(BaseModel):
    """An API token without its secret."""

    id: int
    organisation: str
    name: str
    prefix: str
    scopes: list[str]
    datasets: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    status: Literal["active", "expired", "revoked"]


def token_public(token: ApiToken) -> TokenPublic:
    """The API view of a token (the secret is never stored, let alone shown)."""
    status: Literal["active", "expired", "revoked"] = "active"
    if token.revoked_at is not None:
        status = "revoked"
    elif token.expires_at is not None and token.expires_at <= datetime.now(UTC):
        status = "expired"
    return TokenPublic(
        id=token.id,
        organisation=token.organisation.slug,
        name=token.name,
        prefix=token.prefix,
        scopes=token.scopes,
        datasets=token.datasets,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        status=status,
    )


class TokenCreated(TokenPublic):
    """A token just created: the secret appears here once and never again."""

    secret: str


class AuditVerifyPublic(BaseModel):
    """The state of the audit chain: intact, or where it breaks."""

    model_config = ConfigDict(from_attributes=True)

    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str | None
    head_hash: str | None


def verify_public(report: VerifyReport) -> AuditVerifyPublic:
    """The API view of a chain walk."""
    return AuditVerifyPublic.model_validate(report)
