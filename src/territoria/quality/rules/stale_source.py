"""STALE_SOURCE: a series or a whole dataset whose latest data is too old at run time."""

from __future__ import annotations

from territoria.db.base import from_us
from territoria.validation.model import Finding, Rule, coded

RULE = Rule("STALE_SOURCE", "warning", "dataset")
# Late by this many reporting intervals: a missed reading or two is a gap, this many is a silent source.
MAX_DELAY_INTERVALS = 4


def is_stale(latest_us: int | None, now_us: int, interval_s: int, k: int = MAX_DELAY_INTERVALS) -> bool:
    """Whether data last seen at latest_us is older than k reporting intervals at now_us."""
    return latest_us is not None and interval_s > 0 and now_us - latest_us > k * interval_s * 1_000_000


def check(
    latest_us: int | None,
    *,
    now_us: int,
    interval_s: int,
    dataset: str,
    asset: str | None = None,
    metric: str | None = None,
    k: int = MAX_DELAY_INTERVALS,
) -> Finding | None:
    """A finding when the latest data (of a series when asset is given, else of the dataset) is stale."""
    if latest_us is None or not is_stale(latest_us, now_us, interval_s, k):
        return None
    latest = from_us(latest_us)
    hours = round((now_us - latest_us) / 3.6e9, 1)
    what = {"asset": asset, "metric": metric} if asset else {"dataset": dataset}
    return coded(
        RULE,
        "finding.STALE_SOURCE.series" if asset else "finding.STALE_SOURCE.dataset",
        {**what, "since": latest.isoformat(), "hours": hours, "interval": interval_s},
        asset=asset,
        metric=metric,
        start=latest,
        end=from_us(now_us),
        details={"delay_s": (now_us - latest_us) // 1_000_000, "interval_s": interval_s},
    )
