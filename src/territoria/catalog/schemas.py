"""API models of the catalog (tables never leak into the API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from territoria.catalog.types import Latitude, Longitude, Siren, Slug
from territoria.validation.tableschema import validate_table_schema

# Packaged schemas (national standards a domain ships), attachable by name: {"schema": "<name>"}.
PACKAGED_SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {}


def register_schema(name: str, factory: Callable[[], dict[str, Any]]) -> None:
    """Make a packaged Table Schema attachable by name (domains declare theirs in their contract)."""
    PACKAGED_SCHEMAS[name] = factory


def packaged_schema(value: Any) -> Any:
    """A packaged schema named by a string becomes its descriptor; anything else passes unchanged."""
    if isinstance(value, str):
        if value not in PACKAGED_SCHEMAS:
            known = ", ".join(sorted(PACKAGED_SCHEMAS)) or "none installed"
            raise ValueError(f"unknown schema '{value}'; packaged schemas: {known}")
        return PACKAGED_SCHEMAS[value]()
    return value


SchemaDescriptor = Annotated[dict[str, Any] | None, BeforeValidator(packaged_schema)]

# What a time-series dataset may declare personal: the asset's external id (a smart meter number), its
# name, its position (non-owners then see only its commune) and any of its properties.
ASSET_PERSONAL = ("asset", "asset.name", "asset.location")
ASSET_PROPERTY = "asset.properties."
MAX_RETENTION_DAYS = 36_500
FieldName = Annotated[str, Field(min_length=1, max_length=200)]
# A language code keying per-language texts ("fr", "en", "pt-BR").
LangCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


def schema_personal(schema: dict[str, Any] | None) -> list[str]:
    """Fields a Table Schema marks `"personal": true`."""
    marked: list[str] = []
    for field in (schema or {}).get("fields") or []:
        flag = field.get("personal", False) if isinstance(field, dict) else False
        if not isinstance(flag, bool):
            raise ValueError(f"schema: field '{field.get('name')}': 'personal' must be true or false")
        if flag:
            marked.append(str(field["name"]))
    return marked


def check_personal_fields(kind: str, schema: dict[str, Any] | None, names: list[str]) -> list[str]:
    """The personal fields of a dataset: the names given and those its Table Schema marks, checked."""
    if kind == "timeseries":
        bad = [
            n
            for n in names
            if n not in ASSET_PERSONAL and not (n.startswith(ASSET_PROPERTY) and n != ASSET_PROPERTY)
        ]
        if bad:
            raise ValueError(
                f"personal_fields: {', '.join(repr(b) for b in bad)} cannot be declared on a time-series "
                "dataset; use 'asset', 'asset.name', 'asset.location' or 'asset.properties.<key>'"
            )
        return sorted(set(names))
    fields = [f.get("name") for f in (schema or {}).get("fields") or [] if isinstance(f, dict)]
    if names and not fields:
        raise ValueError("personal_fields: give the dataset a Table Schema first; they name its fields")
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise ValueError(
            f"personal_fields: {', '.join(repr(u) for u in unknown)} not in the Table Schema "
            f"(its fields: {', '.join(str(f) for f in fields)})"
        )
    return sorted(set(names) | set(schema_personal(schema)))


OrgKind = Literal["authority", "operator", "partner", "public"]
DatasetKind = Literal["timeseries", "records"]
Access = Literal["private", "shared", "open"]


class Strict(BaseModel):
    """Strict input: no coercion (no false as 0.0), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class OrganisationCreate(Strict):
    """Body to create an organisation."""

    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    siren: Siren | None = None


class OrganisationPublic(BaseModel):
    """An organisation as shown to API users."""

    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    kind: str
    siren: str | None


class MetricCreate(Strict):
    """A metric definition: name, unit, valid range, expected reporting interval."""

    name: Slug
    unit: str = Field(min_length=1, max_length=32)
    description: str = ""
    min: float | None = None
    max: float | None = None
    reporting_interval_s: int | None = Field(default=None, gt=0)
    max_rate_per_h: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _range_order(self) -> MetricCreate:
        """min must not exceed max."""
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"metric {self.name}: min ({self.min}) is greater than max ({self.max})")
        return self


class MetricPublic(BaseModel):
    """A metric as shown to API users."""

    name: str
    unit: str
    description: str
    min: float | None
    max: float | None
    reporting_interval_s: int | None
    max_rate_per_h: float | None = None


