"""Verification of the audit trail: the keyed chain, then its count and head against signed checkpoints."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from territoria.access.audit_chain import (
    KEYED_HMAC,
    PLAIN_SHA256,
    EventFields,
    chain_key,
    hash_of,
    same_hash,
    session_settings,
)
from territoria.access.audit_checkpoints import (
    Checkpoint,
    CheckpointFile,
    committed_hash,
    read_checkpoints,
    write_checkpoint,
)
from territoria.access.audit_models import GENESIS_HASH, AuditEvent

PAGE_SIZE = 1000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a verification: events found intact, and the first problem with the reason."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str | None = None
    head_hash: str | None = None
    legacy: int = 0  # events of before the keyed chain (plain SHA-256), all at its start
    checkpoints: int = 0  # signed checkpoints of this database found outside the table


def _pages(session: Session, page_size: int) -> Iterator[EventFields]:
    """All stored events in id order, page by page (keyset), as plain rows (no identity map)."""
    table = AuditEvent.__table__
    last_id = 0
    while True:
        page: list[Any] = list(
            session.execute(
                select(*table.c).where(table.c.id > last_id).order_by(table.c.id).limit(page_size)
            )
        )
        if not page:
            return
        yield from page
        last_id = page[-1].id


def _problem(event: EventFields, expected_id: int, expected_prev: str, keyed: bool, key: bytes) -> str | None:
    """Why an event breaks the chain, or None when it is intact."""
    if event.id != expected_id:
        missing = f"{expected_id}" if event.id == expected_id + 1 else f"{expected_id}…{event.id - 1}"
        return f"event {missing} missing before event {event.id} (deleted rows)"
    if event.prev_hash != expected_prev:
        return "prev_hash does not match the previous event's hash (row deleted, reordered or rewritten)"
    if event.hash_version not in (PLAIN_SHA256, KEYED_HMAC):
        return f"unknown hash version {event.hash_version} (row modified)"
    if keyed and event.hash_version == PLAIN_SHA256:
        return "unkeyed event after keyed ones (forged or rewritten without the audit key)"
    if not same_hash(hash_of(event, key), event.hash):
        return "hash does not match the event's content (row modified or forged without the audit key)"
    return None


@dataclass
class _Walk:
    """State of the chain walk."""

    checked: int = 0
    head: str = GENESIS_HASH
    keyed: bool = False
    legacy: int = 0


def _against_checkpoints(
    engine: Engine, walk: _Walk, file: CheckpointFile, seen: dict[int, str]
) -> tuple[int | None, str] | None:
    """The first disagreement between the table and the checkpoints, as (event id, reason)."""
    if file.bad_lines:
        lines = ", ".join(str(n) for n in file.bad_lines[:5])
        return (
            None,
            f"checkpoint file line(s) {lines} not signed with the audit key (file edited, or key changed)",
        )
    for checkpoint in sorted(file.checkpoints, key=lambda c: c.seq):
        stored = seen.get(checkpoint.seq)
        if stored is None and checkpoint.seq > walk.checked:
            # Committed after this walk's snapshot (a checkpoint written meanwhile), or truly gone.
            stored = committed_hash(engine, checkpoint.seq)
            if stored is None:
                return None, _missing(walk.checked, checkpoint)
        if stored is None or not same_hash(stored, checkpoint.head):
            return checkpoint.seq, (
                f"event {checkpoint.seq} differs from the signed checkpoint of {checkpoint.at} "
                f"(checkpoint file line {checkpoint.line}): chain rewritten"
            )
    return None


def _missing(count: int, checkpoint: Checkpoint) -> str:
    """The message of a table shorter than a checkpoint."""
    if count == 0:
        return (
            f"the audit table is empty but the signed checkpoint of {checkpoint.at} counted "
            f"{checkpoint.count} events: all events deleted"
        )
    return (
        f"the audit table holds {count} events but the signed checkpoint of {checkpoint.at} counted "
        f"{checkpoint.count}: the last {checkpoint.count - count} event(s) deleted"
    )


def verify(session: Session, *, page_size: int = PAGE_SIZE, checkpoint: bool = True) -> VerifyReport:
    """Walk the whole chain in bounded memory, then compare it with the signed checkpoints.

    Stops at the first broken event. When everything holds and `checkpoint` is true, the head is
    checkpointed (if no checkpoint covers it yet), so that a later truncation is caught.
    """
    settings = session_settings(session)
    engine = session.get_bind().engine
    key = chain_key(settings)
    # Read before the walk: a checkpoint written meanwhile can only name events the walk may miss.
    try:
        file = read_checkpoints(settings, engine)
    except OSError as exc:
        return VerifyReport(False, 0, None, f"cannot read the audit checkpoint file: {exc.strerror}")
    wanted = {c.seq for c in file.checkpoints}
    seen: dict[int, str] = {}
    walk = _Walk()
    for event in _pages(session, page_size):
        reason = _problem(event, walk.checked + 1, walk.head, walk.keyed, key)
        if reason is not None:
            return VerifyReport(
                False, walk.checked, event.id, reason, walk.head, walk.legacy, len(file.checkpoints)
            )
        walk.keyed = walk.keyed or event.hash_version == KEYED_HMAC
        walk.legacy += event.hash_version == PLAIN_SHA256
        walk.checked, walk.head = walk.checked + 1, event.hash
        if event.id in wanted:
            seen[event.id] = event.hash
    problem = _against_checkpoints(engine, walk, file, seen)
    head = walk.head if walk.checked else None
    if problem is not None:
        return VerifyReport(
            False, walk.checked, problem[0], problem[1], head, walk.legacy, len(file.checkpoints)
        )
    last = file.last
    if checkpoint and head is not None and (last is None or last.seq < walk.checked):
        try:
            write_checkpoint(settings, engine, walk.checked, head, "verify")
        except OSError:  # the verdict stands; the next verify or append writes the checkpoint
            log.exception("could not write the audit checkpoint file")
    return VerifyReport(
        True, walk.checked, head_hash=head, legacy=walk.legacy, checkpoints=len(file.checkpoints)
    )
