"""API models of the KPIs."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from territoria.analytics.definitions import KpiDefinition


class KpiPublic(BaseModel):
    """A KPI as listed: texts in the asked language, how it is computed and read."""

    code: str
    title: str
    description: str
    theme: str
    unit: str
    decimals: int
    direction: str
    aggregation: str
    normalise: str
    period: str
    sources: list[str]
    reference: float | None
    reference_label: str | None
    origin: str  # shipped | custom

    @classmethod
    def of(cls, kpi: KpiDefinition, lang: str, *, custom: bool, sources: list[str]) -> KpiPublic:
        """From a definition."""
        return cls(
            code=kpi.code,
            title=kpi.title.get(lang),
            description=kpi.description.get(lang),
            theme=kpi.theme,
            unit=kpi.unit,
            decimals=kpi.decimals,
            direction=kpi.direction,
            aggregation=kpi.aggregation,
            normalise=kpi.normalise,
            period=kpi.period,
            sources=sources,
            reference=kpi.reference.value if kpi.reference else None,
            reference_label=kpi.reference.label.get(lang) if kpi.reference else None,
            origin="custom" if custom else "shipped",
        )


class KpiValue(BaseModel):
    """One row: an area, a period and the value (null when undefined, e.g. no population)."""

    area: str
    name: str
    period: date
    value: float | None
    contributors: int


class KpiValues(BaseModel):
    """A KPI over areas and periods."""

    kpi: KpiPublic
    level: str
    period: str
    start: date
    end: date
    computed_at: datetime
    cached: bool
    compute_seconds: float
    rows: list[KpiValue]
