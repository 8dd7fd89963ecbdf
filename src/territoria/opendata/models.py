"""Open-data tables: versioned privacy policies and immutable releases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from territoria.db.base import Base, JSONType, UTCDateTime, utcnow


class PrivacyPolicy(Base):
    """One version of a dataset's privacy policy; a change adds a version, never rewrites one."""

    __tablename__ = "privacy_policy"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Release(Base):
    """An immutable open-data release: a public table on disk, its disclosure report and change log."""

    __tablename__ = "release"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    # published: served; failed: the disclosure report found a breach, nothing is served.
    status: Mapped[str] = mapped_column(String(16))
    # Path of the Parquet file relative to the release directory; empty for a failed release.
    path: Mapped[str] = mapped_column(String(500), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    # Public table description: [{name, type, role, title: {en, fr}, unit}], and "point" | "area" | "".
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    geometry: Mapped[str] = mapped_column(String(16), default="")
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    changelog: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    coverage_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    coverage_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    licence: Mapped[str] = mapped_column(String(64), default="etalab-2.0")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
