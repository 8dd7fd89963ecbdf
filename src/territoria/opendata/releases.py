"""Finding releases: the latest published one of a dataset is the one served."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.errors import NotFound
from territoria.opendata.models import Release
from territoria.opendata.tables import ReleaseColumn, ReleaseTable
from territoria.settings import Settings


def latest_release(session: Session, dataset_id: int) -> Release | None:
    """The latest published release of a dataset, or None."""
    return session.scalars(
        select(Release)
        .where(Release.dataset_id == dataset_id, Release.status == "published")
        .order_by(Release.version.desc())
        .limit(1)
    ).first()


def released_dataset(session: Session, slug: str) -> tuple[Dataset, Release]:
    """The dataset and its latest published release; NotFound when it has none."""
    ds = session.scalars(select(Dataset).where(Dataset.slug == slug)).first()
    release = latest_release(session, ds.id) if ds is not None else None
    if ds is None or release is None:
        raise NotFound(
            f"no open-data release of '{slug}': see GET /api/v1/opendata for the released datasets"
        )
    return ds, release


def table_of(settings: Settings, ds: Dataset, release: Release) -> ReleaseTable:
    """The public table of a release (its Parquet file under the release directory)."""
    return ReleaseTable(
        dataset=ds.slug,
        version=release.version,
        path=settings.releases_root() / release.path,
        columns=tuple(ReleaseColumn.from_json(c) for c in release.columns),
        geometry=release.geometry,  # type: ignore[arg-type]
        rows=release.rows,
    )


def latest_table(session: Session, settings: Settings, slug: str) -> ReleaseTable:
    """The public table of the latest published release of `slug` (NotFound if none)."""
    ds, release = released_dataset(session, slug)
    return table_of(settings, ds, release)
