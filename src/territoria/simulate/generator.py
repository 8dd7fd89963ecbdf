"""Measurement generator: lazy, time-ordered rows of every series of a city, with optional faults."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from territoria.simulate.city import City
from territoria.simulate.faults import FUTURE_SHIFT, FaultPlan, InjectedFault
from territoria.simulate.networks import NETWORKS, QUARTER_HOUR, Metric, Network, network
from territoria.simulate.profiles import aligned_count, first_aligned, moment, require_aware, utc
from territoria.simulate.randomness import mix, seeded
from territoria.simulate.signals import MODELS, SignalModel, Values

# How far back a stuck sensor looks for its last non-zero reading (in its reporting steps).
STUCK_LOOKBACK = 96
_SALTS_PER_NETWORK = 16


class MeasurementRow(TypedDict):
    """One measurement, in the shape the measurements API accepts."""

    asset: str
    metric: str
    ts: datetime
    value: float


@dataclass
class _Group:
    """The assets of one network and the model producing their values."""

    index: int
    salt: int
    network: Network
    ext_ids: list[str]
    model: SignalModel


class _Engine:
    """Per-network signal models of a city; values depend only on (seed, network, instant)."""

    def __init__(self, city: City, seed: int) -> None:
        self.seed = seed
        self._rng = seeded(0)
        self.groups: list[_Group] = []
        for index, net in enumerate(city.networks):
            assets = city.by_network(net.slug)
            # Salted by catalogue position, so a network's values do not depend on which others exist.
            salt = NETWORKS.index(net) * _SALTS_PER_NETWORK

            def factory(purpose: int, at: int, salt: int = salt) -> random.Random:
                """The generator of one purpose of this network at one index."""
                return seeded(mix(seed, salt + purpose, at))

            model = MODELS[net.slug](city, assets, seed, factory)
            self.groups.append(_Group(index, salt, net, [a.ext_id for a in assets], model))
        intervals = [m.interval_s for g in self.groups for m in g.network.metrics]
        self.tick = math.gcd(*intervals) if intervals else QUARTER_HOUR
        self.where = {ext: (g, i) for g in self.groups for i, ext in enumerate(g.ext_ids)}

    def values(self, group: _Group, epoch: int) -> Values:
        """Values of every asset of a group at an epoch second."""
        self._rng.seed(mix(self.seed, group.salt, epoch))
        return group.model.values(moment(epoch), self._rng)


@dataclass
class _Active:
    """A fault being applied, with its epoch bounds and (for stuck sensors) the frozen value."""

    fault: InjectedFault
    start: int
    end: int
    value: float | None = None


class _FaultState:
    """The plan's series faults, walked through in time order by the generator."""

    def __init__(self, plan: FaultPlan, engine: _Engine) -> None:
        self.engine = engine
        faults = [f for f in plan.series_faults if f.asset in engine.where]
        self.pending = sorted(
            (_Active(f, int(f.start.timestamp()), int(f.end.timestamp()), f.value) for f in faults),
            key=lambda a: a.start,
            reverse=True,
        )
        self.running: list[_Active] = []

    def at(self, epoch: int) -> dict[str, list[_Active]]:
        """Faults covering epoch, by asset external id."""
        self.running = [a for a in self.running if a.end >= epoch]
        while self.pending and self.pending[-1].start <= epoch:
            started = self.pending.pop()
            if started.end >= epoch:
                if started.fault.kind == "stuck":
                    started.value = self._stuck_value(started)
                self.running.append(started)
        by_asset: dict[str, list[_Active]] = {}
        for active in self.running:
            if active.start <= epoch:
                by_asset.setdefault(active.fault.asset, []).append(active)
        return by_asset

    def _stuck_value(self, active: _Active) -> float:
        """The last non-zero reading at or before the window start: the value the sensor repeats."""
        group, position = self.engine.where[active.fault.asset]
        metric = group.network.metric(active.fault.metric or "")
        index = group.network.metrics.index(metric)
        for back in range(STUCK_LOOKBACK + 1):
            value = self.engine.values(group, active.start - back * metric.interval_s)[position][index]
            if value > metric.min:
                return value
        return round(metric.min + 0.5 * (metric.usual_max - metric.min), metric.decimals)


