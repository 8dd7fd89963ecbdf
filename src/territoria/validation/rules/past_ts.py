"""PAST_TS: a timestamp before the earliest plausible date of a reading (1970-01-01 UTC)."""

from __future__ import annotations

from datetime import datetime

from territoria.db.base import EPOCH
from territoria.validation.model import Finding, Rule, finding

RULE = Rule("PAST_TS", "error", "row", "Timestamp too far in the past", "Horodatage trop ancien")

# No connected object reported before the Unix epoch; 0001-01-01 and the like are unset clocks or
# placeholders, and dates near the type limits break bucketing and date arithmetic downstream.
EARLIEST = EPOCH


def check(row: int, ts: datetime, earliest: datetime = EARLIEST) -> Finding | None:
    """A finding when `ts` is before `earliest` (an unset clock, a placeholder date)."""
    if ts >= earliest:
        return None
    return finding(
        RULE,
        f"timestamp {ts.isoformat()} is before {earliest.date().isoformat()}; "
        "check the sender's clock (an unset clock or a placeholder date)",
        f"l'horodatage {ts.isoformat()} est antérieur au {earliest.date().isoformat()} ; "
        "vérifiez l'horloge de l'émetteur (horloge non réglée ou date de remplissage)",
        row=row,
        field="ts",
        start=ts,
    )
