"""HTTP routes of the catalog: datasets and assets (thin: logic lives in the service)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import TypeAdapter, ValidationError

from territoria import paging
from territoria.access import assets as asset_pages
from territoria.access.audit import principal_actor, record
from territoria.access.personal import view_of
from territoria.access.policy import can_read, require_ingest, require_manage, require_read
from territoria.catalog import service
from territoria.catalog.schemas import (
    AssetIn,
    AssetPublic,
    AssetUpsertResult,
    DatasetCreate,
    DatasetPublic,
    DatasetUpdate,
)
from territoria.errors import Invalid, Unparseable
from territoria.http.deps import (
    ContextDep,
    PageCursor,
    PageLimit,
    PrincipalDep,
    SessionDep,
    link_next_page,
    read_body,
)

router = APIRouter(prefix="/api/v1", tags=["catalog"])
_assets_adapter = TypeAdapter(list[AssetIn])


@router.get("/datasets", response_model=list[DatasetPublic])
def list_datasets(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[DatasetPublic]:
    """Datasets the caller may read (open ones for anonymous callers), a page at a time (Link: next)."""
    readable = [d for d in service.list_datasets(session) if can_read(principal, d)]
    page, following = paging.page_in_memory(readable, lambda d: d.slug, cursor, limit)
    link_next_page(request, response, following)
    return [service.dataset_public(d) for d in page]


@router.post("/datasets", response_model=DatasetPublic, status_code=status.HTTP_201_CREATED)
def create_dataset(body: DatasetCreate, ctx: ContextDep, principal: PrincipalDep) -> DatasetPublic:
    """Create a dataset owned by the token's organisation."""
    require_manage(principal)
    assert principal.organisation_slug is not None
    with ctx.session(write=True) as session:
        owner = service.get_organisation(session, principal.organisation_slug)
        ds = service.create_dataset(session, body, owner)
        record(
            session,
            actor=principal_actor(principal),
            action="dataset.create",
            target=f"dataset:{ds.slug}",
            organisation_id=owner.id,
            details={"access": ds.access, "kind": ds.kind},
        )
        return service.dataset_public(ds, 0)


@router.get("/datasets/{slug}", response_model=DatasetPublic)
def get_dataset(slug: str, session: SessionDep, principal: PrincipalDep) -> DatasetPublic:
    """One dataset with its metric definitions."""
    ds = service.get_dataset(session, slug)
    require_read(principal, ds)
    return service.dataset_public(ds, service.count_assets(session, ds))


@router.patch("/datasets/{slug}", response_model=DatasetPublic)
def update_dataset(slug: str, body: DatasetUpdate, ctx: ContextDep, principal: PrincipalDep) -> DatasetPublic:
    """Change a dataset's title, description, access, licence or metrics."""
    with ctx.session(write=True) as session:
        ds = service.get_dataset(session, slug)
        require_manage(principal, ds)
        before = ds.schema_version
        service.update_dataset(session, ds, body)
        record(
            session,
            actor=principal_actor(principal),
            action="dataset.schema_change" if ds.schema_version != before else "dataset.update",
            target=f"dataset:{ds.slug}",
            organisation_id=principal.organisation_id,
            details=body.model_dump(exclude_unset=True, by_alias=True),
        )
        return service.dataset_public(ds, service.count_assets(session, ds))


@router.get("/datasets/{slug}/assets", response_model=list[AssetPublic])
def list_assets(
    slug: str,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    response: Response,
    area: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    cursor: Annotated[
        str | None, Query(max_length=paging.MAX_CURSOR, description="from the Link header (rel=next)")
    ] = None,
) -> list[AssetPublic]:
    """Assets of a dataset, optionally in one commune, a page at a time: the `Link` header (rel="next")
    names the next page."""
    ds = service.get_dataset(session, slug)
    require_read(principal, ds)
    view = view_of(principal, ds, ctx.settings.secret_key)
    shown, following = asset_pages.list_assets(session, ds, area=area, limit=limit, view=view, cursor=cursor)
    link_next_page(request, response, following)
    return shown


def _asset_items(body: bytes) -> list[AssetIn]:
    """Assets from a JSON list or a GeoJSON FeatureCollection."""
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Unparseable(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        doc = service.assets_from_geojson(doc)
    if not isinstance(doc, list):
        raise Invalid("send a JSON list of assets or a GeoJSON FeatureCollection")
    try:
        return _assets_adapter.validate_python(doc)
    except ValidationError as exc:
        errors = [
            {
                "row": e["loc"][0] + 1 if e["loc"] and isinstance(e["loc"][0], int) else None,
                "field": ".".join(str(p) for p in e["loc"][1:]) or None,
                "code": e["type"].upper(),
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        raise Invalid(f"{len(errors)} asset(s) are invalid; nothing was stored", errors=errors) from exc


@router.post("/datasets/{slug}/assets", response_model=AssetUpsertResult)
def upsert_assets(
    slug: str, ctx: ContextDep, principal: PrincipalDep, body: Annotated[bytes, Depends(read_body)]
) -> AssetUpsertResult:
    """Create or update assets (upsert on the external id); each is assigned to its commune."""
    items = _asset_items(body)
    locator = ctx.locator()
    with ctx.session(write=True) as session:
        ds = service.get_dataset(session, slug)
        require_ingest(principal, ds)
        return service.upsert_assets(session, ds, items, locator)
