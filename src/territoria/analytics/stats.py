"""KPI statistics: input cleaning, bilingual number format, year-over-year change and correlation.

Trend and anomalies live in `stats_trend`, the seasonal profile in `stats_profile`; all three modules
are pure functions on numpy arrays that never raise on short or missing data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

# scipy ships no type information and stubs are not a project dependency: results are read as floats.
from scipy import stats as sps  # type: ignore[import-untyped]

from territoria import i18n

Lang: TypeAlias = str  # a language with a message catalog (see territoria.i18n.langs)
Strength: TypeAlias = Literal["none", "weak", "moderate", "strong"]
# Times: POSIX seconds, numpy datetime64, or datetime objects (naive ones are UTC, like the store).
Times: TypeAlias = ArrayLike | Sequence[datetime | date | None]
Values: TypeAlias = ArrayLike | Sequence[float | None]
Periods: TypeAlias = Sequence[date | datetime | np.datetime64 | str | None] | NDArray[np.datetime64]

MIN_CORRELATION_PAIRS = 3
_EPOCH = np.datetime64(0, "s")


def lang_of(lang: str) -> Lang:
    """The language of a summary, "fr" or "en"; a region suffix ("fr-FR", "en_GB") is accepted."""
    base = lang.strip().lower().replace("_", "-").split("-")[0]
    if base in i18n.langs():
        return base
    raise ValueError(f"unsupported language {lang!r}: expected one of {', '.join(i18n.langs())}")


def fmt_number(x: float, lang: Lang, *, signed: bool = False, digits: int = 3) -> str:
    """A number rounded to about `digits` significant digits, with the language's separators."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return ("-" if x < 0 else "+" if signed else "") + "∞"
    decimals = 0 if x == 0 else min(max(0, digits - 1 - math.floor(math.log10(abs(x)))), 12)
    text = i18n.significant(x, lang, decimals)
    if text == "-0":  # a tiny negative number rounded away
        text = "0"
    if signed and not text.startswith("-") and text != "0":
        text = "+" + text
    return text


def fmt_percent(fraction: float, lang: Lang, *, signed: bool = False) -> str:
    """A fraction as a percentage: "2.3%" in English, "2,3 %" (non-breaking space) in French."""
    number = fmt_number(fraction * 100.0, lang, signed=signed)
    return i18n.percent_sign(number, lang)


def fmt_p(p: float, lang: Lang) -> str:
    """A p-value as "p = 0.01", or "p < 0.001" below the precision worth reading."""
    if p < 0.001:
        return f"p < {fmt_number(0.001, lang)}"
    return f"p = {fmt_number(p, lang, digits=2)}"


def as_values(values: Values) -> NDArray[np.float64]:
    """Values as a 1-D float array; None, NaN and ±inf all become NaN (missing)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D series of values, got shape {arr.shape}")
    return np.where(np.isfinite(arr), arr, np.nan)


def posix_seconds(times: Times) -> NDArray[np.float64]:
    """Times as POSIX seconds (float); NaT, None and NaN become NaN."""
    arr = np.asarray(times)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D series of times, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.datetime64):
        return np.asarray((arr - _EPOCH) / np.timedelta64(1, "s"), dtype=np.float64)
    if arr.dtype == object:
        return np.array([_one_second(t) for t in arr], dtype=np.float64)
    return as_values(arr)


def _one_second(t: object) -> float:
    """POSIX seconds of one element of an object array."""
    if t is None:
        return math.nan
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
    if isinstance(t, date):
        return datetime(t.year, t.month, t.day, tzinfo=UTC).timestamp()
    if isinstance(t, np.datetime64):
        return float((t - _EPOCH) / np.timedelta64(1, "s"))
    if isinstance(t, int | float | np.integer | np.floating):
        return float(t)
    raise TypeError(f"cannot read {t!r} as a time")


def valid_points(
    times: Times, values: Values
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Seconds, values and input positions of the points where both are present, sorted by time."""
    secs, vals = posix_seconds(times), as_values(values)
    if secs.size != vals.size:
        raise ValueError(f"times and values differ in length ({secs.size} != {vals.size})")
    index = np.flatnonzero(np.isfinite(secs) & np.isfinite(vals))
    # A stable sort keeps equal timestamps in input order, so results do not depend on the sort.
    index = index[np.argsort(secs[index], kind="stable")]
    return secs[index], vals[index], index


def finite_or_none(x: float) -> float | None:
    """A float, or None where scipy answered NaN (undefined statistic)."""
    return float(x) if math.isfinite(x) else None


# -- Year over year ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YoY:
    """One period's value against the same period one year earlier."""

    period: date
    value: float | None
    previous: float | None
    change: float | None
    relative: float | None

    def summary(self, lang: str) -> str:
        """One sentence in French or English, e.g. "+5.2% on a year earlier (+12)"."""
        lg = lang_of(lang)
        if self.change is None:
            if self.value is None:
                return i18n.t("summary.yoy.no_value", lg)
            return i18n.t("summary.yoy.no_previous", lg)
        change = fmt_number(self.change, lg, signed=True)
        if self.relative is None:
            return i18n.t("summary.yoy.change", lg, change=change)
        relative = fmt_percent(self.relative, lg, signed=True)
        return i18n.t("summary.yoy.relative", lg, relative=relative, change=change)


