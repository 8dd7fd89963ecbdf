"""Station membership history: which station each charge point belonged to, per source and period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from territoria.db.base import Base, UTCDateTime


class StationMembership(Base):
    """One stretch of time during which a source said a charge point belongs to a station."""

    __tablename__ = "ev_station_membership"
    __table_args__ = (
        Index("ix_ev_station_membership_point", "dataset_id", "id_pdc"),
        Index("ix_ev_station_membership_station", "id_station"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    id_pdc: Mapped[str] = mapped_column(String(100))
    id_station: Mapped[str] = mapped_column(String(100))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    first_batch: Mapped[str] = mapped_column(String(36))
    last_batch: Mapped[str] = mapped_column(String(36))
    # the source's latest word on this point: exactly one current row per (dataset, point)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
