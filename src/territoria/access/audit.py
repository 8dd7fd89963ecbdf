"""Audit trail service: append HMAC-chained events in the caller's transaction, list them, export them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, event, func, select
from sqlalchemy.orm import Session

from territoria.access.audit_chain import (
    KEYED_HMAC,
    chain_key,
    event_hash,
    hash_of,
    session_settings,
)
from territoria.access.audit_chain import iso as _iso
from territoria.access.audit_checkpoints import checkpoint_committed
from territoria.access.audit_models import GENESIS_HASH, AuditEvent
from territoria.access.audit_verify import PAGE_SIZE, VerifyReport, verify
from territoria.db.base import utcnow
from territoria.db.dialect import dialect_name

__all__ = [  # verify, VerifyReport and event_hash live in audit_verify and audit_chain, imported from here
    "PAGE_SIZE",
    "AuditEventPublic",
    "EventFilter",
    "VerifyReport",
    "audit_table_row",
    "canonical_details",
    "event_hash",
    "event_record",
    "iter_events",
    "list_events",
    "principal_actor",
    "record",
    "verify",
]

if TYPE_CHECKING:  # access.service records events: no import cycle at run time
    from territoria.access.principal import Principal

# Key of the PostgreSQL transaction-level advisory lock that serialises appends ("TRTAUDIT").
AUDIT_LOCK_KEY = 0x5452544155444954
# Appends of these actions checkpoint the head (an open-data release fixes a point in time).
CHECKPOINTED_ACTIONS = frozenset({"release.publish"})
PENDING = "audit_checkpoint_pending"  # session.info key of the checkpoint an append asked for


INT64 = 2**63


def _normalise(value: Any) -> Any:
    """JSON value as both backends hand it back.

    JSONB prints integral floats as integers (1e20 comes back as 100000000000000000000), so they
    become ints here; numbers beyond 64-bit integers, which orjson cannot hash, become strings.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
        return str(value)
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def canonical_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Details reduced to plain JSON (dates to ISO strings, …) that survives a store/load round trip."""
    plain = orjson.loads(orjson.dumps(_normalise(dict(details or {})), option=orjson.OPT_NON_STR_KEYS))
    result: dict[str, Any] = _normalise(plain)
    return result


def principal_actor(principal: Principal) -> str:
    """The actor string of a caller: 'org:lightco/token:3', 'user:ana@example.org@org:city', 'anonymous'."""
    return principal.actor


def _lock_chain(session: Session) -> None:
    """Serialise appenders until the end of the transaction.

    PostgreSQL: a transaction-level advisory lock. SQLite: writers are serialised by the database
    lock (BEGIN IMMEDIATE for write sessions); a deferred transaction that read a stale head fails
    to write rather than forking the chain, and the primary key (previous id + 1) refuses a fork.
    """
    if dialect_name(session) == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
    organisation_id: int | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: it commits or rolls back with what it describes."""
    _lock_chain(session)
    head = session.execute(
        select(AuditEvent.id, AuditEvent.hash, AuditEvent.hash_version)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    prev_id, prev_hash = (head[0], head[1]) if head is not None else (0, GENESIS_HASH)
    # The first keyed event is checkpointed: a chain later rewritten as old unkeyed rows is caught.
    first_keyed = head is None or head[2] != KEYED_HMAC
    settings = session_settings(session)
    event = AuditEvent(
        id=prev_id + 1,
        at=utcnow(),
        actor=actor,
        organisation_id=organisation_id,
        action=action,
        target=target,
        details=canonical_details(details),
        prev_hash=prev_hash,
        hash_version=KEYED_HMAC,
    )
    event.hash = hash_of(event, chain_key(settings))
    session.add(event)
    session.flush()
    every = settings.audit_checkpoint_every
    if action in CHECKPOINTED_ACTIONS:
        session.info[PENDING] = (event.id, event.hash, action)
    elif first_keyed or (every > 0 and event.id % every == 0):
        session.info[PENDING] = (event.id, event.hash, "first keyed event" if first_keyed else "every")
    return event


@event.listens_for(Session, "after_commit")
def _checkpoint_after_commit(session: Session) -> None:
    """Checkpoint the head an append asked for, once it is committed (never before: it could roll back)."""
    pending = session.info.pop(PENDING, None)
    if pending is not None:
        seq, head, reason = pending
        checkpoint_committed(session_settings(session), session.get_bind().engine, seq, head, reason)


@event.listens_for(Session, "after_rollback")
def _forget_checkpoint(session: Session) -> None:
    """A rolled back append asks for nothing."""
    session.info.pop(PENDING, None)


@dataclass(frozen=True)
class EventFilter:
    """Which events to show; every criterion given narrows the selection."""

    action: str | None = None  # exact, or a prefix ending in '.' ('agreement.')
    actor: str | None = None  # prefix: 'user:ana@' or 'org:lightco/'
    target: str | None = None  # prefix: 'dataset:lights' or 'agreement:'
    organisation_id: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses of this filter (bound parameters, LIKE wildcards escaped)."""
        where: list[ColumnElement[bool]] = []
        if self.action:
            if self.action.endswith("."):
                where.append(AuditEvent.action.startswith(self.action, autoescape=True))
            else:
                where.append(AuditEvent.action == self.action)
        if self.actor:
            where.append(AuditEvent.actor.startswith(self.actor, autoescape=True))
        if self.target:
            where.append(AuditEvent.target.startswith(self.target, autoescape=True))
        if self.organisation_id is not None:
            where.append(AuditEvent.organisation_id == self.organisation_id)
        if self.since is not None:
            where.append(AuditEvent.at >= self.since)
        if self.until is not None:
            where.append(AuditEvent.at < self.until)
        return where


def list_events(
    session: Session,
    *,
    action: str | None = None,
    organisation_id: int | None = None,
    limit: int = 50,
    before_id: int | None = None,
    actor: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """Newest events first, filtered as `EventFilter` says; `before_id` pages back (keyset)."""
    where = EventFilter(action, actor, target, organisation_id, since, until)
    query = select(AuditEvent).where(*where.conditions()).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))


def iter_events(session: Session, where: EventFilter, *, page_size: int = PAGE_SIZE) -> Iterator[AuditEvent]:
    """Every matching event in chain order, page by page (keyset), in bounded memory.

    The walk stops at the head seen when it starts: events appended meanwhile (the export's own
    trace among them) belong to the next export.
    """
    head = session.scalar(select(func.max(AuditEvent.id))) or 0
    last_id = 0
    while True:
        query = (
            select(AuditEvent)
            .where(*where.conditions(), AuditEvent.id > last_id, AuditEvent.id <= head)
            .order_by(AuditEvent.id)
            .limit(page_size)
        )
        page = list(session.scalars(query))
        if not page:
            return
        yield from page
        last_id = page[-1].id
        session.expunge_all()


class AuditEventPublic(BaseModel):
    """An audit event as the API shows it."""

    model_config = ConfigDict(strict=True, from_attributes=True)

    id: int
    at: datetime
    actor: str
    organisation_id: int | None
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    hash_version: int


def event_record(event: AuditEvent) -> dict[str, Any]:
    """An event as plain JSON with the very values its hash covers (exports can be checked outside)."""
    return {
        "id": event.id,
        "at": _iso(event.at),
        "actor": event.actor,
        "organisation_id": event.organisation_id,
        "action": event.action,
        "target": event.target,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "hash_version": event.hash_version,
    }


def audit_table_row(event: AuditEvent) -> tuple[str, str, str, str, str, str]:
    """An event as text cells: id, time, actor, action, target, details (compact JSON)."""
    return (
        str(event.id),
        _iso(event.at).replace("+00:00", "Z"),
        event.actor,
        event.action,
        event.target,
        orjson.dumps(event.details, option=orjson.OPT_SORT_KEYS).decode(),
    )
