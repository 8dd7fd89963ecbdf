"""KPI definitions: what to compute, from which data, how to normalise it and how to read it."""

from __future__ import annotations

import re
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from territoria import i18n
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


def _coded(code: str, params: dict[str, str] | None = None) -> PydanticCustomError:
    """A validator's refusal as a catalog code (its English text in Pydantic's message)."""
    return PydanticCustomError(
        code, i18n.t(code, "en", **(params or {})).replace("{", "(").replace("}", ")"), params
    )


# Pydantic error types with a catalog message (`pyd.<type>`, parameters from the error's context);
# any other type reads `pyd.other`.
PYDANTIC_TYPES = (
    "missing",
    "extra_forbidden",
    "string_type",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "int_type",
    "float_type",
    "bool_type",
    "dict_type",
    "list_type",
    "model_type",
    "literal_error",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_long",
    "too_short",
    "finite_number",
    "int_from_float",
)


def validation_errors(exc: ValidationError, row: int | None = None) -> list[dict[str, object]]:
    """Pydantic's errors as coded messages: `message` in English and `message_fr` from the catalogs,
    with `message_code` and `message_params` for any other language (pages use the reader's)."""
    out: list[dict[str, object]] = []
    for e in exc.errors():
        kind = str(e["type"])
        context = {k: str(v) for k, v in (e.get("ctx") or {}).items() if k != "error"}
        if "expected" in context:  # Pydantic joins a literal's choices with an English "or"
            context["expected"] = context["expected"].replace(" or ", ", ")
        if kind.startswith("kpi.err."):
            code = kind
        elif kind in PYDANTIC_TYPES:
            code = f"pyd.{kind}"
        else:
            code, context = "pyd.other", {"type": kind}
        item: dict[str, object] = {"row": row} if row is not None else {}
        item |= {
            "field": ".".join(str(p) for p in e["loc"]) or None,
            "code": kind.upper(),
            "message": i18n.message(code, context, "en"),
            "message_fr": i18n.message(code, context, "fr"),
            "message_code": code,
            "message_params": context,
        }
        out.append(item)
    return out


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
    # The unit per language where it is written differently ({"en": "kWh/inhabitant"}); else `unit`.
    units: dict[
        Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")],
        Annotated[str, Field(max_length=32)],
    ] = Field(default_factory=dict, max_length=20)
    decimals: Annotated[int, Field(ge=0, le=6)] = 1
    direction: Direction = "neutral"
    period: Period = "month"
    reference: Reference | None = None

    @model_validator(mode="after")
    def _coherent(self) -> KpiDefinition:
        """Each aggregation has the inputs it needs, and nothing that would be silently ignored."""
        if self.aggregation == "ratio":
            if not (self.numerator and self.denominator):
                raise _coded("kpi.err.ratio_inputs")
            if self.dataset or self.metric or self.provider:
                raise _coded("kpi.err.ratio_no_dataset")
            return self
        if not self.dataset:
            raise _coded("kpi.err.needs_dataset", {"aggregation": self.aggregation})
        if (self.aggregation == "provided") != (self.provider is not None):
            raise ValueError("`provider` goes with aggregation 'provided', and 'provided' needs one")
        if not self.metric and self.aggregation not in ("distinct", "provided"):
            raise _coded("kpi.err.needs_metric", {"aggregation": self.aggregation})
        if (self.aggregation == "share") != (self.condition is not None):
            raise _coded("kpi.err.share_condition")
        if self.numerator or self.denominator:
            raise _coded("kpi.err.ratio_only")
        return self

    def unit_in(self, lang: str) -> str:
        """The unit as written in `lang`."""
        return self.units.get(lang) or self.unit

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
            errors += validation_errors(exc, position)
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
