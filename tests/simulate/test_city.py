"""Tests of the synthetic city: catalogue, placement, counts and determinism."""

import re
from collections import Counter
from importlib import resources

import pytest
import shapely
from shapely import STRtree

from territoria.simulate import NETWORKS, ORGANISATIONS, build_city, commune_shapes, load_communes, network
from territoria.simulate.city import apportion, network_counts

NICE = "06088"


@pytest.fixture(scope="module")
def city():
    return build_city(2000, 42)


def test_communes_are_the_163_of_the_alpes_maritimes():
    communes = load_communes()
    assert len(communes) == 163
    assert {c.code[:2] for c in communes} == {"06"}
    assert max(communes, key=lambda c: c.population).code == NICE
    assert all(c.geometry["type"] in {"Polygon", "MultiPolygon"} for c in communes)


def test_territory_data_ships_with_its_licence():
    readme = resources.files("territoria").joinpath("data", "territory", "README.md").read_text("utf-8")
    assert "Licence Ouverte" in readme
    assert "gregoiredavid/france-geojson" in readme
    assert "rcarlier/datas.fun" in readme


def test_catalogue_is_complete_and_consistent():
    domains = {n.domain for n in NETWORKS}
    assert domains == {"lighting", "electricity", "ev_charging", "water", "waste", "mobility", "air_quality"}
    assert len({n.slug for n in NETWORKS}) == len(NETWORKS)
    assert abs(sum(n.share for n in NETWORKS) - 1) < 1e-9
    for net in NETWORKS:
        assert net.kind == "timeseries"
        assert net.owner in ORGANISATIONS
        assert net.metrics
        for metric in net.metrics:
            assert metric.min < metric.max
            assert metric.usual_max <= metric.max
            assert metric.interval_s == net.interval_s
            assert metric.description and metric.description_fr
    assert {n.domain for n in NETWORKS if n.access == "open"} == {"air_quality", "mobility"}
    assert network("lighting").owner.kind == "authority"
    assert network("electricity").owner.kind == "operator"
    assert network("lighting").metric("power").unit == "kW"  # a lighting cabinet, many light points
    assert network("lighting").metric("power").max == 25_000
    assert network("mobility").metric("vehicles").unit == "veh/15min"
    assert {m.name for m in network("air_quality").metrics} == {"no2", "pm10", "pm25"}
    assert "out of order" in network("ev_charging").metric("status").description


def test_apportion_is_exact_and_proportional():
    assert apportion(10, [1, 1, 2]) == [3, 2, 5]
    assert apportion(0, [1, 2]) == [0, 0]
    assert sum(apportion(1234, [c.population for c in load_communes()])) == 1234


def test_city_has_exactly_the_requested_assets(city):
    assert len(city.assets) == 2000
    counts = Counter(a.network for a in city.assets)
    assert [counts[n.slug] for n in NETWORKS] == network_counts(2000)
    for net, count in zip(NETWORKS, network_counts(2000), strict=True):
        assert count == pytest.approx(2000 * net.share, abs=8)
        assert len(city.by_network(net.slug)) == count


@pytest.mark.parametrize("n", [326, 500, 1000])
def test_mid_size_cities_still_light_every_commune(n):
    counts = network_counts(n)
    assert sum(counts) == n
    assert all(c >= 1 for c in counts)
    lights = Counter(a.expected_area for a in build_city(n, 3).by_network("lighting"))
    assert len(lights) == 163


def test_every_commune_has_a_street_light_and_nice_is_the_biggest(city):
    lights = Counter(a.expected_area for a in city.by_network("lighting"))
    assert set(lights) == {c.code for c in city.communes}
    per_commune = Counter(a.expected_area for a in city.assets)
    assert per_commune.most_common(1)[0][0] == NICE
    for net in NETWORKS:
        counts = Counter(a.expected_area for a in city.by_network(net.slug))
        assert counts.most_common(1)[0][0] == NICE


def test_assets_lie_inside_their_commune_and_no_other(city):
    shapes = commune_shapes()
    codes = list(shapes)
    tree = STRtree([shapes[c] for c in codes])
    for asset in city.assets:
        point = shapely.Point(asset.lon, asset.lat)
        assert shapes[asset.expected_area].contains(point), asset.ext_id
        containing = [codes[i] for i in tree.query(point, predicate="within")]
        assert containing == [asset.expected_area], asset.ext_id


def test_assets_have_stable_ids_and_properties(city):
    ids = [a.ext_id for a in city.assets]
    assert len(set(ids)) == len(ids)
    assert city.asset("LUM-06088-0001").expected_area == NICE
    for asset in city.assets:
        net = network(asset.network)
        assert re.fullmatch(rf"{net.id_prefix}-\d{{5}}-\d{{4}}", asset.ext_id)
        assert asset.ext_id.split("-")[1] == asset.expected_area == asset.properties["commune"]
        assert asset.kind == net.asset_kind
        assert asset.name
    for light in city.by_network("lighting"):
        assert 0 < light.properties["power_rating_w"] <= 400
        assert light.properties["light_points"] >= 4
    payload = city.assets[0].payload()
    assert set(payload) == {"id", "kind", "lon", "lat", "properties"}


def test_charge_points_of_a_station_share_its_location(city):
    by_station: dict[str, set[tuple[float, float]]] = {}
    for point in city.by_network("ev_charging"):
        by_station.setdefault(point.properties["station_id"], set()).add((point.lon, point.lat))
    assert all(len(locations) == 1 for locations in by_station.values())


def test_city_is_deterministic_for_a_seed():
    assert build_city(300, 7) == build_city(300, 7)
    other = build_city(300, 8)
    assert [a.ext_id for a in other.assets] == [a.ext_id for a in build_city(300, 7).assets]
    assert [(a.lon, a.lat) for a in other.assets] != [(a.lon, a.lat) for a in build_city(300, 7).assets]


@pytest.mark.parametrize("n", [0, 1, 5, 7, 50])
def test_small_cities(n):
    city = build_city(n, 1)
    assert len(city.assets) == n
    if n >= len(NETWORKS):
        assert len(city.networks) == len(NETWORKS)


def test_negative_size_is_refused():
    with pytest.raises(ValueError):
        build_city(-1, 1)
