"""API models of series queries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Resolution = Literal["raw", "hour", "day", "month"]
Agg = Literal["avg", "sum", "min", "max", "count", "last"]


class Point(BaseModel):
    """One value of one series at one time (or bucket start)."""

    asset: str
    metric: str
    ts: datetime
    value: float


class SeriesQueryResult(BaseModel):
    """A query's answer: flat points ordered by asset, metric and time."""

    dataset: str
    resolution: Resolution
    agg: Agg
    start: datetime | None
    end: datetime | None
    source: str
    count: int
    truncated: bool  # true when a next page exists
    cursor: str | None = None  # the primary key after which the next page starts
    next: str | None = None  # URL of the next page (also in the Link header); None on the last page
    data: list[Point]
