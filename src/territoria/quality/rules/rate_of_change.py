"""RATE_OF_CHANGE: a value changing faster than the metric's maximum plausible rate."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from territoria.catalog.models import Metric
from territoria.db.base import from_us
from territoria.quality.rules._runs import consecutive_runs
from territoria.validation.model import Finding, Rule, coded

RULE = Rule("RATE_OF_CHANGE", "warning", "series")
US_PER_HOUR = 3_600_000_000


def rates_per_hour(ts_us: NDArray[np.int64], values: NDArray[np.float64]) -> NDArray[np.float64]:
    """|Δvalue| / Δt in units per hour between consecutive points (Δt > 0 by construction)."""
    dt_h = np.diff(np.asarray(ts_us, dtype=np.int64)) / US_PER_HOUR
    dv = np.abs(np.diff(np.asarray(values, dtype=np.float64)))
    return np.divide(dv, dt_h, out=np.zeros_like(dv), where=dt_h > 0)


def check(
    ts_us: NDArray[np.int64], values: NDArray[np.float64], *, metric: Metric, asset: str
) -> list[Finding]:
    """Runs of consecutive steps faster than metric.max_rate_per_h (nothing when it is not set)."""
    limit = metric.max_rate_per_h
    ts = np.asarray(ts_us, dtype=np.int64)
    if limit is None or limit <= 0 or ts.size < 2:
        return []
    rates = rates_per_hour(ts, values)
    steps = np.flatnonzero(rates > limit * (1 + 1e-9)).tolist()
    return [_finding(ts, rates, run, metric, asset, limit) for run in consecutive_runs(steps)]


def _finding(
    ts: NDArray[np.int64],
    rates: NDArray[np.float64],
    run: list[int],
    metric: Metric,
    asset: str,
    limit: float,
) -> Finding:
    """One finding for consecutive too-fast steps, from the first step's start to the last step's end."""
    fastest = float(rates[run].max())
    start, end = from_us(int(ts[run[0]])), from_us(int(ts[run[-1] + 1]))
    unit = "" if metric.unit in ("", "1") else f" {metric.unit}"
    return coded(
        RULE,
        "finding.RATE_OF_CHANGE",
        {"rate": f"{fastest:.4g}{unit}", "start": start.isoformat(), "end": end.isoformat()}
        | {"limit": f"{limit:g}{unit}"},
        asset=asset,
        metric=metric.name,
        start=start,
        end=end,
        details={"max_rate_per_h": fastest, "limit_per_h": limit, "steps": len(run)},
    )
