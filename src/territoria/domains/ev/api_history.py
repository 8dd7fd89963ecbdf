"""HTTP routes of the EV observatory over time and now: growth by month, availability by day, live status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.policy import require_field, require_read
from territoria.access.principal import Principal
from territoria.catalog.models import Asset, Dataset
from territoria.domains.ev import history, live, status_access
from territoria.domains.ev.availability import DEFAULT_MAX_GAP
from territoria.domains.ev.model import ChargePoint
from territoria.domains.ev.visibility import consolidation_for
from territoria.errors import Invalid, NotFound
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.territory.groups import group_of

router = APIRouter(prefix="/api/v1/ev", tags=["ev"])
LEVEL = Annotated[str, Query(pattern=r"^(commune|epci|territory)$")]
CODE = Annotated[
    str | None, Query(max_length=16, pattern=r"^[0-9A-Za-z]+$", description="commune or EPCI code")
]
NO_STATUS = (
    "no status history yet: register the charge points (territoria ev sync-assets --owner ORG) "
    "and import an IRVE dynamic file (territoria ev import-dynamic FILE)"
)


class MonthRow(BaseModel):
    """The network in service at the end of a month."""

    month: str
    charge_points: int
    stations: int
    installed_kw: float


class GrowthOut(BaseModel):
    """Month-end figures of an area by commissioning date."""

    level: str
    code: str | None
    undated_charge_points: int
    months: list[MonthRow]


class DayRow(BaseModel):
    """Availability and occupancy of an area's charge points over one UTC day."""

    day: date
    availability_rate: float | None
    occupancy_rate: float | None
    hors_service_h: float
    unknown_h: float


class DailyOut(BaseModel):
    """Availability by day over a window of whole UTC days."""

    level: str
    code: str | None
    start: datetime
    end: datetime
    charge_points: int
    days: list[DayRow]
    # Set when the caller may not read the status history: the figures come from this open-data release
    # (occupancy only for one station's day that the release does not withhold as secret).
    released_version: int | None = None


class LiveStation(BaseModel):
    """A station's state now, and its points'."""

    id_station: str
    state: str
    points: dict[str, str]
    last_report: datetime | None


class LiveOut(BaseModel):
    """Live state of every station (a report older than `stale_after_h` counts as unknown)."""

    at: datetime
    stale_after_h: float
    counts: dict[str, int]
    stations: list[LiveStation]


def _points(session: Session, principal: Principal) -> list[ChargePoint]:
    """The consolidated charge points of the IRVE datasets the caller may read."""
    return list(consolidation_for(session, principal).points)


def _members(level: str, code: str | None, area_of: dict[str, str], session: Session) -> set[str] | None:
    """The points of the area asked for (None: the whole territory), or an error naming the fix."""
    if level == "territory":
        if code:
            raise Invalid("code is only for level=commune or level=epci")
        return None
    if not code:
        raise Invalid(f"level={level} needs code= (an INSEE commune code or an EPCI SIREN)")
    if level == "commune":
        return {pdc for pdc, c in area_of.items() if c == code}
    groups = group_of(session)
    if code not in set(groups.values()):
        raise NotFound(f"no EPCI {code}: load them with `territoria territory load-groups`")
    return {pdc for pdc, c in area_of.items() if groups.get(c) == code}


@router.get("/indicators/history", response_model=GrowthOut)
def ev_growth(
    session: SessionDep, principal: PrincipalDep, level: LEVEL = "territory", code: CODE = None
) -> GrowthOut:
    """Charge points, stations and kW in service at each month end, by commissioning date."""
    points = _points(session, principal)
    area_of = {p.id_pdc: p.area_code for p in points if p.area_code}
    members = _members(level, code, area_of, session)
    chosen = [p for p in points if p.area_code and (members is None or p.id_pdc in members)]
    result = history.growth(chosen, datetime.now(UTC).date())
    return GrowthOut(
        level=level,
        code=code,
        undated_charge_points=result.undated,
        months=[MonthRow(**vars(m)) for m in result.months],
    )


def _status_or_404(session: Session) -> Dataset:
    """The status dataset, or a 404 that says how to load one."""
    ds = live.status_dataset(session)
    if ds is None:
        raise NotFound(NO_STATUS)
    return ds


def _located(session: Session, ds: Dataset) -> dict[str, str]:
    """Charge point -> commune, for the registered points inside the territory."""
    rows = session.execute(
        select(Asset.external_id, Asset.area_code).where(
            Asset.dataset_id == ds.id, Asset.area_code.is_not(None), Asset.active.is_(True)
        )
    )
    return {pdc: code for pdc, code in rows if code}


@router.get("/availability/daily", response_model=DailyOut)
def ev_availability_daily(
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    level: LEVEL = "territory",
    code: CODE = None,
    days: Annotated[int, Query(ge=1, le=92, description="whole UTC days up to today")] = 30,
) -> DailyOut:
    """Time-weighted availability and occupancy per UTC day, for the territory, a commune or an EPCI
    (from the status history, or for those who may not read it from its published open-data release)."""
    ds = _status_or_404(session)
    seen = status_access.status_access(session, ctx.settings, principal, ds)
    status_access.require_some(seen, principal)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    if not seen.full:
        released = status_access.in_window(seen.released, start, end)
        area_of = {str(r.get("id_station_itinerance")): str(r.get("area_code") or "") for r in released}
        members = _members(level, code, {k: v for k, v in area_of.items() if v}, session)
        stations = set(area_of) if members is None else members
        points = {str(r.get("id_station_itinerance")): int(r.get("charge_points") or 0) for r in released}
        figures = status_access.released_days(released, stations) if stations else []
        return DailyOut(
            level=level,
            code=code,
            start=start,
            end=end,
            charge_points=sum(points[s] for s in stations),
            days=[DayRow(**vars(r)) for r in figures],
            released_version=seen.version,
        )
    area_of = _located(session, ds)
    members = _members(level, code, area_of, session)
    chosen = set(area_of) if members is None else members
    rows = history.daily_figures(session, ds, chosen, start, end) if chosen else []
    return DailyOut(
        level=level,
        code=code,
        start=start,
        end=end,
        charge_points=len(chosen),
        days=[DayRow(**vars(r)) for r in rows],
    )


@router.get("/live", response_model=LiveOut)
def ev_live(session: SessionDep, principal: PrincipalDep) -> LiveOut:
    """Every station's state now, from its points' latest status reports (readers of the status history
    only: the open-data release is per day, with a delay, and never says what a point is doing now)."""
    ds = _status_or_404(session)
    require_read(principal, ds)
    for metric in sorted(status_access.STATUS_METRICS):
        require_field(principal, ds, metric)
    now = datetime.now(UTC)
    latest = live.latest_status(session, ds)
    stations: dict[str, dict[str, str]] = {}
    last: dict[str, datetime] = {}
    for p in _points(session, principal):
        if not p.id_station:
            continue
        st = latest.get(p.id_pdc)
        stations.setdefault(p.id_station, {})[p.id_pdc] = live.point_state(st, now)
        if st and (p.id_station not in last or st.at > last[p.id_station]):
            last[p.id_station] = st.at
    out = [
        LiveStation(id_station=s, state=live.station_state(pts.values()), points=pts, last_report=last.get(s))
        for s, pts in sorted(stations.items())
    ]
    counts = {state: sum(1 for s in out if s.state == state) for state in live.STATES}
    return LiveOut(at=now, stale_after_h=DEFAULT_MAX_GAP.total_seconds() / 3600, counts=counts, stations=out)
