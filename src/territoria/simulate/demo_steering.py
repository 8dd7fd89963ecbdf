"""The demo's territorial steering: plan targets on the territory's KPIs and the operators' contracts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from territoria.analytics import service
from territoria.analytics.contracts import DELIVERY, check_contract, store_contract
from territoria.analytics.models import Contract, PlanTarget
from territoria.analytics.steering_schemas import ClauseCreate, ContractCreate, TargetCreate
from territoria.analytics.targets import check_target, progress_or_none, store_target
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_organisation
from territoria.context import Context
from territoria.errors import DomainError
from territoria.simulate import networks

log = logging.getLogger(__name__)
ACTOR = "demo"
BASELINE_YEAR = 2024
PCAET = "PCAET 2024-2030 (démo)"
AIR_PLAN = "Plan de protection de l'atmosphère (démo)"
LIGHTING_PLAN = "Plan lumière 2024-2027 (démo)"
NICE = "06088"
# Used when the demo has no electricity data yet: about what a French inhabitant's home uses in a year.
ELECTRICITY_FALLBACK = 2300.0
# The share of the 2024 consumption already saved: less than the straight line to −20 % in 2030 asks for,
# so the demo shows a target running late.
ELECTRICITY_SAVED = 0.03
# The EV domain's availability KPI and the status feed it reads (a clause left out without the domain).
EV_AVAILABILITY, EV_STATUS = "ev_availability", "ev-status"


def _current(ctx: Context, kpi: str, level: str, code: str) -> float | None:
    """The KPI's current yearly value for an area (latest complete year, or this year extrapolated)."""
    probe = PlanTarget(
        kpi_code=kpi,
        area_level=level,
        area_code=code,
        baseline_year=BASELINE_YEAR,
        baseline_value=1.0,
        target_year=BASELINE_YEAR + 1,
        target_value=0.0,
        trajectory=None,
    )
    return progress_or_none(ctx, probe).current


def targets(ctx: Context) -> list[TargetCreate]:
    """The demo's targets: electricity per inhabitant −20 % by 2030, NO₂ in Nice, lights out of service."""
    now = _current(ctx, "electricity_per_inhabitant", "territory", "")
    # Derived from the simulated data so that the baseline is plausible for the simulated city.
    baseline = round(now / (1 - ELECTRICITY_SAVED), 1) if now else ELECTRICITY_FALLBACK
    return [
        TargetCreate(
            kpi_code="electricity_per_inhabitant",
            plan=PCAET,
            baseline_year=BASELINE_YEAR,
            baseline_value=baseline,
            target_year=2030,
            target_value=round(baseline * 0.8, 1),
        ),
        TargetCreate(
            kpi_code="no2_mean",
            plan=AIR_PLAN,
            area_level="commune",
            area_code=NICE,
            baseline_year=BASELINE_YEAR,
            baseline_value=38.0,
            target_year=2030,
            target_value=30.0,
            trajectory=[[2027, 34.0]],
        ),
        TargetCreate(
            kpi_code="lights_out_of_service",
            plan=LIGHTING_PLAN,
            baseline_year=BASELINE_YEAR,
            baseline_value=4.0,
            target_year=2027,
            target_value=2.0,
        ),
    ]


def _clause(
    code: str, label: str, indicator: str, dataset: str, comparator: str, threshold: float
) -> ClauseCreate:
    """One clause (validated like an API body)."""
    return ClauseCreate.model_validate(
        {
            "code": code,
            "label": label,
            "indicator": indicator,
            "dataset": dataset,
            "comparator": comparator,
            "threshold": threshold,
        }
    )


def _delivery(dataset: str, completeness: float, delay_h: float) -> list[ClauseCreate]:
    """The data-delivery clauses every operator contract carries."""
    return [
        _clause(
            "completeness", "Complétude des données transmises", "completeness", dataset, ">=", completeness
        ),
        _clause("delay", "Délai de transmission des données", "delivery_delay_h", dataset, "<=", delay_h),
    ]


@dataclass(frozen=True)
class DemoContract:
    """A contract of the demo, before validation."""

    reference: str
    title: str
    operator: networks.Organisation
    clauses: list[ClauseCreate]
    years: int
    description: str = ""


