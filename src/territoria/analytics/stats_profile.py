"""Seasonal profile of a KPI: mean by local hour of day × day of week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from territoria import i18n
from territoria.analytics.stats import Times, Values, fmt_number, lang_of, valid_points

A = TypeVar("A", bound=np.ndarray[Any, Any])
# A day of hourly data: below that a profile says more about the sample than about the week.
MIN_PROFILE_POINTS = 24
DAY_SECONDS = 86_400.0
EPOCH_WEEKDAY = 3  # 1 January 1970 was a Thursday (Monday = 0)


@dataclass(frozen=True, eq=False)
class Profile:
    """Mean and count per (day of week, local hour) cell, plus hourly and weekday means.

    `mean` and `count` are 7 × 24 (Monday = 0 … Sunday = 6, hours 0–23 in local time), NaN and 0
    where a cell has no data; arrays are read-only. None everywhere when there is not enough data.
    """

    tz: str
    n: int
    mean: NDArray[np.float64] | None = None
    count: NDArray[np.int64] | None = None
    hourly_mean: NDArray[np.float64] | None = None
    weekday_mean: NDArray[np.float64] | None = None

    @property
    def enough_data(self) -> bool:
        """Whether the profile was computed (at least 24 points)."""
        return self.mean is not None

    def summary(self, lang: str) -> str:
        """One sentence in French or English: peak and trough hours, busiest day, local time zone."""
        lg = lang_of(lang)
        if self.hourly_mean is None or self.weekday_mean is None:
            n = fmt_number(self.n, lg, digits=12)
            return i18n.nt(
                "summary.too_few_points",
                "summary.too_few_points.plural",
                self.n,
                lg,
                n=n,
                min=MIN_PROFILE_POINTS,
            )
        # nanargmax picks the first of equal hours, so the sentence is deterministic.
        peak, low = int(np.nanargmax(self.hourly_mean)), int(np.nanargmin(self.hourly_mean))
        day = int(np.nanargmax(self.weekday_mean))
        peak_v, low_v = (fmt_number(float(self.hourly_mean[h]), lg) for h in (peak, low))
        return i18n.t(
            "summary.profile",
            lg,
            peak=peak,
            peak_v=peak_v,
            low=low,
            low_v=low_v,
            day=i18n.weekday_name(day, lg),
            tz=self.tz,
        )


def seasonal_profile(times: Times, values: Values, tz: str = "Europe/Paris") -> Profile:
    """Mean value by local hour of day × day of week, DST-aware in the territory's time zone.

    The hourly and weekday means pool all points of that hour or day (not the mean of cell means),
    so cells with more data weigh more.
    """
    zone = ZoneInfo(tz)
    secs, vals, _ = valid_points(times, values)
    n = int(vals.size)
    if n < MIN_PROFILE_POINTS:
        return Profile(tz, n)
    cell = _local_cells(secs, zone)
    count = np.bincount(cell, minlength=7 * 24).reshape(7, 24).astype(np.int64)
    total = np.bincount(cell, weights=vals, minlength=7 * 24).reshape(7, 24).astype(np.float64)
    return Profile(
        tz=tz,
        n=n,
        mean=_frozen(_ratio(total, count)),
        count=_frozen(count),
        hourly_mean=_frozen(_ratio(total.sum(axis=0), count.sum(axis=0))),
        weekday_mean=_frozen(_ratio(total.sum(axis=1), count.sum(axis=1))),
    )


def _local_cells(secs: NDArray[np.float64], zone: ZoneInfo) -> NDArray[np.intp]:
    """Cell number (weekday × 24 + local hour) of each time."""
    # The UTC offset changes with DST, and only on a whole minute (tz database), so zoneinfo is asked
    # once per distinct minute; the rest is arithmetic on local seconds.
    minutes, inverse = np.unique(np.floor(secs / 60.0), return_inverse=True)
    offsets = np.array([_offset_seconds(m * 60.0, zone) for m in minutes.tolist()], dtype=np.float64)
    local = secs + offsets[inverse.reshape(-1)]
    day = np.floor(local / DAY_SECONDS)
    hour = np.floor((local - day * DAY_SECONDS) / 3600.0)
    weekday = (day + EPOCH_WEEKDAY) % 7
    return (weekday * 24 + hour).astype(np.intp)


def _offset_seconds(sec: float, zone: ZoneInfo) -> float:
    """UTC offset of the zone at a POSIX time, in seconds."""
    offset = datetime.fromtimestamp(sec, UTC).astimezone(zone).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def _ratio(total: NDArray[np.float64], count: NDArray[np.int64]) -> NDArray[np.float64]:
    """total / count, NaN where count is 0."""
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def _frozen(arr: A) -> A:
    """The array made read-only, so a frozen Profile cannot be changed through it."""
    arr.flags.writeable = False
    return arr
