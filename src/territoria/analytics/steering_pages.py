"""Steering pages: plan targets with their progress, operator contracts, their compliance and reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access.principal import Principal
from territoria.analytics import contract_report, contracts, service, targets
from territoria.analytics.contract_report import ClauseResult, month_start
from territoria.analytics.models import Contract
from territoria.analytics.periods import next_start
from territoria.analytics.steering_api import contract_public, target_public
from territoria.analytics.steering_schemas import MAX_ID
from territoria.context import Context
from territoria.errors import DomainError, NotFound
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.web.render import page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
GRID_MONTHS = 12
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_label(day: date, lang: str) -> str:
    """A month as 'octobre 2026' or 'October 2026'."""
    return i18n.month_name(day, lang)


def day_label(day: date, lang: str) -> str:
    """A day as 05/10/2026 (French) or 2026-10-05 (English)."""
    return i18n.day_text(day, lang)


def labels(request: Request) -> dict[str, Any]:
    """Month and day formatting bound to the page's language, for the templates."""
    lang = page_lang(request)
    return {"month_label": lambda d: month_label(d, lang), "day_label": lambda d: day_label(d, lang)}


def _contract_id(raw: str) -> int | None:
    """A page's contract id, or None when it cannot name a contract."""
    if not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def _decimals(session: Session, contract: Contract) -> dict[str, int]:
    """How many decimals to show per clause: the KPI's, or the delivery indicator's."""
    registry = service.registry(session)
    out = {}
    for clause in contract.clauses:
        kpi = registry.get(clause.indicator)
        out[clause.code] = (
            kpi.decimals if kpi is not None else contract_report.DECIMALS.get(clause.indicator, 1)
        )
    return out


@dataclass(frozen=True)
class Row:
    """A target and its progress, ready for the template."""

    target: Any
    progress: targets.Progress
    decimals: int


@router.get("/targets", response_class=HTMLResponse)
def targets_page(
    request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """Every visible target with its current value, expected value, progress bar and status."""
    lang = page_lang(request)
    registry = service.registry(session)
    rows = []
    for target in targets.list_targets(session, principal):
        kpi = registry.get(target.kpi_code)
        decimals = kpi.decimals if kpi is not None else 1
        rows.append(
            Row(target_public(session, target, lang), targets.progress_or_none(ctx, target), decimals)
        )
    values = {"rows": rows, "anonymous": principal.anonymous, "nav": "targets"}
    return render(request, ctx, "targets.html", values)


def _missing(request: Request, ctx: Context, key: str, status_code: int) -> HTMLResponse:
    """The contract page saying what went wrong."""
    return render(
        request,
        ctx,
        "contract.html",
        {"contract": None, "problem": key, "nav": "contracts"},
        status_code=status_code,
    )


def _visible(session: Session, principal: Principal, raw: str) -> Contract | None:
    """The contract named in the path if the visitor is a party to it (401 for anonymous visitors)."""
    contract_id = _contract_id(raw)
    if contract_id is None:
        return None
    try:
        return contracts.get_contract(session, principal, contract_id)
    except NotFound:
        return None


@router.get("/contracts", response_class=HTMLResponse)
def contracts_page(
    request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """The visitor's contracts with the compliance of the last complete month."""
    found = contracts.list_contracts(session, principal)
    month = contract_report.last_complete_month()
    end = next_start(month, "month")
    items = []
    for contract in found:
        refused = contracts.refusals(session, principal, contract)
        try:
            results = contract_report.compliance(ctx, contract, month, end, refused=refused)
        except DomainError:  # a clause that cannot be computed any more shows on the contract's page
            results = []
        status = contract_report.month_status(results) if results else None
        items.append({"c": contract_public(session, contract, page_lang(request)), "status": status})
    values = {"items": items, "month": month, "nav": "contracts", **labels(request)}
    return render(request, ctx, "contracts.html", values)


def grid(results: list[ClauseResult]) -> dict[tuple[str, date], ClauseResult]:
    """(clause, month) → result."""
    return {(r.clause, r.month): r for r in results}


@router.get("/contracts/{contract_id}", response_class=HTMLResponse)
def contract_page(
    contract_id: str, request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """A contract: its clauses and a month-by-clause compliance grid over the last twelve months."""
    contract = _visible(session, principal, contract_id)
    if contract is None:
        return _missing(request, ctx, "st.contract.missing", 404)
    today = datetime.now(UTC).date()
    end = next_start(month_start(today), "month")
    start = end
    for _ in range(GRID_MONTHS):
        start = month_start(start - timedelta(days=1))
    refused = contracts.refusals(session, principal, contract)
    results = contract_report.compliance(ctx, contract, start, end, refused=refused, today=today)
    months = sorted({r.month for r in results}, reverse=True)  # the latest first
    values = {
        "contract": contract_public(session, contract, page_lang(request)),
        "months": months,
        "cells": grid(results),
        "decimals": _decimals(session, contract),
        "nav": "contracts",
        **labels(request),
    }
    return render(request, ctx, "contract.html", values)


def _report_month(raw: str | None) -> date | None:
    """The report's month from ?month=YYYY-MM (the last complete month by default); None if invalid."""
    if raw is None or raw == "":
        return contract_report.last_complete_month()
    match = MONTH.match(raw)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return date(year, month, 1) if 1990 <= year <= 2100 and 1 <= month <= 12 else None


@router.get("/contracts/{contract_id}/report", response_class=HTMLResponse)
def contract_report_page(
    contract_id: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    month: str | None = None,
) -> HTMLResponse:
    """The printable monthly report: each clause's value and result, evidence, breaches since the start."""
    contract = _visible(session, principal, contract_id)
    if contract is None:
        return _missing(request, ctx, "st.contract.missing", 404)
    chosen = _report_month(month)
    if chosen is None:
        return _missing(request, ctx, "st.contract.bad_month", 422)
    refused = contracts.refusals(session, principal, contract)
    result = contract_report.report(ctx, contract, chosen, refused=refused)
    public = contract_public(session, contract, page_lang(request))
    previous = month_start(chosen - timedelta(days=1))
    following = next_start(chosen, "month")
    values = {
        "contract": public,
        "by_code": {c.code: c for c in public.clauses},
        "report": result,
        "decimals": _decimals(session, contract),
        "previous": previous if previous >= month_start(contract.starts_on.date()) else None,
        "following": following if following <= month_start(contract.ends_on.date()) else None,
        "issued": day_label(datetime.now(UTC).date(), page_lang(request)),
        "nav": "contracts",
        **labels(request),
    }
    return render(request, ctx, "contract_report.html", values)
