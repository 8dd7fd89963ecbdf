"""Signal models: the values every asset of one network reports at one moment."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Protocol

from territoria.simulate.city import Asset, City, population_factor
from territoria.simulate.profiles import (
    EV_OCCUPANCY,
    RESIDENTIAL_WEEKDAY,
    RESIDENTIAL_WEEKEND,
    TERTIARY_WEEKDAY,
    TERTIARY_WEEKEND,
    WATER_SHARE,
    WATER_ZERO_CHANCE,
    Moment,
    deposit_fraction,
    interp,
    traffic_level,
)
from territoria.simulate.randomness import seeded

Values = list[tuple[float, ...]]
# Builds the random generator of one purpose (salt) at one index (an hour, a day): values then
# depend only on the seed and the instant, so any span or a single live step gives the same numbers.
RngFactory = Callable[[int, int], random.Random]
SALT_SLOT = 1
SALT_DAY = 2
COLLECTION_HOUR = 6.0
LEAK_SHARE = 0.04


class SignalModel(Protocol):
    """Values of every asset of one network (city order, metric order) at a moment."""

    def values(self, m: Moment, rng: random.Random) -> Values:
        """One tuple of metric values per asset."""
        ...


def _factor(city: City, asset: Asset) -> float:
    """Population factor of the asset's commune."""
    return population_factor(city.commune(asset.expected_area).population)


class Lighting:
    """Street lights: rated power from dusk to dawn, dimmed 23:00-05:00 where the driver allows it."""

    def __init__(self, city: City, assets: Sequence[Asset], seed: int, rngs: RngFactory) -> None:
        # kW of the whole cabinet: light points × mean rating.
        self.params = [
            (
                a.properties["light_points"] * float(a.properties["power_rating_w"]) / 1000,
                float(a.properties["dim_level"]),
            )
            for a in assets
        ]
        self.dark_off: Values = [(0.0, 0.0)] * len(assets)

    def values(self, m: Moment, rng: random.Random) -> Values:
        """Power (kW) and on flag of every lighting cabinet."""
        if not m.dark:
            return self.dark_off
        r = rng.random
        dimmed = m.local_hour >= 23 or m.local_hour < 5
        lit: Values = [
            (round(rating * (dim if dimmed else 1.0) * (1 + 0.04 * (r() + r() - 1)), 2), 1.0)
            for rating, dim in self.params
        ]
        return lit


def _mean_level(weekday: tuple[float, ...], weekend: tuple[float, ...], heat: float, cool: float) -> float:
    """Yearly mean of a load profile (5 weekdays, 2 weekend days) with its seasonal gains."""
    daily = (5 * sum(weekday) + 2 * sum(weekend)) / (7 * 24)
    # Mean of max(cos, 0) over a year is 1/π, and so is that of max(-cos, 0).
    return daily * (1 + (heat + cool) / math.pi)


RESIDENTIAL_MEAN = _mean_level(RESIDENTIAL_WEEKDAY, RESIDENTIAL_WEEKEND, 0.3, 0.08)
TERTIARY_MEAN = _mean_level(TERTIARY_WEEKDAY, TERTIARY_WEEKEND, 0.15, 0.15)


class Electricity:
    """Low-voltage feeders: residential or tertiary load curve, weekend change, more in winter.

    A feeder's base is set so that its yearly energy is its `yearly_kwh` property.
    """

    def __init__(self, city: City, assets: Sequence[Asset], seed: int, rngs: RngFactory) -> None:
        self.params = []
        for a in assets:
            tertiary = a.properties["segment"] == "tertiary"
            mean_kw = float(a.properties["yearly_kwh"]) / 8760
            base = mean_kw / (TERTIARY_MEAN if tertiary else RESIDENTIAL_MEAN)
            self.params.append((base, tertiary))

    def values(self, m: Moment, rng: random.Random) -> Values:
        """Active power (kW) of every meter."""
        r = rng.random
        heat = max(m.winter, 0.0)
        cool = max(-m.winter, 0.0)
        res = interp(RESIDENTIAL_WEEKEND if m.weekend else RESIDENTIAL_WEEKDAY, m.local_hour)
        res *= 1 + 0.3 * heat + 0.08 * cool
        ter = interp(TERTIARY_WEEKEND if m.weekend else TERTIARY_WEEKDAY, m.local_hour)
        ter *= 1 + 0.15 * heat + 0.15 * cool
        out: Values = []
        for base, tertiary in self.params:
            if tertiary:
                value = base * ter * (1 + 0.08 * (r() + r() - 1))
            else:
                value = base * res * (1 + 0.1 * (r() + r() - 1))
            out.append((round(value, 2),))
        return out


