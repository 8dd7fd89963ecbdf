"""What of the EV status history a caller may see: the history itself, or only its open-data release.

`ev-status` is an operator's private time series. Its readers (the owner, agreement holders) get every
figure computed from it; everyone else gets only what its published open-data release holds (the
`ev-station-availability` source: availability per station and UTC day, occupancy withheld where the
release marks it secret), or nothing when no such release is published. The decision is the access
policy's (`access.policy.read_scope`); this module only shapes the released rows for the EV views.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from territoria.access.policy import read_scope, require_field, require_read
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.domains.ev.history import DayFigures
from territoria.opendata.releases import latest_release, table_of
from territoria.settings import Settings

STATUS_METRICS = frozenset({"etat_pdc", "occupation_pdc"})
# The columns an availability release cannot lack (station and day key it; the rest may be dropped).
RELEASE_KEYS = frozenset({"id_station_itinerance", "period"})
TERRITORY_CODE = "*"
_DAY_H = 24.0


@dataclass(frozen=True)
class StatusAccess:
    """The status dataset (None: no status feed), and what the caller may see of it."""

    ds: Dataset | None
    full: bool = False  # the caller reads the status history itself
    released: list[dict[str, Any]] = field(default_factory=list)  # else the released station-day rows
    version: int | None = None  # the release those rows come from

    @property
    def anything(self) -> bool:
        """The caller may see some status figure (the history, or a published release)."""
        return self.ds is not None and (self.full or self.version is not None)


def released_rows(
    session: Session, settings: Settings, ds: Dataset
) -> tuple[list[dict[str, Any]], int | None]:
    """The rows of the latest published availability release of the status dataset (none: [], None)."""
    release = latest_release(session, ds.id)
    if release is None or not release.path:
        return [], None
    table = table_of(settings, ds, release)
    if not {c.name for c in table.columns} >= RELEASE_KEYS:
        return [], None  # a release of another kind (not per station and day): nothing to derive from
    try:
        rows: list[dict[str, Any]] = pq.read_table(table.path).to_pylist()
    except OSError:  # the release file is gone: serve nothing rather than the private history
        return [], None
    return rows, release.version


def status_access(
    session: Session, settings: Settings, principal: Principal, ds: Dataset | None
) -> StatusAccess:
    """What this caller may see of the status dataset (the policy decides; a release is read if not all)."""
    if ds is None:
        return StatusAccess(None)
    if read_scope(principal, ds, needs=STATUS_METRICS) == "data":
        return StatusAccess(ds, full=True)
    rows, version = released_rows(session, settings, ds)
    return StatusAccess(ds, released=rows, version=version)


def require_some(access: StatusAccess, principal: Principal) -> None:
    """Refuse (401/403, noted) a caller who may neither read the history nor find a published release."""
    if access.ds is not None and not access.anything:
        require_read(principal, access.ds)
        for metric in sorted(STATUS_METRICS):  # an agreement leaving a metric out
            require_field(principal, access.ds, metric)


def _day(row: Mapping[str, Any]) -> date | None:
    """The UTC day of a released row."""
    period = row.get("period")
    if isinstance(period, datetime):
        return period.date()
    return period if isinstance(period, date) else None


def in_window(rows: Iterable[Mapping[str, Any]], start: datetime, end: datetime) -> list[Mapping[str, Any]]:
    """Released rows whose day lies in [start, end)."""
    return [r for r in rows if (d := _day(r)) is not None and start.date() <= d < end.date()]


@dataclass
class _Sum:
    """Released station-day figures summed (hours)."""

    points: int = 0
    observed_h: float = 0.0
    en_service_h: float = 0.0
    hors_service_h: float = 0.0
    span_h: float = 0.0
    rows: list[Mapping[str, Any]] = field(default_factory=list)

    def add(self, row: Mapping[str, Any]) -> None:
        """Add one station-day."""
        observed = float(row.get("hours_observed") or 0.0)
        rate = row.get("availability_rate")
        points = int(row.get("charge_points") or 0)
        self.observed_h += observed
        self.en_service_h += float(rate) * observed if rate is not None else 0.0
        self.hors_service_h += float(row.get("hours_out_of_service") or 0.0)
        self.span_h += points * _DAY_H
        self.rows.append(row)

    @property
    def availability_rate(self) -> float | None:
        """Time en service over observed time, from the released rates."""
        return round(self.en_service_h / self.observed_h, 4) if self.observed_h > 0 else None

    @property
    def occupancy_rate(self) -> float | None:
        """A station-day's released occupancy; never one recomputed over several (the release has none)."""
        if len(self.rows) != 1 or self.rows[0].get("secret"):
            return None
        value = self.rows[0].get("occupancy_rate")
        return float(value) if value is not None else None

    @property
    def unknown_h(self) -> float:
        """Opening time without a known state."""
        return max(0.0, self.span_h - self.observed_h)


def released_days(rows: Iterable[Mapping[str, Any]], stations: set[str] | None = None) -> list[DayFigures]:
    """Released figures per day, over the stations named (all when None); occupancy only for one station."""
    days: dict[date, _Sum] = defaultdict(_Sum)
    for r in rows:
        d = _day(r)
        if d is not None and (stations is None or r.get("id_station_itinerance") in stations):
            days[d].add(r)
    return [
        DayFigures(
            d, s.availability_rate, s.occupancy_rate, round(s.hors_service_h, 2), round(s.unknown_h, 2)
        )
        for d, s in sorted(days.items())
    ]


@dataclass(frozen=True)
class ReleasedArea:
    """Released availability summed over the stations of one area."""

    area_code: str
    charge_points: int
    availability_rate: float | None
    en_service_h: float
    hors_service_h: float
    unknown_h: float


def released_by_area(
    rows: Iterable[Mapping[str, Any]], level: str, groups: Mapping[str, str]
) -> list[ReleasedArea]:
    """Released availability per commune, EPCI (`groups`: commune -> EPCI) or for the territory."""
    sums: dict[str, _Sum] = defaultdict(_Sum)
    points: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        commune = str(r.get("area_code") or "")
        key = TERRITORY_CODE if level == "territory" else groups.get(commune) if level == "epci" else commune
        if not key:
            continue
        sums[key].add(r)
        points[key][str(r.get("id_station_itinerance"))] = int(r.get("charge_points") or 0)
    return [
        ReleasedArea(
            key,
            sum(points[key].values()),
            s.availability_rate,
            round(s.en_service_h, 2),
            round(s.hors_service_h, 2),
            round(s.unknown_h, 2),
        )
        for key, s in sorted(sums.items())
    ]


def stations_in(rows: Iterable[Mapping[str, Any]], communes: set[str] | None) -> set[str]:
    """The released stations located in these communes (all when None)."""
    return {
        str(r.get("id_station_itinerance"))
        for r in rows
        if communes is None or str(r.get("area_code") or "") in communes
    }
