"""Synthetic city: assets of every simulated network placed in the real communes by population."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import shapely

from territoria.simulate.communes import Commune, load_communes
from territoria.simulate.networks import NETWORKS, STREET_LIGHTS, Network, network
from territoria.simulate.randomness import seeded

COORD_DECIMALS = 6
MAX_PLACEMENT_TRIES = 200


@dataclass(frozen=True)
class Asset:
    """A simulated connected object, placed in the commune whose INSEE code is expected_area."""

    ext_id: str
    kind: str
    network: str
    name: str
    lon: float
    lat: float
    expected_area: str
    properties: dict[str, Any] = field(default_factory=dict, hash=False)

    def payload(self) -> dict[str, Any]:
        """The asset as the assets API expects it: id, kind, lon, lat, properties."""
        return {
            "id": self.ext_id,
            "kind": self.kind,
            "lon": self.lon,
            "lat": self.lat,
            "properties": dict(self.properties),
        }


@dataclass(frozen=True)
class City:
    """The synthetic city: the communes and the assets of every network, built from a seed."""

    seed: int
    communes: tuple[Commune, ...]
    assets: tuple[Asset, ...]

    @cached_property
    def _assets_by_id(self) -> dict[str, Asset]:
        """Assets keyed by external id."""
        return {a.ext_id: a for a in self.assets}

    @cached_property
    def _communes_by_code(self) -> dict[str, Commune]:
        """Communes keyed by INSEE code."""
        return {c.code: c for c in self.communes}

    @property
    def networks(self) -> tuple[Network, ...]:
        """The networks that have at least one asset in the city, in catalogue order."""
        present = {a.network for a in self.assets}
        return tuple(n for n in NETWORKS if n.slug in present)

    def by_network(self, slug: str) -> tuple[Asset, ...]:
        """The assets of one network (slug or domain), in city order."""
        wanted = network(slug).slug
        return tuple(a for a in self.assets if a.network == wanted)

    def asset(self, ext_id: str) -> Asset:
        """The asset with this external id (KeyError if none)."""
        return self._assets_by_id[ext_id]

    def commune(self, code: str) -> Commune:
        """The commune with this INSEE code (KeyError if none)."""
        return self._communes_by_code[code]


def build_city(n_assets: int, seed: int) -> City:
    """A deterministic synthetic city of exactly n_assets assets spread over networks and communes."""
    if n_assets < 0:
        raise ValueError("n_assets must be zero or positive")
    communes = load_communes()
    assets: list[Asset] = []
    for net, count in zip(NETWORKS, network_counts(n_assets, len(communes)), strict=True):
        per_commune = commune_counts(net, count, communes)
        for commune, k in zip(communes, per_commune, strict=True):
            if k:
                assets.extend(_place(net, commune, k, seed))
    return City(seed=seed, communes=communes, assets=tuple(assets))


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split total into integers proportional to weights (largest remainder method)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    quotas = [total * w / weight_sum for w in weights]
    counts = [math.floor(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], -weights[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def network_counts(n_assets: int, n_communes: int = 163) -> list[int]:
    """Assets per network (catalogue order): one each when possible, the rest by network share.

    From 2 * n_communes assets on, street lights get at least one per commune.
    """
    floor = 1 if n_assets >= len(NETWORKS) else 0
    counts = [floor + r for r in apportion(n_assets - floor * len(NETWORKS), [n.share for n in NETWORKS])]
    lights = NETWORKS.index(STREET_LIGHTS)
    if n_assets >= 2 * n_communes and counts[lights] < n_communes:
        others = [i for i in range(len(NETWORKS)) if i != lights]
        rest = apportion(n_assets - n_communes - len(others), [NETWORKS[i].share for i in others])
        counts[lights] = n_communes
        for i, extra in zip(others, rest, strict=True):
            counts[i] = 1 + extra
    return counts


def commune_counts(net: Network, count: int, communes: Sequence[Commune]) -> list[int]:
    """Assets of one network per commune, proportional to population (a street light everywhere)."""
    populations = [c.population for c in communes]
    if net is STREET_LIGHTS and count >= len(communes):
        return [1 + r for r in apportion(count - len(communes), populations)]
    return apportion(count, populations)


def _place(net: Network, commune: Commune, k: int, seed: int) -> list[Asset]:
    """The k assets of one network in one commune, at random points inside its boundary."""
    rng = seeded(f"{seed}:{net.slug}:{commune.code}")
    geometry = commune.shape()
    shapely.prepare(geometry)
    make_properties = PROPERTY_MAKERS[net.slug]
    assets = []
    lon = lat = 0.0
    for i in range(1, k + 1):
        properties = {"commune": commune.code, **make_properties(rng, commune, i, k)}
        # Charge points of one station share its location.
        if net.slug != "ev-charge-points" or i % 2 == 1:
            lon, lat = random_point_in(geometry, rng)
        assets.append(
            Asset(
                ext_id=f"{net.id_prefix}-{commune.code}-{i:04d}",
                kind=net.asset_kind,
                network=net.slug,
                name=f"{net.asset_label_fr} {commune.name} {i}",
                lon=lon,
                lat=lat,
                expected_area=commune.code,
                properties=properties,
            )
        )
    return assets


def random_point_in(geometry: Any, rng: random.Random) -> tuple[float, float]:
    """A random (lon, lat) inside geometry, rounded; its representative point if sampling fails."""
    min_x, min_y, max_x, max_y = geometry.bounds
    for _ in range(MAX_PLACEMENT_TRIES):
        x = round(rng.uniform(min_x, max_x), COORD_DECIMALS)
        y = round(rng.uniform(min_y, max_y), COORD_DECIMALS)
        if shapely.contains_xy(geometry, x, y):
            return x, y
    point = geometry.representative_point()
    return round(point.x, COORD_DECIMALS), round(point.y, COORD_DECIMALS)


def population_factor(population: int) -> float:
    """Size of a commune on a log scale: about 0.3 for a village, 1.0 for Nice."""
    return math.log10(population + 1) / math.log10(348_085 + 1)


# Calibration (docs/demo-calibration.md): one simulated asset stands for the devices of a district,
# so that totals per inhabitant match published French figures.
INHABITANTS_PER_LIGHT_POINT = 6.0  # ADEME / AFE: about 11 million light points for 68 million people
RESIDENTIAL_KWH_PER_INHABITANT = 2_300.0  # RTE / SDES: residential electricity, kWh per inhabitant and year
TERTIARY_KWH_PER_INHABITANT = (1_200.0, 3_800.0)  # village .. Nice: shops, offices, hotels, public buildings
WATER_L_PER_INHABITANT_DAY = 148.0  # SISPEA / eaufrance: domestic water, litres per inhabitant and day


def _served(commune: Commune, share: int) -> float:
    """Inhabitants behind one of `share` assets splitting the commune."""
    return commune.population / max(share, 1)


def tertiary_feeders(k: int, population: int) -> int:
    """How many of a commune's k electricity feeders are tertiary (none below 3 feeders)."""
    if k < 3:
        return 0
    return max(1, round(k * (0.15 + 0.2 * population_factor(population))))


