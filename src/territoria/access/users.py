"""People: users, their roles in organisations, invitations and password resets by one-time link."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access.audit import record
from territoria.access.passwords import check_strength, hash_password
from territoria.access.roles import ROLES
from territoria.access.user_models import Membership, OneTimeLink, User
from territoria.catalog.models import Organisation
from territoria.errors import Conflict, Invalid, NotFound

PURPOSES = ("invite", "reset")


def secret_hash(secret: str) -> str:
    """SHA-256 of a random secret (cookies, links): 256-bit secrets need no slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """The e-mail as stored: trimmed and lower-cased, with a minimal shape check."""
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or len(value) > 254 or any(c.isspace() for c in value):
        raise Invalid(f"'{email}' is not an e-mail address")
    return value


def find_user(session: Session, email: str) -> User | None:
    """The user with that e-mail, if any."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, email: str) -> User:
    """The user with that e-mail, or 404."""
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"no user '{email}'")
    return user


def create_user(
    session: Session,
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    platform_admin: bool = False,
    lang: str = "fr",
    actor: str = "cli",
) -> User:
    """Create a user; without a password the account waits for its invitation to be accepted."""
    address = normalise_email(email)
    if find_user(session, address) is not None:
        raise Conflict(f"a user '{address}' already exists")
    if password is not None:
        check_strength(password, address)
    user = User(
        email=address,
        name=name,
        password_hash=hash_password(password) if password is not None else None,
        platform_admin=platform_admin,
        lang=lang if lang in ("fr", "en") else "fr",
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{address}",
        details={"platform_admin": platform_admin, "with_password": password is not None},
    )
    return user


def set_membership(session: Session, user: User, org: Organisation, role: str, *, actor: str) -> Membership:
    """Give the user a role in the organisation (replacing the previous one)."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}; got '{role}'")
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == org.id)
    )
    before = membership.role if membership is not None else None
    if membership is None:
        membership = Membership(user_id=user.id, organisation_id=org.id, role=role)
        session.add(membership)
    membership.role = role
    session.flush()
    session.refresh(user)
    record(
        session,
        actor=actor,
        action="membership.set",
        target=f"user:{user.email}",
        organisation_id=org.id,
        details={"organisation": org.slug, "role": role, "before": before},
    )
    return membership


def remove_membership(session: Session, user: User, org: Organisation, *, actor: str) -> None:
    """Take the user out of the organisation."""
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == org.id)
    )
    if membership is None:
        raise NotFound(f"'{user.email}' is not a member of '{org.slug}'")
    session.delete(membership)
    session.flush()
    record(
        session,
        actor=actor,
        action="membership.remove",
        target=f"user:{user.email}",
        organisation_id=org.id,
        details={"organisation": org.slug, "role": membership.role},
    )


def members(session: Session, org: Organisation) -> list[Membership]:
    """An organisation's memberships, by e-mail."""
    query = select(Membership).join(User).where(Membership.organisation_id == org.id).order_by(User.email)
    return list(session.scalars(query))


def count_platform_admins(session: Session) -> int:
    """How many active platform administrators exist."""
    query = select(func.count()).select_from(User).where(User.platform_admin.is_(True), User.active.is_(True))
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link just created: the clear secret exists only here."""

    link: OneTimeLink
    secret: str

    def url(self, base_url: str) -> str:
        """The address to open in a browser."""
        page = "invitation" if self.link.purpose == "invite" else "password-reset"
        return f"{base_url.rstrip('/')}/{page}/{self.secret}"


def issue_link(session: Session, user: User, purpose: str, *, hours: int, actor: str) -> IssuedLink:
    """Create an invitation or reset link for the user; earlier unused links of that kind stop working."""
    if purpose not in PURPOSES:
        raise Invalid(f"purpose must be one of {', '.join(PURPOSES)}")
    now = datetime.now(UTC)
    for old in session.scalars(
        select(OneTimeLink).where(
            OneTimeLink.user_id == user.id, OneTimeLink.purpose == purpose, OneTimeLink.used_at.is_(None)
        )
    ):
        old.used_at = now
    secret = secrets.token_urlsafe(32)
    link = OneTimeLink(
        secret_hash=secret_hash(secret),
        purpose=purpose,
        user_id=user.id,
        created_by=actor,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(link)
    session.flush()
    record(
        session,
        actor=actor,
        action=f"user.{purpose}_link",
        target=f"user:{user.email}",
        details={"expires_at": link.expires_at},
    )
    return IssuedLink(link, secret)


def find_link(session: Session, secret: str, purpose: str) -> OneTimeLink:
    """The usable link for that secret, or 404 (unknown, used and expired links look the same)."""
    link = session.scalar(select(OneTimeLink).where(OneTimeLink.secret_hash == secret_hash(secret)))
    now = datetime.now(UTC)
    if link is None or link.purpose != purpose or link.used_at is not None or link.expires_at <= now:
        raise NotFound("this link is unknown, already used or expired: ask for a new one")
    return link


def use_link(session: Session, secret: str, purpose: str, password: str, *, name: str | None = None) -> User:
    """Set the password through an invitation or reset link, which then stops working."""
    link = find_link(session, secret, purpose)
    user = link.user
    check_strength(password, user.email)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    if name:
        user.name = name[:200]
    link.used_at = datetime.now(UTC)
    session.flush()
    record(
        session, actor=f"user:{user.email}", action=f"user.{purpose}_accepted", target=f"user:{user.email}"
    )
    return user
