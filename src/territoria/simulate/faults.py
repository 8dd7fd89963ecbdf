"""Faults injected into simulated data for the quality stage to find, with a ledger of each one."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from territoria.simulate.city import Asset, City
from territoria.simulate.networks import Metric, network
from territoria.simulate.profiles import aligned_count, first_aligned, require_aware, to_epoch_ceil, utc
from territoria.simulate.randomness import seeded

FaultKind = Literal["gap", "stuck", "spike", "out_of_range", "swapped_coordinates", "future_timestamp"]
SERIES_KINDS: tuple[FaultKind, ...] = ("gap", "stuck", "spike", "out_of_range", "future_timestamp")
# A sensor whose clock jumped ten years ahead: its rows carry ts + FUTURE_SHIFT.
FUTURE_SHIFT = timedelta(days=3650)


@dataclass(frozen=True)
class InjectedFault:
    """One injected fault: on which series, over which nominal timestamps (inclusive), with which value.

    For swapped_coordinates, metric is None and start/end are the plan's span.
    For future_timestamp, the rows of [start, end] are emitted at ts + FUTURE_SHIFT.
    value is the value written by spike and out_of_range faults (a stuck sensor repeats its last reading).
    """

    kind: FaultKind
    asset: str
    metric: str | None
    start: datetime
    end: datetime
    value: float | None = None


@dataclass(frozen=True)
class FaultRates:
    """Share of series (of assets for swapped coordinates) hit by each kind of fault."""

    gap: float = 0.01
    stuck: float = 0.01
    spike: float = 0.01
    out_of_range: float = 0.01
    swapped_coordinates: float = 0.01
    future_timestamp: float = 0.01

    @classmethod
    def zero(cls) -> FaultRates:
        """No fault at all."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def rate(self, kind: FaultKind) -> float:
        """The rate of one kind of fault."""
        rate: float = getattr(self, kind)
        return rate


@dataclass(frozen=True)
class FaultPlan:
    """The faults to inject in one span of a city's data; injected is the ledger tests check against."""

    seed: int
    rates: FaultRates
    injected: list[InjectedFault] = field(default_factory=list, hash=False)

    @classmethod
    def none(cls) -> FaultPlan:
        """A plan without any fault (clean data)."""
        return cls(seed=0, rates=FaultRates.zero())

    @classmethod
    def build(
        cls, city: City, start: datetime, end: datetime, seed: int, rates: FaultRates | None = None
    ) -> FaultPlan:
        """A deterministic plan for city over [start, end): about rates (default 1 %) of series each."""
        rates = FaultRates() if rates is None else rates
        span = (require_aware(start, "start"), require_aware(end, "end"))
        rng = seeded(f"{seed}:faults")
        series = [(a, m) for a in city.assets for m in network(a.network).metrics]
        rng.shuffle(series)
        ledger: list[InjectedFault] = []
        for kind in SERIES_KINDS:
            ledger.extend(_pick_series(kind, series, rates.rate(kind), span, rng))
        ledger.extend(_pick_swapped(city, rates.swapped_coordinates, span, rng))
        ledger.sort(key=lambda f: (f.start, f.asset, f.metric or "", f.kind))
        return cls(seed=seed, rates=rates, injected=ledger)

    def of_kind(self, kind: FaultKind) -> list[InjectedFault]:
        """The ledger entries of one kind."""
        return [f for f in self.injected if f.kind == kind]

    @property
    def series_faults(self) -> list[InjectedFault]:
        """The ledger entries that alter measurement rows (all but swapped coordinates)."""
        return [f for f in self.injected if f.kind != "swapped_coordinates"]

    @property
    def swapped_assets(self) -> frozenset[str]:
        """External ids of the assets whose coordinates are swapped."""
        return frozenset(f.asset for f in self.of_kind("swapped_coordinates"))

    def apply_to_city(self, city: City) -> City:
        """The city with lon and lat swapped on the assets the plan names."""
        swapped = self.swapped_assets
        if not swapped:
            return city
        assets = tuple(_swap(a) if a.ext_id in swapped else a for a in city.assets)
        return replace(city, assets=assets)


