"""API tokens for machines: creation, revocation, and the principal a bearer token stands for."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.agreement_models import Agreement
from territoria.access.audit import record
from territoria.access.models import ApiToken
from territoria.access.principal import Grant, Principal
from territoria.access.roles import scope_capabilities
from territoria.catalog.models import Organisation
from territoria.errors import Invalid, NotFound, Unauthenticated

SCOPES = ("ingest", "read", "admin")
TOKEN_PREFIX = "trt_"  # noqa: S105 - a public prefix, not a secret


def _hash(secret: str) -> str:
    """SHA-256 of a token secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    org: Organisation,
    scopes: Sequence[str],
    *,
    datasets: Sequence[str] | None = None,
    name: str = "",
    ttl_days: int | None = None,
    actor: str = "cli",
) -> tuple[ApiToken, str]:
    """Create a token; the clear secret is returned once and never stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Invalid(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organisation_id=org.id,
        name=name,
        prefix=secret[:12],
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        datasets=sorted(set(datasets)) if datasets else None,
        expires_at=datetime.now(UTC) + timedelta(days=ttl_days) if ttl_days else None,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="token.create",
        target=f"token:{token.id}",
        organisation_id=org.id,
        details={
            "scopes": token.scopes,
            "datasets": token.datasets,
            "name": name,
            "expires_at": token.expires_at,
        },
    )
    return token, secret


def authenticate(session: Session, authorization: str | None) -> Principal:
    """The principal of an `Authorization: Bearer …` header (anonymous without one)."""
    if not authorization:
        return Principal()
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(
            "use 'Authorization: Bearer <token>'; create a token with `territoria token create`"
        )
    token = session.scalar(select(ApiToken).where(ApiToken.secret_hash == _hash(secret.strip())))
    now = datetime.now(UTC)
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at < now)
    ):
        raise Unauthenticated("invalid, expired or revoked token")
    org = token.organisation
    return Principal(
        organisation_id=token.organisation_id,
        organisation_slug=org.slug,
        organisation_kind=org.kind,
        token_id=token.id,
        scopes=frozenset(token.scopes),
        capabilities=scope_capabilities(token.scopes),
        datasets=frozenset(token.datasets) if token.datasets else None,
        grants=live_grants(session, org.id),
        # The authority's admin tokens administer the platform, as its admin users do.
        is_platform_admin="admin" in token.scopes and org.kind == "authority",
    )


def live_grants(session: Session, organisation_id: int) -> dict[int, Grant]:
    """The agreements currently in force for an organisation, by dataset id."""
    now = datetime.now(UTC)
    rows = session.scalars(
        select(Agreement).where(
            Agreement.organisation_id == organisation_id,
            Agreement.revoked_at.is_(None),
            Agreement.starts_at <= now,
            Agreement.expires_at > now,
        )
    )
    grants: dict[int, Grant] = {}
    for row in rows:
        fields = frozenset(row.fields) if row.fields is not None else None
        previous = grants.get(row.dataset_id)
        # Two agreements on one dataset add up: the union of their fields, the later expiry.
        if previous is not None:
            fields = None if fields is None or previous.fields is None else fields | previous.fields
            row_expiry = max(row.expires_at, previous.expires_at)
        else:
            row_expiry = row.expires_at
        grants[row.dataset_id] = Grant(row.id, row.purpose, fields, row_expiry)
    return grants


def list_tokens(session: Session, organisation_id: int) -> list[ApiToken]:
    """An organisation's tokens, newest first (secrets are never shown again)."""
    query = select(ApiToken).where(ApiToken.organisation_id == organisation_id)
    return list(session.scalars(query.order_by(ApiToken.id.desc())))


def revoke_token(session: Session, token_id: int, organisation_id: int | None, *, actor: str) -> ApiToken:
    """Revoke a token (of that organisation, unless None: the platform admin revokes any)."""
    token = session.get(ApiToken, token_id)
    if token is None or (organisation_id is not None and token.organisation_id != organisation_id):
        raise NotFound(f"no token {token_id} in your organisation")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        record(
            session,
            actor=actor,
            action="token.revoke",
            target=f"token:{token.id}",
            organisation_id=token.organisation_id,
            details={"name": token.name, "prefix": token.prefix},
        )
    return token
