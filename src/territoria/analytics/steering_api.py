"""HTTP routes of territorial steering: plan targets with their progress, operator contracts, compliance."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria import i18n, paging
from territoria.analytics import contract_report, contracts, service, targets
from territoria.analytics.contract_report import ClauseResult, month_start
from territoria.analytics.models import Contract, PlanTarget
from territoria.analytics.periods import next_start
from territoria.analytics.steering_schemas import (
    MAX_ID,
    ClauseMonthPublic,
    ClausePublic,
    CompliancePublic,
    ContractCreate,
    ContractPublic,
    ProgressPublic,
    TargetCreate,
    TargetPublic,
)
from territoria.errors import Invalid
from territoria.http.deps import ContextDep, PageCursor, PageLimit, PrincipalDep, SessionDep, link_next_page
from territoria.territory.models import Area

router = APIRouter(prefix="/api/v1", tags=["steering"])
TargetId = Annotated[int, Path(ge=1, le=MAX_ID)]
ContractId = Annotated[int, Path(ge=1, le=MAX_ID)]
Lang = Annotated[Literal["fr", "en"], Query(description="language of KPI titles and area names")]
DEFAULT_MONTHS = 12


def area_name(session: Session, level: str, code: str, lang: str) -> str:
    """The name of a target's area (the territory is one area)."""
    if level == "territory":
        return i18n.t("area.territory", lang)
    name = session.scalar(select(Area.name).where(Area.level == level, Area.code == code))
    return name or code


def progress_public(progress: targets.Progress) -> ProgressPublic:
    """A target's progress for the API."""
    return ProgressPublic.model_validate(progress)


def target_public(
    session: Session, target: PlanTarget, lang: str, progress: targets.Progress | None = None
) -> TargetPublic:
    """A target's public form."""
    kpi = service.registry(session).get(target.kpi_code)
    return TargetPublic(
        id=target.id,
        kpi_code=target.kpi_code,
        kpi_title=kpi.title.get(lang) if kpi else target.kpi_code,
        unit=kpi.unit_in(lang) if kpi else "",
        direction=kpi.direction if kpi else "neutral",
        plan=target.plan,
        area_level=target.area_level,
        area_code=target.area_code,
        area_name=area_name(session, target.area_level, target.area_code, lang),
        baseline_year=target.baseline_year,
        baseline_value=target.baseline_value,
        target_year=target.target_year,
        target_value=target.target_value,
        trajectory=[(int(y), float(v)) for y, v in target.trajectory or []],
        created_by=target.created_by,
        created_at=target.created_at,
        progress=progress_public(progress) if progress is not None else None,
    )


def contract_public(session: Session, contract: Contract, lang: str = "fr") -> ContractPublic:
    """A contract's public form (KPI titles in `lang`)."""
    registry = service.registry(session)
    titles = {code: kpi.title.get(lang) for code, kpi in registry.items()}
    return ContractPublic(
        id=contract.id,
        reference=contract.reference,
        title=contract.title,
        operator=contract.operator.slug,
        operator_name=contract.operator.name,
        starts_on=contract.starts_on.date(),
        ends_on=contract.ends_on.date(),
        description=contract.description,
        clauses=[
            ClausePublic(
                code=c.code,
                label=c.label,
                indicator=c.indicator,
                dataset=c.dataset,
                comparator=c.comparator,
                threshold=c.threshold,
                period=c.period,
                unit=contracts.clause_unit(session, c),
                kpi_title=titles.get(c.indicator),
            )
            for c in contract.clauses
        ],
        created_by=contract.created_by,
        created_at=contract.created_at,
    )


def result_public(r: ClauseResult) -> ClauseMonthPublic:
    """One clause-month for the API."""
    return ClauseMonthPublic.model_validate(r)


