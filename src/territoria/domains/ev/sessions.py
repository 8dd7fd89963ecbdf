"""Charging sessions: checks, per charge point and day counts, energy and success share.

Rules (pure computation, no database):

* A session belongs to the UTC day of its start (its energy is not split across midnight).
* A session is *successful* when energy > `min_energy_kwh` (default 0.5) **and** duration >
  `min_duration` (default 3 min), both strictly: exactly 0.5 kWh or exactly 3 minutes fails.
* Rejected with a code: `NAIVE_TS` (start or end without an offset), `END_BEFORE_START`,
  `NEGATIVE_ENERGY`, `IMPLAUSIBLE_ENERGY` (energy > power_kw x hours x tolerance, default 1.1,
  only when the power of the charge point is known).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DEFAULT_MIN_ENERGY_KWH = 0.5
DEFAULT_MIN_DURATION = timedelta(minutes=3)
DEFAULT_POWER_TOLERANCE = 1.1


@dataclass(frozen=True)
class ChargingSession:
    """One charging session on a charge point."""

    id_pdc: str
    start: datetime
    end: datetime
    energy_kwh: float

    @property
    def duration(self) -> timedelta:
        """Time between start and end."""
        return self.end - self.start


@dataclass(frozen=True)
class RejectedSession:
    """A session left out of the indicators, with the reason code."""

    session: ChargingSession
    code: str  # NAIVE_TS | END_BEFORE_START | NEGATIVE_ENERGY | IMPLAUSIBLE_ENERGY


@dataclass(frozen=True)
class DailySessions:
    """Sessions of one charge point over one UTC day."""

    id_pdc: str
    day: date
    sessions: int
    successful: int
    energy_kwh: float


@dataclass(frozen=True)
class AreaSessions:
    """Sessions of an area's charge points over a number of days."""

    area_code: str
    charge_points: int
    days: int
    sessions: int
    successful: int
    energy_kwh: float

    @property
    def sessions_per_pdc_per_day(self) -> float | None:
        """Sessions per charge point per day, charge points without any session included."""
        denominator = self.charge_points * self.days
        return self.sessions / denominator if denominator else None

    @property
    def success_share(self) -> float | None:
        """Share of successful sessions; None without sessions."""
        return self.successful / self.sessions if self.sessions else None


def _aware(at: datetime) -> bool:
    return at.tzinfo is not None and at.utcoffset() is not None


def rejection_code(
    session: ChargingSession, power_kw: float | None, tolerance: float = DEFAULT_POWER_TOLERANCE
) -> str | None:
    """The reason code a session is rejected for, or None when it is plausible."""
    if not (_aware(session.start) and _aware(session.end)):
        return "NAIVE_TS"
    if session.end < session.start:
        return "END_BEFORE_START"
    if session.energy_kwh < 0:
        return "NEGATIVE_ENERGY"
    if power_kw is not None and power_kw > 0:
        hours = session.duration.total_seconds() / 3600
        if session.energy_kwh > power_kw * hours * tolerance:
            return "IMPLAUSIBLE_ENERGY"
    return None


def check_sessions(
    sessions: Iterable[ChargingSession],
    power_kw: Mapping[str, float | None] | None = None,
    tolerance: float = DEFAULT_POWER_TOLERANCE,
) -> tuple[list[ChargingSession], list[RejectedSession]]:
    """Split sessions into accepted and rejected ones (`power_kw`: nominal power per id_pdc)."""
    powers = power_kw or {}
    accepted: list[ChargingSession] = []
    rejected: list[RejectedSession] = []
    for s in sessions:
        code = rejection_code(s, powers.get(s.id_pdc), tolerance)
        if code is None:
            accepted.append(s)
        else:
            rejected.append(RejectedSession(s, code))
    return accepted, rejected


def is_successful(
    session: ChargingSession,
    min_energy_kwh: float = DEFAULT_MIN_ENERGY_KWH,
    min_duration: timedelta = DEFAULT_MIN_DURATION,
) -> bool:
    """Energy strictly above `min_energy_kwh` and duration strictly above `min_duration`."""
    return session.energy_kwh > min_energy_kwh and session.duration > min_duration


def daily_sessions(
    sessions: Iterable[ChargingSession],
    min_energy_kwh: float = DEFAULT_MIN_ENERGY_KWH,
    min_duration: timedelta = DEFAULT_MIN_DURATION,
) -> list[DailySessions]:
    """Per charge point and UTC day of start: sessions, successful sessions and energy (checked sessions)."""
    acc: dict[tuple[str, date], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for s in sessions:
        slot = acc[(s.id_pdc, s.start.astimezone(UTC).date())]
        slot[0] += 1
        slot[1] += is_successful(s, min_energy_kwh, min_duration)
        slot[2] += s.energy_kwh
    return [
        DailySessions(pdc, day, int(n), int(ok), energy)
        for (pdc, day), (n, ok, energy) in sorted(acc.items())
    ]


def area_sessions(
    daily: Iterable[DailySessions],
    area_of: Mapping[str, str | None],
    first_day: date,
    last_day: date,
) -> list[AreaSessions]:
    """Per area, over the days [first_day, last_day]: totals and sessions per charge point per day.

    `area_of` maps every charge point of the territory to its area (commune code); charge points
    without sessions still count in the denominator, sessions of unmapped points are ignored.
    """
    if last_day < first_day:
        raise ValueError("last_day must not be before first_day")
    n_days = (last_day - first_day).days + 1
    points: dict[str, int] = defaultdict(int)
    for area in area_of.values():
        if area is not None:
            points[area] += 1
    totals: dict[str, list[float]] = {area: [0, 0, 0.0] for area in points}
    for d in daily:
        area = area_of.get(d.id_pdc)
        if area is None or not first_day <= d.day <= last_day:
            continue
        slot = totals[area]
        slot[0] += d.sessions
        slot[1] += d.successful
        slot[2] += d.energy_kwh
    return [
        AreaSessions(area, points[area], n_days, int(n), int(ok), energy)
        for area, (n, ok, energy) in sorted(totals.items())
    ]
