"""Batch, quarantine, dead-letter, record and finding tables (what ingest writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from territoria import i18n
from territoria.db.base import Base, JSONType, UTCDateTime, utcnow


class Batch(Base):
    """One ingestion batch: who sent what, when, how, and what became of each row."""

    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("dataset_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), nullable=True)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16), default="measurements")
    content_type: Mapped[str] = mapped_column(String(64), default="")
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    checksum: Mapped[str] = mapped_column(String(64), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # A resubmission of corrected quarantined rows points at the batch they first came with.
    replay_of: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    schema_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuarantinedRow(Base):
    """A rejected row, kept as received with every reason it was rejected."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resubmitted | discarded
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolution_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    replay_batch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Record(Base):
    """One row of a records dataset, keyed by its primary key."""

    __tablename__ = "record"
    __table_args__ = (UniqueConstraint("dataset_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batch.id", ondelete="SET NULL"), nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    schema_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DeadLetter(Base):
    """A message that could be neither stored nor quarantined after bounded retries, kept as received.

    The worker acknowledges it once it is here, so that it cannot block the subscription; an operator
    reads the error, fixes the cause and replays it (`territoria dead-letters replay`) or discards it
    with a reason; both are audited.
    """

    __tablename__ = "ingest_dead_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="mqtt")
    topic: Mapped[str] = mapped_column(Text)
    dataset: Mapped[str] = mapped_column(String(200), default="", index=True)  # slug named by the topic
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class FindingRow(Base):
    """A stored finding: a warning on stored data, or a fault found on a series or an asset."""

    __tablename__ = "finding"
    __table_args__ = (UniqueConstraint("dataset_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batch.id", ondelete="SET NULL"), nullable=True)
    asset_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    series_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    row_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    start_ts: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_ts: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The message as a catalog code and its parameters, read in each reader's language (no sentences).
    message_code: Mapped[str] = mapped_column(String(64))
    message_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Re-running a rule over the same data finds the same thing: the fingerprint keeps one row.
    fingerprint: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def message(self, lang: str) -> str:
        """The message in `lang`, from the catalogs."""
        return i18n.message(self.message_code, self.message_params or {}, lang)

    @property
    def message_en(self) -> str:
        """The English message (the API's `message_en`)."""
        return self.message("en")

    @property
    def message_fr(self) -> str:
        """The French message (the API's `message_fr`)."""
        return self.message("fr")
