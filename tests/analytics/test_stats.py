"""KPI statistics against hand-computed values on small fixtures."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from territoria.analytics.stats import (
    correlation,
    fmt_number,
    fmt_p,
    fmt_percent,
    posix_seconds,
    year_over_year,
)
from territoria.analytics.stats_profile import seasonal_profile
from territoria.analytics.stats_trend import YEAR_DAYS, anomalies, trend

NBSP = "\u00a0"  # French: before a unit or the percent sign
NNBSP = "\u202f"  # French: between digit groups (CLDR), as every number of the platform

DAY = 86_400.0
T0 = 1_704_067_200.0  # 2024-01-01T00:00:00Z


def days(n: int) -> np.ndarray:
    """POSIX seconds of n consecutive days from T0."""
    return T0 + DAY * np.arange(n)


# -- trend ------------------------------------------------------------------------------------------

# x = 0..7 (days), y = 1 3 2 5 4 7 6 9. The 28 pairwise slopes (y_j - y_i) / (j - i):
#   lag 1: 2 -1 3 -1 3 -1 3        lag 2: 1/2 1 1 1 1 1         lag 3: 4/3 1/3 5/3 1/3 5/3
#   lag 4: 3/4 1 1 1               lag 5: 6/5 3/5 7/5           lag 6: 5/6 1      lag 7: 8/7
# sorted: -1 -1 -1 1/3 1/3 1/2 3/5 3/4 5/6 | 1 (×9, ranks 10-18) | 8/7 6/5 4/3 7/5 5/3 5/3 2 3 3 3
# the median (mean of ranks 14 and 15) is 1 per day.
# Mann–Kendall: 25 positive and 3 negative slopes, S = 22, tau = 22 / 28; S = 22 means 3 inversions,
# and permutations of 8 with at most 3 inversions number 1 + 7 + 27 + 76 = 111 (Mahonian numbers),
# so the exact two-sided p-value is 2 × 111 / 8! = 222 / 40320.
ZIGZAG = [1, 3, 2, 5, 4, 7, 6, 9]


def test_trend_theil_sen_and_mann_kendall_by_hand() -> None:
    t = trend(days(8), ZIGZAG)
    assert t.enough_data and t.n == 8
    assert t.slope_per_day == pytest.approx(1.0)
    assert t.slope_per_year == pytest.approx(YEAR_DAYS)
    assert t.tau == pytest.approx(22 / 28)
    assert t.p_value == pytest.approx(222 / 40320)
    assert t.significant and t.direction == "increasing"
    assert t.ci_per_day is not None and t.ci_per_day[0] <= 1.0 <= t.ci_per_day[1]
    assert t.ci_per_year == pytest.approx((t.ci_per_day[0] * YEAR_DAYS, t.ci_per_day[1] * YEAR_DAYS))
    # level = median of 1 2 3 4 5 6 7 9 = 4.5, so the relative change is 365.25 / 4.5 per year
    assert t.level == 4.5
    assert t.relative_per_year == pytest.approx(YEAR_DAYS / 4.5)


def test_trend_accepts_datetime64_and_datetimes() -> None:
    stamps = np.datetime64("2024-01-01") + np.arange(8) * np.timedelta64(1, "D")
    assert trend(stamps, ZIGZAG).slope_per_day == pytest.approx(1.0)
    aware = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in range(8)]
    assert trend(aware, ZIGZAG).slope_per_day == pytest.approx(1.0)
    hourly = T0 + 3600.0 * np.arange(8)  # the same rise per hour is 24 per day
    assert trend(hourly, ZIGZAG).slope_per_day == pytest.approx(24.0)


def test_trend_linear_series_exact_slope_and_significant_decrease() -> None:
    # 10 points strictly decreasing: every pair discordant, exact p = 2 / 10!
    t = trend(days(10), 50.0 - 0.5 * np.arange(10))
    assert t.slope_per_day == pytest.approx(-0.5)
    assert t.ci_per_day == pytest.approx((-0.5, -0.5))
    assert t.tau == pytest.approx(-1.0)
    assert t.p_value is not None and t.p_value < 0.01
    assert t.p_value == pytest.approx(2 / math.factorial(10))
    assert t.direction == "decreasing"


def test_trend_constant_series() -> None:
    t = trend(days(12), [7.0] * 12)
    assert t.enough_data
    assert t.slope_per_day == 0.0 and t.slope_per_year == 0.0
    assert t.p_value == 1.0 and not t.significant
    assert t.direction == "no significant trend"
    assert t.summary("en") == "No significant trend (p = 1)"
    assert t.summary("fr") == "Pas de tendance significative (p = 1)"


def test_trend_noise_is_not_significant() -> None:
    # 1 3 2 3 1 2 1 3 2 has as many rising as falling pairs around no slope
    t = trend(days(9), [1, 3, 2, 3, 1, 2, 1, 3, 2])
    assert not t.significant and t.direction == "no significant trend"


def test_trend_skips_missing_points() -> None:
    times = np.concatenate([days(8), [T0 + 100 * DAY, np.nan]])
    values = [*ZIGZAG, None, 4.0]  # a missing value, then a missing time
    t = trend(times, values)
    assert t.n == 8 and t.slope_per_day == pytest.approx(1.0)
    nat = np.array(["2024-01-01", "NaT"], dtype="datetime64[s]")
    assert np.isnan(posix_seconds(nat)[1])


def test_trend_short_series_never_raises() -> None:
    for n in (0, 1, 7):
        t = trend(days(n), np.arange(float(n)))
        assert not t.enough_data and t.n == n
        assert t.slope_per_day is None and t.p_value is None and t.ci_per_year is None
        assert t.direction == "no significant trend" and not t.significant
    assert trend(days(7), range(7)).summary("en") == "Not enough data (7 points, at least 8 needed)"
    assert trend(days(7), range(7)).summary("fr") == "Pas assez de données (7 points, 8 au minimum)"
    same_time = trend([T0] * 9, range(9))
    assert not same_time.enough_data and same_time.summary("en") == "Not enough data (one date only)"
    with_nans = trend(days(10), [1, 2, np.nan, 4, np.nan, 6, 7, np.inf, 9, 10])
    assert with_nans.n == 7 and not with_nans.enough_data


def test_trend_summary_in_both_languages() -> None:
    # level 100 at the median time (symmetric series), rising 2.3 a year: +2.3 % per year
    x = np.arange(10) - 4.5
    t = trend(days(10), 100.0 + 2.3 / YEAR_DAYS * x)
    assert t.relative_per_year == pytest.approx(0.023)
    assert t.summary("en") == "Significant increase of 2.3% per year (p < 0.001)"
    assert t.summary("fr") == f"Hausse significative de 2,3{NBSP}% par an (p < 0,001)"
    # around zero there is no base for a percentage: the absolute slope and its unit are shown
    falling = trend(days(10), -1.5 / YEAR_DAYS * x)
    assert falling.relative_per_year is None
    assert falling.summary("en", unit="kWh") == "Significant decrease of 1.5 kWh per year (p < 0.001)"
    assert falling.summary("fr-FR", unit="kWh") == f"Baisse significative de 1,5{NBSP}kWh par an (p < 0,001)"
    with pytest.raises(ValueError, match="unsupported language"):
        t.summary("de")


def test_number_format() -> None:
    assert fmt_p(0.01, "en") == "p = 0.01" and fmt_p(0.01, "fr") == "p = 0,01"
    assert fmt_p(0.01234, "en") == "p = 0.012" and fmt_p(0.0004, "fr") == "p < 0,001"
    assert fmt_percent(0.023, "fr") == f"2,3{NBSP}%" and fmt_percent(-0.5, "en", signed=True) == "-50%"
    assert fmt_number(12345.6, "en") == "12,346" and fmt_number(12345.6, "fr") == f"12{NNBSP}346"
    assert fmt_number(0.0, "en", signed=True) == "0" and fmt_number(-1e-9, "en", digits=2) == "-0.000000001"
    assert fmt_number(-1e-15, "en") == "0" and fmt_number(math.inf, "en") == "∞"


# -- year over year ---------------------------------------------------------------------------------


def test_year_over_year_24_months() -> None:
    months = [date(2023 + m // 12, m % 12 + 1, 1) for m in range(24)]
    values: list[float | None] = [100.0 + m for m in range(12)] + [110.0 + 2 * m for m in range(12)]
    values[2] = 0.0  # March 2023 is zero: March 2024 has a change but no relative change
    values[4] = None  # May 2023 is missing
    values[19] = math.nan  # August 2024 is missing
    rows = year_over_year(months[::-1], values[::-1])  # any input order, sorted output
    assert [r.period for r in rows] == months
    assert all(r.previous is None and r.change is None and r.relative is None for r in rows[:12])
    jan, mar, may, jun, aug, dec = (rows[12 + m] for m in (0, 2, 4, 5, 7, 11))
    assert (jan.value, jan.previous, jan.change) == (110.0, 100.0, 10.0)
    assert jan.relative == pytest.approx(0.10)  # 10 / 100
    assert (mar.value, mar.previous, mar.change, mar.relative) == (114.0, 0.0, 114.0, None)
    assert (may.previous, may.change, may.relative) == (None, None, None)
    assert jun.change == 120.0 - 105.0 and jun.relative == pytest.approx(15 / 105)
    assert (aug.value, aug.change) == (None, None)
    assert dec.change == 132.0 - 111.0
    assert jan.summary("en") == "+10% on a year earlier (+10)"
    assert jan.summary("fr") == f"+10{NBSP}% sur un an (+10)"
    assert mar.summary("en") == "+114 on a year earlier"
    assert (
        may.summary("fr") == "Pas de valeur un an plus tôt"
        and aug.summary("en") == "No value for this period"
    )


def test_year_over_year_yearly_and_negative_base() -> None:
    rows = year_over_year(
        ["2022-01-01", "2023-01-01T00:00:00+01:00", np.datetime64("2024-01-01")], [-10, -5, -5]
    )
    assert rows[1].change == 5.0 and rows[1].relative == pytest.approx(0.5)  # from -10 to -5 is up 50 %
    assert rows[2].change == 0.0 and rows[2].relative == 0.0
    assert year_over_year([], []) == []
    monthly = np.array(["2023-01", "NaT", "2024-01"], dtype="datetime64[M]")
    rows = year_over_year(monthly, [4, 99, 5])  # a missing period is left out with its value
    assert [(r.period, r.change) for r in rows] == [(date(2023, 1, 1), None), (date(2024, 1, 1), 1.0)]
    assert year_over_year([date(2024, 2, 29), date(2025, 2, 28)], [1, 2])[1].change is None
    with pytest.raises(ValueError, match="twice"):
        year_over_year([date(2024, 1, 1), date(2024, 1, 1)], [1, 2])


# -- seasonal profile -------------------------------------------------------------------------------


def test_profile_local_time_across_spring_dst_change() -> None:
    # Paris switches to summer time on Sunday 31 March 2024 at 01:00 UTC (02:00 local becomes 03:00).
    # Hourly points from 2024-03-30T23:00Z = Sunday 00:00 local; value = the local hour, by hand:
    # Sunday 0 1 3 4 … 23 (23 points, no 2 o'clock), then Monday 0 … 23 (24 points, UTC+2).
    start = datetime(2024, 3, 30, 23, tzinfo=UTC).timestamp()
    values = [0, 1, *range(3, 24), *range(24)]
    times = start + 3600.0 * np.arange(len(values))
    p = seasonal_profile(times, values)
    assert p.enough_data and p.n == 47 and p.tz == "Europe/Paris"
    assert p.mean is not None and p.count is not None and p.hourly_mean is not None
    sunday, monday = 6, 0
    assert p.count[sunday, 2] == 0 and np.isnan(p.mean[sunday, 2])
    assert p.count[sunday].sum() == 23 and p.count[monday].sum() == 24 and p.count.sum() == 47
    hours = np.arange(24.0)
    np.testing.assert_array_equal(p.mean[monday], hours)
    np.testing.assert_array_equal(np.delete(p.mean[sunday], 2), np.delete(hours, 2))
    assert np.isnan(p.mean[1:6]).all()
    np.testing.assert_array_equal(p.hourly_mean, hours)  # hour 2 only has Monday's point
    assert p.weekday_mean is not None and p.weekday_mean[monday] == pytest.approx(11.5)
    with pytest.raises(ValueError, match="read-only"):
        p.mean[0, 0] = 1.0


def test_profile_local_time_across_autumn_dst_change() -> None:
    # Back to winter time on Sunday 27 October 2024 at 01:00 UTC: 02:00 local happens twice.
    # From 2024-10-26T22:00Z = Sunday 00:00 local: 0 1 2 2 3 … 23 (25 points), then Monday 0 (UTC+1).
    start = datetime(2024, 10, 26, 22, tzinfo=UTC).timestamp()
    values = [0, 1, 2, 2, *range(3, 24), 0]
    p = seasonal_profile(start + 3600.0 * np.arange(len(values)), values)
    assert p.count is not None and p.mean is not None
    assert p.count[6, 2] == 2 and p.count[6, 1] == 1 and p.count[6, 3] == 1 and p.count[0, 0] == 1
    np.testing.assert_array_equal(p.mean[6], np.arange(24.0))
    assert (
        p.summary("en")
        == "Peak at 23:00 (mean 23), low at 0:00 (mean 0), highest day: Sunday (Europe/Paris local time)"
    )
    assert (
        p.summary("fr")
        == "Pic à 23 h (moyenne 23), creux à 0 h (moyenne 0), jour le plus élevé : dimanche (heure locale Europe/Paris)"
    )


def test_profile_pools_points_and_skips_missing() -> None:
    # two Mondays at 08:00 local (07:00Z in winter) with 10 and 20, a missing value, 22 points within Tuesday 12:00-13:00 local
    mondays = [
        datetime(2024, 1, 1, 7, tzinfo=UTC),
        datetime(2024, 1, 8, 7, tzinfo=UTC),
        datetime(2024, 1, 15, 7, tzinfo=UTC),
    ]
    filler = [datetime(2024, 1, 2, 11, tzinfo=UTC) + timedelta(minutes=i) for i in range(22)]
    p = seasonal_profile(mondays + filler, [10, 20, None] + [1.0] * 22)
    assert p.n == 24 and p.count is not None and p.mean is not None
    assert p.count[0, 8] == 2 and p.mean[0, 8] == 15.0
    assert p.count[1, 12] == 22 and p.mean[1, 12] == 1.0


def test_profile_short_series() -> None:
    p = seasonal_profile(days(23), np.ones(23))
    assert not p.enough_data and p.mean is None and p.count is None and p.hourly_mean is None
    assert p.summary("en") == "Not enough data (23 points, at least 24 needed)"
    assert not seasonal_profile([], []).enough_data


# -- anomalies --------------------------------------------------------------------------------------

# A palindrome around one spike (50) at index 7 (15 daily points, window 7).
# Expected values: centred medians for i3 … i11, e.g. i7: 10 10 11 11 11 11 50 → 11, i3: 10 10 10 11 11
# 11 12 → 11, i5: 10 10 11 11 11 12 50 → 11. Ends: Theil–Sen line of the first 7 points 10 11 10 12 11
# 10 11, whose 21 slopes sorted are -1 ×4, -1/3, -1/4, 0 ×6 (ranks 7-12), 1/6, … → slope 0 (the 11th),
# through the median 11: flat 11; the last 7 points are the mirror image, also flat 11.
# Residuals r: -1 0 -1 1 0 -1 0 39 0 -1 0 1 -1 0 -1 → median 0.
# Noise scale: each point minus the median of the 6 other points of its window (centred, or the
# first / last 7 points near the ends):
#   i0 11 → -1, i1 10.5 → .5, i2 11 → -1, i3 10.5 → 1.5, i4 11 → 0, i5 11 → -1, i6 11 → 0, i7 11 → 39, mirrored
#   sorted: -1 ×6, 0 ×4, .5 ×2, 1.5 ×2, 39 → median 0; |·| sorted 0 ×4, .5 ×2, 1 ×6 … → MAD = the 8th = 1.
# score = 0.6745 × 39 / 1 = 26.3055; every other point scores at most 0.6745.
SPIKY = [10, 11, 10, 12, 11, 10, 11, 50, 11, 10, 11, 12, 10, 11, 10]


def test_anomalies_finds_the_spike_by_hand() -> None:
    found = anomalies(days(15), SPIKY)
    assert len(found) == 1
    a = found[0]
    assert (a.index, a.value, a.expected, a.direction) == (7, 50.0, 11.0, "high")
    assert a.score == pytest.approx(0.6745 * 39)
    assert a.time == datetime(2024, 1, 8, tzinfo=UTC)
    assert a.summary("en") == "Unusually high value on 2024-01-08 01:00: 50 (expected 11, score 26)"
    assert a.summary("fr", unit="kW") == (
        f"Valeur anormalement haute le 08/01/2024 à 01:00 : 50{NBSP}kW (attendu 11{NBSP}kW, score 26)"
    )
    assert anomalies(days(15), SPIKY, threshold=27) == []


def test_anomalies_low_point_and_input_positions_with_gaps() -> None:
    # the same point 39 below the expected 11. The centred medians do not change; the neighbour
    # medians of i4, i6 (and i8, i10) become 10.5, so the noise residuals sorted are -39, -1 ×6, .5 ×6,
    # 1.5 ×2: median .5, distances 0 ×6, 1 ×2, 1.5 ×6, 39.5 → MAD = the 8th = 1 again.
    values: list[float | None] = [float(v) for v in SPIKY]
    values[7] = -28.0
    times = list(days(15))
    values.insert(3, None)  # a missing value shifts input positions, not the result
    times.insert(3, T0 + 2.5 * DAY)
    found = anomalies(times, values)
    assert [(a.index, a.expected, a.direction) for a in found] == [(8, 11.0, "low")]
    assert found[0].score == pytest.approx(0.6745 * 39)


def test_anomalies_steady_trend_has_none_even_at_the_edges() -> None:
    assert anomalies(days(30), 3.0 * np.arange(30)) == []
    ramp = 3.0 * np.arange(30)
    ramp[-1] += 40  # the latest point off a steady ramp is found against the trend line
    found = anomalies(days(30), ramp)
    assert [(a.index, a.expected) for a in found] == [(29, pytest.approx(87.0))]


def test_anomalies_zero_mad() -> None:
    assert anomalies(days(10), [5.0] * 10) == []
    found = anomalies(days(10), [5, 5, 5, 5, 9, 5, 5, 5, 5, 5])
    assert len(found) == 1 and found[0].index == 4 and found[0].expected == 5.0
    assert math.isinf(found[0].score) and found[0].direction == "high"
    assert "score ∞" in found[0].summary("en")


def test_anomalies_steps_and_smooth_series_are_not_anomalies() -> None:
    # a clean step: each point at the edge of the step still has four of seven on its own level
    assert anomalies(days(20), [10.0] * 10 + [11.0] * 10) == []
    # a smooth daily cycle: most points are the median of their own window, yet none is flagged
    hours = np.arange(24 * 14)
    cycle = 100 + 10 * np.sin(2 * np.pi * hours / 24) + np.random.default_rng(3).normal(0, 1, hours.size)
    assert anomalies(T0 + 3600.0 * hours, cycle) == []
    cycle[200] += 15
    assert [a.index for a in anomalies(T0 + 3600.0 * hours, cycle)] == [200]


def test_anomalies_short_series_and_arguments() -> None:
    assert anomalies(days(6), [1, 1, 1, 100, 1, 1]) == []
    assert anomalies([], []) == []
    assert anomalies(days(5), [1, 1, 100, 1, 1], window=5)[0].index == 2
    with pytest.raises(ValueError, match="odd"):
        anomalies(days(10), np.ones(10), window=4)
    with pytest.raises(ValueError, match="at least 5"):
        anomalies(days(10), np.ones(10), window=3)
    with pytest.raises(ValueError, match="differ in length"):
        anomalies(days(10), np.ones(9))


# -- correlation ------------------------------------------------------------------------------------


def test_correlation_perfect_and_anti() -> None:
    up = correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert up.pearson_r == pytest.approx(1.0) and up.spearman_rho == pytest.approx(1.0)
    assert up.strength == "strong" and up.n == 5
    down = correlation([1, 2, 3, 4, 5], [9, 7, 5, 3, 1])
    assert down.pearson_r == pytest.approx(-1.0) and down.spearman_rho == pytest.approx(-1.0)
    assert down.summary("en").startswith("Strong negative correlation (r = -1, p < 0.001, n = 5")


def test_correlation_by_hand_with_missing_pairs() -> None:
    # Complete pairs (1,1) (2,3) (3,2) (4,4): deviations from 2.5 are -1.5 -.5 .5 1.5 and
    # -1.5 .5 -.5 1.5, so r = (2.25 - .25 - .25 + 2.25) / 5 = 0.8; t = 0.8 √2 / 0.6, and with 2
    # degrees of freedom p = 1 - |t| / √(t² + 2) = 0.2. Ranks equal the values: rho = 0.8, p = 0.2.
    c = correlation([1, np.nan, 2, 3, 4, 7], [1, 5, 3, 2, 4, None])
    assert c.n == 4
    assert c.pearson_r == pytest.approx(0.8) and c.pearson_p == pytest.approx(0.2)
    assert c.spearman_rho == pytest.approx(0.8) and c.spearman_p == pytest.approx(0.2)
    assert c.strength == "strong"
    assert c.summary("en") == "Strong positive correlation (r = 0.8, p = 0.2, n = 4)"
    assert c.summary("fr") == "Corrélation positive forte (r = 0,8, p = 0,2, n = 4)"


def test_correlation_strength_labels() -> None:
    from territoria.analytics.stats import strength_of

    assert [strength_of(r) for r in (0.0, 0.09, 0.1, -0.29, 0.3, 0.49, -0.5, 1.0)] == [
        "none",
        "none",
        "weak",
        "weak",
        "moderate",
        "moderate",
        "strong",
        "strong",
    ]


def test_correlation_short_and_constant() -> None:
    short = correlation([1, 2, np.nan], [1, 2, 3])
    assert short.n == 2 and not short.enough_data
    assert (short.pearson_r, short.pearson_p, short.spearman_rho, short.spearman_p, short.strength) == (
        None,
    ) * 5
    assert short.summary("fr") == "Pas assez de données (2 paires, 3 au minimum)"
    flat = correlation([1, 2, 3, 4], [5, 5, 5, 5])
    assert flat.enough_data and flat.pearson_r is None and flat.strength is None
    assert flat.summary("en") == "Correlation undefined: one of the series is constant (n = 4)"
    assert correlation([], []).n == 0


# -- Theil–Sen on long series -----------------------------------------------------------------------


def test_streamed_theil_sen_equals_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy import stats as sps

    from territoria.analytics import stats_trend

    rng = np.random.default_rng(7)
    x = np.sort(rng.integers(0, 300, 400)).astype(float)  # repeated times
    y = np.round(0.02 * x + rng.normal(0, 2, 400))  # repeated values
    want = sps.theilslopes(y, x, alpha=0.9)
    monkeypatch.setattr(stats_trend, "MAX_DIRECT_POINTS", 10)
    monkeypatch.setattr(stats_trend, "BLOCK_PAIRS", 5_000)  # many blocks
    for sample in (200_000, 1_000):
        monkeypatch.setattr(stats_trend, "SAMPLE_PAIRS", sample)
        got = stats_trend.theil_sen(x, y, 0.1)
        assert got == (want.slope, want.low_slope, want.high_slope)


def test_streamed_theil_sen_widens_a_missed_bracket(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy import stats as sps

    from territoria.analytics import stats_trend

    class FirstPairOnly:
        """A sampler that only ever draws the pair (0, 1): its bracket misses every wanted rank."""

        def __init__(self, seed: int) -> None:
            self.calls = 0

        def integers(self, low: int, high: int, size: int) -> np.ndarray:
            self.calls += 1
            return np.full(size, self.calls - 1)

    x, y = np.arange(200.0), np.sin(np.arange(200.0)) + 0.01 * np.arange(200.0)
    monkeypatch.setattr(stats_trend, "MAX_DIRECT_POINTS", 10)
    monkeypatch.setattr(stats_trend, "SAMPLE_PAIRS", 10_000)
    monkeypatch.setattr(stats_trend.np.random, "default_rng", FirstPairOnly)
    want = sps.theilslopes(y, x)
    assert stats_trend.theil_sen(x, y, 0.05) == (want.slope, want.low_slope, want.high_slope)
