"""STUCK_VALUE: a continuous measurement repeating exactly the same value for hours."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from territoria.catalog.models import Metric
from territoria.db.base import from_us
from territoria.validation.model import Finding, Rule, coded

RULE = Rule("STUCK_VALUE", "warning", "series")
# A jittering sensor never repeats its reading to the digit for six hours; a frozen one does.
MIN_DURATION_S = 6 * 3600
MIN_READINGS = 4
# Units of flags, states, codes and counts: repeating the same value is their normal life.
DISCRETE_UNITS = frozenset({"1", "bool", "boolean", "code", "count", "flag", "nb", "state", "status", "#"})
# Pinned at the top of the range is a state too (a full container), but not for most of a day.
AT_MAX_FACTOR = 3
# An integral range this narrow is a set of codes (0/1, 0..2 states), not a measured quantity.
MAX_CODE_SPAN = 10


def is_continuous(metric: Metric, values: NDArray[np.float64]) -> bool:
    """Whether repeats are suspicious: not a flag, state or code unit, not integral data."""
    if metric.unit.strip().lower() in DISCRETE_UNITS:
        return False
    lo, hi = metric.min_value, metric.max_value
    if (
        lo is not None
        and hi is not None
        and hi - lo <= MAX_CODE_SPAN
        and float(lo).is_integer()
        and float(hi).is_integer()
    ):
        return False
    # Counts (vehicles, visitors) come as whole numbers only.
    return values.size == 0 or not bool(np.all(values == np.round(values)))


def _needed_s(value: float, metric: Metric, min_duration_s: int) -> float | None:
    """How long a run of value must last to be suspicious; None for zero or the range minimum (off, empty)."""
    if value == 0 or value == metric.min_value:
        return None
    return AT_MAX_FACTOR * min_duration_s if value == metric.max_value else min_duration_s


def check(
    ts_us: NDArray[np.int64],
    values: NDArray[np.float64],
    *,
    metric: Metric,
    interval_s: int,
    asset: str,
    min_duration_s: int = MIN_DURATION_S,
    min_readings: int = MIN_READINGS,
) -> list[Finding]:
    """Runs of one repeated value covering at least `min_duration_s` and `min_readings` readings."""
    ts = np.asarray(ts_us, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    if ts.size < min_readings or not is_continuous(metric, vals):
        return []
    # Run boundaries: where the value changes.
    starts = np.concatenate(([0], np.flatnonzero(np.diff(vals) != 0) + 1))
    ends = np.concatenate((starts[1:] - 1, [vals.size - 1]))
    found: list[Finding] = []
    step_us = max(interval_s, 0) * 1_000_000
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        count = b - a + 1
        covered_us = int(ts[b] - ts[a]) + step_us
        value = float(vals[a])
        needed = _needed_s(value, metric, min_duration_s)
        if needed is None or count < min_readings or covered_us < needed * 1_000_000:
            continue
        start, end = from_us(int(ts[a])), from_us(int(ts[b]))
        hours = round(covered_us / 3.6e9, 1)
        found.append(
            coded(
                RULE,
                "finding.STUCK_VALUE",
                {"value": f"{value:g}", "count": count, "hours": hours}
                | {"start": start.isoformat(), "end": end.isoformat()},
                asset=asset,
                metric=metric.name,
                start=start,
                end=end,
                details={"value": value, "readings": count},
            )
        )
    return found
