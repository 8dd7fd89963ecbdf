"""DUPLICATE_CONFLICT: a point for a series and time that already holds another value."""

from __future__ import annotations

from datetime import datetime

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("DUPLICATE_CONFLICT", "error", "row")


def check(row: int, ts: datetime, stored: float, new: float) -> Finding | None:
    """A finding when a new value differs from the one already recorded at the same time."""
    if stored == new:
        return None
    return coded(
        RULE,
        "finding.DUPLICATE_CONFLICT",
        {"stored": f"{stored:g}", "ts": ts.isoformat()},
        row=row,
        field="value",
        start=ts,
        details={"stored": stored, "received": new},
    )
