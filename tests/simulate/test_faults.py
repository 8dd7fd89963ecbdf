"""Tests of the fault injection: the plan, its ledger and the rows it alters."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import shapely

from territoria.simulate import (
    FUTURE_SHIFT,
    FaultPlan,
    FaultRates,
    build_city,
    commune_shapes,
    measurements,
    network,
    rows_count,
)
from territoria.simulate.faults import SERIES_KINDS, fault_count, spike_bounds

START = datetime(2024, 2, 5, tzinfo=UTC)
END = START + timedelta(days=3)
SEED = 21


@pytest.fixture(scope="module")
def city():
    return build_city(600, 13)


@pytest.fixture(scope="module")
def plan(city):
    return FaultPlan.build(city, START, END, SEED)


@pytest.fixture(scope="module")
def rows(city, plan):
    return list(measurements(city, START, END, SEED, plan))


@pytest.fixture(scope="module")
def series(rows):
    by_series = defaultdict(list)
    for row in rows:
        by_series[row["asset"], row["metric"]].append((row["ts"], row["value"]))
    return by_series


def _metric(city, fault):
    return network(city.asset(fault.asset).network).metric(fault.metric)


def _window(points, fault):
    return [(ts, v) for ts, v in points if fault.start <= ts <= fault.end]


def test_none_plan_is_clean(city):
    assert FaultPlan.none().injected == []
    span = (START, START + timedelta(hours=4))
    assert list(measurements(city, *span, SEED, FaultPlan.none())) == list(measurements(city, *span, SEED))
    assert FaultPlan.build(city, START, END, SEED, FaultRates.zero()).injected == []


def test_plan_is_deterministic_and_small(city, plan):
    assert FaultPlan.build(city, START, END, SEED) == plan
    assert FaultPlan.build(city, START, END, SEED + 1) != plan
    n_series = sum(len(network(a.network).metrics) for a in city.assets)
    for kind in SERIES_KINDS:
        assert len(plan.of_kind(kind)) == fault_count(0.01, n_series), kind
    assert len(plan.of_kind("swapped_coordinates")) == fault_count(0.01, len(city.assets))
    hit = [(f.asset, f.metric) for f in plan.series_faults]
    assert len(hit) == len(set(hit)), "one fault per series at most"
    for fault in plan.series_faults:
        assert START <= fault.start <= fault.end < END


def test_gaps_silence_their_series(city, plan, series):
    for fault in plan.of_kind("gap"):
        points = series[fault.asset, fault.metric]
        assert _window(points, fault) == []
        assert points, "the series still reports outside the gap"
        assert fault.end - fault.start >= timedelta(hours=1)


def test_stuck_sensors_repeat_one_non_zero_value(city, plan, series):
    for fault in plan.of_kind("stuck"):
        metric = _metric(city, fault)
        window = _window(series[fault.asset, fault.metric], fault)
        assert metric.continuous
        assert len(window) >= 3
        assert (fault.end - fault.start) >= timedelta(hours=5)
        assert len({v for _, v in window}) == 1
        assert window[0][1] > metric.min


def test_spikes_are_isolated_extreme_but_valid(city, plan, series):
    for fault in plan.of_kind("spike"):
        metric = _metric(city, fault)
        points = series[fault.asset, fault.metric]
        window = _window(points, fault)
        assert window == [(fault.start, fault.value)]
        assert metric.min <= fault.value <= metric.max
        low, _ = spike_bounds(metric)
        assert fault.value >= low
        others = [v for ts, v in points if ts != fault.start]
        assert fault.value > 1.5 * max(others)


def test_out_of_range_values_exceed_the_metric_max(city, plan, series):
    for fault in plan.of_kind("out_of_range"):
        window = _window(series[fault.asset, fault.metric], fault)
        assert window
        assert all(v == fault.value > _metric(city, fault).max for _, v in window)


def test_future_timestamps_are_shifted(plan, series):
    for fault in plan.of_kind("future_timestamp"):
        points = series[fault.asset, fault.metric]
        assert _window(points, fault) == []
        shifted = [ts for ts, _ in points if ts > END]
        assert shifted
        assert min(shifted) == fault.start + FUTURE_SHIFT
        assert max(shifted) == fault.end + FUTURE_SHIFT


def test_every_anomaly_in_the_rows_is_in_the_ledger(city, plan, rows):
    out_of_range = set()
    future = set()
    for row in rows:
        metric = network(city.asset(row["asset"]).network).metric(row["metric"])
        if not metric.min <= row["value"] <= metric.max:
            out_of_range.add((row["asset"], row["metric"]))
        if row["ts"] >= END:
            future.add((row["asset"], row["metric"]))
    assert out_of_range == {(f.asset, f.metric) for f in plan.of_kind("out_of_range")}
    assert future == {(f.asset, f.metric) for f in plan.of_kind("future_timestamp")}


def test_rows_count_deducts_the_gaps(city, plan, rows):
    assert len(rows) == rows_count(city, START, END, plan)
    silenced = sum(
        (f.end - f.start) // timedelta(seconds=_metric(city, f).interval_s) + 1 for f in plan.of_kind("gap")
    )
    assert rows_count(city, START, END) - len(rows) == silenced


def test_swapped_coordinates_leave_their_commune(city, plan):
    swapped = plan.swapped_assets
    assert swapped
    faulty = plan.apply_to_city(city)
    shapes = commune_shapes()
    for original, asset in zip(city.assets, faulty.assets, strict=True):
        inside = shapes[asset.expected_area].contains(shapely.Point(asset.lon, asset.lat))
        if asset.ext_id in swapped:
            assert (asset.lon, asset.lat) == (original.lat, original.lon)
            assert not inside
        else:
            assert asset == original
            assert inside


def test_short_spans_still_get_valid_plans(city):
    short = FaultPlan.build(city, START, START + timedelta(minutes=30), SEED)
    for fault in short.series_faults:
        assert fault.kind not in {"stuck", "spike"}
        assert START <= fault.start <= fault.end < START + timedelta(minutes=30)
    rows = list(measurements(city, START, START + timedelta(minutes=30), SEED, short))
    assert len(rows) == rows_count(city, START, START + timedelta(minutes=30), short)
