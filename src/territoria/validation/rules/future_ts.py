"""FUTURE_TS: a timestamp later than now plus the configured tolerance."""

from __future__ import annotations

from datetime import datetime

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("FUTURE_TS", "error", "row")


def check(row: int, ts: datetime, latest_allowed: datetime) -> Finding | None:
    """A finding when `ts` is after `latest_allowed` (clock drift or wrong time zone at the source)."""
    if ts <= latest_allowed:
        return None
    return coded(
        RULE,
        "finding.FUTURE_TS",
        {"ts": ts.isoformat()},
        row=row,
        field="ts",
        start=ts,
    )
