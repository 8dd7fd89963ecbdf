"""Web login: password check with rate limit and lockout, server-side sessions, CSRF tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from territoria.access.audit import record
from territoria.access.passwords import hash_password, needs_rehash, verify_password
from territoria.access.principal import Principal
from territoria.access.roles import capabilities
from territoria.access.service import live_grants
from territoria.access.user_models import LoginFailure, Membership, User, WebSession
from territoria.access.users import find_user, secret_hash
from territoria.errors import DomainError, Forbidden, TooManyRequests, Unauthenticated
from territoria.settings import Settings

COOKIE = "trt_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# One message for every refused login, so that no answer reveals who has an account or who is locked out.
BAD_LOGIN = "wrong e-mail or password, or account temporarily locked after repeated failures"


@dataclass(frozen=True)
class LoginResult:
    """A new session: the cookie value (shown once) and the stored session."""

    cookie: str
    session: WebSession


# Client addresses whose rate-limit refusal was journaled, with when: one audit row per address and window,
# not one per refused request (a refused client hammering /login must not flood the trail).
_RATE_LIMIT_NOTED: dict[tuple[str, str], datetime] = {}
_RATE_LIMIT_NOTED_MAX = 10_000


def _first_rate_limit_in_window(settings: Settings, client: str, now: datetime) -> bool:
    """True the first time in a rate window that this client is refused (this process)."""
    window = timedelta(minutes=settings.login_rate_window_minutes)
    key = (settings.database_url, client)  # one process may serve several databases (tests)
    noted = _RATE_LIMIT_NOTED.get(key)
    if noted is not None and now - noted < window:
        return False
    if len(_RATE_LIMIT_NOTED) >= _RATE_LIMIT_NOTED_MAX:
        _RATE_LIMIT_NOTED.clear()  # bounded memory; at worst one more row per address
    _RATE_LIMIT_NOTED[key] = now
    return True


def _too_many(session: Session, settings: Settings, client: str, now: datetime) -> bool:
    """True when this client address failed too often within the window."""
    since = now - timedelta(minutes=settings.login_rate_window_minutes)
    query = (
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.client == client, LoginFailure.at >= since)
    )
    return int(session.scalar(query) or 0) >= settings.login_rate_per_client


def _fail(
    session: Session, settings: Settings, user: User | None, email: str, client: str, *, locked: bool
) -> None:
    """Count one failure against the address and the account, lock the account past the limit.

    The lockout is a fixed window from the failure that reached the limit: attempts during the window
    are recorded but neither counted nor extend it, or anyone could keep an account locked forever.
    """
    now = datetime.now(UTC)
    session.add(LoginFailure(client=client[:64], email=email[:254], at=now))
    # Old failures only matter for the rate window: prune them as we go.
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
    details: dict[str, object] = {"email": email[:254], "client": client[:64]}
    if user is not None and locked:
        details["locked_until"] = user.locked_until
    elif user is not None:
        if user.locked_until is not None:
            # The previous window is over: the count starts again.
            user.failed_logins = 0
            user.locked_until = None
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            details["locked_until"] = user.locked_until
    record(
        session,
        actor=f"client:{client[:64]}",
        action="login.failure",
        target=f"user:{email[:254]}",
        details=details,
    )


def login(
    session: Session, settings: Settings, email: str, password: str, client: str
) -> LoginResult | DomainError:
    """Check the password and open a session, or return the error to raise once the failure is committed.

    Failures are returned rather than raised so that the caller's transaction keeps the failure count,
    the lockout and the audit event that a raise would roll back.
    """
    now = datetime.now(UTC)
    address = email.strip().lower()
    if _too_many(session, settings, client, now):
        if _first_rate_limit_in_window(settings, client, now):
            record(
                session,
                actor=f"client:{client[:64]}",
                action="login.rate_limited",
                target=f"user:{address[:254]}",
            )
        return TooManyRequests(
            f"too many failed logins from your address: wait {settings.login_rate_window_minutes} minutes"
        )
    user = find_user(session, address)
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    # Exactly one argon2 verification whatever the account's state (unknown, pending, disabled, locked):
    # the time of the answer must not tell who has an account. A locked account is checked against the
    # dummy hash, so that it cannot be brute-forced meanwhile.
    matches = verify_password(user.password_hash if user is not None and not locked else None, password)
    if user is None or locked or not user.active or not matches:
        # One answer for every refusal, a lockout included: the status and the message must not tell
        # either (the person locked out learns it from the message, which says it may be the reason).
        _fail(session, settings, user, address, client, locked=locked)
        return Unauthenticated(BAD_LOGIN)
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    cookie = secrets.token_urlsafe(32)
    first = user.memberships[0].organisation_id if user.memberships else None
    web = WebSession(
        secret_hash=secret_hash(cookie),
        user_id=user.id,
        organisation_id=first,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(web)
    session.flush()
    record(
        session,
        actor=f"user:{user.email}",
        action="login.success",
        target=f"user:{user.email}",
        organisation_id=first,
        details={"client": client[:64], "session": web.id},
    )
    return LoginResult(cookie, web)


def find_session(session: Session, cookie: str) -> WebSession:
    """The live session of a cookie value, or 401 (tampered, expired, revoked, or the user disabled)."""
    web = session.scalar(select(WebSession).where(WebSession.secret_hash == secret_hash(cookie)))
    if (
        web is None
        or web.revoked_at is not None
        or web.expires_at <= datetime.now(UTC)
        or not web.user.active
    ):
        raise Unauthenticated("your session is invalid or has expired: log in again")
    return web


def principal_of_session(session: Session, web: WebSession) -> Principal:
    """The principal of a logged-in user acting for the session's organisation."""
    user = web.user
    membership: Membership | None = next(
        (m for m in user.memberships if m.organisation_id == web.organisation_id), None
    )
    org = membership.organisation if membership is not None else None
    roles = frozenset({membership.role}) if membership is not None else frozenset()
    return Principal(
        organisation_id=org.id if org is not None else None,
        organisation_slug=org.slug if org is not None else None,
        organisation_kind=org.kind if org is not None else None,
        user_id=user.id,
        user_email=user.email,
        session_id=web.id,
        roles=roles,
        capabilities=capabilities(roles),
        grants=live_grants(session, org.id) if org is not None else {},
        is_platform_admin=user.platform_admin,
        csrf_token=web.csrf_token,
    )


def switch_organisation(session: Session, web: WebSession, organisation_id: int) -> None:
    """Act for another organisation the user belongs to."""
    if not any(m.organisation_id == organisation_id for m in web.user.memberships):
        raise Forbidden("you are not a member of that organisation")
    web.organisation_id = organisation_id


def logout(session: Session, web: WebSession) -> None:
    """End a session (its cookie stops working everywhere at once)."""
    web.revoked_at = datetime.now(UTC)
    record(session, actor=f"user:{web.user.email}", action="logout", target=f"user:{web.user.email}")


def csrf_ok(principal: Principal, presented: str | None) -> bool:
    """True when the presented token is the session's CSRF token (constant-time comparison)."""
    expected = principal.csrf_token
    return bool(expected and presented and secrets.compare_digest(expected, presented))