def contracts() -> list[DemoContract]:
    """One contract per operator of the demo networks that the authority steers."""
    ev, water, meters = networks.EV_CHARGE_POINTS, networks.WATER_METERS, networks.ELECTRICITY_METERS
    return [
        DemoContract(
            "DSP-IRVE-2025",
            "Délégation de service public : bornes de recharge (démo)",
            networks.EV_OPERATOR,
            [
                # Measured on the operator's IRVE status feed, as on /ev (docs/ev.md, "Availability").
                _clause(
                    "availability",
                    "Disponibilité des points de recharge sur le mois",
                    EV_AVAILABILITY,
                    EV_STATUS,
                    ">=",
                    95,
                ),
                *_delivery(ev.slug, 95, 1),
            ],
            8,
            "Exploitation et maintenance du réseau public de recharge ; disponibilité et données mensuelles.",
        ),
        DemoContract(
            "DSP-EAU-2025",
            "Délégation de service public : eau potable (démo)",
            networks.WATER_OPERATOR,
            [
                _clause(
                    "leaks", "Compteurs en débit permanent (fuites)", "water_leak_index", water.slug, "<=", 5
                ),
                *_delivery(water.slug, 98, 2),
            ],
            12,
            "Distribution d'eau potable et télérelève des compteurs.",
        ),
        DemoContract(
            "CONV-ELEC-2025",
            "Convention d'échange de données : compteurs électriques (démo)",
            networks.ELECTRICITY_OPERATOR,
            _delivery(meters.slug, 95, 1),
            5,
            "Mise à disposition des courbes de charge agrégées pour le PCAET.",
        ),
    ]


def _install_targets(ctx: Context) -> int:
    """Create the demo targets not there yet; returns how many were created."""
    created = 0
    bodies = targets(ctx)
    with ctx.session(write=True) as session:
        authority = get_organisation(session, networks.METROPOLE.slug)
        for body in bodies:
            exists = session.scalar(
                select(PlanTarget.id).where(
                    PlanTarget.kpi_code == body.kpi_code,
                    PlanTarget.plan == body.plan,
                    PlanTarget.area_level == body.area_level,
                )
            )
            if exists is not None:
                continue
            try:
                kpi, area_code, milestones = check_target(session, body)
            except DomainError as exc:  # e.g. a territory without Nice: the other targets still go in
                log.warning("demo target on %s skipped: %s %s", body.kpi_code, exc.message, exc.errors)
                continue
            store_target(session, body, kpi, area_code, milestones, actor=ACTOR, organisation_id=authority.id)
            created += 1
    return created


def _install_contracts(ctx: Context) -> int:
    """Create the demo contracts not there yet; returns how many were created."""
    created = 0
    today = datetime.now(UTC).date()
    # Signed at the start of last year: the months before the platform's data show as "no data".
    start = date(today.year - 1, 1, 1)
    with ctx.session(write=True) as session:
        authority = get_organisation(session, networks.METROPOLE.slug)
        known = service.registry(session)
        datasets = set(session.scalars(select(Dataset.slug)))
        for spec in contracts():
            if session.scalar(select(Contract.id).where(Contract.reference == spec.reference)) is not None:
                continue
            # A KPI clause whose KPI or dataset is missing (its domain left out) is dropped, not the contract.
            clauses = [
                c
                for c in spec.clauses
                if c.indicator in DELIVERY or (c.indicator in known and c.dataset in datasets)
            ]
            body = ContractCreate(
                reference=spec.reference,
                title=spec.title,
                operator=spec.operator.slug,
                starts_on=start,
                ends_on=date(start.year + spec.years, 12, 31),
                description=spec.description,
                clauses=clauses,
            )
            try:
                operator = check_contract(session, body)
            except DomainError as exc:  # a network left out of this demo: its contract is skipped
                log.warning("demo contract %s skipped: %s %s", spec.reference, exc.message, exc.errors)
                continue
            store_contract(session, body, operator, actor=ACTOR, organisation_id=authority.id)
            created += 1
    return created


def install_steering(ctx: Context) -> None:
    """Plan targets and operator contracts of the demo (idempotent: existing ones are kept as they are)."""
    made_targets = _install_targets(ctx)
    made_contracts = _install_contracts(ctx)
    log.info("demo steering: %d target(s), %d contract(s) created", made_targets, made_contracts)
