"""EV indicators over time: the network's growth by month, availability by day, a station's timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.domains.ev.availability import (
    DEFAULT_MAX_GAP,
    DailyAvailability,
    StatusEvent,
    daily_availability,
    merge_events,
    total,
)
from territoria.domains.ev.live import AVAILABLE, IN_SERVICE, OCCUPIED, OUT_OF_SERVICE, UNKNOWN
from territoria.domains.ev.model import ChargePoint
from territoria.domains.ev.status import status_events

MAX_MONTHS = 240  # twenty years: older commissioning dates are counted in the first month shown


@dataclass(frozen=True)
class MonthFigures:
    """The network in service at the end of a month (by commissioning date)."""

    month: str  # YYYY-MM
    charge_points: int
    stations: int
    installed_kw: float


@dataclass(frozen=True)
class Growth:
    """Month-end figures, and the points left out because they have no commissioning date."""

    months: list[MonthFigures]
    undated: int


@dataclass(frozen=True)
class DayFigures:
    """Availability and occupancy of a set of charge points over one UTC day."""

    day: date
    availability_rate: float | None
    occupancy_rate: float | None
    hors_service_h: float
    unknown_h: float


@dataclass(frozen=True)
class Segment:
    """One stretch of a charge point's state, for the station timeline."""

    id_pdc: str
    start: datetime
    end: datetime
    state: str


def _month_after(d: date) -> date:
    """The first day of the next month."""
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def growth(points: Iterable[ChargePoint], today: date) -> Growth:
    """Charge points, stations and kW in service at each month end, from the commissioning dates."""
    dated = [p for p in points if p.commissioned is not None and p.commissioned <= today]
    undated = sum(1 for p in points if p.commissioned is None)
    if not dated:
        return Growth([], undated)
    first = min(p.commissioned for p in dated if p.commissioned)
    start = date(first.year, first.month, 1)
    floor = date(today.year - MAX_MONTHS // 12, today.month, 1)
    start = max(start, floor)
    by_month: dict[date, list[ChargePoint]] = defaultdict(list)
    for p in dated:
        assert p.commissioned is not None
        by_month[max(date(p.commissioned.year, p.commissioned.month, 1), start)].append(p)
    months: list[MonthFigures] = []
    count, kw, stations = 0, 0.0, set()
    month = start
    while month <= today:
        for p in by_month.get(month, []):
            count += 1
            kw += p.power_kw or 0.0
            if p.id_station:
                stations.add(p.id_station)
        months.append(MonthFigures(month.strftime("%Y-%m"), count, len(stations), round(kw, 3)))
        month = _month_after(month)
    return Growth(months, undated)


def by_day(rows: Iterable[DailyAvailability]) -> list[DayFigures]:
    """Daily rows of many points summed per day (time-weighted rates)."""
    days: dict[date, list[DailyAvailability]] = defaultdict(list)
    for r in rows:
        days[r.day].append(r)
    out: list[DayFigures] = []
    for day in sorted(days):
        t = total(days[day])
        out.append(
            DayFigures(
                day,
                t.availability_rate,
                t.occupancy_rate,
                round(t.hors_service_s / 3600, 2),
                round(t.unknown_s / 3600, 2),
            )
        )
    return out


def daily_figures(
    session: Session,
    ds: Dataset,
    id_pdcs: Mapping[str, str] | Iterable[str],
    start: datetime,
    end: datetime,
    *,
    max_gap: timedelta = DEFAULT_MAX_GAP,
) -> list[DayFigures]:
    """Availability per day of the given charge points (all of the dataset's when none are given)."""
    wanted = set(id_pdcs)
    only = wanted if len(wanted) <= 900 else None  # a long IN list would exceed bound-parameter limits
    events = [
        e
        for e in status_events(session, ds, start - max_gap, end, id_pdcs=only)
        if not wanted or e.id_pdc in wanted
    ]
    return by_day(daily_availability(events, start, end, max_gap=max_gap, id_pdcs=wanted))


def _state(ev: StatusEvent) -> str:
    """The timeline state of a report (the same words as the live map)."""
    if ev.etat == "hors_service":
        return OUT_OF_SERVICE
    if ev.etat != "en_service":
        return UNKNOWN
    return {"libre": AVAILABLE, "occupe": OCCUPIED, "reserve": OCCUPIED}.get(ev.occupation, IN_SERVICE)


def segments(
    events: Iterable[StatusEvent],
    start: datetime,
    end: datetime,
    *,
    max_gap: timedelta = DEFAULT_MAX_GAP,
    id_pdcs: Iterable[str] = (),
) -> list[Segment]:
    """Each point's states over [start, end): a report lasts until the next, at most `max_gap`."""
    merged = merge_events(events)
    for pdc in id_pdcs:
        merged.setdefault(pdc, [])
    out: list[Segment] = []
    for pdc in sorted(merged):
        evs = merged[pdc]
        cursor = start
        for i, ev in enumerate(evs):
            nxt = evs[i + 1].at if i + 1 < len(evs) else end
            a, b = max(ev.at, start), min(nxt, ev.at + max_gap, end)
            if a >= b:
                continue
            if a > cursor:
                out.append(Segment(pdc, cursor, a, UNKNOWN))
            out.append(Segment(pdc, a, b, _state(ev)))
            cursor = b
        if cursor < end:
            out.append(Segment(pdc, cursor, end, UNKNOWN))
    return _joined(out)


def _joined(parts: list[Segment]) -> list[Segment]:
    """Adjacent segments of one point in the same state joined (fewer shapes to draw)."""
    out: list[Segment] = []
    for s in parts:
        last = out[-1] if out else None
        if last and last.id_pdc == s.id_pdc and last.state == s.state and last.end == s.start:
            out[-1] = Segment(s.id_pdc, last.start, s.end, s.state)
        else:
            out.append(s)
    return out
