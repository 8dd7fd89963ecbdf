"""GAP: a series that stays silent for several expected readings in a row."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from territoria.db.base import from_us
from territoria.validation.model import Finding, Rule, coded

RULE = Rule("GAP", "warning", "series")
# One lost reading is noise on a radio link; two or more in a row is an outage worth a look.
MIN_MISSING = 2


def _gap(asset: str, metric: str, start_us: int, end_us: int, missing: int, *, open_end: bool) -> Finding:
    """The finding of one silent span [start, end]."""
    start, end = from_us(start_us), from_us(end_us)
    hours = round((end_us - start_us) / 3.6e9, 1)
    return coded(
        RULE,
        "finding.GAP.open" if open_end else "finding.GAP",
        {"hours": hours, "start": start.isoformat(), "end": end.isoformat(), "missing": missing},
        asset=asset,
        metric=metric,
        start=start,
        end=end,
        details={"missing": missing, "open": open_end, "silent_s": (end_us - start_us) // 1_000_000},
    )


def check(
    ts_us: NDArray[np.int64],
    *,
    interval_s: int,
    asset: str,
    metric: str,
    since_us: int | None = None,
    until_us: int | None = None,
    min_missing: int = MIN_MISSING,
) -> list[Finding]:
    """Silent spans of at least `min_missing` expected readings, between points and at both ends.

    `since_us` / `until_us` are when the series should already / still have reported (the first and
    latest data of its dataset): a series starting late or stopping early has a gap at that end.
    """
    if interval_s <= 0:
        return []
    step = interval_s * 1_000_000
    ts = np.asarray(ts_us, dtype=np.int64)
    found: list[Finding] = []
    if ts.size == 0:
        if since_us is not None and until_us is not None:
            missing = int(round((until_us - since_us) / step)) + 1
            if missing >= min_missing:
                found.append(_gap(asset, metric, since_us, until_us, missing, open_end=True))
        return found
    if since_us is not None:
        missing = int(round((int(ts[0]) - since_us) / step))
        if missing >= min_missing:
            found.append(_gap(asset, metric, since_us, int(ts[0]), missing, open_end=False))
    missing_between = np.rint(np.diff(ts) / step).astype(np.int64) - 1
    for i in np.flatnonzero(missing_between >= min_missing).tolist():
        found.append(_gap(asset, metric, int(ts[i]), int(ts[i + 1]), int(missing_between[i]), open_end=False))
    if until_us is not None:
        missing = int(round((until_us - int(ts[-1])) / step))
        if missing >= min_missing:
            found.append(_gap(asset, metric, int(ts[-1]), until_us, missing, open_end=True))
    return found
