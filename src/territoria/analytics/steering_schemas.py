"""API models of territorial steering: plan targets with their progress, operator contracts and compliance."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from territoria.analytics.definitions import KpiCode
from territoria.catalog.types import Slug

MAX_ID = 2**31 - 1  # ids are 32-bit integers on both backends: larger ones cannot exist
Year = Annotated[int, Field(ge=1990, le=2100)]
# JSON has no NaN, but Python's decoder accepts it: refuse non-finite numbers explicitly.
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
# Dates arrive as ISO strings in JSON: the one field-level exception to strict input.
IsoDate = Annotated[date, Field(strict=False)]
# [year, value]: a JSON pair (strict tuples would refuse JSON arrays); the service checks the year.
Milestone = Annotated[list[Number], Field(min_length=2, max_length=2)]
CLAUSE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
Comparator = Literal[">=", "<=", ">", "<"]
Status = Literal["on_track", "off_track", "achieved", "no_data"]


class Strict(BaseModel):
    """Strict input: no coercion (no false as 0.0), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class TargetCreate(Strict):
    """Body to set a plan target on a KPI for an area."""

    kpi_code: KpiCode
    plan: str = Field(min_length=1, max_length=200, description="e.g. PCAET 2024-2030")
    area_level: str = Field(default="territory", pattern=r"^[a-z_]{1,16}$")
    area_code: str = Field(default="", max_length=16, description="empty for the whole territory")
    baseline_year: Year
    baseline_value: Number
    target_year: Year
    target_value: Number
    trajectory: list[Milestone] | None = Field(
        default=None, max_length=50, description="intermediate milestones [[year, value], …]"
    )


class YearPointPublic(BaseModel):
    """The KPI's value for one year beside the value expected on the trajectory."""

    model_config = ConfigDict(from_attributes=True)

    year: int
    value: float | None
    expected: float
    partial: bool


class ProgressPublic(BaseModel):
    """Where a target stands: current value, expected value, progress and status."""

    model_config = ConfigDict(from_attributes=True)

    status: Status
    goal: Literal["reduce", "increase", "cap", "floor"]
    year: int | None = Field(description="year of the current value")
    current: float | None
    partial: bool = Field(description="the year is not over: value to date")
    extrapolated: bool = Field(description="a partial yearly total scaled to a full year")
    expected: float | None
    percent: float | None = Field(description="(baseline − current) / (baseline − target), in [0, 100]")
    years: list[YearPointPublic]


class TargetPublic(BaseModel):
    """A plan target, with its progress when asked."""

    id: int
    kpi_code: str
    kpi_title: str
    unit: str
    direction: str
    plan: str
    area_level: str
    area_code: str
    area_name: str
    baseline_year: int
    baseline_value: float
    target_year: int
    target_value: float
    trajectory: list[tuple[int, float]]
    created_by: str
    created_at: datetime
    progress: ProgressPublic | None = None


class ClauseCreate(Strict):
    """One obligation of a contract: an indicator on a dataset compared with a threshold each month."""

    code: str = Field(pattern=CLAUSE_CODE.pattern)
    label: str = Field(min_length=1, max_length=300)
    indicator: str = Field(
        pattern=r"^[a-z][a-z0-9_]{1,62}$",
        description="a KPI code, or 'completeness' (%) or 'delivery_delay_h' (hours)",
    )
    dataset: Slug
    comparator: Comparator
    threshold: Number
    period: Literal["month"] = "month"


class ContractCreate(Strict):
    """Body to record a contract between the authority and an operator."""

    reference: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")
    title: str = Field(min_length=1, max_length=300)
    operator: Slug = Field(description="the operator organisation")
    starts_on: IsoDate
    ends_on: IsoDate = Field(description="last day of the contract (inclusive)")
    description: str = Field(default="", max_length=5000)
    clauses: list[ClauseCreate] = Field(min_length=1, max_length=50)


class ClausePublic(BaseModel):
    """A clause as the parties see it."""

    code: str
    label: str
    indicator: str
    dataset: str
    comparator: str
    threshold: float
    period: str
    unit: str
    kpi_title: str | None = Field(default=None, description="the KPI's title, for KPI indicators")


class ContractPublic(BaseModel):
    """A contract as its parties see it."""

    id: int
    reference: str
    title: str
    operator: str
    operator_name: str
    starts_on: date
    ends_on: date
    description: str
    clauses: list[ClausePublic]
    created_by: str
    created_at: datetime


class EvidencePublic(BaseModel):
    """What a month's value rests on."""

    model_config = ConfigDict(from_attributes=True)

    days: int = Field(description="days with data in the month")
    contributors: int | None = Field(description="assets that reported (KPI clauses)")
    worst_day: date | None
    worst_value: float | None
    refused: str | None = Field(description="why the caller may not read this clause's data, if so")


class ClauseMonthPublic(BaseModel):
    """One clause in one month: value, threshold, compliant or not (null: no data)."""

    model_config = ConfigDict(from_attributes=True)

    clause: str
    month: date
    complete: bool = Field(description="the month is over")
    value: float | None
    comparator: str
    threshold: float
    ok: bool | None
    evidence: EvidencePublic


class CompliancePublic(BaseModel):
    """A contract's compliance month by month over [start, end)."""

    contract: str
    start: date
    end: date
    rows: list[ClauseMonthPublic]
