"""Dead letters of the MQTT worker: list them, replay them through the worker's own path, discard them.

A dead letter is a message the worker could neither store nor quarantine after bounded retries; it was
acknowledged and kept as received in `ingest_dead_letter`. Once the cause is fixed, a replay hands its
topic and payload to the worker's parse and commit functions (one message, one group, one batch): its
rows are stored or quarantined with their reasons, and only when that batch committed does the letter
leave the table. A letter that still fails stays, with its new error. Every replay and every discard is
an audit event: nothing leaves the table without a trace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access.audit import record
from territoria.catalog.models import Dataset
from territoria.context import Context
from territoria.errors import Invalid
from territoria.ingest.models import DeadLetter
from territoria.ingest.mqtt_batch import Group, commit_group, read_message
from territoria.ingest.mqtt_link import Delivery
from territoria.ingest.schemas import BatchResult
from territoria.validation.limits import printable

ACTOR = "cli"  # the installation's operator at the console
ERROR_CHARS = 2000  # as the worker keeps them


@dataclass(frozen=True, slots=True)
class DeadLetterLine:
    """One dead letter as listed: everything but the payload, of which only the size."""

    id: int
    created_at: datetime
    topic: str
    dataset: str
    attempts: int
    error: str
    payload_bytes: int


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What became of one replayed letter: stored (rows stored or quarantined, letter deleted),
    failed (error still standing, letter kept) or missing (no such letter)."""

    id: int
    status: Literal["stored", "failed", "missing"]
    result: BatchResult | None = None
    error: str = ""


def _where_dataset(dataset: str | None) -> list[Any]:
    """The filter on the dataset slug named by the topic, if any."""
    return [] if dataset is None else [DeadLetter.dataset == dataset]


def count_dead_letters(session: Session, *, dataset: str | None = None) -> int:
    """How many dead letters are waiting (of one dataset, or all)."""
    total = session.scalar(select(func.count()).select_from(DeadLetter).where(*_where_dataset(dataset)))
    return int(total or 0)


def list_dead_letters(
    session: Session, *, dataset: str | None = None, limit: int = 50
) -> list[DeadLetterLine]:
    """The newest dead letters first, without loading their payloads."""
    rows = session.execute(
        select(
            DeadLetter.id,
            DeadLetter.created_at,
            DeadLetter.topic,
            DeadLetter.dataset,
            DeadLetter.attempts,
            DeadLetter.error,
            func.length(DeadLetter.payload),
        )
        .where(*_where_dataset(dataset))
        .order_by(DeadLetter.created_at.desc(), DeadLetter.id.desc())
        .limit(limit)
    ).all()
    return [
        DeadLetterLine(id_, created_at, topic, slug, attempts, error, int(size or 0))
        for id_, created_at, topic, slug, attempts, error, size in rows
    ]


def dead_letter_ids(session: Session, *, dataset: str | None = None) -> list[int]:
    """Every waiting letter's id, oldest first (the order they arrived in, the order to replay them)."""
    return list(
        session.scalars(select(DeadLetter.id).where(*_where_dataset(dataset)).order_by(DeadLetter.id))
    )


def _owner(session: Session, slug: str) -> int | None:
    """The organisation owning the dataset named by the topic, so that it sees the event in its trail."""
    return session.scalar(select(Dataset.owner_id).where(Dataset.slug == slug)) if slug else None


def _letter_details(letter: DeadLetter) -> dict[str, Any]:
    """What identifies a letter in the audit trail (the payload by its digest and size only)."""
    return {
        "topic": letter.topic,
        "dataset": letter.dataset,
        "received_at": letter.created_at,
        "attempts": letter.attempts,
        "error": letter.error,
        "payload_sha256": hashlib.sha256(bytes(letter.payload)).hexdigest(),
        "payload_bytes": len(letter.payload),
    }


def replay_one(ctx: Context, letter_id: int, *, actor: str = ACTOR) -> ReplayOutcome:
    """Ingest one letter through the worker's path; delete it only once its batch committed."""
    with ctx.session() as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:
            return ReplayOutcome(letter_id, "missing", error=f"no dead letter {letter_id}")
        delivery = Delivery(topic=letter.topic, payload=bytes(letter.payload), mid=0, qos=1, session=0)
    # A fresh group (no error so far) goes straight to the store: the quarantine fallback belongs to the
    # worker's retries, and a letter that still fails here stays in the table with its new error.
    message = read_message(delivery, ctx.settings.max_body_bytes)
    group = Group(message.dataset, [message])
    outcome = commit_group(ctx, group, quarantine_after=1)
    with ctx.session(write=True) as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:  # replayed or discarded meanwhile by someone else: their event says so
            return ReplayOutcome(letter_id, "missing", outcome.result, f"no dead letter {letter_id}")
        details = _letter_details(letter)
        if outcome.status == "stored" and outcome.result is not None:
            result = outcome.result
            details |= {
                "outcome": "stored",
                "batch_id": result.batch_id,
                "received": result.received,
                "accepted": result.accepted,
                "rejected": result.rejected,
                "duplicates": result.duplicates,
            }
            session.delete(letter)
            replayed = ReplayOutcome(letter_id, "stored", result)
        else:
            error = printable((outcome.reason or "unknown error").splitlines()[0], ERROR_CHARS)
            letter.error, letter.attempts = error, letter.attempts + 1
            details |= {"outcome": "failed", "new_error": error}
            replayed = ReplayOutcome(letter_id, "failed", error=error)
        record(
            session,
            actor=actor,
            action="dead_letter.replay",
            target=f"dead_letter:{letter_id}",
            details=details,
            organisation_id=_owner(session, letter.dataset),
        )
    return replayed


def replay(ctx: Context, ids: list[int], *, actor: str = ACTOR) -> list[ReplayOutcome]:
    """Replay each letter in turn (each in its own batch); one still failing does not stop the others."""
    return [replay_one(ctx, letter_id, actor=actor) for letter_id in ids]


def discard(ctx: Context, ids: list[int], *, reason: str, actor: str = ACTOR) -> tuple[list[int], list[int]]:
    """Delete letters with an audit event carrying the reason; returns (discarded, not found)."""
    reason = reason.strip()
    if not reason:
        raise Invalid("a reason is required to discard a dead letter")
    done: list[int] = []
    missing: list[int] = []
    with ctx.session(write=True) as session:
        for letter_id in ids:
            letter = session.get(DeadLetter, letter_id)
            if letter is None:
                missing.append(letter_id)
                continue
            record(
                session,
                actor=actor,
                action="dead_letter.discard",
                target=f"dead_letter:{letter_id}",
                details=_letter_details(letter) | {"reason": reason},
                organisation_id=_owner(session, letter.dataset),
            )
            session.delete(letter)
            done.append(letter_id)
    return done, missing
