"""Batch bookkeeping shared by every ingestion service: open, quarantine, close, replay.

A batch is opened (and flushed) before any row is stored, so that its unique idempotency key guards
concurrent retries; it is closed with its counts in the same transaction as the rows it accounts for.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.db.dialect import dialect_name
from territoria.errors import Conflict
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.ingest.parsers import BadRow
from territoria.ingest.schemas import BatchResult
from territoria.ingest.validation import RowError
from territoria.validation.limits import safe_strings, safe_text
from territoria.validation.model import stored_error

MAX_ERRORS_IN_ANSWER = 1000


@dataclass(frozen=True)
class Origin:
    """Who sends a batch and how."""

    source: str
    organisation_id: int | None = None
    token_id: int | None = None
    content_type: str = ""
    idempotency_key: str | None = None
    from_text: bool = False


def find_replay(session: Session, ds: Dataset, key: str | None) -> BatchResult | None:
    """The stored answer of a batch already received with this idempotency key."""
    if not key:
        return None
    batch = session.scalar(select(Batch).where(Batch.dataset_id == ds.id, Batch.idempotency_key == key))
    return None if batch is None else batch_result(session, batch, ds.slug, replayed=True)


def batch_result(session: Session, batch: Batch, slug: str, *, replayed: bool = False) -> BatchResult:
    """A batch's answer rebuilt from its record and its quarantined rows."""
    rows = session.scalars(
        select(QuarantinedRow)
        .where(QuarantinedRow.batch_id == batch.id)
        .order_by(QuarantinedRow.row_number)
        .limit(MAX_ERRORS_IN_ANSWER + 1)
    ).all()
    errors = [e for r in rows for e in r.errors]
    return BatchResult(
        batch_id=batch.id,
        dataset=slug,
        source=batch.source,
        received=batch.received,
        accepted=batch.accepted,
        rejected=batch.rejected,
        duplicates=batch.duplicates,
        errors=errors[:MAX_ERRORS_IN_ANSWER],
        errors_truncated=len(errors) > MAX_ERRORS_IN_ANSWER or batch.rejected > len(rows),
        replayed=replayed,
        created_at=batch.created_at,
    )


def open_batch(session: Session, ds: Dataset, origin: Origin, *, checksum: str, target: str) -> Batch:
    """Record a new batch; from the flush on, a concurrent retry with the same key waits or fails."""
    batch = Batch(
        id=str(uuid.uuid4()),
        dataset_id=ds.id,
        organisation_id=origin.organisation_id,
        token_id=origin.token_id,
        source=origin.source,
        target=target,
        content_type=origin.content_type[:64],
        checksum=checksum,
        idempotency_key=origin.idempotency_key,
        created_at=datetime.now(UTC),
    )
    session.add(batch)
    session.flush()
    return batch


def claim_batch(
    session: Session, ds: Dataset, origin: Origin, *, checksum: str, target: str
) -> Batch | BatchResult:
    """A new batch, or the stored answer when this idempotency key was already received.

    Concurrent retries with one key never wait on each other's transaction (on PostgreSQL a waiting
    insert would hold a pooled connection for as long as the first batch takes): the first takes a
    transaction-scoped advisory lock on the key, the others answer 409 while it runs and the
    stored answer (a replay) once it has committed. Never an IntegrityError, never a second batch.
    """
    key = origin.idempotency_key
    if not key:
        return open_batch(session, ds, origin, checksum=checksum, target=target)
    if dialect_name(session) == "postgresql":
        digest = hashlib.sha256(f"territoria.batch:{ds.id}:{key}".encode()).digest()
        lock = int.from_bytes(digest[:8], "big", signed=True)
        if not session.scalar(select(func.pg_try_advisory_xact_lock(lock))):
            raise _in_progress()
    if replay := find_replay(session, ds, key):
        return replay
    try:
        with session.begin_nested():
            batch = open_batch(session, ds, origin, checksum=checksum, target=target)
    except IntegrityError as exc:  # a writer that did not take the lock: its batch is committed
        if replay := find_replay(session, ds, key):
            return replay
        raise _in_progress() from exc
    return batch


def _in_progress() -> Conflict:
    """409 for a retry arriving while the first batch with its key is still being stored."""
    return Conflict(
        "a batch with this Idempotency-Key is being processed: retry in a moment to get its answer "
        "/ un lot avec cette clé d'idempotence est en cours de traitement : réessayez dans un instant"
    )


def raw_text(raw: Mapping[str, Any] | BadRow) -> str:
    """The row as received, for the quarantine: bounded, storable text whatever the row (never raises)."""
    return safe_text(raw.raw if isinstance(raw, BadRow) else raw)


def close_batch(
    session: Session,
    batch: Batch,
    ds: Dataset,
    *,
    received: int,
    rejected: Sequence[tuple[int, Mapping[str, Any] | BadRow, list[RowError]]],
    duplicates: int = 0,
) -> BatchResult:
    """Quarantine the rejected rows with their reasons, set the counts, and build the answer."""
    # Messages may quote what was sent: made storable (no NUL for JSONB) and encodable once, here.
    rejected = sorted(((n, raw, safe_strings(errs)) for n, raw, errs in rejected), key=lambda r: r[0])
    if rejected:  # Core executemany: the ORM's bulk insert would fetch every new id back, row by row
        session.connection().execute(
            insert(cast(Table, QuarantinedRow.__table__)),
            [
                {
                    "batch_id": batch.id,
                    "dataset_id": ds.id,
                    "row_number": n,
                    "raw": raw_text(raw),
                    "errors": [stored_error(e) for e in errs],
                }
                for n, raw, errs in rejected
            ],
        )
    batch.received, batch.rejected = received, len(rejected)
    batch.accepted = received - len(rejected)
    batch.duplicates = duplicates
    session.flush()
    errors = [e for _, _, errs in rejected for e in errs]
    return BatchResult(
        batch_id=batch.id,
        dataset=ds.slug,
        source=batch.source,
        received=batch.received,
        accepted=batch.accepted,
        rejected=batch.rejected,
        duplicates=duplicates,
        errors=errors[:MAX_ERRORS_IN_ANSWER],
        errors_truncated=len(errors) > MAX_ERRORS_IN_ANSWER,
        created_at=batch.created_at,
    )
