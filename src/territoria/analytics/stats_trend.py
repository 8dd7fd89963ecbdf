"""KPI trend (Theil–Sen slope, Mann–Kendall test) and anomalies (robust z-score of residuals)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

# scipy ships no type information and stubs are not a project dependency: results are read as floats.
from scipy import stats as sps  # type: ignore[import-untyped]

from territoria import i18n
from territoria.analytics.stats import (
    Times,
    Values,
    finite_or_none,
    fmt_number,
    fmt_p,
    fmt_percent,
    lang_of,
    valid_points,
)

Direction: TypeAlias = Literal["increasing", "decreasing", "no significant trend"]
MIN_TREND_POINTS = 8
DAY_SECONDS = 86_400.0
YEAR_DAYS = 365.25
# 0.6745 (x - median) / MAD is comparable to a standard score for normal noise.
MAD_SCALE = 0.6745
# Edge lines are fitted on one window: five points is the least where one spike cannot tilt them.
MIN_WINDOW = 5
# Up to this many points scipy holds all n² / 2 slopes (several copies); beyond, an hourly year would
# need gigabytes, so slopes are streamed in blocks of BLOCK_PAIRS and ranked against a sample.
MAX_DIRECT_POINTS = 1500
BLOCK_PAIRS = 2_000_000
SAMPLE_PAIRS = 200_000
DEFAULT_TZ = "Europe/Paris"


@dataclass(frozen=True, slots=True)
class Trend:
    """Theil–Sen slope with its confidence interval and the Mann–Kendall test of a series."""

    n: int
    alpha: float
    slope_per_day: float | None = None
    slope_per_year: float | None = None
    ci_per_day: tuple[float, float] | None = None
    ci_per_year: tuple[float, float] | None = None
    # Median of the values: the Theil–Sen line's value at the median time, the base of the % change.
    level: float | None = None
    relative_per_year: float | None = None
    tau: float | None = None
    p_value: float | None = None
    significant: bool = False
    direction: Direction = "no significant trend"

    @property
    def enough_data(self) -> bool:
        """Whether a trend could be estimated (at least 8 points at two distinct times or more)."""
        return self.slope_per_day is not None

    def summary(self, lang: str, unit: str = "") -> str:
        """One sentence in French or English, e.g. "Significant increase of 2.3% per year (p = 0.01)"."""
        lg = lang_of(lang)
        if self.slope_per_year is None or self.p_value is None:
            if self.n >= MIN_TREND_POINTS:
                return i18n.t("summary.trend.one_date", lg)
            n = fmt_number(self.n, lg, digits=12)
            return i18n.nt(
                "summary.too_few_points",
                "summary.too_few_points.plural",
                self.n,
                lg,
                n=n,
                min=MIN_TREND_POINTS,
            )
        p = fmt_p(self.p_value, lg)
        if self.direction == "no significant trend":
            return i18n.t("summary.trend.none", lg, p=p)
        if self.relative_per_year is not None:
            size = fmt_percent(abs(self.relative_per_year), lg)
        else:
            size = fmt_number(abs(self.slope_per_year), lg)
            if unit:
                size = i18n.t("fmt.quantity", lg, value=size, unit=unit)
        return i18n.t(f"summary.trend.{self.direction}", lg, size=size, p=p)


def trend(times: Times, values: Values, *, alpha: float = 0.05) -> Trend:
    """Theil–Sen slope per day and per year, its (1 − alpha) interval, and the Mann–Kendall test.

    Times are POSIX seconds, numpy datetime64 or datetimes; points with a missing time or value are
    left out. Mann–Kendall is Kendall's tau of the values against time (tie-corrected tau-b, exact
    p-value for small series without ties). Fewer than 8 points: a result with None figures.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    secs, vals, _ = valid_points(times, values)
    n = int(vals.size)
    if n < MIN_TREND_POINTS or np.ptp(secs) == 0:
        return Trend(n, alpha)
    # Days since the first point: slopes come out per day, and the intercept stays precise.
    days = (secs - secs[0]) / DAY_SECONDS
    level = float(np.median(vals))
    if np.ptp(vals) == 0:
        # Kendall's tau is undefined on a constant series; a flat line is the "no trend" answer.
        slope, low, high, tau, p = 0.0, 0.0, 0.0, 0.0, 1.0
    else:
        slope, low, high = theil_sen(days, vals, alpha)
        kendall = sps.kendalltau(days, vals)
        tau, p = float(kendall.statistic), float(kendall.pvalue)
    significant = math.isfinite(p) and p < alpha
    # The direction follows the test that decided significance, not the slope (which can be 0 on ties).
    direction: Direction = "no significant trend"
    if significant:
        direction = "increasing" if tau > 0 else "decreasing"
    ci = (low, high) if math.isfinite(low) and math.isfinite(high) else None
    return Trend(
        n=n,
        alpha=alpha,
        slope_per_day=slope,
        slope_per_year=slope * YEAR_DAYS,
        ci_per_day=ci,
        ci_per_year=None if ci is None else (ci[0] * YEAR_DAYS, ci[1] * YEAR_DAYS),
        level=level,
        relative_per_year=slope * YEAR_DAYS / abs(level) if level != 0 else None,
        tau=finite_or_none(tau),
        p_value=finite_or_none(p),
        significant=significant,
        direction=direction,
    )


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A point far from its expected value: input position, time (UTC), value, expected value, score."""

    index: int
    time: datetime
    value: float
    expected: float
    score: float
    direction: Literal["high", "low"]

    def summary(self, lang: str, tz: str = DEFAULT_TZ, unit: str = "") -> str:
        """One sentence in French or English, with the time in the territory's local time."""
        lg = lang_of(lang)
        local = self.time.astimezone(ZoneInfo(tz))
        value, expected = fmt_number(self.value, lg), fmt_number(self.expected, lg)
        if unit:
            value = i18n.t("fmt.quantity", lg, value=value, unit=unit)
            expected = i18n.t("fmt.quantity", lg, value=expected, unit=unit)
        score = fmt_number(self.score, lg, digits=2)
        when = i18n.date_time(local, lg)
        return i18n.t(
            f"summary.anomaly.{self.direction}", lg, when=when, value=value, expected=expected, score=score
        )


