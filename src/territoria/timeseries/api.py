"""HTTP route of series queries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from territoria.access.policy import require_read
from territoria.api.deps import PrincipalDep, SessionDep
from territoria.catalog.service import get_dataset
from territoria.timeseries.query import MAX_POINTS, parse_bound, query_series
from territoria.timeseries.schemas import Agg, Resolution, SeriesQueryResult

router = APIRouter(prefix="/api/v1", tags=["timeseries"])


@router.get("/datasets/{slug}/measurements", response_model=SeriesQueryResult)
def get_measurements(
    slug: str,
    session: SessionDep,
    principal: PrincipalDep,
    asset: Annotated[str | None, Query(max_length=10_000, description="asset id(s), comma-separated")] = None,
    metric: Annotated[str | None, Query(max_length=1000)] = None,
    start: Annotated[str | None, Query(max_length=40, description="ISO-8601, inclusive")] = None,
    end: Annotated[str | None, Query(max_length=40, description="ISO-8601, exclusive")] = None,
    resolution: Resolution = "raw",
    agg: Agg = "avg",
    area: Annotated[str | None, Query(max_length=1000, description="INSEE code(s) of communes")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_POINTS)] = 10_000,
) -> SeriesQueryResult:
    """Raw or resampled points; hour, day and month come from rollups, never from raw scans."""
    ds = get_dataset(session, slug)
    require_read(principal, ds)
    return query_series(
        session,
        ds,
        asset=asset,
        metric=metric,
        start=parse_bound(start, "start"),
        end=parse_bound(end, "end"),
        resolution=resolution,
        agg=agg,
        area=area,
        limit=limit,
    )
