"""The EV datasets a caller's figures are computed from: only those the access policy lets it read.

IRVE static data is public by law, but a dataset holding it may still be private (an operator's upload
before publication): the observatory's indicators, maps, coverage and station pages consolidate only the
IRVE datasets the caller may read, and use the registered-vehicle counts only when it may read them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.policy import read_scope
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.domains.ev.consolidation import NAMES, Consolidation, consolidate, irve_datasets
from territoria.domains.ev.fleet import FLEET_DATASET, fleet_by_commune


def irve_slugs(session: Session, principal: Principal) -> list[str]:
    """The IRVE static datasets this caller may read (with every field the consolidation uses)."""
    return [ds.slug for ds in irve_datasets(session) if read_scope(principal, ds, needs=NAMES) == "data"]


def consolidation_for(session: Session, principal: Principal) -> Consolidation:
    """The consolidation of the IRVE datasets this caller may read (empty when there is none)."""
    slugs = irve_slugs(session, principal)
    return consolidate(session, slugs) if slugs else Consolidation()


def fleet_for(session: Session, principal: Principal) -> dict[str, tuple[int, int]]:
    """Registered EVs per commune when the caller may read the fleet dataset; else none."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == FLEET_DATASET))
    if ds is None or read_scope(principal, ds) != "data":
        return {}
    return fleet_by_commune(session)