class Charging:
    """Charge points: hourly sessions (busier by day and in big communes), rare out-of-order days."""

    def __init__(self, city: City, assets: Sequence[Asset], seed: int, rngs: RngFactory) -> None:
        self.rngs = rngs
        self.params = [(float(a.properties["max_power_kw"]), _factor(city, a)) for a in assets]
        self._slot: tuple[int, list[tuple[bool, float, bool]]] = (-1, [])
        self._day: tuple[int, list[bool]] = (-1, [])

    def _sessions(self, m: Moment) -> list[tuple[bool, float, bool]]:
        """(occupied, vehicle power limit kW, idle) per point for the hour of m."""
        slot = m.epoch // 3600
        if self._slot[0] != slot:
            rng = self.rngs(SALT_SLOT, slot)
            base = EV_OCCUPANCY[int(m.local_hour)] * (0.85 if m.weekend else 1.0)
            sessions = []
            for max_kw, factor in self.params:
                occupied = rng.random() < base * (0.5 + 0.6 * factor)
                if max_kw >= 50:
                    limit = rng.choice([50.0, 100.0, 150.0])
                else:
                    limit = rng.choice([3.7, 7.4, 7.4, 11.0, 22.0])
                sessions.append((occupied, limit, rng.random() < 0.2))
            self._slot = (slot, sessions)
        return self._slot[1]

    def _broken(self, m: Moment) -> list[bool]:
        """Out-of-order flag per point for the UTC day of m."""
        day = m.epoch // 86_400
        if self._day[0] != day:
            rng = self.rngs(SALT_DAY, day)
            self._day = (day, [rng.random() < 0.02 for _ in self.params])
        return self._day[1]

    def values(self, m: Moment, rng: random.Random) -> Values:
        """Status code and delivered power (kW) of every charge point."""
        r = rng.random
        taper = 1.0 - 0.4 * ((m.epoch % 3600) / 3600)
        out: Values = []
        for (max_kw, _), (occupied, limit, idle), broken in zip(
            self.params, self._sessions(m), self._broken(m), strict=True
        ):
            if broken:
                out.append((2.0, 0.0))
            elif not occupied:
                out.append((0.0, 0.0))
            elif idle:
                out.append((1.0, 0.0))
            else:
                power = min(max_kw, limit) * (taper if max_kw >= 50 else 0.92) * (1 + 0.05 * (r() + r() - 1))
                out.append((1.0, round(power, 2)))
        return out


def water_leaks(city: City, seed: int) -> dict[str, float]:
    """Leaking water meters of the city for a seed: external id -> constant leak flow (L/h)."""
    meters = [a.ext_id for a in city.by_network("water")]
    if not meters:
        return {}
    rng = seeded(f"{seed}:water:leaks")
    chosen = rng.sample(meters, max(1, round(LEAK_SHARE * len(meters))))
    return {ext_id: round(rng.uniform(0.05, 0.5), 3) for ext_id in sorted(chosen)}


class Water:
    """District water meters: daily cycle, no flow some night hours, except where a pipe leaks."""

    def __init__(self, city: City, assets: Sequence[Asset], seed: int, rngs: RngFactory) -> None:
        leaks = water_leaks(city, seed)
        self.params = []
        for a in assets:
            # Yearly mean of the seasonal gain below is 1 + 0.2/π: the daily volume is kept on average.
            daily = float(a.properties["daily_m3"]) / (1 + 0.2 / math.pi)
            self.params.append((daily, False, leaks.get(a.ext_id, 0.0)))

    def values(self, m: Moment, rng: random.Random) -> Values:
        """Flow (m³/h) of every meter."""
        r = rng.random
        hour = int(m.local_hour)
        share = WATER_SHARE[hour] * (1 + 0.2 * max(-m.winter, 0.0))
        zero_home = WATER_ZERO_CHANCE[hour]
        zero_building = max(0.0, zero_home - 0.4)
        out: Values = []
        for daily, collective, leak in self.params:
            zero = zero_building if collective else zero_home
            # A leak is a steady flow, but metered with some jitter so it never looks like a stuck sensor.
            flow = leak * (1 + 0.03 * (r() + r() - 1)) if leak else 0.0
            if r() >= zero:
                flow += daily * share / (1 - zero) * (1 + 0.5 * (r() + r() - 1))
            out.append((round(flow, 3),))
        return out


