"""Live status of charge points and stations: the latest IRVE dynamic report of each point.

Occupancy changes by the minute: a free or occupied report older than `stale_after` (default: the
availability's 6 h gap) no longer says anything about now, so the point is shown as unknown rather than
with a state it may have left hours ago. An out-of-service report holds until another report ends it,
as in the list of long outages (`availability.out_of_service_since`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Metric, Series
from territoria.domains.ev.availability import DEFAULT_MAX_GAP
from territoria.domains.ev.status import (
    ETAT_METRIC,
    ETAT_NAMES,
    OCCUPATION_METRIC,
    OCCUPATION_NAMES,
    STATUS_DATASET,
)
from territoria.timeseries.models import measurement

AVAILABLE, IN_SERVICE, OCCUPIED, OUT_OF_SERVICE, UNKNOWN = (
    "available",
    "in_service",
    "occupied",
    "out_of_service",
    "unknown",
)
# Map order and legend order: what a driver looks for first.
STATES: tuple[str, ...] = (AVAILABLE, IN_SERVICE, OCCUPIED, OUT_OF_SERVICE, UNKNOWN)
# ColorBrewer RdYlGn ends (colour-blind safe pair green/red is doubled by the legend's words) and grey.
STATE_COLOURS: dict[str, str] = {
    AVAILABLE: "#1a9641",
    IN_SERVICE: "#a6d96a",
    OCCUPIED: "#fdae61",
    OUT_OF_SERVICE: "#d7191c",
    UNKNOWN: "#9aa3ad",
}


@dataclass(frozen=True)
class LiveStatus:
    """The latest report of a charge point."""

    id_pdc: str
    at: datetime
    etat: str
    occupation: str


def status_dataset(session: Session) -> Dataset | None:
    """The status-history dataset, if any status was ever registered."""
    return session.scalar(select(Dataset).where(Dataset.slug == STATUS_DATASET))


def latest_status(
    session: Session, ds: Dataset, id_pdcs: Iterable[str] | None = None
) -> dict[str, LiveStatus]:
    """The latest etat and occupation of every charge point (or of those named)."""
    newer = measurement.alias("newer")
    # one index seek per series on (series_id, ts): the whole history is never scanned
    last_ts = select(func.max(newer.c.ts)).where(newer.c.series_id == Series.id).scalar_subquery()
    query = (
        select(Asset.external_id, Metric.name, measurement.c.ts, measurement.c.value)
        .select_from(Series)
        .join(Asset, Asset.id == Series.asset_id)
        .join(Metric, Metric.id == Series.metric_id)
        .join(measurement, and_(measurement.c.series_id == Series.id, measurement.c.ts == last_ts))
        .where(Asset.dataset_id == ds.id, Metric.name.in_((ETAT_METRIC, OCCUPATION_METRIC)))
    )
    if id_pdcs is not None:
        query = query.where(Asset.external_id.in_(list(id_pdcs)))
    seen: dict[str, dict[str, tuple[datetime, str]]] = {}
    for pdc, metric, ts, value in session.execute(query):
        names = ETAT_NAMES if metric == ETAT_METRIC else OCCUPATION_NAMES
        seen.setdefault(pdc, {})[metric] = (ts, names.get(int(value), "inconnu"))
    out: dict[str, LiveStatus] = {}
    for pdc, got in seen.items():
        etat = got.get(ETAT_METRIC)
        occupation = got.get(OCCUPATION_METRIC)
        at = max(t for t, _ in got.values())
        out[pdc] = LiveStatus(
            pdc,
            at,
            etat[1] if etat and etat[0] == at else "inconnu",
            occupation[1] if occupation and occupation[0] == at else "inconnu",
        )
    return out


def point_state(status: LiveStatus | None, now: datetime, stale_after: timedelta = DEFAULT_MAX_GAP) -> str:
    """What the map shows for one charge point now."""
    if status is None or status.etat == "inconnu":
        return UNKNOWN
    if status.etat == "hors_service":
        return OUT_OF_SERVICE  # an outage lasts until a report ends it, as in the outage list
    if now - status.at > stale_after:
        return UNKNOWN
    if status.occupation == "libre":
        return AVAILABLE
    if status.occupation in ("occupe", "reserve"):
        return OCCUPIED
    return IN_SERVICE  # en service, occupation not reported


def station_state(states: Iterable[str]) -> str:
    """A station's state from its points': available if any point is, else the best known one."""
    found = set(states)
    return next((s for s in STATES if s in found), UNKNOWN)
