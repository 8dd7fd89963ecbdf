"""Quality tables: findings (flags and series faults), daily scores, dataset schema versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from territoria.db.base import Base, JSONType, UTCDateTime, utcnow
from territoria.web import i18n


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


class QualityScore(Base):
    """Daily quality of one dataset (its operator is the dataset's owner), kept as history."""

    __tablename__ = "quality_score"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    expected: Mapped[int] = mapped_column(Integer, default=0)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    delay_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    completeness: Mapped[float | None] = mapped_column(Float, nullable=True)
    validity: Mapped[float | None] = mapped_column(Float, nullable=True)
    freshness: Mapped[float | None] = mapped_column(Float, nullable=True)
    consistency: Mapped[float | None] = mapped_column(Float, nullable=True)
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchemaVersion(Base):
    """Every version of a dataset's schema; stored rows keep the version they were checked against."""

    __tablename__ = "schema_version"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    table_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualityRun(Base):
    """How far the series rules have looked at a dataset: they resume from here on the next run."""

    __tablename__ = "quality_run"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True)
    checked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_batch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