def anomalies(times: Times, values: Values, *, threshold: float = 3.5, window: int = 7) -> list[Anomaly]:
    """Points whose residual from a centred rolling median has a robust z-score above the threshold.

    The expected value is the median of the `window` points centred on each point; where no centred
    window fits (the first and last window // 2 points) it is the Theil–Sen line of the first or last
    `window` points, so a steady trend does not make the latest point look anomalous. The score is
    0.6745 × |r − median(r)| / MAD over the residuals r. Fewer than `window` points: no anomalies.
    """
    if window < MIN_WINDOW or window % 2 == 0:
        raise ValueError(f"window must be an odd number of at least {MIN_WINDOW} points, got {window}")
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    secs, vals, index = valid_points(times, values)
    if vals.size < window:
        return []
    windows = sliding_window_view(vals, window)  # the centred windows, of points half … n - half - 1
    expected = _expected(secs, vals, windows)
    # Rounding (in the edge lines) must not pass for a departure from a perfectly regular series.
    tiny = 1e-9 * max(float(np.max(np.abs(vals))), 1.0)
    deviation = _zeroed(vals - expected, tiny)
    deviation = _zeroed(deviation - np.median(deviation), tiny)
    mad = _noise_mad(vals, windows, tiny)
    # MAD = 0: more than half the points sit exactly on their neighbours' median, so any other residual
    # is infinitely far on the robust scale; a perfectly regular meter that suddenly jumps is exactly
    # what should show. An infinite score (shown as ∞) is honest where a finite one would be invented.
    score = MAD_SCALE * np.abs(deviation) / mad if mad > 0 else np.where(deviation == 0, 0.0, np.inf)
    return [
        Anomaly(
            index=int(index[i]),
            time=datetime.fromtimestamp(float(secs[i]), UTC),
            value=float(vals[i]),
            expected=float(expected[i]),
            score=float(score[i]),
            direction="high" if deviation[i] > 0 else "low",
        )
        for i in np.flatnonzero(score > threshold)
    ]


def _zeroed(a: NDArray[np.float64], tiny: float) -> NDArray[np.float64]:
    """The array with values within ±tiny set to exactly 0."""
    return np.where(np.abs(a) <= tiny, 0.0, a)