class DatasetCreate(Strict):
    """Body to create a dataset; the owner is the caller's organisation."""

    slug: Slug
    title: str = Field(min_length=1, max_length=300)
    description: str = ""
    # Per language ({"en": …, "fr": …}); pages read the reader's language, else `title`/`description`.
    titles: dict[LangCode, Annotated[str, Field(max_length=300)]] = Field(default_factory=dict, max_length=20)
    descriptions: dict[LangCode, Annotated[str, Field(max_length=20_000)]] = Field(
        default_factory=dict, max_length=20
    )
    domain: Slug
    kind: DatasetKind
    access: Access = "private"
    licence: str = "etalab-2.0"
    reporting_interval_s: int | None = Field(default=None, gt=0)
    metrics: list[MetricCreate] = Field(default_factory=list)
    table_schema: SchemaDescriptor = Field(default=None, alias="schema")
    keywords: list[str] = Field(default_factory=list)
    # Pseudonymised for anyone but the owner; for records also a Table Schema field's `"personal": true`.
    personal_fields: list[FieldName] = Field(default_factory=list, max_length=500)
    retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _kind_fits(self) -> DatasetCreate:
        """Time series need metrics with unique names; records take a Table Schema."""
        names = [m.name for m in self.metrics]
        if len(names) != len(set(names)):
            raise ValueError("metric names must be unique within a dataset")
        if self.kind == "timeseries" and not self.metrics:
            raise ValueError("a timeseries dataset needs at least one metric")
        if self.kind == "records" and self.metrics:
            raise ValueError("a records dataset takes a 'schema' (Table Schema), not 'metrics'")
        if self.table_schema is not None:
            validate_table_schema(self.table_schema)
        self.personal_fields = check_personal_fields(self.kind, self.table_schema, self.personal_fields)
        return self


class DatasetUpdate(Strict):
    """Fields a dataset owner may change; metrics can be added, not removed."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = None
    # Merged into the stored ones; an empty text removes that language.
    titles: dict[LangCode, Annotated[str, Field(max_length=300)]] | None = Field(default=None, max_length=20)
    descriptions: dict[LangCode, Annotated[str, Field(max_length=20_000)]] | None = Field(
        default=None, max_length=20
    )
    access: Access | None = None
    licence: str | None = None
    reporting_interval_s: int | None = Field(default=None, gt=0)
    keywords: list[str] | None = None
    metrics: list[MetricCreate] | None = None
    table_schema: SchemaDescriptor = Field(default=None, alias="schema")
    # Replaces the declared list when given (checked against the dataset by the service).
    personal_fields: list[FieldName] | None = Field(default=None, max_length=500)
    # An explicit null removes the retention period.
    retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _valid_schema(self) -> DatasetUpdate:
        """A new Table Schema must be a valid one."""
        if self.table_schema is not None:
            validate_table_schema(self.table_schema)
            schema_personal(self.table_schema)
        return self


class DatasetPublic(BaseModel):
    """A dataset as shown to API users."""

    slug: str
    title: str
    description: str
    titles: dict[str, str] = Field(default_factory=dict)
    descriptions: dict[str, str] = Field(default_factory=dict)
    domain: str
    kind: str
    access: str
    licence: str
    owner: str
    reporting_interval_s: int | None
    metrics: list[MetricPublic]
    table_schema: dict[str, Any] | None = Field(default=None, serialization_alias="schema")
    keywords: list[str]
    schema_version: int = 1
    personal_fields: list[str] = Field(default_factory=list)
    retention_days: int | None = None
    assets: int | None = None
    created_at: datetime
    updated_at: datetime

    def title_in(self, lang: str) -> str:
        """The title in `lang`, else the main title."""
        return self.titles.get(lang) or self.title

    def description_in(self, lang: str) -> str:
        """The description in `lang`, else the main description."""
        return self.descriptions.get(lang) or self.description


class AssetIn(Strict):
    """One asset to create or update (upsert on the external id)."""

    id: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="", max_length=64)
    network: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=300)
    lon: Longitude | None = None
    lat: Latitude | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    active: bool = True

    @model_validator(mode="after")
    def _both_coords(self) -> AssetIn:
        """Longitude and latitude come together."""
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        return self


class AssetPublic(BaseModel):
    """An asset as shown to API users."""

    id: str
    kind: str
    network: str
    name: str
    lon: float | None
    lat: float | None
    area_code: str | None
    in_territory: bool
    properties: dict[str, Any]
    active: bool


class AssetUpsertResult(BaseModel):
    """What an asset upsert did."""

    received: int
    created: int
    updated: int
    outside_territory: list[str]