def measurements(
    city: City, start: datetime, end: datetime, seed: int, faults: FaultPlan | None = None
) -> Iterator[MeasurementRow]:
    """Rows of every series over [start, end), lazily, one time step (all assets) after another.

    Rows come in time order except the future_timestamp faults, which carry ts + FUTURE_SHIFT.
    """
    start_epoch = math.ceil(require_aware(start, "start").timestamp())
    end_epoch = math.ceil(require_aware(end, "end").timestamp())
    engine = _Engine(city, seed)
    state = _FaultState(faults if faults is not None else FaultPlan.none(), engine)
    return _rows(engine, state, start_epoch, end_epoch)


def _rows(engine: _Engine, state: _FaultState, start_epoch: int, end_epoch: int) -> Iterator[MeasurementRow]:
    """The generator behind measurements."""
    for epoch in range(first_aligned(engine.tick, start_epoch), end_epoch, engine.tick):
        ts = utc(epoch)
        active = state.at(epoch)
        faulty_groups = {engine.where[ext][0].index for ext in active}
        for group in engine.groups:
            due = [(i, m.name) for i, m in enumerate(group.network.metrics) if epoch % m.interval_s == 0]
            if not due:
                continue
            values = engine.values(group, epoch)
            if group.index in faulty_groups:
                yield from _faulty_step(group, values, due, ts, active)
            elif len(due) == 1:
                index, name = due[0]
                for ext, vals in zip(group.ext_ids, values, strict=True):
                    yield {"asset": ext, "metric": name, "ts": ts, "value": vals[index]}
            else:
                for ext, vals in zip(group.ext_ids, values, strict=True):
                    for index, name in due:
                        yield {"asset": ext, "metric": name, "ts": ts, "value": vals[index]}


def _faulty_step(
    group: _Group,
    values: Values,
    due: list[tuple[int, str]],
    ts: datetime,
    active: dict[str, list[_Active]],
) -> Iterator[MeasurementRow]:
    """Rows of one group at one step when some of its series are faulty."""
    for ext, vals in zip(group.ext_ids, values, strict=True):
        faults = active.get(ext, [])
        for index, name in due:
            hit = next((a for a in faults if a.fault.metric == name), None)
            if hit is None:
                yield {"asset": ext, "metric": name, "ts": ts, "value": vals[index]}
                continue
            kind = hit.fault.kind
            if kind == "gap":
                continue
            if kind == "future_timestamp":
                yield {"asset": ext, "metric": name, "ts": ts + FUTURE_SHIFT, "value": vals[index]}
                continue
            value = hit.value if hit.value is not None else vals[index]
            yield {"asset": ext, "metric": name, "ts": ts, "value": value}


def live_rows(city: City, at: datetime, seed: int) -> list[MeasurementRow]:
    """One reading of every series at time at (UTC), without faults: the demo's live feed step."""
    when = require_aware(at, "at")
    epoch = math.floor(when.timestamp())
    engine = _Engine(city, seed)
    rows: list[MeasurementRow] = []
    for group in engine.groups:
        names = [m.name for m in group.network.metrics]
        for ext, vals in zip(group.ext_ids, engine.values(group, epoch), strict=True):
            rows.extend(
                {"asset": ext, "metric": name, "ts": when, "value": value}
                for name, value in zip(names, vals, strict=True)
            )
    return rows


def rows_count(city: City, start: datetime, end: datetime, faults: FaultPlan | None = None) -> int:
    """How many rows measurements yields over [start, end) (gaps of the plan deducted)."""
    start_epoch = math.ceil(require_aware(start, "start").timestamp())
    end_epoch = math.ceil(require_aware(end, "end").timestamp())
    per_asset: dict[str, int] = {}
    for net in city.networks:
        per_asset[net.slug] = sum(aligned_count(m.interval_s, start_epoch, end_epoch) for m in net.metrics)
    total = sum(per_asset[a.network] for a in city.assets)
    for fault in faults.of_kind("gap") if faults is not None else []:
        metric = _metric_of(city, fault)
        if metric is not None:
            first = max(start_epoch, int(fault.start.timestamp()))
            last = min(end_epoch, int(fault.end.timestamp()) + 1)
            total -= aligned_count(metric.interval_s, first, last)
    return total


