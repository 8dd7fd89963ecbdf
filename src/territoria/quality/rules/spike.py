"""SPIKE: an isolated value far from its neighbours (robust z-score on the median absolute deviation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from territoria.catalog.models import Metric
from territoria.db.base import from_us
from territoria.quality.rules._runs import consecutive_runs
from territoria.validation.model import Finding, Rule, coded

RULE = Rule("SPIKE", "warning", "series")
THRESHOLD = 6.0
# Neighbours on each side: a centred window follows day/night steps, so a step is never a spike.
HALF_WINDOW = 12
# z = 0.6745 (x - median) / MAD is comparable to a standard score for normal noise.
MAD_SCALE = 0.6745
# Deviations under this share of the valid range are not data faults, however tiny the noise is.
MIN_DEVIATION_SHARE = 0.02
MIN_POINTS = 5


@dataclass(frozen=True)
class Scores:
    """Rolling median, MAD, robust z-score and whether each point had context on both sides."""

    median: NDArray[np.float64]
    mad: NDArray[np.float64]
    z: NDArray[np.float64]
    centred: NDArray[np.bool_]
    windows: NDArray[np.float64]
    offset: NDArray[np.int64]


def scores(values: NDArray[np.float64], half_window: int = HALF_WINDOW) -> Scores:
    """Robust z-score of every point against the window of its 2 × half_window nearest neighbours.

    Where a window's MAD is 0 (a flat stretch: off at night, no flow), a centred point is scaled by
    the series' typical MAD instead; an edge point gets no score there (ignored).
    """
    vals = np.asarray(values, dtype=np.float64)
    n = vals.size
    width = min(2 * half_window + 1, n)
    half = width // 2
    index = np.arange(n)
    start = np.clip(index - half, 0, n - width)
    windows = sliding_window_view(vals, width)[start]
    median = np.median(windows, axis=1)
    mad = np.median(np.abs(windows - median[:, None]), axis=1)
    centred = (start == index - half) & (width == 2 * half_window + 1)
    typical = mad[(mad > 0) & centred]
    if typical.size == 0:
        typical = mad[mad > 0]
    floor = float(np.median(typical)) if typical.size else 0.0
    scale = np.where(mad > 0, mad, np.where(centred, floor, 0.0))
    z = np.zeros(n)
    ok = scale > 0
    z[ok] = MAD_SCALE * (vals[ok] - median[ok]) / scale[ok]
    return Scores(median, mad, z, centred, windows, index - start)


def _isolated(s: Scores, i: int, value: float) -> bool:
    """Whether no other value of the window is nearer to value than half its deviation (edge points).

    A level change at the edge of the data has company on its side; a spike stands alone.
    """
    others = np.delete(s.windows[i], int(s.offset[i]))
    nearest = float(np.min(np.abs(others - value))) if others.size else 0.0
    return nearest >= 0.5 * abs(value - float(s.median[i]))


def _record(value: float, top: NDArray[np.float64], bottom: NDArray[np.float64]) -> bool:
    """Whether value is the series' unique maximum or unique minimum (top/bottom: two extremes)."""
    high, second = float(top[1]), float(top[0])
    low, next_low = float(bottom[0]), float(bottom[1])
    return (value == high and value > second) or (value == low and value < next_low)


def check(
    ts_us: NDArray[np.int64],
    values: NDArray[np.float64],
    *,
    metric: Metric,
    asset: str,
    threshold: float = THRESHOLD,
    half_window: int = HALF_WINDOW,
) -> list[Finding]:
    """Points whose robust z-score reaches `threshold`, consecutive ones reported together.

    An edge point (fewer than half_window neighbours on one side) must also stand alone in its window:
    until later data arrives, a level change there looks like a spike.
    """
    ts = np.asarray(ts_us, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    if vals.size < MIN_POINTS:
        return []
    s = scores(vals, half_window)
    min_dev = 0.0
    if metric.min_value is not None and metric.max_value is not None:
        min_dev = MIN_DEVIATION_SHARE * (metric.max_value - metric.min_value)
    hit = (np.abs(s.z) >= threshold) & (np.abs(vals - s.median) >= min_dev)
    # In a flat window the scale is borrowed from the rest of the series, so a point there must also be
    # a record of the series (a charging session among idle hours is not; a 2 kW light at noon is).
    top, bottom = np.sort(vals)[[-2, -1]], np.sort(vals)[[0, 1]]
    flagged = [
        i
        for i in np.flatnonzero(hit).tolist()
        if (s.centred[i] or _isolated(s, i, float(vals[i])))
        and (s.mad[i] > 0 or _record(float(vals[i]), top, bottom))
    ]
    return [_spike(ts, vals, s, run, metric, asset) for run in consecutive_runs(flagged)]


def _spike(
    ts: NDArray[np.int64], vals: NDArray[np.float64], s: Scores, run: list[int], metric: Metric, asset: str
) -> Finding:
    """The finding of consecutive spiking points, described by the most extreme one."""
    peak = max(run, key=lambda i: abs(float(s.z[i])))
    value, median, z = float(vals[peak]), float(s.median[peak]), float(s.z[peak])
    when = from_us(int(ts[peak]))
    unit = "" if metric.unit in ("", "1") else f" {metric.unit}"
    return coded(
        RULE,
        "finding.SPIKE",
        # z is a float: each language writes it with one decimal, as it writes numbers.
        {
            "value": f"{value:g}{unit}",
            "ts": when.isoformat(),
            "median": f"{median:g}{unit}",
            "z": round(z, 1),
        },
        asset=asset,
        metric=metric.name,
        start=from_us(int(ts[run[0]])),
        end=from_us(int(ts[run[-1]])),
        details={"value": value, "median": median, "z": round(z, 2), "points": len(run)},
    )
