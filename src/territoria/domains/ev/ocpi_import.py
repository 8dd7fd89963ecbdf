"""Storing what came from OCPI or an IRVE file: the IRVE static dataset, and statuses on `ev-status`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset, Organisation
from territoria.catalog.schemas import DatasetCreate
from territoria.catalog.service import create_dataset
from territoria.domains.ev.consolidation import consolidate, is_irve_static
from territoria.domains.ev.irve_schema import irve_static_schema
from territoria.domains.ev.ocpi import OcpiMapping
from territoria.domains.ev.status import (
    DynamicImportReport,
    ensure_status_dataset,
    import_dynamic,
    sync_assets,
)
from territoria.errors import Invalid, NotFound
from territoria.ingest.batches import Origin
from territoria.territory.index import AreaLocator


def irve_dataset_body(slug: str) -> DatasetCreate:
    """A records dataset with the IRVE static schema (private until its owner opens it)."""
    return DatasetCreate(
        slug=slug,
        title=f"IRVE statique - {slug}",
        titles={"fr": f"IRVE statique - {slug}", "en": f"IRVE static file - {slug}"},
        descriptions={
            "fr": "Points de recharge au schéma national IRVE statique, importés d'un flux OCPI.",
            "en": "Charge points in the French national IRVE static schema, imported from an OCPI feed.",
        },
        description="Points de recharge au schéma national IRVE statique, importés d'un flux OCPI.",
        domain="ev",
        kind="records",
        access="private",
        table_schema=irve_static_schema(),
        keywords=["irve", "recharge"],
    )


def irve_dataset(session: Session, slug: str, owner: Organisation | None) -> Dataset:
    """The IRVE static dataset `slug`, created for `owner` when missing and an owner is given."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        if owner is None:
            raise NotFound(f"dataset '{slug}' does not exist: give --owner ORG to create it")
        ds = create_dataset(session, irve_dataset_body(slug), owner)
        session.flush()
    elif ds.kind != "records" or not is_irve_static(ds.table_schema):
        raise Invalid(f"dataset '{slug}' does not have the IRVE static schema: choose another --dataset")
    return ds


def status_dataset(session: Session, slug: str, owner: Organisation | None) -> Dataset:
    """The status dataset, created for `owner` when missing (like `territoria ev sync-assets`)."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is not None:
        owner = session.get_one(Organisation, ds.owner_id)  # checked, not created: the owner is moot
    elif owner is None:
        raise NotFound(f"status dataset '{slug}' does not exist: give --owner ORG to create it")
    return ensure_status_dataset(session, owner, slug)


def store_statuses(
    session: Session,
    locator: AreaLocator,
    static_slug: str,
    status_ds: Dataset,
    mapping: OcpiMapping,
    *,
    now: datetime,
    origin: Origin,
) -> tuple[int, DynamicImportReport]:
    """Register the static dataset's charge points as status assets, then import the EVSE statuses."""
    synced = sync_assets(session, locator, status_ds, consolidate(session, [static_slug]).points)
    report = import_dynamic(session, status_ds, mapping.status_rows, now=now, origin=origin)
    return synced, report
