"""The demo's magnitudes stay within the ranges of docs/demo-calibration.md (published French figures).

A small simulated city is generated over a year (the coarse, one-reading-a-day history the demo loads
before its last 30 days) and the per-inhabitant figures are computed from the generated series.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from territoria.simulate import build_city, measurements
from territoria.simulate.demo import history_start, month_chunks
from territoria.simulate.generator import daily_rows, daily_rows_count

# The documented ranges (docs/demo-calibration.md, "Ranges checked by the tests").
LIGHTING_KWH_PER_INHABITANT_YEAR = (55.0, 95.0)
RESIDENTIAL_KWH_PER_INHABITANT_YEAR = (2_000.0, 2_700.0)
NICE_KWH_PER_INHABITANT_YEAR = (5_000.0, 7_500.0)
WATER_L_PER_INHABITANT_DAY = (130.0, 165.0)
DAILY_TRAFFIC = {"arterial": (15_000.0, 60_000.0), "urban": (4_000.0, 16_000.0), "local": (500.0, 3_500.0)}
NO2_MEAN = (15.0, 40.0)
PM10_MEAN = (15.0, 28.0)
PM25_MEAN = (8.0, 15.0)
YEAR = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
NICE = "06088"


@pytest.fixture(scope="module")
def city():
    return build_city(400, 6)


@pytest.fixture(scope="module")
def year(city):
    """Per asset and metric: the list of the year's daily readings."""
    series: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in daily_rows(city, *YEAR, seed=6):
        series[row["asset"], row["metric"]].append(row["value"])
    return series


def _daily_means(values: list[float], two_a_day: bool = False) -> float:
    """The sum of the daily means (a water day has two readings averaging to its mean)."""
    return sum(values) / (2 if two_a_day else 1)


def _per_commune(city, year, network: str, metric: str, keep=lambda a: True, two=False):
    """Integral (daily mean × 24 h, summed) per commune, and the population of those communes."""
    totals: dict[str, float] = defaultdict(float)
    for asset in city.by_network(network):
        if keep(asset):
            totals[asset.expected_area] += _daily_means(year[asset.ext_id, metric], two) * 24
    return totals


def _population(city, codes) -> int:
    return sum(city.commune(code).population for code in codes)


def test_street_lighting_per_inhabitant_is_french_order_of_magnitude(city, year):
    totals = _per_commune(city, year, "street-lights", "power")  # kWh
    per_inhabitant = sum(totals.values()) / _population(city, totals)
    assert LIGHTING_KWH_PER_INHABITANT_YEAR[0] <= per_inhabitant <= LIGHTING_KWH_PER_INHABITANT_YEAR[1]
    # No village leads the ranking from one cabinet: the top five communes per inhabitant are towns.
    ranked = sorted(totals, key=lambda code: -totals[code] / city.commune(code).population)
    assert all(city.commune(code).population >= 10_000 for code in ranked[:5]), [
        city.commune(c).name for c in ranked[:5]
    ]


def test_electricity_per_inhabitant_residential_and_in_nice(city, year):
    residential = _per_commune(
        city, year, "electricity-meters", "active_power", lambda a: a.properties["segment"] == "residential"
    )
    per_inhabitant = sum(residential.values()) / _population(city, residential)
    assert RESIDENTIAL_KWH_PER_INHABITANT_YEAR[0] <= per_inhabitant <= RESIDENTIAL_KWH_PER_INHABITANT_YEAR[1]
    every = _per_commune(city, year, "electricity-meters", "active_power")
    nice = every[NICE] / city.commune(NICE).population
    assert NICE_KWH_PER_INHABITANT_YEAR[0] <= nice <= NICE_KWH_PER_INHABITANT_YEAR[1]
    # The big communes (tertiary activity) lead electricity per inhabitant.
    top = max(every, key=lambda code: every[code] / city.commune(code).population)
    assert top == NICE


def test_water_per_inhabitant_and_day(city, year):
    totals = _per_commune(city, year, "water-meters", "flow", two=True)  # m³ over the year
    litres = sum(totals.values()) * 1000 / _population(city, totals) / 365
    assert WATER_L_PER_INHABITANT_DAY[0] <= litres <= WATER_L_PER_INHABITANT_DAY[1]


def test_daily_traffic_by_road_class(city, year):
    by_road: dict[str, list[float]] = defaultdict(list)
    for asset in city.by_network("traffic-counters"):
        values = year[asset.ext_id, "vehicles"]
        by_road[asset.properties["road"]].append(sum(values) / len(values) * 96)  # vehicles a day
    assert by_road
    for road, days in by_road.items():
        low, high = DAILY_TRAFFIC[road]
        mean = sum(days) / len(days)
        assert low <= mean <= high, (road, mean)


def test_air_quality_annual_means_near_nice(city, year):
    for metric, (low, high) in (("no2", NO2_MEAN), ("pm10", PM10_MEAN), ("pm25", PM25_MEAN)):
        values = [v for (asset, name), vs in year.items() if name == metric for v in vs]
        mean = sum(values) / len(values)
        assert low <= mean <= high, (metric, mean)


def test_daily_readings_carry_the_day_mean_of_the_full_resolution_series(city):
    """A day of the coarse history integrates to the energy of the same day read every 15 minutes."""
    day = datetime(2025, 1, 15, tzinfo=UTC)
    fine: dict[str, float] = defaultdict(float)
    for row in measurements(city, day, day + timedelta(days=1), 6):
        if row["metric"] == "active_power":
            fine[row["asset"]] += row["value"] / 48  # half-hourly: the day's mean
    coarse = {
        row["asset"]: row["value"]
        for row in daily_rows(city, day, day + timedelta(days=1), 6)
        if row["metric"] == "active_power"
    }
    assert set(coarse) == set(fine)
    assert sum(coarse.values()) == pytest.approx(sum(fine.values()), rel=0.08)


def test_the_demo_history_holds_thirteen_complete_months(city):
    end = datetime(2026, 12, 8, 14, tzinfo=UTC)
    start = history_start(end, 13)
    assert start == datetime(2025, 11, 1, tzinfo=UTC)
    chunks = month_chunks(start, datetime(2026, 11, 8, tzinfo=UTC))
    assert len(chunks) == 13 and chunks[0][0] == start and chunks[-1][1] == datetime(2026, 11, 8, tzinfo=UTC)
    days = (chunks[-1][1] - start).days
    assert daily_rows_count(city, start, chunks[-1][1]) == days * daily_rows_count(
        city, start, start + timedelta(days=1)
    )
