"""Storing findings raised while a batch is ingested (warnings on stored rows)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.db.base import utcnow
from territoria.ingest.models import FindingRow
from territoria.validation.model import Finding


def store_batch_finding(session: Session, ds: Dataset, batch_id: str, found: Finding) -> None:
    """Keep a batch-level finding, once per batch and code."""
    session.add(
        FindingRow(
            dataset_id=ds.id,
            batch_id=batch_id,
            code=found.code,
            severity=found.severity,
            row_number=found.row,
            field=found.field,
            start_ts=found.start,
            end_ts=found.end,
            message_code=found.stored_message()[0],
            message_params=found.stored_message()[1],
            details=found.details,
            fingerprint=f"{found.code}:b{batch_id}",
            status="open",
            created_at=utcnow(),
        )
    )
    session.flush()