def year_over_year(periods: Periods, values: Values) -> list[YoY]:
    """Change of each monthly or yearly period against the period that starts one year earlier.

    Periods are their start dates (datetimes are read in their own time zone, strings as ISO dates);
    a period that is None or NaT is left out. The result is sorted by period. `change` is None when
    either value is missing, `relative` also when the earlier value is zero.
    """
    starts = [_as_date(p) for p in periods]
    vals = as_values(values)
    if len(starts) != vals.size:
        raise ValueError(f"periods and values differ in length ({len(starts)} != {vals.size})")
    by_period: dict[date, float | None] = {}
    for start, value in zip(starts, vals.tolist(), strict=True):
        if start is None:
            continue
        if start in by_period:
            raise ValueError(f"period {start.isoformat()} appears twice")
        by_period[start] = value if math.isfinite(value) else None
    result = []
    for start in sorted(by_period):
        value, previous = by_period[start], by_period.get(_year_before(start))
        change = relative = None
        if value is not None and previous is not None:
            change = value - previous
            # Divide by |previous| so that a rise from -10 to -5 reads as +50 %, not -50 %.
            relative = change / abs(previous) if previous != 0 else None
        result.append(YoY(start, value, previous, change, relative))
    return result


def _as_date(p: date | datetime | np.datetime64 | str | None) -> date | None:
    """The calendar date of a period start, None for a missing one."""
    if p is None or (isinstance(p, np.datetime64) and np.isnat(p)):
        return None
    if isinstance(p, datetime):
        return p.date()
    if isinstance(p, date):
        return p
    if isinstance(p, np.datetime64):
        return date.fromisoformat(str(p.astype("datetime64[D]")))
    return date.fromisoformat(str(p)[:10])


def _year_before(d: date) -> date:
    """The same day one year earlier; 29 February maps to 28 February."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


# -- Correlation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correlation:
    """Pearson and Spearman correlation of two aligned series on the pairs where both are present."""

    n: int
    pearson_r: float | None
    pearson_p: float | None
    spearman_rho: float | None
    spearman_p: float | None
    strength: Strength | None

    @property
    def enough_data(self) -> bool:
        """Whether there were at least three complete pairs."""
        return self.n >= MIN_CORRELATION_PAIRS

    def summary(self, lang: str) -> str:
        """One sentence in French or English, e.g. "Strong positive correlation (r = 0.8, …)"."""
        lg = lang_of(lang)
        n = fmt_number(self.n, lg, digits=12)
        if not self.enough_data:
            return i18n.nt(
                "summary.corr.too_few",
                "summary.corr.too_few.plural",
                self.n,
                lg,
                n=n,
                min=MIN_CORRELATION_PAIRS,
            )
        if self.pearson_r is None or self.pearson_p is None or self.strength is None:
            return i18n.t("summary.corr.undefined", lg, n=n)
        figures = f"r = {fmt_number(self.pearson_r, lg, digits=2)}, {fmt_p(self.pearson_p, lg)}, n = {n}"
        if self.strength == "none":
            return i18n.t("summary.corr.none", lg, figures=figures)
        sign = "positive" if self.pearson_r > 0 else "negative"
        return i18n.t(f"summary.corr.{sign}.{self.strength}", lg, figures=figures)


def strength_of(r: float) -> Strength:
    """Plain-language strength of a correlation coefficient, from its absolute value."""
    size = abs(r)
    if size < 0.1:
        return "none"
    if size < 0.3:
        return "weak"
    if size < 0.5:
        return "moderate"
    return "strong"


def correlation(values_a: Values, values_b: Values) -> Correlation:
    """Pearson r and Spearman rho with p-values on the pairs of two aligned series where both are present.

    The strength label follows |Pearson r|. Fields are None with fewer than three pairs, or when a
    series is constant (a correlation is then undefined, not zero).
    """
    a, b = as_values(values_a), as_values(values_b)
    if a.size != b.size:
        raise ValueError(f"the two series differ in length ({a.size} != {b.size})")
    both = np.isfinite(a) & np.isfinite(b)
    a, b = a[both], b[both]
    n = int(a.size)
    if n < MIN_CORRELATION_PAIRS or np.ptp(a) == 0 or np.ptp(b) == 0:
        return Correlation(n, None, None, None, None, None)
    with warnings.catch_warnings():
        # Nearly constant input only warns; a NaN result is turned into None below.
        warnings.simplefilter("ignore", RuntimeWarning)
        pearson = sps.pearsonr(a, b)
        spearman = sps.spearmanr(a, b)
    r = finite_or_none(float(pearson.statistic))
    return Correlation(
        n=n,
        pearson_r=r,
        pearson_p=finite_or_none(float(pearson.pvalue)),
        spearman_rho=finite_or_none(float(spearman.statistic)),
        spearman_p=finite_or_none(float(spearman.pvalue)),
        strength=None if r is None else strength_of(r),
    )
