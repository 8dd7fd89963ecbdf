"""Tokens and the first access policy: who may read and who may ingest which dataset."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.audit import record
from territoria.access.models import ApiToken
from territoria.catalog.models import Dataset, Organisation
from territoria.errors import Forbidden, Invalid, Unauthenticated

SCOPES = ("ingest", "read", "admin")
TOKEN_PREFIX = "trt_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class Principal:
    """The caller: anonymous, or a token of one organisation with scopes."""

    organisation_id: int | None = None
    organisation_slug: str | None = None
    organisation_kind: str | None = None
    token_id: int | None = None
    scopes: frozenset[str] = frozenset()
    datasets: frozenset[str] | None = None

    @property
    def anonymous(self) -> bool:
        """True without a token."""
        return self.token_id is None

    @property
    def platform_admin(self) -> bool:
        """An admin token of the authority administers the whole platform."""
        return "admin" in self.scopes and self.organisation_kind == "authority"


ANONYMOUS = Principal()


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
        return ANONYMOUS
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
    return Principal(
        organisation_id=token.organisation_id,
        organisation_slug=token.organisation.slug,
        organisation_kind=token.organisation.kind,
        token_id=token.id,
        scopes=frozenset(token.scopes),
        datasets=frozenset(token.datasets) if token.datasets else None,
    )


def _token_allows(principal: Principal, ds: Dataset) -> bool:
    """The token's optional dataset list includes this dataset."""
    return principal.datasets is None or ds.slug in principal.datasets


def can_read(principal: Principal, ds: Dataset) -> bool:
    """Open datasets for everyone; others for their owner's tokens and the platform admin."""
    if ds.access == "open":
        return True
    if principal.anonymous or not _token_allows(principal, ds):
        return False
    if principal.platform_admin:
        return True
    return principal.organisation_id == ds.owner_id and bool(principal.scopes & {"read", "admin"})


def require_read(principal: Principal, ds: Dataset) -> None:
    """Refuse a read the principal is not allowed (private data looks absent to anonymous callers)."""
    if can_read(principal, ds):
        return
    if principal.anonymous:
        raise Unauthenticated(f"dataset '{ds.slug}' is not open: send a token")
    raise Forbidden(f"your organisation has no read access to dataset '{ds.slug}'")


def require_ingest(principal: Principal, ds: Dataset) -> None:
    """Ingest needs an `ingest` token of the dataset's owner organisation (or the platform admin)."""
    if principal.anonymous:
        raise Unauthenticated("sending data needs a token with the 'ingest' scope")
    if principal.platform_admin and _token_allows(principal, ds):
        return
    if principal.organisation_id != ds.owner_id:
        raise Forbidden(f"only the owner organisation of '{ds.slug}' may send data to it")
    if "ingest" not in principal.scopes or not _token_allows(principal, ds):
        raise Forbidden(f"this token may not send data to '{ds.slug}' (needs the 'ingest' scope)")


def require_manage(principal: Principal, ds: Dataset | None = None) -> None:
    """Creating or changing datasets needs an admin token (of the owner, for an existing dataset)."""
    if principal.anonymous:
        raise Unauthenticated("managing datasets needs a token with the 'admin' scope")
    if "admin" not in principal.scopes:
        raise Forbidden("managing datasets needs a token with the 'admin' scope")
    if ds is not None and not principal.platform_admin and principal.organisation_id != ds.owner_id:
        raise Forbidden(f"only the owner organisation of '{ds.slug}' may change it")


def require_owner(principal: Principal, ds: Dataset, what: str) -> None:
    """Raw material (quarantine, batches) is for the owner organisation and the platform admin only."""
    if principal.anonymous:
        raise Unauthenticated(f"{what} needs a token of the owner of '{ds.slug}'")
    if not (principal.platform_admin or principal.organisation_id == ds.owner_id):
        raise Forbidden(f"only the owner organisation of '{ds.slug}' sees {what}")
