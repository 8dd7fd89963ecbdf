"""History of which charge points belong to which station, kept as IRVE static records arrive.

Stored records are upserted on `id_pdc_itinerance`, so a file that moves a point to another station
overwrites the old value; this observer keeps the stretch of time each source said each membership.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.domains.ev.consolidation import is_irve_static
from territoria.domains.ev.membership_models import StationMembership
from territoria.ingest.models import Batch

CHUNK = 900  # bound parameters per IN list, under every backend's limit


@dataclass(frozen=True)
class MembershipSpan:
    """One source's statement that a point belonged to a station from `first_seen` to `last_seen`."""

    dataset: str
    id_pdc: str
    id_station: str
    first_seen: datetime
    last_seen: datetime
    current: bool


def record_membership(
    session: Session, ds: Dataset, batch: Batch, rows: Mapping[str, dict[str, Any]]
) -> None:
    """Extend or open the membership spans of the points a batch of IRVE static records stored."""
    if not is_irve_static(ds.table_schema):
        return
    said = {
        str(r["id_pdc_itinerance"]): str(r["id_station_itinerance"])
        for r in rows.values()
        if r.get("id_pdc_itinerance") and r.get("id_station_itinerance")
    }
    points = sorted(said)
    for i in range(0, len(points), CHUNK):
        chunk = points[i : i + CHUNK]
        current = {
            pdc: (row_id, station)
            for row_id, pdc, station in session.execute(
                select(StationMembership.id, StationMembership.id_pdc, StationMembership.id_station).where(
                    StationMembership.dataset_id == ds.id,
                    StationMembership.id_pdc.in_(chunk),
                    StationMembership.current.is_(True),
                )
            )
        }
        same = [current[p][0] for p in chunk if p in current and current[p][1] == said[p]]
        moved = [current[p][0] for p in chunk if p in current and current[p][1] != said[p]]
        if same:
            session.execute(
                update(StationMembership)
                .where(StationMembership.id.in_(same))
                .values(last_seen=batch.created_at, last_batch=batch.id)
            )
        if moved:
            session.execute(
                update(StationMembership).where(StationMembership.id.in_(moved)).values(current=False)
            )
        fresh = [p for p in chunk if p not in current or current[p][1] != said[p]]
        if fresh:  # Core executemany: the ORM's bulk insert would fetch every new id back, row by row
            session.connection().execute(
                insert(cast(Table, StationMembership.__table__)),
                [
                    {
                        "dataset_id": ds.id,
                        "id_pdc": p,
                        "id_station": said[p],
                        "first_seen": batch.created_at,
                        "last_seen": batch.created_at,
                        "first_batch": batch.id,
                        "last_batch": batch.id,
                        "current": True,
                    }
                    for p in fresh
                ],
            )


def station_history(
    session: Session, id_station: str, id_pdcs: list[str] | None = None
) -> list[MembershipSpan]:
    """Every span naming the station, and every span of the given points (where they were before or after)."""
    condition = StationMembership.id_station == id_station
    if id_pdcs:
        condition = or_(condition, StationMembership.id_pdc.in_(id_pdcs[:CHUNK]))
    stmt = (
        select(StationMembership, Dataset.slug)
        .join(Dataset, Dataset.id == StationMembership.dataset_id)
        .where(condition)
        .order_by(StationMembership.id_pdc, StationMembership.first_seen, StationMembership.id)
    )
    return [
        MembershipSpan(slug, m.id_pdc, m.id_station, m.first_seen, m.last_seen, m.current)
        for m, slug in session.execute(stmt)
    ]


def moves(spans: list[MembershipSpan]) -> list[tuple[MembershipSpan, MembershipSpan]]:
    """Consecutive spans of one point in one source that name different stations: (before, after)."""
    out: list[tuple[MembershipSpan, MembershipSpan]] = []
    previous: dict[tuple[str, str], MembershipSpan] = {}
    for span in sorted(spans, key=lambda s: (s.dataset, s.id_pdc, s.first_seen)):
        key = (span.dataset, span.id_pdc)
        if key in previous and previous[key].id_station != span.id_station:
            out.append((previous[key], span))
        previous[key] = span
    return out
