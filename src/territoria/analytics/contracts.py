"""Operator contracts: what the authority recorded, the clauses the operator owes, who may see them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access import policy
from territoria.access.audit import record
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.analytics import service
from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.models import Contract, ContractClause
from territoria.analytics.steering_schemas import ClauseCreate, ContractCreate
from territoria.catalog.models import Dataset, Organisation
from territoria.errors import Conflict, Invalid, NotFound, Unauthenticated

# Data-delivery indicators, read from the daily quality scores, with their units.
DELIVERY: dict[str, str] = {"completeness": "%", "delivery_delay_h": "h"}


def _error(field: str, code: str, message: str) -> dict[str, Any]:
    """One entry of a refusal's `errors` list."""
    return {"field": field, "code": code, "message": message}


def kpi_sources(session: Session, kpi: KpiDefinition) -> set[str]:
    """Slugs of the datasets a KPI reads (a ratio's through its two KPIs); empty if one is unknown."""
    try:
        return {ds.slug for ds, _ in service.sources(session, kpi)}
    except NotFound:
        return set()


def _check_clause(
    session: Session, clause: ClauseCreate, operator: Organisation, field: str
) -> list[dict[str, Any]]:
    """Problems with one clause: its dataset is the operator's, its indicator reads that dataset."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == clause.dataset))
    if ds is None:
        return [_error(f"{field}.dataset", "DATASET", f"no dataset '{clause.dataset}'")]
    errors = []
    if ds.owner_id != operator.id:
        message = f"dataset '{ds.slug}' belongs to '{ds.owner.slug}', not to the operator '{operator.slug}'"
        errors.append(_error(f"{field}.dataset", "NOT_OPERATOR", message))
    if clause.indicator in DELIVERY:
        low, high = (0.0, 100.0) if clause.indicator == "completeness" else (0.0, 8760.0)
        if not low <= clause.threshold <= high:
            message = f"a {clause.indicator} threshold lies between {low:g} and {high:g}"
            errors.append(_error(f"{field}.threshold", "THRESHOLD", message))
        return errors
    kpi = service.registry(session).get(clause.indicator)
    if kpi is None:
        message = f"'{clause.indicator}' is neither a KPI nor one of {', '.join(DELIVERY)}"
        return [*errors, _error(f"{field}.indicator", "INDICATOR", message)]
    # The clause judges the operator on its own data: a KPI mixing other datasets would not be its doing.
    if kpi_sources(session, kpi) != {ds.slug}:
        message = f"KPI '{kpi.code}' does not read dataset '{ds.slug}' alone"
        errors.append(_error(f"{field}.indicator", "KPI_DATASET", message))
    return errors


def check_contract(session: Session, body: ContractCreate) -> Organisation:
    """The operator of a new contract, or every problem at once (422); a taken reference is a 409."""
    errors: list[dict[str, Any]] = []
    operator = session.scalar(select(Organisation).where(Organisation.slug == body.operator))
    if operator is None:
        errors.append(_error("operator", "OPERATOR", f"no organisation '{body.operator}'"))
    elif operator.kind != "operator":
        message = f"'{operator.slug}' is a(n) {operator.kind}, not an operator"
        errors.append(_error("operator", "OPERATOR", message))
    for name, day in (("starts_on", body.starts_on), ("ends_on", body.ends_on)):
        if not 1990 <= day.year <= 2100:
            errors.append(_error(name, "DATES", "contract dates lie between 1990 and 2100"))
    if body.starts_on > body.ends_on:
        errors.append(_error("ends_on", "DATES", "ends_on must not come before starts_on"))
    seen: set[str] = set()
    for i, clause in enumerate(body.clauses):
        if clause.code in seen:
            errors.append(_error(f"clauses.{i}.code", "DUPLICATE", f"clause code '{clause.code}' repeats"))
        seen.add(clause.code)
        if operator is not None:
            errors += _check_clause(session, clause, operator, f"clauses.{i}")
    if errors or operator is None:
        raise Invalid("the contract is not valid", errors=errors)
    taken = session.scalar(select(Contract.id).where(Contract.reference == body.reference))
    if taken is not None:
        raise Conflict(f"a contract '{body.reference}' already exists: choose another reference")
    return operator


def midnight(day: date) -> datetime:
    """A day as the instant the contract table stores (00:00 UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def create_contract(session: Session, principal: Principal, body: ContractCreate) -> Contract:
    """Record a contract with its clauses: the authority's analysts (or a platform admin)."""
    policy.require_authority(principal, Capability.ANALYSE, "record operator contracts", target="contract:*")
    operator = check_contract(session, body)
    return store_contract(
        session, body, operator, actor=principal.actor, organisation_id=principal.organisation_id
    )


def store_contract(
    session: Session, body: ContractCreate, operator: Organisation, *, actor: str, organisation_id: int | None
) -> Contract:
    """Insert a checked contract (see `check_contract`) and note it in the audit trail."""
    contract = Contract(
        reference=body.reference,
        title=body.title,
        operator_id=operator.id,
        starts_on=midnight(body.starts_on),
        ends_on=midnight(body.ends_on),
        description=body.description,
        created_by=actor,
        clauses=[
            ContractClause(
                code=c.code,
                label=c.label,
                indicator=c.indicator,
                dataset=c.dataset,
                comparator=c.comparator,
                threshold=c.threshold,
                period=c.period,
            )
            for c in body.clauses
        ],
    )
    session.add(contract)
    session.flush()
    record(
        session,
        actor=actor,
        action="contract.create",
        target=f"contract:{contract.id}",
        organisation_id=organisation_id,
        details={
            "reference": body.reference,
            "operator": operator.slug,
            "clauses": [f"{c.indicator} {c.comparator} {c.threshold:g} on {c.dataset}" for c in body.clauses],
        },
    )
    return contract


def list_contracts(session: Session, principal: Principal) -> list[Contract]:
    """Contracts the principal is a party to (the authority sees all, an operator its own)."""
    if principal.anonymous:
        principal.journal.add("access.denied", "contract:*", reason="anonymous")
        raise Unauthenticated("log in or send a token to see operator contracts")
    contracts = session.scalars(select(Contract).order_by(Contract.starts_on.desc(), Contract.reference))
    return [c for c in contracts if policy.is_contract_party(principal, c.operator_id)]


def get_contract(session: Session, principal: Principal, contract_id: int) -> Contract:
    """One contract, or 404 when it does not exist or the principal is not a party to it."""
    policy.require_signed_in(principal, "operator contracts", target=f"contract:{contract_id}")
    contract = session.get(Contract, contract_id)
    if contract is None or not policy.check_contract_party(principal, contract_id, contract.operator_id):
        raise NotFound(f"no contract {contract_id} visible to you: GET /api/v1/contracts lists yours")
    return contract


def clause_unit(session: Session, clause: ContractClause) -> str:
    """The unit of a clause's values: the KPI's, % for completeness, hours for delays."""
    if clause.indicator in DELIVERY:
        return DELIVERY[clause.indicator]
    kpi = service.registry(session).get(clause.indicator)
    return kpi.unit if kpi is not None else ""


def refusals(session: Session, principal: Principal, contract: Contract) -> dict[str, str]:
    """Clause code → why the principal may not read the clause's data (the policy notes reads/refusals).

    Being a party to a contract does not open the operator's data: the authority reads it under a
    data-sharing agreement, as everywhere else.
    """
    out: dict[str, str] = {}
    for clause in contract.clauses:
        ds = session.scalar(select(Dataset).where(Dataset.slug == clause.dataset))
        if ds is None:
            out[clause.code] = f"dataset '{clause.dataset}' no longer exists"
            continue
        decision = policy.decide(principal, ds, Capability.READ)
        if not policy.check_read(principal, ds):
            out[clause.code] = decision.reason
            continue
        kpi = service.registry(session).get(clause.indicator)
        if kpi is not None and not service.readable(session, principal, kpi):
            out[clause.code] = f"the data-sharing agreement on '{ds.slug}' does not include '{kpi.metric}'"
    return out
