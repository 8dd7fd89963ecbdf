"""Roles offered to people who already have an account: nobody joins an organisation without consent.

An organisation's admin who names an existing address gets an offer, not a membership: the person sees it
on their account page (or `GET /api/v1/me/offers`) and accepts or declines it. Nothing about the account
(its name, its other organisations, whether it has a password) reaches the organisation meanwhile.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.audit import record
from territoria.access.roles import ROLES
from territoria.access.user_models import Membership, MembershipOffer, User
from territoria.access.users import set_membership
from territoria.catalog.models import Organisation
from territoria.errors import Invalid, NotFound


def find_offer(session: Session, user: User, org: Organisation) -> MembershipOffer | None:
    """The offer of that organisation to that person, if any."""
    return session.scalar(
        select(MembershipOffer).where(
            MembershipOffer.user_id == user.id, MembershipOffer.organisation_id == org.id
        )
    )


def offer_membership(
    session: Session, user: User, org: Organisation, role: str, *, actor: str
) -> MembershipOffer:
    """Offer the person a role in the organisation (replacing an earlier offer of the same organisation)."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}; got '{role}'")
    offer = find_offer(session, user, org)
    if offer is None:
        offer = MembershipOffer(user_id=user.id, organisation_id=org.id, role=role, offered_by=actor[:200])
        session.add(offer)
    offer.role = role
    session.flush()
    session.refresh(offer)
    record(
        session,
        actor=actor,
        action="membership.offer",
        target=f"user:{user.email}",
        organisation_id=org.id,
        details={"organisation": org.slug, "role": role},
    )
    return offer


def offers_of(session: Session, org: Organisation) -> list[MembershipOffer]:
    """The offers an organisation made that wait for an answer, by e-mail."""
    query = (
        select(MembershipOffer)
        .join(User, User.id == MembershipOffer.user_id)
        .where(MembershipOffer.organisation_id == org.id)
        .order_by(User.email)
    )
    return list(session.scalars(query))


def offers_to(session: Session, user: User) -> list[MembershipOffer]:
    """The offers waiting for this person's answer, oldest first."""
    query = select(MembershipOffer).where(MembershipOffer.user_id == user.id).order_by(MembershipOffer.id)
    return list(session.scalars(query))


def _own_offer(session: Session, user: User, slug: str) -> MembershipOffer:
    """The person's offer from the organisation of that slug, or 404."""
    offer = session.scalar(
        select(MembershipOffer)
        .join(Organisation, Organisation.id == MembershipOffer.organisation_id)
        .where(MembershipOffer.user_id == user.id, Organisation.slug == slug)
    )
    if offer is None:
        raise NotFound(f"no pending invitation from '{slug}'")
    return offer


def accept_offer(session: Session, user: User, slug: str) -> Membership:
    """The person accepts the role offered by that organisation: it becomes a membership."""
    offer = _own_offer(session, user, slug)
    org, role = offer.organisation, offer.role
    session.delete(offer)
    session.flush()
    actor = f"user:{user.email}"
    record(
        session,
        actor=actor,
        action="membership.offer_accepted",
        target=actor,
        organisation_id=org.id,
        details={"organisation": org.slug, "role": role},
    )
    return set_membership(session, user, org, role, actor=actor)


def decline_offer(session: Session, user: User, slug: str) -> None:
    """The person declines the role offered by that organisation."""
    offer = _own_offer(session, user, slug)
    org = offer.organisation
    session.delete(offer)
    session.flush()
    record(
        session,
        actor=f"user:{user.email}",
        action="membership.offer_declined",
        target=f"user:{user.email}",
        organisation_id=org.id,
        details={"organisation": org.slug, "role": offer.role},
    )


def withdraw_offer(session: Session, offer: MembershipOffer, *, actor: str) -> None:
    """The organisation withdraws its offer."""
    org = offer.organisation
    session.delete(offer)
    session.flush()
    record(
        session,
        actor=actor,
        action="membership.offer_withdrawn",
        target=f"user:{offer.user.email}",
        organisation_id=org.id,
        details={"organisation": org.slug, "role": offer.role},
    )
