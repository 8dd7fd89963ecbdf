"""HTTP routes of the KPIs: list, values per area and period, user-defined KPIs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import ValidationError
from sqlalchemy import select

from territoria import i18n, paging
from territoria.analytics import insights, service
from territoria.analytics.definitions import KpiDefinition, load_yaml, validation_errors
from territoria.analytics.schemas import KpiPublic, KpiValue, KpiValues
from territoria.dates import QueryDay
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
from territoria.http.limits import expensive_guard
from territoria.territory.models import Area

router = APIRouter(prefix="/api/v1", tags=["kpis"])
Lang = Annotated[Literal["fr", "en"], Query(description="language of titles and descriptions")]


def public(session: Any, kpi: KpiDefinition, lang: str) -> KpiPublic:
    """A KPI's public form."""
    slugs = sorted({ds.slug for ds, _ in service.sources(session, kpi)})
    return KpiPublic.of(kpi, lang, custom=kpi.code not in service.SHIPPED, sources=slugs)


@router.get("/kpis", response_model=list[KpiPublic])
def list_kpis(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    lang: Lang = "fr",
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[KpiPublic]:
    """KPIs whose every source the caller may read (open data only for anonymous callers), by page."""
    kpis = [k for k in service.registry(session).values() if service.readable(session, principal, k)]
    page, following = paging.page_in_memory(kpis, lambda k: k.code, cursor, limit)
    link_next_page(request, response, following)
    return [public(session, k, lang) for k in page]


def area_names(session: Any, level: str, lang: str = "fr") -> dict[str, str]:
    """Names of the areas of a level (the territory is one area)."""
    if level == "territory":
        return {"territory": i18n.t("area.territory", lang)}
    rows = session.execute(select(Area.code, Area.name).where(Area.level == level))
    return {str(code): str(name) for code, name in rows}


@router.get("/kpis/{code}", response_model=KpiValues)
def kpi_values(
    code: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    level: Annotated[str, Query(pattern=r"^[a-z_]{1,16}$")] = "commune",
    period: Literal["day", "week", "month", "year"] | None = None,
    start: QueryDay | None = None,
    end: QueryDay | None = None,
    area: Annotated[str | None, Query(max_length=16)] = None,
    lang: Lang = "fr",
) -> KpiValues:
    """One row per area and period (UTC periods); `end` is exclusive and both align on whole periods."""
    kpi = service.get_kpi(session, code)
    service.require_kpi(session, principal, kpi)
    scope = service.default_scope(period or kpi.period, start, end, level)
    result = service.kpi_rows(ctx, kpi, scope, expensive_guard(request, principal))
    names = area_names(session, level, lang)
    rows = [
        KpiValue(
            area=r.area_code,
            name=names.get(r.area_code, r.area_code),
            period=r.period,
            value=r.value,
            contributors=r.contributors,
        )
        for r in result.rows
        if area is None or r.area_code == area
    ]
    return KpiValues(
        kpi=public(session, kpi, lang),
        level=level,
        period=scope.period,
        start=scope.start,
        end=scope.end,
        computed_at=result.computed_at,
        cached=result.cached,
        compute_seconds=round(result.seconds, 4),
        rows=rows,
    )


def _definition(body: bytes, content_type: str) -> KpiDefinition:
    """A definition from JSON or YAML: one mapping, or a list holding exactly one."""
    if "yaml" in content_type:
        kpis = load_yaml(body.decode("utf-8", errors="replace"), "body")
        if len(kpis) != 1:
            raise Invalid("send one KPI definition per request")
        return kpis[0]
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Unparseable(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    if isinstance(doc, list):
        if len(doc) != 1:
            raise Invalid("send one KPI definition per request")
        doc = doc[0]
    try:
        return KpiDefinition.model_validate(doc)
    except ValidationError as exc:
        raise Invalid("the KPI definition is invalid", errors=validation_errors(exc)) from exc


@router.post(
    "/kpis",
    response_model=KpiPublic,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            }
        }
    },
)
def create_kpi(
    ctx: ContextDep,
    principal: PrincipalDep,
    body: Annotated[bytes, Depends(read_body)],
    content_type: Annotated[str | None, Header()] = None,
    lang: Lang = "fr",
) -> KpiPublic:
    """Define a KPI (JSON, or YAML with `Content-Type: application/yaml`); analysts, stewards, admins."""
    kpi = _definition(body, content_type or "")
    with ctx.session(write=True) as session:
        service.create_kpi(session, principal, kpi)
        return public(session, kpi, lang)


@router.get("/kpis/{code}/stats")
def kpi_statistics(
    code: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    level: Annotated[Literal["territory", "commune"], Query()] = "territory",
    area: Annotated[str | None, Query(max_length=16)] = None,
    period: Literal["day", "week", "month", "year"] = "month",
    lang: Lang = "fr",
) -> dict[str, Any]:
    """Trend (Theil–Sen, Mann–Kendall), year-over-year change, anomalies and hour × weekday profile."""
    kpi = service.get_kpi(session, code)
    service.require_kpi(session, principal, kpi)
    if level == "commune" and not area:
        raise Invalid("give the commune: area=INSEE code")
    where = area if level == "commune" and area else "territory"
    return insights.statistics(ctx, kpi, level, where, period, lang, expensive_guard(request, principal))


@router.get("/kpis/{code}/correlation")
def kpi_correlation(
    code: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    with_: Annotated[str, Query(alias="with", max_length=64)],
    level: Annotated[str, Query(pattern=r"^[a-z_]{1,16}$")] = "commune",
    period: Literal["day", "week", "month", "year"] = "month",
    start: QueryDay | None = None,
    end: QueryDay | None = None,
    lang: Lang = "fr",
) -> dict[str, Any]:
    """Pearson and Spearman correlation of two KPIs over the areas × periods where both have a value."""
    first, second = service.get_kpi(session, code), service.get_kpi(session, with_)
    service.require_kpi(session, principal, first)
    service.require_kpi(session, principal, second)
    scope = service.default_scope(period, start, end, level)
    return insights.correlate(ctx, first, second, scope, lang, expensive_guard(request, principal))
