"""UNKNOWN_METRIC: a measurement names a metric the dataset does not define."""

from __future__ import annotations

from collections.abc import Collection

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("UNKNOWN_METRIC", "error", "row")


def check(row: int, metric: object, known: Collection[str]) -> Finding | None:
    """A finding when `metric` is not one of the dataset's metrics."""
    if isinstance(metric, str) and metric in known:
        return None
    names = ", ".join(sorted(known))
    return coded(
        RULE,
        "finding.UNKNOWN_METRIC",
        {"metric": str(metric), "known": names},
        row=row,
        field="metric",
    )
