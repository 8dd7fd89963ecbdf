"""Data-sharing agreements: a dataset shared with another organisation for a purpose, some fields, a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from territoria.catalog.models import Dataset, Organisation
from territoria.db.base import Base, JSONType, UTCDateTime, utcnow


class Agreement(Base):
    """Dataset × recipient organisation × purpose × allowed fields × expiry, revocable by the owner."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(Text)
    # Metric names (time series) or field names (records) the recipient may read; None: all of them.
    fields: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
