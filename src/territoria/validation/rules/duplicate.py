"""DUPLICATE: the same point sent again with the same value (kept once, flagged)."""

from __future__ import annotations

from datetime import datetime

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("DUPLICATE", "warning", "row")


def is_duplicate(stored: float, new: float) -> bool:
    """Whether a point already stored at the same series and time is sent again unchanged."""
    return stored == new


def check(row: int, ts: datetime, stored: float, new: float) -> Finding | None:
    """A finding when a new value equals the one already recorded at the same time."""
    if not is_duplicate(stored, new):
        return None
    return coded(
        RULE,
        "finding.DUPLICATE",
        {"value": f"{new:g}", "ts": ts.isoformat()},
        row=row,
        field="ts",
        start=ts,
        details={"value": new},
    )


def summary(count: int, rows: list[int]) -> Finding | None:
    """One warning for a batch that repeats `count` points already received (rows: a sample)."""
    if count <= 0:
        return None
    shown = ", ".join(str(r) for r in rows[:10]) + (" …" if count > len(rows[:10]) else "")
    return coded(
        RULE,
        "finding.DUPLICATE.batch",
        {"n": count, "rows": shown},
        details={"count": count, "rows": rows[:100]},
    )