def _expected(
    secs: NDArray[np.float64], vals: NDArray[np.float64], windows: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Median of each centred window, and the Theil–Sen lines of the first and last windows at the ends."""
    n, width = vals.size, windows.shape[1]
    half = width // 2
    expected = np.empty(n)
    expected[half : n - half] = np.median(windows, axis=1)
    head, tail = slice(0, width), slice(n - width, n)
    expected[:half] = _line_at(secs[head], vals[head], secs[:half])
    expected[n - half :] = _line_at(secs[tail], vals[tail], secs[n - half :])
    return expected


def _noise_mad(vals: NDArray[np.float64], windows: NDArray[np.float64], tiny: float) -> float:
    """MAD of each point's distance to the median of the other points of its window."""
    # Not the MAD of the residuals: on any smooth stretch a point is the median of its own window, so
    # most residuals are exactly 0 and their MAD would collapse to 0, flagging every small wiggle.
    # Leaving the point out measures the noise honestly, and steps still give residuals of 0.
    # Points near the ends use the first or last full window, so a spike there cannot halve the sample.
    n, width = vals.size, windows.shape[1]
    position = np.arange(n)
    start = np.clip(position - width // 2, 0, n - width)
    others = windows[start].copy()
    others[position, position - start] = np.nan
    loo = _zeroed(vals - np.nanmedian(others, axis=1), tiny)
    return float(np.median(np.abs(loo - np.median(loo))))


def _line_at(x: NDArray[np.float64], y: NDArray[np.float64], at: NDArray[np.float64]) -> NDArray[np.float64]:
    """The Theil–Sen line of (x, y) evaluated at `at`; the median of y when x or y is constant."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.full(at.size, float(np.median(y)))
    slope = theil_sen(x - x[0], y, 0.05)[0]
    # Theil–Sen's intercept: the line goes through (median x, median y).
    return np.asarray(float(np.median(y)) + slope * (at - float(np.median(x))), dtype=np.float64)


def theil_sen(x: NDArray[np.float64], y: NDArray[np.float64], alpha: float) -> tuple[float, float, float]:
    """Theil–Sen slope and its (1 − alpha) interval, exactly as scipy.stats.theilslopes, in bounded memory.

    `x` must be sorted and not constant. Small series go to scipy; large ones stream their slopes.
    """
    if x.size <= MAX_DIRECT_POINTS:
        theil = sps.theilslopes(y, x, alpha=1 - alpha)  # scipy's alpha is the confidence level
        return float(theil.slope), float(theil.low_slope), float(theil.high_slope)
    total = _pairs(x)
    middle = [(total - 1) // 2, total // 2]  # one rank when the count is odd, two to average when even
    # Sen (1968), eq. 2.6, with scipy's rounding, so both paths give the same interval.
    z = float(sps.norm.ppf(alpha / 2))
    var = (x.size * (x.size - 1) * (2 * x.size + 5) - _tie_term(x) - _tie_term(y)) / 18.0
    sigma = math.sqrt(max(var, 0.0))
    upper = min(int(np.round((total - z * sigma) / 2.0)), total - 1)
    lower = max(int(np.round((total + z * sigma) / 2.0)) - 1, 0)
    med_a, med_b, low, high = _ranked_slopes(x, y, [*middle, lower, upper], total)
    return (med_a + med_b) / 2.0, low, high


def _pairs(x: NDArray[np.float64]) -> int:
    """Number of pairs of points at different times."""
    counts = np.unique(x, return_counts=True)[1].astype(np.int64)
    return int((x.size * (x.size - 1) - np.sum(counts * (counts - 1))) // 2)


def _tie_term(a: NDArray[np.float64]) -> int:
    """Σ t(t − 1)(2t + 5) over groups of equal values (the tie correction of Kendall's variance)."""
    t = np.unique(a, return_counts=True)[1].astype(np.int64)
    return int(np.sum(t * (t - 1) * (2 * t + 5)))


def _block_slopes(x: NDArray[np.float64], y: NDArray[np.float64]) -> Iterator[NDArray[np.float64]]:
    """All pairwise slopes (later minus earlier point), a block of rows at a time."""
    rows = max(1, BLOCK_PAIRS // x.size)
    for start in range(0, x.size - 1, rows):
        dx = x[None, :] - x[start : start + rows, None]
        dy = y[None, :] - y[start : start + rows, None]
        keep = dx > 0  # x is sorted: this is each pair once, equal times left out like scipy does
        yield dy[keep] / dx[keep]


def _ranked_slopes(
    x: NDArray[np.float64], y: NDArray[np.float64], ranks: list[int], total: int
) -> list[float]:
    """The slopes of the given ranks (0-based, ascending order) among all `total` pairwise slopes."""
    # A fixed-seed sample of pairs brackets the wanted ranks; one pass then counts the slopes below the
    # bracket and keeps those inside, so only a few percent of them are ever held. The sample only
    # narrows the search: the answer is exact, and a missed bracket widens to the whole line.
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, x.size, SAMPLE_PAIRS), rng.integers(0, x.size, SAMPLE_PAIRS)
    i, j = np.minimum(i, j), np.maximum(i, j)
    ok = x[j] > x[i]
    sample = np.sort((y[j][ok] - y[i][ok]) / (x[j][ok] - x[i][ok]))
    margin = 10 * math.isqrt(sample.size) + 10
    first = math.floor(min(ranks) / total * sample.size) - margin
    last = math.ceil(max(ranks) / total * sample.size) + margin
    lo = float(sample[first]) if first > 0 else -math.inf
    hi = float(sample[last]) if last < sample.size - 1 else math.inf
    while True:
        below, kept = 0, []
        for block in _block_slopes(x, y):
            below += int(np.count_nonzero(block < lo))
            kept.append(block[(block >= lo) & (block <= hi)])
        inside = np.sort(np.concatenate(kept))
        if below <= min(ranks) and max(ranks) < below + inside.size:
            return [float(inside[r - below]) for r in ranks]
        lo = -math.inf if below > min(ranks) else lo
        hi = math.inf if max(ranks) >= below + inside.size else hi