def _metric_of(city: City, fault: InjectedFault) -> Metric | None:
    """The metric a fault hits, None if its asset is not in the city."""
    try:
        return network(city.asset(fault.asset).network).metric(fault.metric or "")
    except KeyError:
        return None


# The coarse history: each day is sampled at DAILY_SAMPLES instants, DAILY_STRIDE_H hours apart, from
# an offset that turns with the day so that a month's mean sees every hour of the day.
DAILY_SAMPLES = 6
DAILY_STRIDE_H = 4
DAY = 86_400


def _daily_value(metric: Metric, samples: list[float]) -> list[tuple[int, float]]:
    """The readings (seconds into the day, value) standing for one series' day."""
    last = DAY - metric.interval_s
    if metric.daily == "mode":
        counts: dict[float, int] = {}
        for value in samples:
            counts[value] = counts.get(value, 0) + 1
        return [(last, max(counts, key=lambda v: (counts[v], v)))]
    mean = sum(samples) / len(samples)
    if metric.daily == "min_mean":
        low = min(samples)
        return [(metric.interval_s, low), (last, round(2 * mean - low, metric.decimals))]
    return [(last, round(mean, metric.decimals))]


def daily_rows(city: City, start: datetime, end: datetime, seed: int) -> Iterator[MeasurementRow]:
    """The coarse history over the whole UTC days of [start, end): one reading per series and day.

    Each reading carries the day's mean of the metric (stamped at the day's last reporting slot), so
    time-weighted KPIs (energy, volume, mean concentrations, daily traffic) keep their value; codes
    and flags carry the day's most frequent value; water flow carries two readings, the night minimum
    and the value that makes the day's mean (leaks stay visible).
    """
    first = math.ceil(require_aware(start, "start").timestamp() / DAY) * DAY
    stop = math.floor(require_aware(end, "end").timestamp() / DAY) * DAY
    engine = _Engine(city, seed)
    for day in range(first, stop, DAY):
        offset = (day // DAY) % DAILY_STRIDE_H * 3600
        instants = [day + offset + k * DAILY_STRIDE_H * 3600 for k in range(DAILY_SAMPLES)]
        stamps: dict[int, datetime] = {}
        for group in engine.groups:
            taken = [engine.values(group, epoch) for epoch in instants]
            metrics = group.network.metrics
            for metric in metrics:
                for second in (metric.interval_s, DAY - metric.interval_s):
                    stamps.setdefault(second, utc(day + second))
            if len(metrics) == 1 and metrics[0].daily == "mean":
                name, decimals = metrics[0].name, metrics[0].decimals
                ts = stamps[DAY - metrics[0].interval_s]
                for ext, per_asset in zip(group.ext_ids, zip(*taken, strict=True), strict=True):
                    mean = sum(v[0] for v in per_asset) / DAILY_SAMPLES
                    yield {"asset": ext, "metric": name, "ts": ts, "value": round(mean, decimals)}
                continue
            for ext, per_asset in zip(group.ext_ids, zip(*taken, strict=True), strict=True):
                for metric, samples in zip(metrics, zip(*per_asset, strict=True), strict=True):
                    for second, value in _daily_value(metric, list(samples)):
                        yield {"asset": ext, "metric": metric.name, "ts": stamps[second], "value": value}


def daily_rows_count(city: City, start: datetime, end: datetime) -> int:
    """How many rows daily_rows yields."""
    first = math.ceil(require_aware(start, "start").timestamp() / DAY)
    stop = math.floor(require_aware(end, "end").timestamp() / DAY)
    per_day = sum(
        len(network(a.network).metrics) + sum(m.daily == "min_mean" for m in network(a.network).metrics)
        for a in city.assets
    )
    return max(0, stop - first) * per_day
