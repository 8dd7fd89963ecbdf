"""Tests of the measurement generator: laziness, order, ranges, daily profiles, live feed."""

import inspect
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from territoria.simulate import build_city, live_rows, measurements, network, rows_count, water_leaks

PARIS = ZoneInfo("Europe/Paris")
WINTER = datetime(2024, 1, 8, tzinfo=UTC)  # a Monday
SUMMER = datetime(2024, 7, 8, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="module")
def city():
    return build_city(400, 11)


def _series(rows):
    series = defaultdict(list)
    for row in rows:
        series[row["asset"], row["metric"]].append((row["ts"], row["value"]))
    return series


def _at(city, when, slug, metric, seed=3):
    """Values of one metric of one network at an instant (from a one-step run)."""
    assets = {a.ext_id for a in city.by_network(slug)}
    end = when + timedelta(seconds=1)
    return [
        r["value"]
        for r in measurements(city, when, end, seed)
        if r["asset"] in assets and r["metric"] == metric
    ]


@pytest.fixture(scope="module")
def week(city):
    return list(measurements(city, WINTER, WINTER + timedelta(days=7), 5))


def test_rows_have_the_api_shape(week):
    row = week[0]
    assert set(row) == {"asset", "metric", "ts", "value"}
    assert row["ts"].tzinfo is not None and row["ts"].utcoffset() == timedelta(0)
    assert isinstance(row["value"], float)


def test_generator_is_lazy():
    big = build_city(2000, 1)
    rows = measurements(big, WINTER, WINTER + timedelta(days=3650), 1)
    assert inspect.isgenerator(rows)
    first = list(islice(rows, 10))
    assert len(first) == 10
    assert all(r["ts"] == WINTER for r in first)


def test_rows_are_in_time_order_and_counted(city, week):
    stamps = [r["ts"] for r in week]
    assert stamps == sorted(stamps)
    assert stamps[0] >= WINTER and stamps[-1] < WINTER + timedelta(days=7)
    assert len(week) == rows_count(city, WINTER, WINTER + timedelta(days=7))


def test_every_series_reports_at_its_interval(city, week):
    series = _series(week)
    for asset in city.assets:
        for metric in network(asset.network).metrics:
            points = series[asset.ext_id, metric.name]
            assert len(points) == 7 * 86_400 // metric.interval_s
            assert all(int(ts.timestamp()) % metric.interval_s == 0 for ts, _ in points)


def test_unaligned_span_is_counted_exactly(city):
    start = WINTER + timedelta(minutes=7, seconds=3)
    end = start + timedelta(hours=5, minutes=11)
    assert len(list(measurements(city, start, end, 2))) == rows_count(city, start, end)


@pytest.mark.parametrize("start", [WINTER, SUMMER])
def test_values_stay_within_metric_ranges(city, start):
    for row in measurements(city, start, start + timedelta(days=4), 9):
        metric = network(city.asset(row["asset"]).network).metric(row["metric"])
        assert metric.min <= row["value"] <= metric.max, row


def test_generation_is_deterministic_for_a_seed(city):
    span = (SUMMER, SUMMER + timedelta(hours=6))
    assert list(measurements(city, *span, 4)) == list(measurements(city, *span, 4))
    assert list(measurements(city, *span, 4)) != list(measurements(city, *span, 5))


def test_values_do_not_depend_on_the_span(city):
    long = _series(measurements(city, WINTER, WINTER + timedelta(days=2), 8))
    short = _series(measurements(city, WINTER + timedelta(days=1), WINTER + timedelta(days=1, hours=3), 8))
    for key, points in short.items():
        assert set(points) <= set(long[key])


def test_naive_datetimes_are_refused(city):
    with pytest.raises(ValueError):
        measurements(city, datetime(2024, 1, 1), datetime(2024, 1, 2), 1)
    with pytest.raises(ValueError):
        live_rows(city, datetime(2024, 1, 1), 1)


@pytest.mark.parametrize(
    "day", [WINTER, SUMMER, datetime(2024, 3, 20, tzinfo=UTC), datetime(2024, 10, 1, tzinfo=UTC)]
)
def test_street_lights_are_off_at_noon_and_on_at_midnight(city, day):
    assert set(_at(city, day.replace(hour=12), "lighting", "on")) == {0.0}
    assert set(_at(city, day.replace(hour=12), "lighting", "power")) == {0.0}
    assert set(_at(city, day.replace(hour=0), "lighting", "on")) == {1.0}
    assert min(_at(city, day.replace(hour=0), "lighting", "power")) > 0