def _lighting(rng: random.Random, commune: Commune, i: int, k: int) -> dict[str, Any]:
    """Properties of a street-lighting cabinet: its light points, their mean rating, LED share."""
    size = population_factor(commune.population)
    # Towns light more per inhabitant than villages here (main roads, centres, seafront).
    points = max(4, round(_served(commune, k) / INHABITANTS_PER_LIGHT_POINT * (0.75 + 0.5 * size)))
    led_share = round(rng.uniform(0.4, 0.5), 2)
    # Rated power per point with ballast losses: LED about 60-75 W, sodium/mercury about 150-165 W.
    led_w, old_w = rng.uniform(60, 75), rng.uniform(150, 165)
    rating = round(led_share * led_w + (1 - led_share) * old_w, 1)
    return {
        "light_points": points,
        "power_rating_w": rating,
        "technology": "LED" if led_share >= 0.5 else "SHP",
        "led_share": led_share,
        "dimming": True,
        "dim_level": round(rng.uniform(0.5, 0.7), 2),
    }


def _electricity(rng: random.Random, commune: Commune, i: int, k: int) -> dict[str, Any]:
    """Properties of a low-voltage feeder: residential or tertiary, the inhabitants it serves."""
    tertiary_count = tertiary_feeders(k, commune.population)
    tertiary = i > k - tertiary_count
    served = _served(commune, tertiary_count if tertiary else k - tertiary_count)
    low, high = TERTIARY_KWH_PER_INHABITANT
    size = population_factor(commune.population)
    yearly = served * (low + (high - low) * size**3 if tertiary else RESIDENTIAL_KWH_PER_INHABITANT)
    yearly *= rng.uniform(0.92, 1.08)
    return {
        "segment": "tertiary" if tertiary else "residential",
        "served_inhabitants": round(served),
        "delivery_points": max(1, round(served / (12 if tertiary else 2.1))),
        "yearly_kwh": round(yearly),
    }


