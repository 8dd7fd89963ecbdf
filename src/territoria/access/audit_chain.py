"""Hashing of the audit chain: keyed HMAC-SHA256 for new events, plain SHA-256 for events of old releases.

The key is derived from `TERRITORIA_AUDIT_KEY` (else `TERRITORIA_SECRET_KEY`) and never stored in
the database: whoever can write the table cannot recompute a valid chain without it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy.orm import Session

from territoria.settings import Settings, get_settings

# hash_version of an event: 1 = plain SHA-256 (events written before the chain was keyed),
# 2 = HMAC-SHA256 under the audit key. Version 1 is only ever accepted before the first keyed event.
PLAIN_SHA256 = 1
KEYED_HMAC = 2
CHAIN_LABEL = b"territoria-audit-chain"
CHECKPOINT_LABEL = b"territoria-audit-checkpoint"


def _derive(settings: Settings, label: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from the audit key (or the secret key) and a fixed label."""
    base = settings.audit_key or settings.secret_key
    return hmac.new(base.encode("utf-8"), label, hashlib.sha256).digest()


def chain_key(settings: Settings) -> bytes:
    """Key of the events' HMAC."""
    return _derive(settings, CHAIN_LABEL)


def checkpoint_key(settings: Settings) -> bytes:
    """Key of the checkpoints' HMAC (a separate purpose, a separate key)."""
    return _derive(settings, CHECKPOINT_LABEL)


def session_settings(session: Session) -> Settings:
    """The settings of the context that opened the session (the environment's otherwise)."""
    settings = session.info.get("settings")
    return settings if isinstance(settings, Settings) else get_settings()


def iso(at: datetime) -> str:
    """Fixed-width ISO form of an aware instant in UTC."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    organisation_id: int | None,
    action: str,
    target: str,
    details: Mapping[str, Any],
    prev_hash: str,
    version: int = PLAIN_SHA256,
    key: bytes | None = None,
) -> str:
    """Hash (hex) of the canonical serialisation of an event's fields and its predecessor's hash.

    Version 1: SHA-256. Version 2: HMAC-SHA256 under `key`, the version itself covered too, so a
    keyed event cannot be passed off as an old unkeyed one.
    """
    payload: dict[str, Any] = {
        "id": id,
        "at": iso(at),
        "actor": actor,
        "organisation_id": organisation_id,
        "action": action,
        "target": target,
        "details": details,
        "prev_hash": prev_hash,
    }
    if version == PLAIN_SHA256:
        return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if version != KEYED_HMAC or key is None:
        raise ValueError(f"unknown audit hash version {version} (or no key)")
    payload["v"] = version
    return hmac.new(key, orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), hashlib.sha256).hexdigest()


class EventFields(Protocol):
    """What hashing needs of an event: an AuditEvent or a row of the table."""

    @property
    def id(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def organisation_id(self) -> int | None: ...
    @property
    def action(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def details(self) -> Any: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def hash_version(self) -> int: ...


def hash_of(event: EventFields, key: bytes) -> str:
    """The hash an event's stored fields should have under its own version."""
    return event_hash(
        id=event.id,
        at=event.at,
        actor=event.actor,
        organisation_id=event.organisation_id,
        action=event.action,
        target=event.target,
        details=event.details,
        prev_hash=event.prev_hash,
        version=event.hash_version,
        key=key,
    )


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))
