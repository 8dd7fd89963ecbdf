"""Time-weighted availability and occupancy of charge points from the IRVE dynamic status feed.

The feed is a stream of status *changes*: a row gives the state of a charge point from its
`horodatage` until the next row of the same point. Rules (pure computation, no database):

* Opening hours: every charge point is taken as open 24/7 (opening hours are not modelled yet).
* Days are UTC calendar days; an interval crossing midnight UTC is split between both days.
* Reports of the same point are sorted by time whatever their source, so overlapping feeds merge
  by time; of several reports at the same instant the last one received (input order) wins.
* A state lasts until the next report, but at most `max_gap` (default 6 h); after that, and before
  the first report, and while `etat_pdc` is `inconnu`, the state is unknown. Unknown time is left
  out of every denominator and reported as `unknown_s`.
* availability = time `en_service` / time with a known `etat_pdc` (en_service + hors_service).
* occupancy = time `en_service` and `occupe` / time `en_service` with a known `occupation_pdc`
  (`reserve` counts as not occupied; `inconnu` occupation is left out of the occupancy denominator).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

ETATS = frozenset({"en_service", "hors_service", "inconnu"})
OCCUPATIONS = frozenset({"libre", "occupe", "reserve", "inconnu"})
DEFAULT_MAX_GAP = timedelta(hours=6)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)


@dataclass(frozen=True)
class StatusEvent:
    """One status report: the state of a charge point from `at` until its next report."""

    id_pdc: str
    at: datetime  # timezone-aware
    etat: str  # en_service | hors_service | inconnu
    occupation: str  # libre | occupe | reserve | inconnu


@dataclass(frozen=True)
class DailyAvailability:
    """Availability and occupancy of one charge point over one UTC day (seconds)."""

    id_pdc: str
    day: date
    span_s: float  # part of the day inside the requested period (opening time, 24/7)
    en_service_s: float
    hors_service_s: float
    occupied_s: float  # en_service and occupe
    occupancy_known_s: float  # en_service with a known occupation
    unknown_s: float

    @property
    def observed_s(self) -> float:
        """Opening time with a known state (denominator of the availability rate)."""
        return self.en_service_s + self.hors_service_s

    @property
    def availability_rate(self) -> float | None:
        """Time en service over observed opening time; None when nothing was observed."""
        return self.en_service_s / self.observed_s if self.observed_s > 0 else None

    @property
    def occupancy_rate(self) -> float | None:
        """Time occupied over time en service (with a known occupation); None when undefined."""
        return self.occupied_s / self.occupancy_known_s if self.occupancy_known_s > 0 else None


@dataclass(frozen=True)
class OutOfService:
    """A charge point whose last known state is `hors_service` since `since`."""

    id_pdc: str
    since: datetime
    duration: timedelta


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: status times must carry an offset")


def merge_events(events: Iterable[StatusEvent]) -> dict[str, list[StatusEvent]]:
    """Group reports per charge point, sorted by time; at equal instants the last received wins."""
    grouped: dict[str, list[tuple[datetime, int, StatusEvent]]] = defaultdict(list)
    for seq, ev in enumerate(events):
        _require_aware(ev.at)
        grouped[ev.id_pdc].append((ev.at, seq, ev))
    merged: dict[str, list[StatusEvent]] = {}
    for pdc, items in grouped.items():
        items.sort(key=lambda item: (item[0], item[1]))
        out: list[StatusEvent] = []
        for at, _seq, ev in items:
            if out and out[-1].at == at:  # same instant (whatever the offset): later report replaces
                out[-1] = ev
            else:
                out.append(ev)
        merged[pdc] = out
    return merged


def _days(start: datetime, end: datetime) -> list[date]:
    first = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _split_by_day(a: datetime, b: datetime) -> Iterable[tuple[date, timedelta]]:
    """Cut [a, b) at UTC midnights."""
    while a < b:
        day = a.astimezone(UTC).date()
        cut = min(b, _midnight(day + _DAY))
        yield day, cut - a
        a = cut


def _known_intervals(
    evs: list[StatusEvent], start: datetime, end: datetime, max_gap: timedelta
) -> Iterable[tuple[datetime, datetime, StatusEvent]]:
    """Intervals with a known etat, clipped to [start, end) and to `max_gap` after each report."""
    for i, ev in enumerate(evs):
        if ev.etat not in ("en_service", "hors_service"):
            continue
        nxt = evs[i + 1].at if i + 1 < len(evs) else end
        a = max(ev.at, start)
        b = min(nxt, ev.at + max_gap, end)
        if a < b:
            yield a, b, ev


def daily_availability(
    events: Iterable[StatusEvent],
    start: datetime,
    end: datetime,
    *,
    max_gap: timedelta = DEFAULT_MAX_GAP,
    id_pdcs: Iterable[str] = (),
) -> list[DailyAvailability]:
    """Per charge point and UTC day, the time en service, occupied and unknown over [start, end).

    Reports before `start` set the state at `start` (within `max_gap`). Charge points listed in
    `id_pdcs` without any report get rows that are entirely unknown.
    """
    _require_aware(start)
    _require_aware(end)
    if end <= start:
        raise ValueError("end must be after start")
    merged = merge_events(events)
    for pdc in id_pdcs:
        merged.setdefault(pdc, [])
    days = _days(start, end)
    spans = {d: min(end, _midnight(d + _DAY)) - max(start, _midnight(d)) for d in days}
    rows: list[DailyAvailability] = []
    for pdc in sorted(merged):
        # per day: en_service, hors_service, occupied, occupancy_known
        acc: dict[date, list[timedelta]] = {d: [_ZERO, _ZERO, _ZERO, _ZERO] for d in days}
        for a, b, ev in _known_intervals(merged[pdc], start, end, max_gap):
            for day, length in _split_by_day(a, b):
                slot = acc[day]
                if ev.etat == "hors_service":
                    slot[1] += length
                    continue
                slot[0] += length
                if ev.occupation in ("libre", "occupe", "reserve"):
                    slot[3] += length
                if ev.occupation == "occupe":
                    slot[2] += length
        for d in days:
            en, hs, occ, known = acc[d]
            rows.append(
                DailyAvailability(
                    id_pdc=pdc,
                    day=d,
                    span_s=spans[d].total_seconds(),
                    en_service_s=en.total_seconds(),
                    hors_service_s=hs.total_seconds(),
                    occupied_s=occ.total_seconds(),
                    occupancy_known_s=known.total_seconds(),
                    unknown_s=(spans[d] - en - hs).total_seconds(),
                )
            )
    return rows


def total(rows: Iterable[DailyAvailability], id_pdc: str = "*") -> DailyAvailability:
    """Sum rows (several days, points or a station) into one; rates are then time-weighted."""
    sums = [0.0] * 6
    first: date | None = None
    for r in rows:
        first = r.day if first is None else min(first, r.day)
        for i, v in enumerate(
            (r.span_s, r.en_service_s, r.hors_service_s, r.occupied_s, r.occupancy_known_s, r.unknown_s)
        ):
            sums[i] += v
    return DailyAvailability(id_pdc, first or date.min, *sums)


def out_of_service_since(events: Iterable[StatusEvent], now: datetime, days: float = 7) -> list[OutOfService]:
    """Charge points whose last known state (at or before `now`) has been `hors_service` > `days`.

    The feed only reports changes, so the last known state holds here without the `max_gap`
    limit; `inconnu` reports are skipped (they neither confirm nor end the outage).
    """
    _require_aware(now)
    limit = timedelta(days=days)
    found: list[OutOfService] = []
    for pdc, evs in sorted(merge_events(events).items()):
        known = [ev for ev in evs if ev.at <= now and ev.etat != "inconnu"]
        if not known or known[-1].etat != "hors_service":
            continue
        i = len(known) - 1
        while i > 0 and known[i - 1].etat == "hors_service":
            i -= 1
        since = known[i].at
        if now - since > limit:
            found.append(OutOfService(pdc, since, now - since))
    return found
