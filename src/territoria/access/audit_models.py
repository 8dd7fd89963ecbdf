"""The audit trail: an append-only, HMAC-chained table of security-relevant events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from territoria.db.base import Base, JSONType, UTCDateTime

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """One event; `hash` (keyed) covers every column and the previous event's hash: edits are detectable."""

    __tablename__ = "audit_event"

    # Assigned by the service under the append lock (previous id + 1): the chain order, without gaps.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    # No foreign key on purpose: an ON DELETE action would rewrite a hashed row, and the trail must
    # outlive the organisations it mentions.
    organisation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # 1: plain SHA-256 (events written before revision 0008), 2: HMAC-SHA256 under the audit key.
    hash_version: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))

    __table_args__ = (
        Index("ix_audit_event_action", "action"),
        Index("ix_audit_event_organisation_id", "organisation_id"),
        Index("ix_audit_event_at", "at"),
    )
