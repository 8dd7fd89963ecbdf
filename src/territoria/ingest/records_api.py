"""HTTP route reading the records of a records dataset (thin: logic lives in records_read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from territoria import paging
from territoria.access.personal import view_of
from territoria.access.policy import require_read
from territoria.catalog.service import get_dataset
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.ingest.records_read import DEFAULT_LIMIT, MAX_LIMIT, RecordsPage, read_records

router = APIRouter(prefix="/api/v1", tags=["ingest"])


@router.get("/datasets/{slug}/records", response_model=RecordsPage)
def get_records(
    slug: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    area: Annotated[str | None, Query(max_length=1000, description="INSEE code(s) of communes")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=300, description="from the Link header (or 'next') of the previous page")
    ] = None,
    after: Annotated[str | None, Query(max_length=300, description="older name of 'cursor'")] = None,
) -> RecordsPage:
    """Records in key order, a page at a time: the `Link` header (rel="next") names the next page, whose
    cursor `next` also gives.

    Fields left out of the caller's data-sharing agreement are left out; personal fields are
    pseudonyms for anyone but the owner, and so is the key when it is made of one.
    """
    ds = get_dataset(session, slug)
    require_read(principal, ds)
    view = view_of(principal, ds, ctx.settings.secret_key)
    page = read_records(session, ds, view=view, area=area, limit=limit, after=cursor or after)
    if page.next is not None:
        params = request.query_params.multi_items()
        url = paging.next_url(request.url.path, params, page.next, drop=("after",))
        paging.link_next(response.headers, url)
    return page
