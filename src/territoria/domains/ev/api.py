"""HTTP routes of the EV observatory's static indicators, coverage and availability.

Every figure comes from the datasets the caller may read (`visibility`, `status_access`): IRVE static
datasets it may read, and the status history or else only its published open-data release.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.domains.ev import indicators, status_access
from territoria.domains.ev.coverage import DEFAULT_DISTANCE_KM, CommuneShape, coverage
from territoria.domains.ev.fleet import grouped
from territoria.domains.ev.model import ChargePoint
from territoria.domains.ev.schemas import (
    EvAvailability,
    EvAvailabilityRow,
    EvCoverage,
    EvIndicatorRow,
    EvIndicators,
)
from territoria.domains.ev.visibility import consolidation_for, fleet_for
from territoria.errors import Invalid, NotFound
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.territory.groups import group_of
from territoria.territory.models import Area

router = APIRouter(prefix="/api/v1/ev", tags=["ev"])
COMMUNE = "commune"
EPCI = "epci"
COVERAGE_METHOD = (
    "each commune's population spread evenly over about 64 grid points inside its polygon "
    "(Lambert-93); a point is uncovered when its nearest public fast charger is farther than distance_km"
)


def _points(session: Session, principal: Principal) -> list[ChargePoint]:
    """The consolidated charge points of the IRVE datasets the caller may read."""
    return list(consolidation_for(session, principal).points)


def _communes(session: Session) -> list[Area]:
    """The communes of the territory."""
    return list(session.scalars(select(Area).where(Area.level == COMMUNE).order_by(Area.code)))


def _groups(session: Session, level: str) -> list[Area]:
    """The groups of communes at a level, or an error saying how to load them."""
    found = list(session.scalars(select(Area).where(Area.level == level).order_by(Area.code)))
    if not found:
        raise Invalid(
            f"no {level.upper()} areas are loaded: run `territoria territory load-groups [FILE.csv]` "
            "(the packaged Alpes-Maritimes table is used without a file), or use level=commune"
        )
    return found


def _facts(areas: list[Area]) -> list[indicators.AreaFacts]:
    """Area rows as indicator inputs."""
    return [indicators.AreaFacts(a.code, a.name, a.population, a.area_km2) for a in areas]


@router.get("/indicators", response_model=EvIndicators)
def ev_indicators(
    session: SessionDep,
    principal: PrincipalDep,
    level: Annotated[str, Query(pattern=r"^[a-z_]{1,16}$")] = COMMUNE,
) -> EvIndicators:
    """Charge points, stations and installed power per area, with densities and power classes."""
    if level not in (COMMUNE, EPCI, indicators.TERRITORY):
        raise Invalid(f"unknown level {level!r}: expected 'commune', 'epci' or 'territory'")
    facts = _facts(_communes(session))
    points = _points(session, principal)
    if level == COMMUNE:
        rows = indicators.by_commune(points, facts)
    elif level == EPCI:
        rows = indicators.by_group(points, _facts(_groups(session, EPCI)), group_of(session, EPCI))
    else:
        rows = [indicators.for_territory(points, facts)]
    afir = afir_by_level(session, points, level, [f.code for f in facts], fleet_for(session, principal))
    return EvIndicators(
        level=level,
        power_classes=[*indicators.POWER_CLASSES, indicators.UNKNOWN],
        rows=[EvIndicatorRow.of(r, afir.get(r.code)) for r in rows],
    )


def afir_by_level(
    session: Session,
    points: list[ChargePoint],
    level: str,
    communes: list[str],
    fleet: dict[str, tuple[int, int]],
) -> dict[str, indicators.AfirRatio]:
    """The AFIR ratio of each area of a level, given registered EV counts the caller may read (else empty)."""
    if not fleet:
        return {}
    if level == COMMUNE:
        return indicators.afir_ratios(points, fleet)
    owner = group_of(session, EPCI) if level == EPCI else dict.fromkeys(communes, indicators.TERRITORY)
    return indicators.afir_ratios(points, grouped(fleet, owner), lambda p: owner.get(p.area_code or ""))


@router.get("/coverage", response_model=EvCoverage)
def ev_coverage(
    session: SessionDep,
    principal: PrincipalDep,
    distance_km: Annotated[float, Query(gt=0, le=200)] = DEFAULT_DISTANCE_KM,
) -> EvCoverage:
    """Share of the population farther than `distance_km` from a public fast charger (>= 50 kW)."""
    communes = [CommuneShape(a.code, a.name, a.population, a.geometry) for a in _communes(session)]
    result = coverage(_points(session, principal), communes, distance_km)
    return EvCoverage.of(
        result,
        fast_kw=indicators.FAST_KW,
        access="condition_acces = 'Accès libre'",
        method=COVERAGE_METHOD,
    )


@router.get("/availability", response_model=EvAvailability)
def ev_availability(
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    level: Annotated[str, Query(pattern=r"^(commune|epci|territory)$")] = COMMUNE,
    days: Annotated[int, Query(ge=1, le=366, description="whole UTC days up to today")] = 7,
) -> EvAvailability:
    """Time en service over observed time, and time occupied, from the IRVE status history (or, for
    those who may not read it, from its published open-data release: availability only)."""
    from territoria.domains.ev import status  # noqa: PLC0415 - the status store imports the ingest stage

    ds = session.scalar(select(Dataset).where(Dataset.slug == status.STATUS_DATASET))
    if ds is None:
        raise NotFound(
            "no status history yet: register the charge points (territoria ev sync-assets --owner ORG) "
            "and import an IRVE dynamic file (territoria ev import-dynamic FILE)"
        )
    seen = status_access.status_access(session, ctx.settings, principal, ds)
    status_access.require_some(seen, principal)
    groups: dict[str, str] = {}
    if level == EPCI:
        _groups(session, EPCI)  # says how to load them when none are
        groups = group_of(session, EPCI)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    if not seen.full:
        released = status_access.in_window(seen.released, start, end)
        return EvAvailability(
            level=level,
            start=start,
            end=end,
            released_version=seen.version,
            rows=[
                EvAvailabilityRow(
                    area_code=r.area_code,
                    charge_points=r.charge_points,
                    availability_rate=r.availability_rate,
                    occupancy_rate=None,
                    en_service_h=r.en_service_h,
                    hors_service_h=r.hors_service_h,
                    unknown_h=r.unknown_h,
                )
                for r in status_access.released_by_area(released, level, groups)
            ],
        )
    rows = [
        EvAvailabilityRow(
            area_code=r.area_code,
            charge_points=r.points,
            availability_rate=r.availability_rate,
            occupancy_rate=r.occupancy_rate,
            en_service_h=round(r.totals.en_service_s / 3600, 2),
            hors_service_h=round(r.totals.hors_service_s / 3600, 2),
            unknown_h=round(r.totals.unknown_s / 3600, 2),
        )
        for r in status.availability_by_area(session, ds, start, end, level)
    ]
    return EvAvailability(level=level, start=start, end=end, rows=rows)
