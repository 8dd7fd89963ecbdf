"""HTTP route of series queries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from territoria.access.personal import view_of
from territoria.access.policy import require_field, require_read
from territoria.catalog.service import get_dataset
from territoria.http.deps import ContextDep, PageCursor, PrincipalDep, SessionDep, link_next_page
from territoria.http.limits import Expensive
from territoria.timeseries.paging import parse_cursor
from territoria.timeseries.query import MAX_POINTS, names, parse_bound, query_series
from territoria.timeseries.schemas import Agg, Resolution, SeriesQueryResult

router = APIRouter(prefix="/api/v1", tags=["timeseries"])


@router.get("/datasets/{slug}/measurements", response_model=SeriesQueryResult)
def get_measurements(
    slug: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    _slot: Expensive,
    asset: Annotated[str | None, Query(max_length=10_000, description="asset id(s), comma-separated")] = None,
    metric: Annotated[str | None, Query(max_length=1000)] = None,
    start: Annotated[str | None, Query(max_length=40, description="ISO-8601, inclusive")] = None,
    end: Annotated[str | None, Query(max_length=40, description="ISO-8601, exclusive")] = None,
    resolution: Resolution = "raw",
    agg: Agg = "avg",
    area: Annotated[str | None, Query(max_length=1000, description="INSEE code(s) of communes")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_POINTS, description="points per page")] = 10_000,
    cursor: PageCursor = None,
) -> SeriesQueryResult:
    """Raw or resampled points; hour, day and month come from rollups, never from raw scans.

    A metric left out of the caller's data-sharing agreement is refused when asked for and left out
    otherwise; personal asset ids are pseudonyms for anyone but the owner (filter with those).
    Pages follow the primary key (series, time), as every list of the platform: while `truncated` is
    true, `next` (and the `Link: <...>; rel="next"` header) gives the next page; `cursor` is its key.
    """
    ds = get_dataset(session, slug)
    require_read(principal, ds)
    for name in names(metric) or []:
        require_field(principal, ds, name)
    result = query_series(
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
        view=view_of(principal, ds, ctx.settings.secret_key),
        cursor=parse_cursor(cursor),
    )
    result.next = link_next_page(request, response, result.cursor)
    return result