def _swap(asset: Asset) -> Asset:
    """The asset with its longitude and latitude exchanged."""
    return replace(asset, lon=asset.lat, lat=asset.lon)


def fault_count(rate: float, population: int) -> int:
    """How many faults a rate gives over a population: at least one when the rate is positive."""
    if rate <= 0 or population <= 0:
        return 0
    return min(population, max(1, round(rate * population)))


def spike_bounds(metric: Metric) -> tuple[float, float] | None:
    """Range of spike values: far above the usual values yet valid; None if the metric has no room."""
    low = max(2 * metric.usual_max, metric.usual_max + 0.5 * (metric.max - metric.usual_max))
    high = metric.max - 0.01 * (metric.max - metric.min)
    return (low, high) if low < high else None


def out_of_range_value(metric: Metric, rng: random.Random) -> float:
    """A value above the metric's maximum, rounded like the metric."""
    value = round(metric.max + (metric.max - metric.min) * rng.uniform(0.2, 1.0), metric.decimals)
    return value if value > metric.max else metric.max + 10.0**-metric.decimals


def _window_slots(kind: FaultKind, metric: Metric, slots: int, rng: random.Random) -> int:
    """Length in reporting steps of a fault window, 0 when the span is too short for this kind."""
    if kind == "gap":
        wanted = math.ceil(rng.uniform(2, 24) * 3600 / metric.interval_s)
        return min(wanted, slots // 2) if slots >= 2 else 0
    if kind == "stuck":
        wanted = math.ceil(rng.uniform(6, 24) * 3600 / metric.interval_s)
        length = min(wanted, slots // 2)
        return length if metric.continuous and length >= 3 else 0
    if kind == "spike":
        return 1 if slots >= 3 and spike_bounds(metric) is not None else 0
    return min(rng.randint(1, 3), slots)


def _fault_value(kind: FaultKind, metric: Metric, rng: random.Random) -> float | None:
    """The value a fault writes (spike, out of range), None for the other kinds."""
    if kind == "spike":
        bounds = spike_bounds(metric)
        return None if bounds is None else round(rng.uniform(*bounds), metric.decimals)
    if kind == "out_of_range":
        return out_of_range_value(metric, rng)
    return None


def _pick_series(
    kind: FaultKind,
    series: list[tuple[Asset, Metric]],
    rate: float,
    span: tuple[datetime, datetime],
    rng: random.Random,
) -> list[InjectedFault]:
    """Faults of one kind on distinct series, taken (and removed) from the shuffled pool."""
    wanted = fault_count(rate, len(series))
    start_epoch, end_epoch = to_epoch_ceil(span[0]), to_epoch_ceil(span[1])
    picked: list[InjectedFault] = []
    kept: list[tuple[Asset, Metric]] = []
    for asset, metric in series:
        slots = aligned_count(metric.interval_s, start_epoch, end_epoch)
        length = _window_slots(kind, metric, slots, rng) if len(picked) < wanted else 0
        if length <= 0:
            kept.append((asset, metric))
            continue
        first = first_aligned(metric.interval_s, start_epoch) + rng.randrange(slots - length + 1) * (
            metric.interval_s
        )
        start = utc(first)
        end = utc(first + (length - 1) * metric.interval_s)
        value = _fault_value(kind, metric, rng)
        picked.append(InjectedFault(kind, asset.ext_id, metric.name, start, end, value))
    series[:] = kept
    return picked


def _pick_swapped(
    city: City, rate: float, span: tuple[datetime, datetime], rng: random.Random
) -> list[InjectedFault]:
    """Assets whose coordinates get swapped."""
    chosen = rng.sample(list(city.assets), fault_count(rate, len(city.assets)))
    return [InjectedFault("swapped_coordinates", a.ext_id, None, span[0], span[1]) for a in chosen]