def _ev(rng: random.Random, commune: Commune, i: int, k: int) -> dict[str, Any]:
    """Properties of a charge point; two points per station."""
    power = rng.choices([7.4, 22.0, 50.0, 150.0], weights=[35, 45, 12, 8])[0]
    return {
        "station_id": f"IRVE-{commune.code}-S{(i + 1) // 2:03d}",
        "max_power_kw": power,
        "connector": "CCS" if power >= 50 else "T2",
    }


def _water(rng: random.Random, commune: Commune, i: int, k: int) -> dict[str, Any]:
    """Properties of a district water meter: the inhabitants behind it and their daily use."""
    served = _served(commune, k)
    daily = served * WATER_L_PER_INHABITANT_DAY * rng.uniform(0.9, 1.1) / 1000
    return {"usage": "district", "served_inhabitants": round(served), "daily_m3": round(daily, 2)}


def _waste(rng: random.Random, commune: Commune, i: int, k: int) -> dict[str, Any]:
    """Properties of a waste container: stream, capacity and collection weekdays (0 = Monday)."""
    stream = rng.choices(["residual", "recycling", "glass"], weights=[5, 3, 2])[0]
    if stream == "residual":
        days = [0, 1, 2, 3, 4, 5] if commune.population > 20_000 else [0, 2, 4]
    else:
        days = [rng.randrange(6)]
    return {"stream": stream, "capacity_l": rng.choice([660, 770, 3000, 4000]), "collection_days": days}


def _traffic(rng: random.Random, commune: Commune, i: int, k: int) -> dict[str, Any]:
    """Properties of a traffic counter: road class and lanes."""
    road = rng.choices(["arterial", "urban", "local"], weights=[2, 5, 3])[0]
    lanes = {"arterial": 4, "urban": 2, "local": 1}[road]
    return {"road": road, "lanes": lanes}


def _air(rng: random.Random, commune: Commune, i: int, k: int) -> dict[str, Any]:
    """Properties of an air-quality station: traffic or urban background."""
    station_type = "traffic" if rng.random() < 0.4 else "background"
    return {"station_type": station_type, "pollutants": ["no2", "pm10", "pm25"]}


PROPERTY_MAKERS: dict[str, Callable[[random.Random, Commune, int, int], dict[str, Any]]] = {
    "street-lights": _lighting,
    "electricity-meters": _electricity,
    "ev-charge-points": _ev,
    "water-meters": _water,
    "waste-containers": _waste,
    "traffic-counters": _traffic,
    "air-quality": _air,
}
