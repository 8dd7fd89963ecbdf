"""API models of the EV observatory's static indicators and coverage."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from territoria.domains.ev.coverage import Coverage
from territoria.domains.ev.indicators import AfirRatio, AreaIndicators


class Densities(BaseModel):
    """Charge points, stations and installed kW divided by a base (None when the base is unknown)."""

    charge_points: float | None
    stations: float | None
    installed_kw: float | None


class AfirPublic(BaseModel):
    """Public installed power against the AFIR fleet target (1.3 kW per BEV, 0.8 kW per PHEV)."""

    model_config = ConfigDict(from_attributes=True)

    bev: int
    phev: int
    required_kw: float
    installed_kw: float
    ratio: float | None

    @classmethod
    def of(cls, a: AfirRatio) -> AfirPublic:
        """From a computed ratio."""
        return cls.model_validate(a)


class EvIndicatorRow(BaseModel):
    """Static indicators of one area."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    population: int | None
    area_km2: float | None
    charge_points: int
    stations: int
    installed_kw: float
    fast_chargers: int
    public_charge_points: int
    per_100k: Densities
    per_km2: Densities
    by_power_class: dict[str, int]
    by_implantation: dict[str, int]
    afir: AfirPublic | None = None

    @classmethod
    def of(cls, r: AreaIndicators, afir: AfirRatio | None = None) -> EvIndicatorRow:
        """From computed indicators (the AFIR ratio is computed apart: AreaIndicators has none)."""
        row = cls.model_validate(r)
        row.afir = AfirPublic.of(afir) if afir else None
        return row


class EvIndicators(BaseModel):
    """The answer of `GET /api/v1/ev/indicators`."""

    level: str
    power_classes: list[str]
    rows: list[EvIndicatorRow]


class UncoveredCommunePublic(BaseModel):
    """A commune with part of its population beyond the distance."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    population: int
    uncovered_population: float
    uncovered_share: float
    farthest_km: float | None


class EvCoverage(BaseModel):
    """The answer of `GET /api/v1/ev/coverage`."""

    distance_km: float
    fast_kw: float
    access: str
    method: str
    fast_chargers: int
    population: int
    uncovered_population: float
    uncovered_share: float | None
    communes: list[UncoveredCommunePublic]

    @classmethod
    def of(cls, c: Coverage, *, fast_kw: float, access: str, method: str) -> EvCoverage:
        """From a computed coverage."""
        return cls(
            distance_km=c.distance_km,
            fast_kw=fast_kw,
            access=access,
            method=method,
            fast_chargers=c.fast_chargers,
            population=c.population,
            uncovered_population=c.uncovered_population,
            uncovered_share=c.uncovered_share,
            communes=[UncoveredCommunePublic.model_validate(u) for u in c.communes],
        )


class EvAvailabilityRow(BaseModel):
    """Time-weighted availability and occupancy of the charge points of one area."""

    area_code: str
    charge_points: int
    availability_rate: float | None
    occupancy_rate: float | None
    en_service_h: float
    hors_service_h: float
    unknown_h: float


class EvAvailability(BaseModel):
    """Availability per area over a window of whole UTC days."""

    level: str
    start: datetime
    end: datetime
    rows: list[EvAvailabilityRow]
    # Set when the caller may not read the status history: the figures come from this open-data release
    # (availability per station and day; occupancy is not published per area, so it is null).
    released_version: int | None = None
