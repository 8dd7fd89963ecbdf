"""PAST_TS: a timestamp before the earliest plausible date of a reading (1970-01-01 UTC)."""

from __future__ import annotations

from datetime import datetime

from territoria.db.base import EPOCH
from territoria.validation.model import Finding, Rule, coded

RULE = Rule("PAST_TS", "error", "row")

# No connected object reported before the Unix epoch; 0001-01-01 and the like are unset clocks or
# placeholders, and dates near the type limits break bucketing and date arithmetic downstream.
EARLIEST = EPOCH


def check(row: int, ts: datetime, earliest: datetime = EARLIEST) -> Finding | None:
    """A finding when `ts` is before `earliest` (an unset clock, a placeholder date)."""
    if ts >= earliest:
        return None
    return coded(
        RULE,
        "finding.PAST_TS",
        {"ts": ts.isoformat(), "earliest": earliest.date().isoformat()},
        row=row,
        field="ts",
        start=ts,
    )