class Waste:
    """Waste containers: fill during the day, emptied at 06:00 on their collection days."""

    def __init__(self, city: City, assets: Sequence[Asset], seed: int, rngs: RngFactory) -> None:
        spread = seeded(f"{seed}:waste:params")
        self.params = []
        for a in assets:
            days = tuple(a.properties["collection_days"])
            stream = a.properties["stream"]
            if stream == "residual":
                rate = spread.uniform(45, 80) if len(days) > 3 else spread.uniform(25, 45)
            elif stream == "recycling":
                rate = spread.uniform(8, 15)
            else:
                rate = spread.uniform(4, 9)
            self.params.append((rate, days))

    @staticmethod
    def deposit_days(m: Moment, days: tuple[int, ...]) -> float:
        """Days' worth of deposits since the last collection (7 or more when never collected)."""
        for back in range(8):
            if (m.weekday - back) % 7 in days and (back > 0 or m.local_hour >= COLLECTION_HOUR):
                return back + deposit_fraction(m.local_hour)
        return 7 + deposit_fraction(m.local_hour)

    def values(self, m: Moment, rng: random.Random) -> Values:
        """Fill level (%) of every container."""
        r = rng.random
        season = 1 + 0.2 * max(-m.winter, 0.0)
        cache: dict[tuple[int, ...], float] = {}
        out: Values = []
        for rate, days in self.params:
            elapsed = cache.get(days)
            if elapsed is None:
                elapsed = cache[days] = self.deposit_days(m, days)
            level = rate * season * elapsed + 2.0 * (r() + r() - 1)
            out.append((round(min(100.0, max(0.0, level)), 1),))
        return out


class Traffic:
    """Traffic counters: morning and evening rush on weekdays, a flatter weekend, bigger in cities."""

    def __init__(self, city: City, assets: Sequence[Asset], seed: int, rngs: RngFactory) -> None:
        spread = seeded(f"{seed}:traffic:params")
        # Vehicles per quarter hour at the weekday morning peak (docs/demo-calibration.md).
        peak = {"arterial": 900.0, "urban": 260.0, "local": 45.0}
        self.params = [
            peak[a.properties["road"]] * (0.35 + 0.65 * _factor(city, a)) * spread.uniform(0.8, 1.2)
            for a in assets
        ]

    def values(self, m: Moment, rng: random.Random) -> Values:
        """Vehicles per quarter hour at every counter."""
        r = rng.random
        level = traffic_level(m)
        counts: Values = [(float(round(p * level * (1 + 0.16 * (r() + r() - 1)))),) for p in self.params]
        return counts


class AirQuality:
    """Air-quality stations: NO2 follows the traffic rush hours, particles higher in winter."""

    def __init__(self, city: City, assets: Sequence[Asset], seed: int, rngs: RngFactory) -> None:
        self.params = []
        for a in assets:
            factor = _factor(city, a)
            traffic_site = a.properties["station_type"] == "traffic"
            self.params.append((6 + 22 * factor + (14 if traffic_site else 0), 10 + 8 * factor))

    def values(self, m: Moment, rng: random.Random) -> Values:
        """NO2, PM10 and PM2.5 (µg/m³) at every station."""
        r = rng.random
        heat = max(m.winter, 0.0)
        rush = 0.45 + 0.9 * traffic_level(m)
        out: Values = []
        for no2_base, pm_base in self.params:
            no2 = no2_base * rush * (1 + 0.35 * heat) * (1 + 0.2 * (r() + r() - 1))
            pm10 = (pm_base + 6 * heat + 0.12 * no2) * (1 + 0.3 * (r() + r() - 1))
            pm25 = pm10 * (0.55 + 0.1 * (r() + r() - 1))
            out.append((round(no2, 1), round(pm10, 1), round(pm25, 1)))
        return out


ModelClass = Callable[[City, Sequence[Asset], int, RngFactory], SignalModel]

MODELS: dict[str, ModelClass] = {
    "street-lights": Lighting,
    "electricity-meters": Electricity,
    "ev-charge-points": Charging,
    "water-meters": Water,
    "waste-containers": Waste,
    "traffic-counters": Traffic,
    "air-quality": AirQuality,
}
