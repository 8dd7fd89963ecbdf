"""Public open-data API: released datasets, their latest release, its Table Schema, explore and exports.

No login: everything here is a published release, already through disclosure control.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from territoria import paging
from territoria.catalog.models import Dataset
from territoria.errors import Invalid
from territoria.http.deps import ContextDep, PageCursor, PageLimit, SessionDep, link_next_page
from territoria.http.limits import Expensive
from territoria.opendata.explore import parse_request
from territoria.opendata.exports import FORMATS, area_geometries, export_release, json_bytes
from territoria.opendata.models import Release
from territoria.opendata.query import run_page
from territoria.opendata.releases import released_dataset, table_of
from territoria.opendata.tables import ReleaseColumn

router = APIRouter(prefix="/api/v1/opendata", tags=["opendata"])

DEFAULT_LIMIT = 100
MAX_OFFSET = 1_000_000
CATALOGUE = "/opendata/catalog.jsonld"
STALE = (
    "a new release was published since this page's first one: start again without 'cursor' / "
    "une nouvelle version a été publiée depuis la première page : recommencez sans 'cursor'"
)
ROLES = {
    "dimension": "Dimension: rows are cells of the cross of dimensions",
    "measure": "Measure: null where the cell is secret",
    "flag": "Flag",
    "location": "Location (WGS 84)",
    "attribute": "Attribute",
}

SelectParam = Annotated[
    str | None,
    Query(
        alias="select", description="Columns, date functions, aggregates, `as alias`; default: all columns"
    ),
]
WhereParam = Annotated[
    str | None, Query(description="Condition, e.g. `area_code = '06088' and period >= '2024'`")
]
GroupParam = Annotated[str | None, Query(description="Group keys: columns, date functions or select aliases")]
OrderParam = Annotated[str | None, Query(description="Items with optional `asc`/`desc`, e.g. `energy desc`")]


class Coverage(BaseModel):
    """Time span of the released data."""

    start: datetime | None
    end: datetime | None


class OpenDatasetSummary(BaseModel):
    """A released dataset as the list shows it."""

    slug: str
    title: str
    description: str
    domain: str
    licence: str
    publisher: str
    version: int
    rows: int
    released_at: datetime
    coverage: Coverage
    links: dict[str, Any]


class ColumnPublic(BaseModel):
    """A column of the public table."""

    name: str
    type: str
    role: str
    title: dict[str, str]
    unit: str


class OpenDatasetDetail(OpenDatasetSummary):
    """The latest release of a dataset: metadata, columns, disclosure-control report, change log."""

    keywords: list[str]
    geometry: str
    policy_version: int
    sha256: str
    columns: list[ColumnPublic]
    report: dict[str, Any]
    changelog: dict[str, Any]


class ExplorePage(BaseModel):
    """A page of an explore query.

    total_count: rows of the whole answer before limit and offset (rows matching `where`; for a grouped
    query, the number of groups). next: URL of the next page (also in the `Link` header); null on the last.
    """

    dataset: str
    version: int
    total_count: int
    results: list[dict[str, Any]]
    next: str | None = None


def _links(slug: str) -> dict[str, Any]:
    """Where to go from a dataset."""
    base = f"/api/v1/opendata/{slug}"
    return {
        "self": base,
        "records": f"{base}/records",
        "schema": f"{base}/schema.json",
        "exports": {fmt: f"{base}/exports/{fmt}" for fmt in FORMATS},
        "catalogue": CATALOGUE,
        "page": f"/opendata/{slug}",
    }


def _summary(ds: Dataset, release: Release) -> dict[str, Any]:
    """The fields shared by the list and the detail."""
    return {
        "slug": ds.slug,
        "title": ds.title,
        "description": ds.description,
        "domain": ds.domain,
        "licence": release.licence,
        "publisher": ds.owner.name,
        "version": release.version,
        "rows": release.rows,
        "released_at": release.created_at,
        "coverage": Coverage(start=release.coverage_start, end=release.coverage_end),
        "links": _links(ds.slug),
    }


@router.get("", response_model=list[OpenDatasetSummary])
def list_released(
    request: Request,
    response: Response,
    session: SessionDep,
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[OpenDatasetSummary]:
    """Datasets with a published release, each with its latest release, a page at a time (Link: next)."""
    latest = (
        sa.select(Release.dataset_id, sa.func.max(Release.version).label("version"))
        .where(Release.status == "published")
        .group_by(Release.dataset_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(Dataset, Release)
        .join(latest, latest.c.dataset_id == Dataset.id)
        .join(Release, sa.and_(Release.dataset_id == Dataset.id, Release.version == latest.c.version))
        .order_by(Dataset.slug)
    ).all()
    page, following = paging.page_in_memory(rows, lambda row: row[0].slug, cursor, limit)
    link_next_page(request, response, following)
    return [OpenDatasetSummary(**_summary(ds, release)) for ds, release in page]


@router.get("/{slug}", response_model=OpenDatasetDetail)
def get_release(slug: str, session: SessionDep) -> OpenDatasetDetail:
    """The latest release of a dataset (404 when it has none)."""
    ds, release = released_dataset(session, slug)
    columns = [ColumnPublic(**ReleaseColumn.from_json(c).public_json()) for c in release.columns]
    return OpenDatasetDetail(
        **_summary(ds, release),
        keywords=list(ds.keywords or []),
        geometry=release.geometry,
        policy_version=release.policy_version,
        sha256=release.sha256,
        columns=columns,
        report=release.report or {},
        changelog=release.changelog or {},
    )


def table_schema(columns: list[ReleaseColumn]) -> dict[str, Any]:
    """A Frictionless Table Schema describing the public table (the target of DCAT `conformsTo`)."""
    fields = []
    for col in columns:
        entry: dict[str, Any] = {
            "name": col.name,
            "type": col.type,
            "title": col.title_in("en"),
            "description": f"{ROLES.get(col.role, col.role)}. Français : {col.title_in('fr')}",
        }
        if col.unit:
            entry["unit"] = col.unit
        fields.append(entry)
    return {"fields": fields, "missingValues": [""]}


@router.get("/{slug}/schema.json")
def get_schema(slug: str, session: SessionDep) -> dict[str, Any]:
    """The Table Schema of the latest release."""
    _, release = released_dataset(session, slug)
    return table_schema([ReleaseColumn.from_json(c) for c in release.columns])


@router.get("/{slug}/records", response_model=ExplorePage)
def get_records(
    slug: str,
    request: Request,
    ctx: ContextDep,
    _slot: Expensive,
    select: SelectParam = None,
    where: WhereParam = None,
    group_by: GroupParam = None,
    order_by: OrderParam = None,
    limit: Annotated[int, Query(ge=0, description="At most explore_max_limit (10,000)")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=paging.MAX_CURSOR, description="from 'next' (or the Link header)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="older way to page: prefer 'cursor'")] = 0,
) -> Response:
    """Explore the latest release with a small query language (`territoria.opendata.explore`).

    Each expression is at most 2,000 characters; syntax errors answer 400 with their position. `next`
    (and the `Link` header) gives the next page of the same release; a release published meanwhile
    makes its cursor stale (422: start again from the first page).
    """
    top = ctx.settings.explore_max_limit
    if limit > top:
        message = f"limit must be between 0 and {top}; page with 'next', or use the exports for everything"
        raise Invalid(message, errors=[{"field": "limit", "code": "OUT_OF_RANGE", "message": message}])
    parsed = parse_request(select, where, group_by, order_by)
    with ctx.session() as session:  # closed before the query runs on the file
        ds, release = released_dataset(session, slug)
        table = table_of(ctx.settings, ds, release)
    position = paging.decode(cursor, int, int)
    if position is not None:
        # A release is immutable, so a row position within one version is a stable place to resume.
        if position[0] != table.version:
            raise Invalid(STALE)
        offset = position[1]
    page = run_page(table, parsed, limit=limit, offset=offset)
    following = offset + len(page.rows)
    url = None
    if page.rows and following < page.total_count and following <= MAX_OFFSET:
        params = request.query_params.multi_items()
        resume = paging.encode(table.version, following)
        url = paging.next_url(request.url.path, params, resume, drop=("offset",))
    body = {
        "dataset": slug,
        "version": table.version,
        "total_count": page.total_count,
        "results": page.rows,
        "next": url,
    }
    response = Response(json_bytes(body), media_type="application/json")
    paging.link_next(response.headers, url)
    return response


@router.get("/{slug}/exports/{fmt}", response_class=StreamingResponse)
def get_export(
    slug: str,
    fmt: Literal["csv", "json", "geojson", "parquet"],
    ctx: ContextDep,
    _slot: Expensive,
    select: SelectParam = None,
    where: WhereParam = None,
    group_by: GroupParam = None,
    order_by: OrderParam = None,
    limit: Annotated[int | None, Query(ge=1, description="Default: every row")] = None,
    bom: Annotated[bool, Query(description="CSV only: start with a UTF-8 BOM for spreadsheets")] = False,
) -> StreamingResponse:
    """The latest release (or the rows a query selects), streamed as CSV, JSON, GeoJSON or (Geo)Parquet."""
    request = parse_request(select, where, group_by, order_by)
    # A short transaction of its own: the database is not held while the file streams.
    with ctx.session() as session:
        ds, release = released_dataset(session, slug)
        table = table_of(ctx.settings, ds, release)
        located = table.geometry == "area" and fmt in ("geojson", "parquet")
        areas = area_geometries(session) if located else None
    export = export_release(table, request, fmt, areas=areas, bom=bom, limit=limit)
    return StreamingResponse(
        export.chunks, media_type=export.media_type, headers={"Content-Disposition": export.disposition}
    )
