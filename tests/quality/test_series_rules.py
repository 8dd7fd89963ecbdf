"""Unit tests of the series, row and asset rules on small hand-made inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from territoria.catalog.models import Metric
from territoria.db.base import to_us
from territoria.quality.rules import gap, rate_of_change, spike, stale_source, stuck_value
from territoria.validation.rules import area_mismatch, duplicate, latlon_swapped, out_of_territory

T0 = to_us(datetime(2024, 2, 5, tzinfo=UTC))
QUARTER = 900
STEP = QUARTER * 1_000_000
POWER = Metric(name="power", unit="W", min_value=0, max_value=400, reporting_interval_s=QUARTER)


def stamps(n: int, step: int = STEP) -> np.ndarray:
    return T0 + step * np.arange(n, dtype=np.int64)


def noisy(n: int, level: float = 100.0, seed: int = 1) -> np.ndarray:
    return np.round(level * (1 + 0.04 * (np.random.default_rng(seed).random(n) - 0.5)), 1)


# GAP


def test_gap_found_between_points_with_bounds() -> None:
    ts = np.delete(stamps(20), [5, 6, 7])
    (f,) = gap.check(ts, interval_s=QUARTER, asset="A", metric="power")
    assert f.code == "GAP" and f.severity == "warning"
    assert to_us(f.start) == T0 + 4 * STEP and to_us(f.end) == T0 + 8 * STEP
    assert f.details["missing"] == 3 and "aucune donnée" in f.message_fr


def test_gap_one_missing_reading_is_not_a_gap() -> None:
    assert gap.check(np.delete(stamps(20), [5]), interval_s=QUARTER, asset="A", metric="m") == []
    assert gap.check(stamps(20), interval_s=QUARTER, asset="A", metric="m") == []


def test_gap_at_both_ends() -> None:
    ts = stamps(20)[5:15]
    found = gap.check(
        ts, interval_s=QUARTER, asset="A", metric="m", since_us=T0, until_us=int(stamps(20)[-1])
    )
    assert [(to_us(f.start), f.details["open"]) for f in found] == [(T0, False), (int(ts[-1]), True)]


# STUCK_VALUE


def test_stuck_value_found_on_continuous_metric() -> None:
    values = noisy(96)
    values[40:70] = 123.4  # 30 quarter hours = 7.5 h
    (f,) = stuck_value.check(stamps(96), values, metric=POWER, interval_s=QUARTER, asset="A")
    assert f.code == "STUCK_VALUE" and f.details == {"value": 123.4, "readings": 30}
    assert to_us(f.start) == T0 + 40 * STEP


def test_stuck_value_short_runs_zero_and_flags_are_not_stuck() -> None:
    values = noisy(96)
    values[40:50] = 123.4  # 2.5 h only
    assert stuck_value.check(stamps(96), values, metric=POWER, interval_s=QUARTER, asset="A") == []
    values[40:90] = 0.0  # off all day: a state
    assert stuck_value.check(stamps(96), values, metric=POWER, interval_s=QUARTER, asset="A") == []
    flag = Metric(name="on", unit="1", min_value=0, max_value=1)
    assert stuck_value.check(stamps(96), np.full(96, 1.0), metric=flag, interval_s=QUARTER, asset="A") == []
    counts = Metric(name="vehicles", unit="veh/15min", min_value=0, max_value=1500)
    assert not stuck_value.is_continuous(counts, np.array([3.0, 12.0, 12.0]))
    assert stuck_value.is_continuous(POWER, np.array([3.5, 12.0]))


def test_stuck_at_the_top_of_the_range_needs_most_of_a_day() -> None:
    fill = Metric(name="fill_level", unit="%", min_value=0, max_value=100)
    hourly = stamps(48, 3600 * 1_000_000)
    values = noisy(48, 50.0)
    values[10:22] = 100.0  # full for 12 h: a container waiting for collection
    assert stuck_value.check(hourly, values, metric=fill, interval_s=3600, asset="A") == []
    values[10:30] = 100.0  # 20 h
    assert len(stuck_value.check(hourly, values, metric=fill, interval_s=3600, asset="A")) == 1


# SPIKE


def test_spike_found_in_noise_and_on_a_flat_stretch() -> None:
    values = noisy(96)
    values[30] = 390.0
    (f,) = spike.check(stamps(96), values, metric=POWER, asset="A")
    assert f.code == "SPIKE" and to_us(f.start) == T0 + 30 * STEP and f.details["z"] > 6
    day = np.where(np.arange(96) < 48, noisy(96), 0.0)
    day[70] = 350.0  # at noon, when the light is off
    (f,) = spike.check(stamps(96), day, metric=POWER, asset="A")
    assert to_us(f.start) == T0 + 70 * STEP


def test_spike_not_found_on_steps_noise_or_flat_series() -> None:
    step = np.concatenate([noisy(48, 150.0), noisy(48, 60.0, seed=2)])
    assert spike.check(stamps(96), step, metric=POWER, asset="A") == []
    assert spike.check(stamps(96), noisy(96), metric=POWER, asset="A") == []
    assert spike.check(stamps(96), np.full(96, 5.0), metric=POWER, asset="A") == []  # MAD 0 everywhere


def test_spike_at_the_edge_needs_to_stand_alone() -> None:
    values = noisy(96, 150.0)
    values[-3:] = noisy(3, 60.0, seed=3)  # dimming just before the end of the data
    assert spike.check(stamps(96), values, metric=POWER, asset="A") == []
    values[-1] = 390.0
    (f,) = spike.check(stamps(96), values, metric=POWER, asset="A")
    assert to_us(f.start) == T0 + 95 * STEP


# RATE_OF_CHANGE


def test_rate_of_change_uses_metric_limit() -> None:
    temp = Metric(name="temp", unit="°C", min_value=-40, max_value=60, max_rate_per_h=4.0)
    values = np.array([10.0, 10.5, 11.0, 20.0, 20.5, 21.0])
    (f,) = rate_of_change.check(stamps(6), values, metric=temp, asset="A")
    assert f.code == "RATE_OF_CHANGE" and f.details["max_rate_per_h"] == pytest.approx(36.0)
    assert to_us(f.start) == T0 + 2 * STEP and to_us(f.end) == T0 + 3 * STEP
    assert rate_of_change.check(stamps(6), values, metric=POWER, asset="A") == []  # no limit set
    assert rate_of_change.check(stamps(6), np.linspace(10, 12, 6), metric=temp, asset="A") == []


# STALE_SOURCE


def test_stale_source() -> None:
    now = T0 + 10 * STEP
    f = stale_source.check(T0, now_us=now, interval_s=QUARTER, dataset="lights")
    assert f is not None and f.code == "STALE_SOURCE" and f.details["delay_s"] == 9000
    assert stale_source.check(T0 + 8 * STEP, now_us=now, interval_s=QUARTER, dataset="lights") is None
    assert stale_source.check(None, now_us=now, interval_s=QUARTER, dataset="lights") is None
    f = stale_source.check(T0, now_us=now, interval_s=QUARTER, dataset="d", asset="A", metric="power")
    assert f is not None and f.asset == "A" and "A/power" in f.message_en


# DUPLICATE


def test_duplicate_same_value_only() -> None:
    ts = datetime(2024, 2, 5, tzinfo=UTC)
    f = duplicate.check(3, ts, 1.5, 1.5)
    assert f is not None and f.code == "DUPLICATE" and f.severity == "warning" and f.row == 3
    assert duplicate.check(3, ts, 1.5, 1.6) is None
    assert duplicate.is_duplicate(2.0, 2.0) and not duplicate.is_duplicate(2.0, 2.5)


# Asset rules: a territory of one square commune around (7.2, 43.7)


def locate(lon: float, lat: float) -> str | None:
    return "06088" if 7.0 <= lon <= 7.5 and 43.5 <= lat <= 44.0 else None


def test_latlon_swapped_proposes_the_fix() -> None:
    f = latlon_swapped.check("A", 43.7, 7.2, locate)
    assert f is not None and f.code == "LATLON_SWAPPED"
    assert f.details["proposed"] == {"lon": 7.2, "lat": 43.7} and f.details["area_code"] == "06088"
    assert latlon_swapped.check("A", 7.2, 43.7, locate) is None
    assert latlon_swapped.check("A", 2.35, 48.85, locate) is None
    assert out_of_territory.check("A", 43.7, 7.2, locate) is None  # explained by the swap


def test_out_of_territory() -> None:
    f = out_of_territory.check("PARIS", 2.35, 48.85, locate)
    assert f is not None and f.code == "OUT_OF_TERRITORY"
    assert out_of_territory.check("A", 7.2, 43.7, locate) is None
    assert out_of_territory.check("A", None, None, locate) is None


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"commune": "06004"}, True),
        ({"code_insee": 6004}, True),  # an integer lost its leading zero
        ({"insee": "06088"}, False),
        ({"commune": "Nice"}, False),  # a name, not a code
        ({}, False),
    ],
)
def test_area_mismatch(properties: dict[str, object], expected: bool) -> None:
    f = area_mismatch.check("A", 7.2, 43.7, properties, locate)
    assert (f is not None) is expected
    if f is not None:
        assert f.details == {"declared": "06004", "located": "06088"}
    assert area_mismatch.check("A", 2.35, 48.85, properties, locate) is None
