"""Members of an organisation and its tokens, as its admins manage them (no HTTP here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access import policy
from territoria.access.models import ApiToken
from territoria.access.principal import Principal
from territoria.access.roles import Role, scope_capabilities
from territoria.access.service import create_token
from territoria.access.user_models import Membership
from territoria.access.users import (
    create_user,
    find_user,
    get_user,
    issue_link,
    normalise_email,
    remove_membership,
    set_membership,
)
from territoria.catalog.models import Dataset, Organisation
from territoria.errors import Conflict, Invalid
from territoria.settings import Settings


@dataclass(frozen=True)
class MemberChange:
    """The outcome of giving someone a role: the membership, and an invitation link if one was issued."""

    membership: Membership
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


def put_member(
    session: Session, settings: Settings, org: Organisation, email: str, role: str, *, actor: str
) -> MemberChange:
    """Give someone a role in the organisation, creating and inviting the account when it is new."""
    address = normalise_email(email)
    user = find_user(session, address)
    created = user is None
    if user is None:
        user = create_user(session, address, actor=actor)
    else:
        _keep_an_admin(session, org, address, user.id, role)
    membership = set_membership(session, user, org, role, actor=actor)
    url = None
    if user.password_hash is None:
        # Each call sends a fresh invitation; the previous link stops working.
        link = issue_link(session, user, "invite", hours=settings.invite_hours, actor=actor)
        url = link.url(settings.public_url)
    return MemberChange(membership, created, url)


def delete_member(session: Session, org: Organisation, email: str, *, actor: str) -> None:
    """Take someone out of the organisation (the account itself remains)."""
    user = get_user(session, email)
    _keep_an_admin(session, org, user.email, user.id, None)
    remove_membership(session, user, org, actor=actor)


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
