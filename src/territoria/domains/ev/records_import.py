"""Rows of an EV file sent through the records path in chunks, with totals and reasons by code.

Each chunk is one batch in its own transaction with an idempotency key made of the content's checksum,
so an interrupted import run again skips the chunks already stored (like `territoria import`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.ingest import records
from territoria.ingest.batches import Origin
from territoria.ingest.models import QuarantinedRow
from territoria.ingest.parsers import Row
from territoria.ingest.schemas import BatchResult
from territoria.validation.tabular import Chunk

CHUNK_ROWS = 10_000


@dataclass
class RecordsImportReport:
    """What became of the rows: received = accepted + rejected; reasons counted by first code."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    replayed_batches: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, result: BatchResult, codes: Counter[str]) -> None:
        """Account for one batch and the first reason of each of its rejected rows."""
        self.batches.append(result.batch_id)
        self.received += result.received
        self.accepted += result.accepted
        self.rejected += result.rejected
        self.replayed_batches += int(result.replayed)
        merged = Counter(self.rejected_by_code) + codes
        self.rejected_by_code = dict(sorted(merged.items()))

    def as_dict(self) -> dict[str, object]:
        """The summary as JSON for scripts and the API."""
        return {
            "received": self.received,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_code": self.rejected_by_code,
            "batches": self.batches,
            "replayed_batches": self.replayed_batches,
            "notes": self.notes,
        }


def first_codes(session: Session, batch_id: str) -> Counter[str]:
    """The first reason code of each quarantined row of a batch (the answer's errors are truncated)."""
    first: dict[int, str] = {}
    stmt = (
        select(QuarantinedRow.row_number, QuarantinedRow.errors)
        .where(QuarantinedRow.batch_id == batch_id)
        .order_by(QuarantinedRow.id)
    )
    for number, errors in session.execute(stmt):
        first.setdefault(number, str(errors[0]["code"]) if errors else "UNKNOWN")
    return Counter(first.values())


def chunk_checksum(chunk: Sequence[Row] | Chunk) -> str:
    """SHA-256 of the rows of a batch, as the batch keeps it (a columnar chunk: of its columns)."""
    digest = hashlib.sha256()
    if isinstance(chunk, Chunk):
        digest.update(chunk.numbers.tobytes())
        for name, col in zip(chunk.header, chunk.columns, strict=True):
            digest.update(name.encode() + b"\x1f")
            for buffer in col.buffers():
                if buffer is not None:
                    digest.update(buffer)
        for n, bad in chunk.bad:
            digest.update(orjson.dumps([n, bad.raw]))
        return digest.hexdigest()
    for n, row in chunk:
        digest.update(orjson.dumps([n, row if isinstance(row, dict) else row.raw], default=str))
    return digest.hexdigest()


def ingest_chunk(
    session: Session, ctx: Context, dataset: str, chunk: Sequence[Row] | Chunk, origin: Origin
) -> tuple[BatchResult, Counter[str]]:
    """One batch through the records path in the caller's transaction, with its reasons by code."""
    ds = get_dataset(session, dataset)
    checksum = chunk_checksum(chunk)
    result = records.ingest_records(session, ds, chunk, origin, checksum=checksum, locator=ctx.locator())
    return result, first_codes(session, result.batch_id)


def import_rows(
    ctx: Context,
    dataset: str,
    rows: Sequence[Row],
    *,
    key: str,
    source: str = "file",
    content_type: str = "csv",
    organisation_id: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Callable[[int], None] | None = None,
) -> RecordsImportReport:
    """Send numbered rows in chunks, each chunk one transaction; `key` makes re-runs idempotent."""
    chunks = (rows[begin : begin + chunk_rows] for begin in range(0, len(rows), chunk_rows))
    origin = Origin(source=source, organisation_id=organisation_id, content_type=content_type, from_text=True)
    return import_chunks(ctx, dataset, chunks, origin, key=f"{key}:{chunk_rows}", on_progress=on_progress)


def import_chunks(
    ctx: Context,
    dataset: str,
    chunks: Iterable[Sequence[Row] | Chunk],
    origin: Origin,
    *,
    key: str,
    on_progress: Callable[[int], None] | None = None,
) -> RecordsImportReport:
    """Send chunks of rows (columnar chunks of a CSV file, or lists of rows), each one transaction."""
    report = RecordsImportReport()
    for index, chunk in enumerate(chunks):
        with ctx.session(write=True) as session:
            result, codes = ingest_chunk(
                session, ctx, dataset, chunk, replace(origin, idempotency_key=f"{key}:{index}")
            )
        report.add(result, codes)
        if on_progress:
            on_progress(len(chunk))
    return report
