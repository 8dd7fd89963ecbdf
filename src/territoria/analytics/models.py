"""Analytics tables: user-defined KPIs, the KPI result cache, plan targets, operator contracts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from territoria.catalog.models import Organisation
from territoria.db.base import Base, JSONType, UTCDateTime, utcnow


class KpiDefinitionRow(Base):
    """A KPI defined by users (the shipped ones live in kpis.yaml); `definition` is its validated form."""

    __tablename__ = "kpi_definition"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KpiCache(Base):
    """Computed KPI rows for one set of parameters, valid while the source data's version is unchanged."""

    __tablename__ = "kpi_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of definition + parameters
    kpi_code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(200))  # watermark of the source datasets' batches
    rows: Mapped[list[Any]] = mapped_column(JSONType)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # how long the computation took
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanTarget(Base):
    """A KPI objective of a plan (PCAET, mobility plan, …) for an area: baseline, target, trajectory."""

    __tablename__ = "plan_target"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_code: Mapped[str] = mapped_column(String(64), index=True)
    plan: Mapped[str] = mapped_column(String(200))
    area_level: Mapped[str] = mapped_column(String(16), default="territory")
    area_code: Mapped[str] = mapped_column(String(16), default="")
    baseline_year: Mapped[int] = mapped_column(Integer)
    baseline_value: Mapped[float] = mapped_column(Float)
    target_year: Mapped[int] = mapped_column(Integer)
    target_value: Mapped[float] = mapped_column(Float)
    # Optional intermediate milestones [[year, value], …]; straight line from baseline to target otherwise.
    trajectory: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contract(Base):
    """A contract between the authority and an operator, with the performance the operator owes."""

    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    operator_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_on: Mapped[datetime] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    operator: Mapped[Organisation] = relationship(lazy="joined")
    clauses: Mapped[list[ContractClause]] = relationship(
        back_populates="contract", lazy="selectin", cascade="all, delete-orphan", order_by="ContractClause.id"
    )


class ContractClause(Base):
    """One obligation: an indicator on a dataset, compared with a threshold each period."""

    __tablename__ = "contract_clause"
    __table_args__ = (UniqueConstraint("contract_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    # A KPI code, or a data-delivery indicator: "completeness" (%), "delivery_delay_h" (hours).
    indicator: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(64))
    comparator: Mapped[str] = mapped_column(String(2))  # >=, <=, >, <
    threshold: Mapped[float] = mapped_column(Float)
    period: Mapped[str] = mapped_column(String(8), default="month")

    contract: Mapped[Contract] = relationship(back_populates="clauses")
