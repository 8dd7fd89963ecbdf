"""FUTURE_TS: a timestamp later than now plus the configured tolerance."""

from __future__ import annotations

from datetime import datetime

from territoria.validation.model import Finding, Rule, finding

RULE = Rule("FUTURE_TS", "error", "row", "Timestamp in the future", "Horodatage dans le futur")


def check(row: int, ts: datetime, latest_allowed: datetime) -> Finding | None:
    """A finding when `ts` is after `latest_allowed` (clock drift or wrong time zone at the source)."""
    if ts <= latest_allowed:
        return None
    return finding(
        RULE,
        f"timestamp {ts.isoformat()} is in the future; check the sender's clock and time zone",
        f"l'horodatage {ts.isoformat()} est dans le futur ; vérifiez l'horloge et le fuseau de l'émetteur",
        row=row,
        field="ts",
        start=ts,
    )
