"""Session indicators per area from the stored sessions: sessions per charge point per day, energy, success.

The computation is `domains/ev/sessions.py`; this module reads the records and the charge points.
Charge points and their commune come from the point registry (active `ev-status` assets with an area),
or, without one, from the consolidated IRVE static data; every point of an area counts in the
denominator, sessions on points outside the territory are left out. Stored rows are checked again
(`rejection_code`): rows that reached the dataset through the generic records route skip the import's
checks, and are then counted in `excluded_by_code` instead of the figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset
from territoria.domains.ev.sessions import (
    DEFAULT_MIN_DURATION,
    DEFAULT_MIN_ENERGY_KWH,
    AreaSessions,
    ChargingSession,
    area_sessions,
    daily_sessions,
    rejection_code,
)
from territoria.domains.ev.sessions_store import SESSIONS_DATASET, STATUS_DATASET
from territoria.errors import Invalid, NotFound
from territoria.ingest.models import Record
from territoria.territory.groups import group_of

LEVELS = ("commune", "epci", "territory")
TERRITORY_CODE = "*"


@dataclass
class SessionStats:
    """Per-area session figures over [start, end), with what was left out and why."""

    level: str
    start: datetime
    end: datetime
    days: int
    rows: list[AreaSessions] = field(default_factory=list)
    points_source: str = ""  # "ev-status assets" or "IRVE static data"
    excluded_by_code: dict[str, int] = field(default_factory=dict)
    outside_territory: int = 0  # sessions on charge points without an area


def _areas(
    session: Session, irve: list[str] | None = None
) -> tuple[dict[str, str | None], dict[str, float | None], str]:
    """Charge point -> commune and power, from the registry or else the consolidated static data (of the
    IRVE datasets named: those the caller may read; None: all of them)."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == STATUS_DATASET))
    area_of: dict[str, str | None] = {}
    power: dict[str, float | None] = {}
    if ds is not None:
        stmt = select(Asset.external_id, Asset.area_code, Asset.properties).where(
            Asset.dataset_id == ds.id, Asset.active.is_(True)
        )
        for pdc, code, props in session.execute(stmt):
            area_of[pdc] = code
            value = (props or {}).get("power_kw")
            power[pdc] = float(value) if isinstance(value, int | float) else None
        if area_of:
            return area_of, power, "ev-status assets"
    from territoria.domains.ev.consolidation import consolidate  # noqa: PLC0415 - heavy, only as fallback

    points = consolidate(session, irve).points if irve is None or irve else []  # []: none may be read
    for p in points:
        area_of[p.id_pdc], power[p.id_pdc] = p.area_code, p.power_kw
    return area_of, power, "IRVE static data"


def _parse(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def stored_sessions(
    session: Session, ds: Dataset, start: datetime, end: datetime
) -> tuple[list[ChargingSession], Counter[str]]:
    """The dataset's sessions starting in [start, end), and the unreadable ones counted by code."""
    found: list[ChargingSession] = []
    bad: Counter[str] = Counter()
    for data in session.scalars(select(Record.data).where(Record.dataset_id == ds.id)):
        begin, finish = _parse(data.get("start")), _parse(data.get("end"))
        energy = data.get("energy")
        if begin is None or finish is None or not isinstance(energy, int | float):
            bad["UNREADABLE"] += 1
            continue
        if begin.utcoffset() is not None and not start <= begin < end:
            continue
        found.append(ChargingSession(str(data.get("id_pdc_itinerance") or ""), begin, finish, float(energy)))
    return found, bad


def session_stats(
    session: Session,
    start: datetime,
    end: datetime,
    level: str = "commune",
    *,
    dataset: str = SESSIONS_DATASET,
    min_energy_kwh: float = DEFAULT_MIN_ENERGY_KWH,
    min_duration: timedelta = DEFAULT_MIN_DURATION,
    irve: list[str] | None = None,
) -> SessionStats:
    """Sessions per charge point per day, energy (kWh) and success share per commune or for the territory."""
    if level not in LEVELS:
        raise Invalid(f"level must be one of {', '.join(LEVELS)}")
    if start.utcoffset() is None or end.utcoffset() is None or end <= start:
        raise Invalid("start and end must be timezone-aware, with start before end")
    ds = session.scalar(select(Dataset).where(Dataset.slug == dataset))
    if ds is None:
        raise NotFound(
            f"no sessions dataset '{dataset}': import sessions with "
            "`territoria ev import-sessions FILE --owner ORG`"
        )
    first_day = start.astimezone(UTC).date()
    last_day = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    stats = SessionStats(level, start, end, (last_day - first_day).days + 1)
    area_of, power, stats.points_source = _areas(session, irve)
    if level == "territory":
        area_of = {pdc: TERRITORY_CODE if code else None for pdc, code in area_of.items()}
    elif level == "epci":
        owner = group_of(session)
        area_of = {pdc: owner.get(code) if code else None for pdc, code in area_of.items()}
    found, excluded = stored_sessions(session, ds, start, end)
    kept: list[ChargingSession] = []
    for s in found:
        code = rejection_code(s, power.get(s.id_pdc))
        if code is not None:
            excluded[code] += 1
        elif area_of.get(s.id_pdc) is None:
            stats.outside_territory += 1
        else:
            kept.append(s)
    daily = daily_sessions(kept, min_energy_kwh, min_duration)
    stats.rows = area_sessions(daily, area_of, first_day, last_day)
    stats.excluded_by_code = dict(sorted(excluded.items()))
    return stats
