"""API models of ingestion: the batch answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class BatchResult(BaseModel):
    """What became of every row of a batch: received = accepted + rejected."""

    batch_id: str
    dataset: str
    source: str
    received: int
    accepted: int
    rejected: int
    duplicates: int = 0
    errors: list[dict[str, Any]]
    errors_truncated: bool = False
    # Stored rows that deserve a look (e.g. DUPLICATE); they are also kept as findings.
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    replayed: bool = False
    created_at: datetime | None = None


class QuarantinedRowPublic(BaseModel):
    """A rejected row with its reasons."""

    id: int
    batch_id: str
    row: int
    raw: str
    errors: list[dict[str, Any]]
    status: str
    created_at: datetime