def test_street_lights_dim_late_at_night(city):
    evening = datetime(2024, 1, 8, 21, tzinfo=PARIS)
    night = datetime(2024, 1, 9, 2, tzinfo=PARIS)
    lights = city.by_network("lighting")
    full = _at(city, evening, "lighting", "power")
    dimmed = _at(city, night, "lighting", "power")
    for light, before, after in zip(lights, full, dimmed, strict=True):
        if light.properties["dimming"]:
            assert after < 0.8 * before
        else:
            assert after == pytest.approx(before, rel=0.1)


def test_traffic_is_higher_at_rush_hour_than_at_night_and_on_weekdays(city):
    rush = sum(_at(city, datetime(2024, 1, 9, 8, tzinfo=PARIS), "mobility", "vehicles"))
    night = sum(_at(city, datetime(2024, 1, 9, 3, tzinfo=PARIS), "mobility", "vehicles"))
    saturday = sum(_at(city, datetime(2024, 1, 13, 8, tzinfo=PARIS), "mobility", "vehicles"))
    assert rush > 5 * night
    assert saturday < rush
    assert sum(_at(city, datetime(2024, 1, 9, 8, tzinfo=UTC), "mobility", "vehicles")) > night


def test_electricity_is_higher_in_winter_and_peaks_in_the_evening(city):
    def mean(when):
        values = _at(city, when, "electricity", "active_power")
        return sum(values) / len(values)

    assert mean(datetime(2024, 1, 9, 19, tzinfo=PARIS)) > mean(datetime(2024, 7, 9, 19, tzinfo=PARIS))
    residential = [a.properties["segment"] == "residential" for a in city.by_network("electricity")]
    evening = _at(city, datetime(2024, 1, 9, 19, 30, tzinfo=PARIS), "electricity", "active_power")
    night = _at(city, datetime(2024, 1, 9, 3, 30, tzinfo=PARIS), "electricity", "active_power")
    assert sum(v for v, r in zip(evening, residential, strict=True) if r) > 2 * sum(
        v for v, r in zip(night, residential, strict=True) if r
    )


def test_charge_points_are_busier_by_day(week):
    by_hour = defaultdict(list)
    status = {}
    for row in week:
        if row["asset"].startswith("IRVE-"):
            local_hour = row["ts"].astimezone(PARIS).hour
            if row["metric"] == "status":
                by_hour[local_hour].append(row["value"] == 1.0)
                status[row["asset"], row["ts"]] = row["value"]
            elif status[row["asset"], row["ts"]] != 1.0:
                assert row["value"] == 0.0
    assert set(status.values()) <= {0.0, 1.0, 2.0}
    share = {h: sum(v) / len(v) for h, v in by_hour.items()}
    assert share[14] > share[3]


def test_leaking_water_meters_never_drop_to_zero(city, week):
    leaks = water_leaks(city, 5)
    assert leaks
    series = _series(week)
    for ext_id, leak in leaks.items():
        values = [v for _, v in series[ext_id, "flow"]]
        assert min(values) >= 0.9 * leak
    others = [a.ext_id for a in city.by_network("water") if a.ext_id not in leaks]
    assert all(min(v for _, v in series[ext_id, "flow"]) == 0.0 for ext_id in others)


def test_waste_containers_fill_up_and_are_emptied_on_collection_days(city, week):
    series = _series(week)
    for container in city.by_network("waste"):
        points = series[container.ext_id, "fill_level"]
        days = container.properties["collection_days"]
        for ts, value in points:
            local = ts.astimezone(PARIS)
            if local.weekday() in days and local.hour == 6:
                assert value < 5
        collected = [v for ts, v in points if ts.astimezone(PARIS).hour == 6]
        before = [v for ts, v in points if ts.astimezone(PARIS).hour == 5]
        assert max(before) > min(collected)


def test_no2_follows_the_traffic_rush(city):
    rush = sum(_at(city, datetime(2024, 1, 9, 8, tzinfo=PARIS), "air_quality", "no2"))
    night = sum(_at(city, datetime(2024, 1, 9, 3, tzinfo=PARIS), "air_quality", "no2"))
    assert rush > 1.3 * night


def test_live_rows_give_one_reading_of_every_series(city):
    at = datetime(2024, 5, 2, 10, 7, 30, tzinfo=UTC)
    rows = live_rows(city, at, 3)
    expected = sum(len(network(a.network).metrics) for a in city.assets)
    assert len(rows) == expected
    assert {r["ts"] for r in rows} == {at}
    assert len({(r["asset"], r["metric"]) for r in rows}) == expected


def test_live_rows_match_the_generator_on_aligned_steps(city):
    at = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    live = {(r["asset"], r["metric"]): r["value"] for r in live_rows(city, at, 3)}
    for row in measurements(city, at, at + timedelta(seconds=1), 3):
        assert live[row["asset"], row["metric"]] == row["value"]
