"""KPI definitions: what to compute, from which data, how to normalise it and how to read it."""

from __future__ import annotations

import re
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from territoria.errors import Invalid

Aggregation = Literal[
    "sum", "avg", "min", "max", "count", "distinct", "twa", "integral", "share", "ratio", "provided"
]
Normalise = Literal["none", "per_inhabitant", "per_1000", "per_100000", "per_km2"]
Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
Period = Literal["day", "week", "month", "year"]
PERIODS: tuple[str, ...] = ("day", "week", "month", "year")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
KpiCode = Annotated[str, Field(pattern=CODE.pattern)]
# Bounds of a YAML document of definitions (the shipped kpis.yaml: ~10 kB, 4 levels, no alias).
MAX_YAML_CHARS = 1_000_000
MAX_YAML_DEPTH = 32
MAX_YAML_ALIASES = 20


class Text(BaseModel):
    """A user-facing text in French and English."""

    model_config = ConfigDict(extra="forbid", strict=True)

    fr: Annotated[str, Field(min_length=1, max_length=500)]
    en: Annotated[str, Field(min_length=1, max_length=500)]

    def get(self, lang: str) -> str:
        """The text in `lang` (French otherwise)."""
        return str(getattr(self, lang, None) or self.fr)


class Condition(BaseModel):
    """For `share`: an asset counts when its aggregate over the period meets this condition."""

    model_config = ConfigDict(extra="forbid", strict=True)

    of: Literal["avg", "min", "max"] = "avg"
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float


class Reference(BaseModel):
    """A reference value drawn with the KPI, e.g. an EU limit value."""

    model_config = ConfigDict(extra="forbid", strict=True)

    value: float
    label: Text


class KpiDefinition(BaseModel):
    """One indicator. Values come from the hourly/daily rollups, never from raw measurements."""

    model_config = ConfigDict(extra="forbid", strict=True)

    code: KpiCode
    title: Text
    description: Text
    theme: Annotated[str, Field(min_length=1, max_length=64)] = "general"
    dataset: Annotated[str | None, Field(max_length=64)] = None
    metric: Annotated[str | None, Field(max_length=64)] = None
    aggregation: Aggregation
    # Multiplies the aggregated value, e.g. W sampled every 15 min → kWh: 0.25 h / 1000 = 0.00025.
    scale: float = 1.0
    normalise: Normalise = "none"
    filter: dict[str, str | int | float | bool] = Field(default_factory=dict)  # on asset properties
    asset_kind: Annotated[str | None, Field(max_length=64)] = None
    condition: Condition | None = None
    numerator: KpiCode | None = None
    denominator: KpiCode | None = None
    # For aggregation "provided": the name of the computation a domain registered (analytics/providers.py).
    provider: KpiCode | None = None
    unit: Annotated[str, Field(max_length=32)] = ""
    decimals: Annotated[int, Field(ge=0, le=6)] = 1
    direction: Direction = "neutral"
    period: Period = "month"
    reference: Reference | None = None

    @model_validator(mode="after")
    def _coherent(self) -> KpiDefinition:
        """Each aggregation has the inputs it needs, and nothing that would be silently ignored."""
        if self.aggregation == "ratio":
            if not (self.numerator and self.denominator):
                raise ValueError("a ratio needs `numerator` and `denominator` KPI codes")
            if self.dataset or self.metric or self.provider:
                raise ValueError(
                    "a ratio is computed from two KPIs: leave `dataset`, `metric` and `provider` out"
                )
            return self
        if not self.dataset:
            raise ValueError(f"aggregation '{self.aggregation}' needs a `dataset`")
        if (self.aggregation == "provided") != (self.provider is not None):
            raise ValueError("`provider` goes with aggregation 'provided', and 'provided' needs one")
        if not self.metric and self.aggregation not in ("distinct", "provided"):
            raise ValueError(f"aggregation '{self.aggregation}' needs a `metric`")
        if (self.aggregation == "share") != (self.condition is not None):
            raise ValueError("`condition` goes with aggregation 'share', and 'share' needs one")
        if self.numerator or self.denominator:
            raise ValueError("`numerator`/`denominator` are for aggregation 'ratio' only")
        return self

    def sources(self) -> list[str]:
        """Dataset slugs read by this KPI (a ratio's come from its two KPIs)."""
        return [self.dataset] if self.dataset else []


def _parse(items: object, origin: str) -> list[KpiDefinition]:
    """Definitions from parsed YAML (one mapping or a list of them), every problem reported at once."""
    if isinstance(items, dict):
        items = [items]  # a file holding one definition needs no list around it
    if not isinstance(items, list):
        raise Invalid(f"{origin}: expected a KPI definition (a mapping) or a list of them")
    kpis: list[KpiDefinition] = []
    errors: list[dict[str, object]] = []
    for position, item in enumerate(items, start=1):
        try:
            kpis.append(KpiDefinition.model_validate(item))
        except ValidationError as exc:
            errors += [
                {"row": position, "field": ".".join(str(p) for p in e["loc"]) or None, "message": e["msg"]}
                for e in exc.errors()
            ]
    if errors:
        raise Invalid(f"{origin}: {len(errors)} problem(s) in the KPI definitions", errors=errors)
    return kpis


def check_yaml_shape(text: str, origin: str) -> None:
    """Refuse a YAML document too big, too deep or with too many aliases, before building any object.

    safe_load builds nodes and objects recursively (a few hundred nested levels exhaust the stack: a
    RecursionError, a 500) and aliases multiply what the validation then walks; the event stream is
    read iteratively, so it is checked first.
    """
    if len(text) > MAX_YAML_CHARS:
        raise Invalid(
            f"{origin}: the YAML document exceeds {MAX_YAML_CHARS} characters / "
            f"le document YAML dépasse {MAX_YAML_CHARS} caractères"
        )
    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise Invalid(
                        f"{origin}: the YAML document is nested more than {MAX_YAML_DEPTH} levels deep / "
                        f"le document YAML est imbriqué sur plus de {MAX_YAML_DEPTH} niveaux"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    raise Invalid(
                        f"{origin}: more than {MAX_YAML_ALIASES} YAML aliases (*name) / "
                        f"plus de {MAX_YAML_ALIASES} alias YAML (*nom)"
                    )
    except yaml.YAMLError as exc:
        raise Invalid(f"{origin}: not valid YAML ({exc})") from exc


def load_yaml(text: str, origin: str = "KPI definitions") -> list[KpiDefinition]:
    """Definitions from a YAML document (one mapping or a list), refused with every problem listed."""
    check_yaml_shape(text, origin)
    try:
        items = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"{origin}: not valid YAML ({exc})") from exc
    return _parse(items, origin)


def shipped() -> list[KpiDefinition]:
    """The KPIs shipped with Territoria (analytics/kpis.yaml)."""
    text = resources.files("territoria.analytics").joinpath("kpis.yaml").read_text(encoding="utf-8")
    return load_yaml(text, "kpis.yaml")
