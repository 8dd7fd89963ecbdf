"""UNKNOWN_METRIC: a measurement names a metric the dataset does not define."""

from __future__ import annotations

from collections.abc import Collection

from territoria.validation.model import Finding, Rule, finding

RULE = Rule("UNKNOWN_METRIC", "error", "row", "Unknown metric", "Mesure inconnue")


def check(row: int, metric: object, known: Collection[str]) -> Finding | None:
    """A finding when `metric` is not one of the dataset's metrics."""
    if isinstance(metric, str) and metric in known:
        return None
    names = ", ".join(sorted(known))
    return finding(
        RULE,
        f"metric '{metric}' is unknown; known: {names}",
        f"mesure « {metric} » inconnue ; mesures connues : {names}",
        row=row,
        field="metric",
    )
