"""Catalog tables: organisation, dataset, metric, asset, series, schema versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from territoria.db.base import Base, JSONType, UTCDateTime, utcnow


class Organisation(Base):
    """The authority, an operator, a partner or the public."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    siren: Mapped[str | None] = mapped_column(String(9), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dataset(Base):
    """A time-series or records dataset owned by one organisation."""

    __tablename__ = "dataset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # The title and description per language ({"en": …, "fr": …}); `title`/`description` hold the
    # authority's own wording and are read for a language the maps lack (a new language needs no migration).
    titles: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    domain: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    licence: Mapped[str] = mapped_column(String(64), default="etalab-2.0")
    access: Mapped[str] = mapped_column(String(16), default="private")
    reporting_interval_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    table_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    schema_version: Mapped[int] = mapped_column(Integer, default=1)
    # Fields holding personal data: pseudonymised for anyone but the owner, purged after retention.
    personal_fields: Mapped[list[str]] = mapped_column(JSONType, default=list)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # DCAT metadata for the open-data catalogue: theme, frequency, contact_point, landing_page.
    dcat: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[Organisation] = relationship(lazy="joined")
    metrics: Mapped[list[Metric]] = relationship(
        back_populates="dataset", lazy="selectin", order_by="Metric.id", cascade="all, delete-orphan"
    )

    def title_in(self, lang: str) -> str:
        """The title in `lang`, else the main title."""
        return (self.titles or {}).get(lang) or self.title

    def description_in(self, lang: str) -> str:
        """The description in `lang`, else the main description."""
        return (self.descriptions or {}).get(lang) or self.description


class Metric(Base):
    """A measured quantity of a time-series dataset, with unit and valid range."""

    __tablename__ = "metric"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    min_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    reporting_interval_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Largest plausible change per hour (in the metric's unit), for the RATE_OF_CHANGE rule.
    max_rate_per_h: Mapped[float | None] = mapped_column(Float, nullable=True)

    dataset: Mapped[Dataset] = relationship(back_populates="metrics")


class Asset(Base):
    """A connected object or piece of infrastructure, located and assigned to its commune."""

    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("dataset_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64), default="")
    network: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    # Assets outside the territory are kept and flagged, never dropped.
    in_territory: Mapped[bool] = mapped_column(Boolean, default=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Series(Base):
    """One asset × metric time series."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("asset_id", "metric_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric.id", ondelete="CASCADE"))


class SchemaVersion(Base):
    """Every version of a dataset's schema; stored rows keep the version they were checked against."""

    __tablename__ = "schema_version"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    table_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
