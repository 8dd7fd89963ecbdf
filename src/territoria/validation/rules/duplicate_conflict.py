"""DUPLICATE_CONFLICT: a point for a series and time that already holds another value."""

from __future__ import annotations

from datetime import datetime

from territoria.validation.model import Finding, Rule, finding

RULE = Rule("DUPLICATE_CONFLICT", "error", "row", "Conflicting duplicate", "Doublon contradictoire")


def check(row: int, ts: datetime, stored: float, new: float) -> Finding | None:
    """A finding when a new value differs from the one already recorded at the same time."""
    if stored == new:
        return None
    return finding(
        RULE,
        f"another value ({stored:g}) is already recorded for this asset, metric and time ({ts.isoformat()})",
        f"une autre valeur ({stored:g}) est déjà enregistrée pour cet objet, cette mesure et cet instant "
        f"({ts.isoformat()})",
        row=row,
        field="value",
        start=ts,
        details={"stored": stored, "received": new},
    )
