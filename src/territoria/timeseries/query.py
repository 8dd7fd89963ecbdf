"""Series queries: raw points, or hour/day/month buckets served from rollups (never raw scans)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from territoria.access.personal import ASSET, PREFIX, View, pseudonym_index
from territoria.catalog.models import Asset, Dataset, Metric
from territoria.dates import parse_instant
from territoria.errors import Invalid
from territoria.timeseries.paging import Cursor, SeriesKey, pages, rows_of, series_keys
from territoria.timeseries.schemas import Agg, Point, Resolution, SeriesQueryResult

MAX_POINTS = 100_000


def parse_bound(raw: str | None, name: str) -> datetime | None:
    """An ISO date or datetime query bound (UTC when no zone), held to the years every query accepts."""
    return parse_instant(raw, name)


def names(raw: str | None) -> list[str] | None:
    """The comma-separated names of a filter; None when there is no filter."""
    if not raw:
        return None
    return [n.strip() for n in raw.split(",") if n.strip()]


def _series_filter(
    stmt: Select[Any], ds: Dataset, assets: list[str] | None, metrics: list[str] | None, area: str | None
) -> Select[Any]:
    """Restrict a statement joined to series/asset/metric to the dataset and the filters.

    None is no filter; an empty list matches nothing (e.g. every metric asked is left out).
    """
    stmt = stmt.where(Asset.dataset_id == ds.id)
    if assets is not None:
        stmt = stmt.where(Asset.external_id.in_(assets))
    if metrics is not None:
        stmt = stmt.where(Metric.name.in_(metrics))
    if area:
        stmt = stmt.where(Asset.area_code.in_([c.strip() for c in area.split(",") if c.strip()]))
    return stmt


def _clear_assets(session: Session, ds: Dataset, view: View, asked: list[str]) -> list[str]:
    """The clear ids behind the pseudonyms a caller filters on; clear ids it should not know match nothing.

    Pseudonyms are keyed hashes, so they are resolved by hashing the dataset's ids (a few microseconds
    per asset) rather than stored: no column to migrate or keep in step with a rotated secret key.
    """
    wanted = {a for a in asked if a.startswith(PREFIX)}
    if not wanted:
        return []
    ids = session.scalars(select(Asset.external_id).where(Asset.dataset_id == ds.id))
    index = pseudonym_index(view, ASSET, ids)
    return [index[a] for a in wanted if a in index]


def _restrict(
    session: Session, ds: Dataset, view: View | None, assets: list[str] | None, metrics: list[str] | None
) -> tuple[list[str] | None, list[str] | None]:
    """Apply a view to the filters: only allowed metrics, and pseudonyms resolved to assets."""
    if view is None:
        return assets, metrics
    if view.fields is not None:
        metrics = [m for m in (metrics if metrics is not None else sorted(view.fields)) if view.shows(m)]
    if assets is not None and view.hides(ASSET):
        assets = _clear_assets(session, ds, view, assets)
    return assets, metrics


def _aggregate(n: int, total: float, lo: float, hi: float, last: float, agg: Agg) -> float:
    """One bucket's value for the chosen aggregate."""
    if agg == "avg":
        return total / n if n else 0.0
    return {"sum": total, "min": lo, "max": hi, "count": float(n), "last": last}[agg]


def _month_points(key: SeriesKey, rows: Iterable[Any], agg: Agg) -> list[Point]:
    """Merge one series' daily rollups (in time order) into calendar months (UTC)."""
    acc: dict[datetime, list[Any]] = {}
    for bucket, n, total, lo, hi, last in rows:
        month = bucket.replace(day=1)
        cur = acc.get(month)
        if cur is None:
            acc[month] = [n, total, lo, hi, last]
        else:
            cur[0] += n
            cur[1] += total
            cur[2] = min(cur[2], lo)
            cur[3] = max(cur[3], hi)
            cur[4] = last  # rows come in time order
    return [
        Point(asset=key.asset, metric=key.metric, ts=m, value=_aggregate(v[0], v[1], v[2], v[3], v[4], agg))
        for m, v in acc.items()
    ]


def _points(key: SeriesKey, rows: list[Any], resolution: Resolution, agg: Agg) -> list[Point]:
    """One series' rows as points of the answer."""
    if resolution == "raw":
        return [Point(asset=key.asset, metric=key.metric, ts=t, value=v) for t, v in rows]
    if resolution == "month":
        return _month_points(key, rows, agg)
    return [
        Point(asset=key.asset, metric=key.metric, ts=b, value=_aggregate(n, s, lo, hi, last, agg))
        for b, n, s, lo, hi, last in rows
    ]


def query_series(
    session: Session,
    ds: Dataset,
    *,
    asset: str | None = None,
    metric: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    resolution: Resolution = "raw",
    agg: Agg = "avg",
    area: str | None = None,
    limit: int = 10_000,
    view: View | None = None,
    cursor: Cursor | None = None,
) -> SeriesQueryResult:
    """One page of points of a dataset's series, filtered, at the asked resolution, as `view` shows them.

    With a view, metrics left out of it are left out of the answer (a caller asking for one explicitly
    is refused before, by `policy.require_field`) and personal asset ids are pseudonyms, in the
    `asset` filter as in the points. Pages follow the primary key (see `paging`): `next_cursor` of the
    answer resumes after its last point; it is None on the last page.
    """
    if start and end and start > end:
        raise Invalid("'start' is after 'end'")
    limit = max(1, min(limit, MAX_POINTS))
    assets, metrics = _restrict(session, ds, view, names(asset), names(metric))
    hidden = view is not None and view.hides(ASSET)
    keys = series_keys(
        session, lambda stmt: _series_filter(stmt, ds, assets, metrics, area), by_creation=hidden
    )
    # One point past the page proves there is a next one.
    points: list[Point] = []
    ids: list[int] = []
    for key, after in pages(keys, cursor):
        want = limit + 1 - len(points)
        rows = rows_of(session, resolution, key.series_id, start, end, after, want)
        got = _points(key, rows, resolution, agg)
        points += got[:want]
        ids += [key.series_id] * len(got[:want])
        if len(points) > limit:
            break
    truncated = len(points) > limit
    points = points[:limit]
    next_cursor = Cursor(ids[limit - 1], points[-1].ts) if truncated else None
    if hidden and view is not None:
        points = _pseudonymised(view, points)
    return SeriesQueryResult(
        dataset=ds.slug,
        resolution=resolution,
        agg=agg,
        start=start,
        end=end,
        source="measurement"
        if resolution == "raw"
        else ("rollup_hour" if resolution == "hour" else "rollup_day"),
        count=len(points),
        truncated=truncated,
        cursor=next_cursor.text() if next_cursor else None,
        data=points,
    )


def _pseudonymised(view: View, points: list[Point]) -> list[Point]:
    """The points with each asset id replaced by its pseudonym (computed once per asset)."""
    seen: dict[str, str] = {}
    for p in points:
        if p.asset not in seen:
            seen[p.asset] = view.mask(ASSET, p.asset)
        p.asset = seen[p.asset]
    return points
