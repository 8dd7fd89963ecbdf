"""Time of the simulation: local (Paris) calendar, sun at Nice's latitude and daily load profiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

LATITUDE = 43.7
LONGITUDE = 7.25
# Lights switch a little after sunset and before sunrise (photocell threshold).
LIGHT_MARGIN_H = 0.15
DAY_S = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Moment:
    """Everything the signal models need to know about one instant."""

    epoch: int
    local_hour: float
    weekday: int
    weekend: bool
    day_of_year: int
    # +1 in mid-January, -1 in mid-July: drives heating, air conditioning and tourism.
    winter: float
    dark: bool


def require_aware(value: datetime, name: str) -> datetime:
    """value converted to UTC; ValueError if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def to_epoch_ceil(value: datetime) -> int:
    """Whole seconds since 1970 of an aware datetime, rounded up."""
    return math.ceil(require_aware(value, "datetime").timestamp())


def utc(epoch: int) -> datetime:
    """Aware UTC datetime of an epoch second."""
    return datetime.fromtimestamp(epoch, tz=UTC)


def aligned_count(interval_s: int, start_epoch: int, end_epoch: int) -> int:
    """How many multiples of interval_s lie in [start_epoch, end_epoch)."""
    first = -(-start_epoch // interval_s)
    last = -(-end_epoch // interval_s)
    return max(0, last - first)


def first_aligned(interval_s: int, start_epoch: int) -> int:
    """The first multiple of interval_s at or after start_epoch."""
    return -(-start_epoch // interval_s) * interval_s


@lru_cache(maxsize=64)
def _dst_bounds(year: int) -> tuple[int, int]:
    """Epoch seconds of the EU summer-time start and end (last Sundays of March and October, 01:00 UTC)."""

    def last_sunday(month: int) -> date:
        """The last Sunday of a month of that year."""
        last = date(year, month, 31)
        return last - timedelta(days=(last.weekday() - 6) % 7)

    start = datetime.combine(last_sunday(3), datetime.min.time(), UTC) + timedelta(hours=1)
    end = datetime.combine(last_sunday(10), datetime.min.time(), UTC) + timedelta(hours=1)
    return int(start.timestamp()), int(end.timestamp())


def paris_offset_s(epoch: int) -> int:
    """UTC offset of Europe/Paris at this instant, in seconds (3600 or 7200)."""
    year = utc(epoch).year
    start, end = _dst_bounds(year)
    return 7200 if start <= epoch < end else 3600


@lru_cache(maxsize=4096)
def sun_hours_utc(day_number: int) -> tuple[float, float]:
    """Sunrise and sunset (UTC decimal hours) at Nice for a day of year (NOAA-style approximation)."""
    declination = math.radians(-23.44) * math.cos(2 * math.pi / 365 * (day_number + 10))
    b = 2 * math.pi * (day_number - 81) / 364
    equation_of_time_min = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    solar_noon = 12 - LONGITUDE / 15 - equation_of_time_min / 60
    phi = math.radians(LATITUDE)
    cos_w0 = (math.sin(math.radians(-0.833)) - math.sin(phi) * math.sin(declination)) / (
        math.cos(phi) * math.cos(declination)
    )
    half_day_h = math.degrees(math.acos(max(-1.0, min(1.0, cos_w0)))) / 15
    return solar_noon - half_day_h, solar_noon + half_day_h


def is_dark(epoch: int) -> bool:
    """True when street lights should be on (sun below the horizon, with the photocell margin)."""
    when = utc(epoch)
    sunrise, sunset = sun_hours_utc(when.timetuple().tm_yday)
    hour = when.hour + when.minute / 60 + when.second / 3600
    return hour < sunrise - LIGHT_MARGIN_H or hour >= sunset + LIGHT_MARGIN_H


def moment(epoch: int) -> Moment:
    """The Moment of an epoch second, in Paris local time."""
    local = epoch + paris_offset_s(epoch)
    local_day, second_of_day = divmod(local, DAY_S)
    weekday = (local_day + 3) % 7  # 1970-01-01 was a Thursday
    day_of_year = date.fromordinal(_EPOCH_ORDINAL + local_day).timetuple().tm_yday
    return Moment(
        epoch=epoch,
        local_hour=second_of_day / 3600,
        weekday=weekday,
        weekend=weekday >= 5,
        day_of_year=day_of_year,
        winter=math.cos(2 * math.pi * (day_of_year - 15) / 365.25),
        dark=is_dark(epoch),
    )


def interp(table: tuple[float, ...], hour: float) -> float:
    """Value of a 24-entry hourly table at a decimal hour, linearly interpolated (wraps at midnight)."""
    base = int(hour) % 24
    frac = hour - int(hour)
    return table[base] + frac * (table[(base + 1) % 24] - table[base])


def _normalised(values: tuple[float, ...]) -> tuple[float, ...]:
    """The table scaled so that its entries sum to 1."""
    total = sum(values)
    return tuple(v / total for v in values)


# fmt: off
RESIDENTIAL_WEEKDAY = (0.35, 0.30, 0.28, 0.27, 0.27, 0.30, 0.45, 0.70, 0.75, 0.60, 0.50, 0.50,
                       0.55, 0.50, 0.45, 0.45, 0.50, 0.65, 0.85, 1.00, 1.00, 0.90, 0.70, 0.50)
RESIDENTIAL_WEEKEND = (0.40, 0.33, 0.30, 0.28, 0.27, 0.28, 0.32, 0.42, 0.60, 0.72, 0.72, 0.70,
                       0.75, 0.70, 0.60, 0.55, 0.55, 0.65, 0.85, 1.00, 1.00, 0.90, 0.72, 0.52)
TERTIARY_WEEKDAY = (0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.40, 0.65, 0.90, 1.00, 1.00, 1.00,
                    0.95, 1.00, 1.00, 1.00, 0.95, 0.85, 0.60, 0.45, 0.35, 0.32, 0.30, 0.30)
TERTIARY_WEEKEND = (0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.32, 0.35, 0.38, 0.40, 0.40,
                    0.40, 0.40, 0.38, 0.36, 0.34, 0.32, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30)
TRAFFIC_WEEKDAY = (0.06, 0.04, 0.03, 0.03, 0.05, 0.15, 0.45, 0.85, 1.00, 0.75, 0.60, 0.60,
                   0.65, 0.62, 0.60, 0.65, 0.78, 0.95, 0.98, 0.75, 0.50, 0.35, 0.22, 0.12)
TRAFFIC_WEEKEND = (0.12, 0.08, 0.06, 0.04, 0.04, 0.06, 0.12, 0.20, 0.32, 0.45, 0.55, 0.62,
                   0.62, 0.58, 0.55, 0.56, 0.60, 0.62, 0.60, 0.50, 0.40, 0.30, 0.22, 0.16)
EV_OCCUPANCY = (0.10, 0.08, 0.07, 0.07, 0.07, 0.08, 0.12, 0.20, 0.30, 0.38, 0.42, 0.45,
                0.45, 0.45, 0.45, 0.45, 0.45, 0.42, 0.40, 0.35, 0.28, 0.20, 0.15, 0.12)
WATER_SHARE = _normalised((0.010, 0.005, 0.005, 0.005, 0.005, 0.015, 0.060, 0.090, 0.080, 0.060,
                           0.050, 0.050, 0.055, 0.045, 0.035, 0.035, 0.040, 0.050, 0.060, 0.070,
                           0.075, 0.065, 0.045, 0.025))
WATER_ZERO_CHANCE = (0.60, 0.80, 0.85, 0.85, 0.80, 0.60, 0.25, 0.15, 0.15, 0.20, 0.25, 0.25,
                     0.25, 0.25, 0.30, 0.30, 0.30, 0.25, 0.20, 0.15, 0.15, 0.20, 0.30, 0.45)
# fmt: on


def traffic_level(m: Moment) -> float:
    """Relative road traffic (1 = weekday morning rush) at this moment."""
    return interp(TRAFFIC_WEEKEND if m.weekend else TRAFFIC_WEEKDAY, m.local_hour)


def deposit_fraction(local_hour: float) -> float:
    """Share of a day's waste deposits made by this local hour (people drop waste 07:00-22:00)."""
    return min(1.0, max(0.0, (local_hour - 7) / 15))
