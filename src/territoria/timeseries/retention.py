"""Retention of the time-series store: raw readings past a dataset's period are deleted (rollups stay)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from territoria.access.retention import PurgeHook, count_rows, register_purge, scalar_in
from territoria.catalog.models import Asset, Dataset, Series
from territoria.context import Context
from territoria.timeseries.models import measurement

SERIES_CHUNK = 200  # series per DELETE …
WINDOW = timedelta(days=7)  # … and at most a week of their readings (~134,000 rows at 15 minutes)


def _series_ids(ctx: Context, ds: Dataset) -> list[int]:
    """Ids of the dataset's series."""
    stmt = select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == ds.id)
    with ctx.session() as session:
        return list(session.scalars(stmt.order_by(Series.id)))


def purge_measurements(ctx: Context, ds: Dataset, cutoff: datetime, *, dry_run: bool) -> int:
    """Delete raw readings older than `cutoff`, a chunk of series and a week at a time."""
    total = 0
    ids = _series_ids(ctx, ds)
    for i in range(0, len(ids), SERIES_CHUNK):
        chunk = ids[i : i + SERIES_CHUNK]
        old = (measurement.c.series_id.in_(chunk), measurement.c.ts < cutoff)
        if dry_run:
            total += count_rows(ctx, select(func.count()).select_from(measurement).where(*old))
            continue
        start = scalar_in(ctx, select(func.min(measurement.c.ts)).where(*old))
        while start is not None and start < cutoff:
            stop = min(start + WINDOW, cutoff)
            with ctx.session(write=True) as session:
                result = session.execute(
                    delete(measurement).where(
                        measurement.c.series_id.in_(chunk),
                        measurement.c.ts >= start,
                        measurement.c.ts < stop,
                    )
                )
                total += max(0, int(getattr(result, "rowcount", 0) or 0))
            start = stop
    return total


def _purge(ctx: Context, ds: Dataset, cutoff: datetime, *, dry_run: bool, personal: list[str]) -> int:
    """The registered purge: raw readings of a time series with personal fields."""
    return purge_measurements(ctx, ds, cutoff, dry_run=dry_run)


register_purge(
    PurgeHook("measurements", lambda ds, personal: bool(personal) and ds.kind == "timeseries", _purge)
)
