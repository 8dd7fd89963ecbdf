"""The declarative privacy policy of a dataset: what is dropped, generalised, aggregated and kept secret."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PERIODS = ("hour", "day", "month")
Period = Literal["hour", "day", "month"]
Licence = Literal["etalab-2.0", "odbl-1.0"]
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,40}$"
# Generic shaping settings a domain source does not read: setting one would be silently ignored.
SOURCE_IGNORES = ("time", "location", "keep", "measures", "aggregate", "rules", "k_by_span", "noise")


class Strict(BaseModel):
    """Strict, closed models: a misspelt key is an error, not a silently ignored setting."""

    model_config = ConfigDict(extra="forbid", strict=True)


class TimeRule(Strict):
    """Generalise time to the start of its hour, day or month (records: `field` names the date field)."""

    to: Period
    field: str | None = None


class LocationRule(Strict):
    """Generalise location to the commune, the IRIS, a square grid of `grid_m` metres, or drop it."""

    to: Literal["commune", "iris", "grid", "none"]
    grid_m: int | None = Field(default=None, ge=50, le=100_000)

    @model_validator(mode="after")
    def _grid_needs_size(self) -> LocationRule:
        """A grid needs its cell size, and only a grid has one."""
        if self.to == "grid" and self.grid_m is None:
            raise ValueError("a grid generalisation needs grid_m, the cell size in metres (e.g. 500)")
        if self.to != "grid" and self.grid_m is not None:
            raise ValueError("grid_m only applies when location is generalised to a grid")
        return self


class Title(Strict):
    """A bilingual label."""

    en: str = ""
    fr: str = ""


class Measure(Strict):
    """A published quantity: each contributor's sum or mean of `source` × scale, summed per cell."""

    name: str = Field(pattern=NAME_PATTERN)
    source: str
    per_contributor: Literal["sum", "mean"] = "sum"
    scale: float = 1.0
    unit: str = ""
    title: Title = Title()


class Aggregation(Strict):
    """Group contributions by area, period and categories; publish contributor counts, sums and means."""

    categories: list[str] = []
    # Records: the field identifying who a row belongs to (one person may have several rows).
    contributor: str | None = None
    # Dimensions whose totals are published as extra rows (area_code, period, or a category).
    totals: list[str] = ["area_code"]


class CategoryRule(Strict):
    """A stricter rule for contributions of one category value (e.g. residential points: k = 10)."""

    field: str
    value: str
    k: int | None = Field(default=None, ge=1)
    dominance_p: float | None = Field(default=None, gt=0, le=100)
    reason: str = ""


class SpanRule(Strict):
    """k by time span of the published curves: spans up to max_days need k contributors (None: beyond)."""

    max_days: int | None = Field(default=None, ge=1)
    k: int = Field(ge=1)


class NoiseRule(Strict):
    """Differential privacy: Laplace noise for a release-wide epsilon, contributions clipped per measure."""

    epsilon: float = Field(gt=0, le=100)
    clip: dict[str, float]


class PolicyBody(Strict):
    """A whole privacy policy, as stored (versioned) and as a steward writes it (JSON or YAML)."""

    preset: str | None = None
    # A domain source (declared in a domain's contract) builds the public table
    # itself; then only drop, k, delay_days, window_days and licence apply.
    source: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,60}$")
    description: str = ""
    personal_data: bool = True
    drop: list[str] = []
    time: TimeRule | None = None
    location: LocationRule | None = None
    # Keep only contributions whose category is among these values (e.g. segment: [residential]).
    keep: dict[str, list[str]] = {}
    measures: list[Measure] = []
    aggregate: Aggregation | None = None
    k: int = Field(default=1, ge=1, le=1_000_000)
    dominance_p: float = Field(default=100.0, gt=0, le=100)
    rules: list[CategoryRule] = []
    k_by_span: list[SpanRule] = []
    delay_days: int = Field(default=0, ge=0, le=3650)
    window_days: int | None = Field(default=None, ge=1, le=36500)
    noise: NoiseRule | None = None
    licence: Licence = "etalab-2.0"

    @model_validator(mode="after")
    def _coherent(self) -> PolicyBody:
        """Rules that hold whatever the dataset: personal data must be aggregated and protected."""
        if self.source is not None:
            generic = [name for name in SOURCE_IGNORES if getattr(self, name)]
            if generic:
                raise ValueError(
                    f"the source '{self.source}' builds its own table: {', '.join(generic)} cannot apply "
                    "(only drop, k, delay_days, window_days and licence do)"
                )
        if self.personal_data and self.aggregate is None:
            raise ValueError(
                "a policy for personal data must aggregate (an aggregate section): publishing one row per "
                "person, meter or household would identify them"
            )
        if self.personal_data and self.k < 2 and not self.rules and not self.k_by_span:
            raise ValueError("a policy for personal data needs k ≥ 2 contributors per published cell")
        if self.aggregate is not None and not self.measures:
            raise ValueError("an aggregate needs at least one measure (measures: [{name, source}])")
        if self.noise is not None:
            if self.aggregate is None:
                raise ValueError("noise applies to aggregates: add an aggregate section")
            missing = [m.name for m in self.measures if m.name not in self.noise.clip]
            if missing:
                raise ValueError(f"noise.clip needs a bound for each measure: missing {', '.join(missing)}")
        if self.aggregate is not None:
            dims = {"area_code", "period", *self.aggregate.categories}
            unknown = [t for t in self.aggregate.totals if t not in dims]
            if unknown:
                raise ValueError(
                    f"totals can only be over the table's dimensions ({', '.join(sorted(dims))}): "
                    f"{', '.join(unknown)} is not one"
                )
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError("two measures have the same name")
        spans = [s.max_days for s in self.k_by_span]
        if spans and spans[-1] is not None:
            raise ValueError("the last k_by_span rule must have no max_days: it covers the longest spans")
        return self

    def span_k(self, days: float) -> int:
        """The k required by the span rules for curves covering `days` days (1 when there are none)."""
        for rule in self.k_by_span:
            if rule.max_days is None or days <= rule.max_days:
                return rule.k
        return 1