@router.get("/targets", response_model=list[TargetPublic])
def list_targets(
    request: Request,
    response: Response,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    kpi: Annotated[str | None, Query(max_length=64, description="only the targets of this KPI")] = None,
    progress: Annotated[bool, Query(description="compute each target's progress")] = True,
    lang: Lang = "fr",
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[TargetPublic]:
    """Plan targets on the KPIs the caller may read, a page at a time (Link: next)."""
    found = targets.list_targets(session, principal, kpi)
    page, following = paging.page_in_memory(found, lambda t: t.id, cursor, limit)
    link_next_page(request, response, following)
    return [
        target_public(session, t, lang, targets.progress_or_none(ctx, t) if progress else None) for t in page
    ]


@router.post("/targets", response_model=TargetPublic, status_code=status.HTTP_201_CREATED)
def create_target(
    ctx: ContextDep, principal: PrincipalDep, body: TargetCreate, lang: Lang = "fr"
) -> TargetPublic:
    """Set a plan target (the authority's analysts, stewards and admins)."""
    with ctx.session(write=True) as session:
        target = targets.create_target(session, principal, body)
    with ctx.session() as session:
        return target_public(session, target, lang, targets.progress(ctx, target))


@router.get("/targets/{target_id}", response_model=TargetPublic)
def get_target(
    target_id: TargetId, ctx: ContextDep, session: SessionDep, principal: PrincipalDep, lang: Lang = "fr"
) -> TargetPublic:
    """One target with its progress: yearly values, current and expected value, status."""
    target = targets.get_target(session, principal, target_id)
    return target_public(session, target, lang, targets.progress(ctx, target))


@router.delete("/targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_target(target_id: TargetId, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Remove a target (the authority's analysts, stewards and admins)."""
    with ctx.session(write=True) as session:
        targets.delete_target(session, principal, target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/contracts", response_model=list[ContractPublic])
def list_contracts(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    lang: Lang = "fr",
    limit: PageLimit = paging.DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> list[ContractPublic]:
    """Contracts the caller is a party to: all of them for the authority, its own for an operator."""
    found = contracts.list_contracts(session, principal)
    page, following = paging.page_in_memory(found, lambda c: c.id, cursor, limit)
    link_next_page(request, response, following)
    return [contract_public(session, c, lang) for c in page]


@router.post("/contracts", response_model=ContractPublic, status_code=status.HTTP_201_CREATED)
def create_contract(
    ctx: ContextDep, principal: PrincipalDep, body: ContractCreate, lang: Lang = "fr"
) -> ContractPublic:
    """Record an operator contract and its clauses (the authority's analysts, stewards and admins)."""
    with ctx.session(write=True) as session:
        contract = contracts.create_contract(session, principal, body)
        session.refresh(contract)
        return contract_public(session, contract, lang)


@router.get("/contracts/{contract_id}", response_model=ContractPublic)
def get_contract(
    contract_id: ContractId, session: SessionDep, principal: PrincipalDep, lang: Lang = "fr"
) -> ContractPublic:
    """One contract (its parties only)."""
    return contract_public(session, contracts.get_contract(session, principal, contract_id), lang)


def default_window(start: date | None, end: date | None) -> tuple[date, date]:
    """Whole months: by default the current month and the eleven before it."""
    for day in (start, end):
        if day is not None and not 1990 <= day.year <= 2100:
            raise Invalid("start and end lie between 1990 and 2100")
    if end is None:
        end = next_start(month_start(datetime.now(UTC).date()), "month")
    if start is None:
        start = end
        for _ in range(DEFAULT_MONTHS):
            start = month_start(date.fromordinal(start.toordinal() - 1))
    start = month_start(start)
    if start >= end:
        raise Invalid("start must be before end")
    return start, end


@router.get("/contracts/{contract_id}/compliance", response_model=CompliancePublic)
def contract_compliance(
    contract_id: ContractId,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    start: Annotated[date | None, Query(description="first day (aligned to its month)")] = None,
    end: Annotated[date | None, Query(description="exclusive; default: the end of the current month")] = None,
) -> CompliancePublic:
    """Each clause month by month: value, threshold, compliant or not (null without data), evidence."""
    contract = contracts.get_contract(session, principal, contract_id)
    first, stop = default_window(start, end)
    refused = contracts.refusals(session, principal, contract)
    rows = contract_report.compliance(ctx, contract, first, stop, refused=refused)
    return CompliancePublic(
        contract=contract.reference, start=first, end=stop, rows=[result_public(r) for r in rows]
    )
