"""Changes to an account: its own password, ending its sessions, an administrator disabling it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.audit import record
from territoria.access.passwords import check_strength, hash_password, verify_password
from territoria.access.user_models import User, WebSession
from territoria.access.users import count_platform_admins
from territoria.errors import Conflict, DomainError, Forbidden, TooManyRequests
from territoria.settings import Settings


def revoke_sessions(session: Session, user: User, *, keep: int | None = None) -> int:
    """End every live session of the user except `keep`; how many were ended."""
    now = datetime.now(UTC)
    live = session.scalars(
        select(WebSession).where(
            WebSession.user_id == user.id, WebSession.revoked_at.is_(None), WebSession.expires_at > now
        )
    )
    ended = 0
    for web in live:
        if web.id != keep:
            web.revoked_at = now
            ended += 1
    return ended


def change_password(
    session: Session, settings: Settings, user: User, current: str, new: str, *, keep_session: int | None
) -> int | DomainError:
    """Replace the password once the current one is proven; the other sessions end (how many).

    A wrong current password is returned, not raised, so that the caller's transaction keeps the failure
    count: whoever holds a stolen session must not be able to guess the password at leisure.
    """
    check_strength(new, user.email)
    now = datetime.now(UTC)
    minutes = settings.login_lockout_minutes
    if user.locked_until is not None and user.locked_until > now:
        return TooManyRequests(f"too many wrong passwords: try again in {minutes} minutes")
    if not verify_password(user.password_hash, current):
        if user.locked_until is not None:  # an earlier window is over: the count starts again
            user.failed_logins, user.locked_until = 0, None
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=minutes)
        record(
            session,
            actor=f"user:{user.email}",
            action="user.password_change_failed",
            target=f"user:{user.email}",
            details={"failed_logins": user.failed_logins, "locked_until": user.locked_until},
        )
        return Forbidden("the current password is wrong")
    user.password_hash = hash_password(new)
    user.failed_logins = 0
    ended = revoke_sessions(session, user, keep=keep_session)
    record(
        session,
        actor=f"user:{user.email}",
        action="user.password_change",
        target=f"user:{user.email}",
        details={"sessions_ended": ended},
    )
    return ended


def unlock(session: Session, user: User, *, actor: str) -> bool:
    """Lift a lockout now (an administrator's decision); whether the account was locked."""
    was_locked = user.locked_until is not None and user.locked_until > datetime.now(UTC)
    user.failed_logins = 0
    user.locked_until = None
    record(
        session,
        actor=actor,
        action="user.unlock",
        target=f"user:{user.email}",
        details={"was_locked": was_locked},
    )
    return was_locked


def set_active(session: Session, user: User, active: bool, *, actor: str) -> None:
    """Enable or disable an account; a disabled account's sessions end at once, enabling lifts a lockout."""
    if active and user.locked_until is not None:
        # Re-enabling is a deliberate administrator decision: it also lifts a lockout, even when the
        # account was never disabled (the lockout is what the administrator is asked to end).
        unlock(session, user, actor=actor)
    if user.active == active:
        return
    if not active and user.platform_admin and count_platform_admins(session) <= 1:
        raise Conflict(f"'{user.email}' is the last platform administrator: make another one first")
    user.active = active
    ended = 0 if active else revoke_sessions(session, user)
    record(
        session,
        actor=actor,
        action="user.enable" if active else "user.disable",
        target=f"user:{user.email}",
        details={"sessions_ended": ended} if not active else None,
    )
