"""Members of an organisation and its tokens, as its admins manage them (no HTTP here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access import policy
from territoria.access.accounts import unlock
from territoria.access.models import ApiToken
from territoria.access.offers import find_offer, offer_membership, withdraw_offer
from territoria.access.principal import Principal
from territoria.access.roles import Role, scope_capabilities
from territoria.access.service import create_token
from territoria.access.user_models import Membership, MembershipOffer, User
from territoria.access.users import (
    create_user,
    find_user,
    issue_link,
    normalise_email,
    remove_membership,
    set_membership,
)
from territoria.catalog.models import Dataset, Organisation
from territoria.errors import Conflict, Invalid, NotFound
from territoria.settings import Settings


@dataclass(frozen=True)
class MemberChange:
    """The outcome of giving someone a role: a membership (maybe with an invitation link), or an offer."""

    subject: Membership | MembershipOffer
    created: bool
    invitation_url: str | None


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation, by slug (public information: who takes part in the platform)."""
    return list(session.scalars(select(Organisation).order_by(Organisation.slug)))


def _other_admins(session: Session, org: Organisation, user_id: int) -> int:
    """How many admins the organisation keeps without this user."""
    query = (
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.organisation_id == org.id,
            Membership.role == Role.ADMIN.value,
            Membership.user_id != user_id,
        )
    )
    return int(session.scalar(query) or 0)


def _keep_an_admin(session: Session, org: Organisation, email: str, user_id: int, role: str | None) -> None:
    """Refuse leaving an organisation without any admin (nobody could then manage it but the platform)."""
    current = session.scalar(
        select(Membership.role).where(Membership.organisation_id == org.id, Membership.user_id == user_id)
    )
    if current == Role.ADMIN.value and role != Role.ADMIN.value and _other_admins(session, org, user_id) == 0:
        raise Conflict(f"'{email}' is the last admin of '{org.slug}': make someone else admin first")


def _owned_by(user: User, org: Organisation) -> bool:
    """True when the account is the organisation's alone: no other membership, no platform role.

    Only then may the organisation send the account a fresh invitation: the link replaces the earlier
    one, and an account of anyone else must never change hands that way.
    """
    return not user.platform_admin and all(m.organisation_id == org.id for m in user.memberships)


def put_member(
    session: Session, settings: Settings, org: Organisation, email: str, role: str, *, actor: str
) -> MemberChange:
    """Give someone a role in the organisation.

    A new address gets an account and an invitation link, handed to the inviting admin to deliver. An
    existing account outside the organisation gets an offer that its owner accepts or declines: no
    link, no membership, and nothing about the account in the answer.
    """
    address = normalise_email(email)
    user = find_user(session, address)
    if user is None:
        user = create_user(session, address, actor=actor)
        membership = set_membership(session, user, org, role, actor=actor)
        link = issue_link(session, user, "invite", hours=settings.invite_hours, actor=actor)
        return MemberChange(membership, True, link.url(settings.public_url))
    if not any(m.organisation_id == org.id for m in user.memberships):
        return MemberChange(offer_membership(session, user, org, role, actor=actor), False, None)
    _keep_an_admin(session, org, address, user.id, role)
    membership = set_membership(session, user, org, role, actor=actor)
    url = None
    if user.password_hash is None and _owned_by(user, org):
        # The organisation's own invitee lost the link: a fresh one replaces it.
        link = issue_link(session, user, "invite", hours=settings.invite_hours, actor=actor)
        url = link.url(settings.public_url)
    return MemberChange(membership, False, url)


def not_a_member(email: str, org: Organisation) -> NotFound:
    """The one answer for an address outside the organisation, whether it has an account or not."""
    return NotFound(f"'{email}' is not a member of '{org.slug}' and has no pending invitation from it")


def delete_member(session: Session, org: Organisation, email: str, *, actor: str) -> None:
    """Take someone out of the organisation, or withdraw its offer (the account itself remains)."""
    user = find_user(session, email)
    if user is None:
        raise not_a_member(email, org)
    offer = find_offer(session, user, org)
    member = any(m.organisation_id == org.id for m in user.memberships)
    if offer is None and not member:
        raise not_a_member(email, org)
    if offer is not None:
        withdraw_offer(session, offer, actor=actor)
    if member:
        _keep_an_admin(session, org, user.email, user.id, None)
        remove_membership(session, user, org, actor=actor)


def unlock_member(session: Session, org: Organisation, email: str, *, actor: str) -> None:
    """Lift the lockout of one of the organisation's members (not of anyone else's account)."""
    user = find_user(session, email)
    if user is None or not any(m.organisation_id == org.id for m in user.memberships):
        raise not_a_member(email, org)
    unlock(session, user, actor=actor)


def new_token(
    session: Session,
    principal: Principal,
    org: Organisation,
    scopes: Sequence[str],
    *,
    datasets: Sequence[str] | None,
    name: str,
    ttl_days: int | None,
) -> tuple[ApiToken, str]:
    """Create a token for the organisation, never carrying more than its creator holds."""
    wanted = frozenset(datasets) if datasets else None
    policy.require_delegable(
        principal,
        scope_capabilities(scopes),
        wanted,
        platform_admin="admin" in scopes and org.kind == "authority",
        target=f"organisation:{org.slug}",
    )
    if wanted:
        known = set(session.scalars(select(Dataset.slug).where(Dataset.slug.in_(sorted(wanted)))))
        unknown = sorted(wanted - known)
        if unknown:
            raise Invalid(
                f"no dataset {', '.join(unknown)}",
                errors=[
                    {"field": "datasets", "code": "UNKNOWN_DATASET", "message": f"no dataset '{slug}'"}
                    for slug in unknown
                ],
            )
    return create_token(
        session, org, scopes, datasets=datasets, name=name, ttl_days=ttl_days, actor=principal.actor
    )
