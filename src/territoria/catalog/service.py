"""Catalog logic: organisations, datasets, metrics, assets and series (no HTTP here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.catalog.errors import DatasetNotFound, OrganisationNotFound, SlugTaken
from territoria.catalog.models import Asset, Dataset, Metric, Organisation, SchemaVersion, Series
from territoria.catalog.schemas import (
    AssetIn,
    AssetUpsertResult,
    DatasetCreate,
    DatasetPublic,
    DatasetUpdate,
    MetricCreate,
    MetricPublic,
    OrganisationCreate,
    check_personal_fields,
    schema_personal,
)
from territoria.errors import Invalid
from territoria.territory.index import AreaLocator


def create_organisation(session: Session, body: OrganisationCreate) -> Organisation:
    """Create an organisation; the slug must be free."""
    if session.scalar(select(Organisation.id).where(Organisation.slug == body.slug)) is not None:
        raise SlugTaken("organisation", body.slug)
    org = Organisation(slug=body.slug, name=body.name, kind=body.kind, siren=body.siren)
    session.add(org)
    session.flush()
    return org


def get_organisation(session: Session, slug: str) -> Organisation:
    """The organisation with that slug."""
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise OrganisationNotFound(slug)
    return org


def ensure_organisation(session: Session, body: OrganisationCreate) -> Organisation:
    """Return the organisation with that slug, creating it if needed."""
    org = session.scalar(select(Organisation).where(Organisation.slug == body.slug))
    return org if org is not None else create_organisation(session, body)


def _metric(m: MetricCreate) -> Metric:
    """Table row of a metric definition."""
    return Metric(
        name=m.name,
        unit=m.unit,
        description=m.description,
        min_value=m.min,
        max_value=m.max,
        reporting_interval_s=m.reporting_interval_s,
        max_rate_per_h=m.max_rate_per_h,
    )


def _record_version(session: Session, ds: Dataset) -> None:
    """Keep the dataset's current schema as a new version (stored rows keep the one they met)."""
    session.flush()
    metrics = [
        {
            "name": m.name,
            "unit": m.unit,
            "min": m.min_value,
            "max": m.max_value,
            "reporting_interval_s": m.reporting_interval_s,
            "max_rate_per_h": m.max_rate_per_h,
        }
        for m in ds.metrics
    ]
    session.add(
        SchemaVersion(
            dataset_id=ds.id, version=ds.schema_version, table_schema=ds.table_schema, metrics=metrics
        )
    )
    session.flush()


def create_dataset(session: Session, body: DatasetCreate, owner: Organisation) -> Dataset:
    """Create a dataset owned by `owner`."""
    if session.scalar(select(Dataset.id).where(Dataset.slug == body.slug)) is not None:
        raise SlugTaken("dataset", body.slug)
    ds = Dataset(
        slug=body.slug,
        title=body.title,
        description=body.description,
        titles=dict(body.titles),
        descriptions=dict(body.descriptions),
        domain=body.domain,
        kind=body.kind,
        owner_id=owner.id,
        licence=body.licence,
        access=body.access,
        reporting_interval_s=body.reporting_interval_s,
        table_schema=body.table_schema,
        keywords=body.keywords,
        personal_fields=body.personal_fields,
        retention_days=body.retention_days,
    )
    ds.metrics = [_metric(m) for m in body.metrics]
    ds.schema_version = 1
    session.add(ds)
    _record_version(session, ds)
    return ds


def get_dataset(session: Session, slug: str) -> Dataset:
    """The dataset with that slug."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        raise DatasetNotFound(slug)
    return ds


def list_datasets(session: Session) -> Sequence[Dataset]:
    """Every dataset, by slug (callers filter by access)."""
    return session.scalars(select(Dataset).order_by(Dataset.slug)).unique().all()


def update_dataset(session: Session, ds: Dataset, body: DatasetUpdate) -> Dataset:
    """Apply a partial update; new metrics are added, existing ones updated in place."""
    for field in ("title", "description", "access", "licence", "reporting_interval_s", "keywords"):
        value = getattr(body, field)
        if value is not None:
            setattr(ds, field, value)
    # Per-language texts are merged: a language given with an empty text is removed.
    for field in ("titles", "descriptions"):
        texts = getattr(body, field)
        if texts is not None:
            merged = {**(getattr(ds, field) or {}), **texts}
            setattr(ds, field, {k: v for k, v in merged.items() if v})
    changed_schema = False
    if body.metrics is not None:
        if ds.kind != "timeseries":
            raise Invalid("only timeseries datasets have metrics")
        current = {m.name: m for m in ds.metrics}
        for m in body.metrics:
            if m.name in current:
                row = current[m.name]
                row.unit, row.description = m.unit, m.description
                row.min_value, row.max_value = m.min, m.max
                row.reporting_interval_s = m.reporting_interval_s
                row.max_rate_per_h = m.max_rate_per_h
            else:
                ds.metrics.append(_metric(m))
        changed_schema = True
    if body.table_schema is not None:
        if ds.kind != "records":
            raise Invalid("only records datasets have a Table Schema; time series have metrics")
        ds.table_schema = body.table_schema
        changed_schema = True
    if changed_schema:
        # New rows are checked against the new version; stored rows are not re-checked.
        ds.schema_version += 1
        _record_version(session, ds)
    _update_personal(ds, body)
    session.flush()
    return ds


def _update_personal(ds: Dataset, body: DatasetUpdate) -> None:
    """Apply a new list of personal fields, a new schema's `personal` marks and the retention period."""
    if "retention_days" in body.model_fields_set:
        ds.retention_days = body.retention_days
    if body.personal_fields is not None:
        try:
            ds.personal_fields = check_personal_fields(ds.kind, ds.table_schema, body.personal_fields)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    elif body.table_schema is not None and ds.kind == "records":
        # Declarations are kept when only the schema changes: a field dropped from the schema still
        # holds personal values in the stored records, which retention must still purge.
        ds.personal_fields = sorted(set(ds.personal_fields or []) | set(schema_personal(ds.table_schema)))


def count_assets(session: Session, ds: Dataset) -> int:
    """Number of assets of a dataset."""
    return int(session.scalar(select(func.count(Asset.id)).where(Asset.dataset_id == ds.id)) or 0)


def dataset_public(ds: Dataset, assets: int | None = None) -> DatasetPublic:
    """API view of a dataset."""
    return DatasetPublic(
        slug=ds.slug,
        title=ds.title,
        description=ds.description,
        titles=dict(ds.titles or {}),
        descriptions=dict(ds.descriptions or {}),
        domain=ds.domain,
        kind=ds.kind,
        access=ds.access,
        licence=ds.licence,
        owner=ds.owner.slug,
        reporting_interval_s=ds.reporting_interval_s,
        metrics=[
            MetricPublic(
                name=m.name,
                unit=m.unit,
                description=m.description,
                min=m.min_value,
                max=m.max_value,
                reporting_interval_s=m.reporting_interval_s,
                max_rate_per_h=m.max_rate_per_h,
            )
            for m in ds.metrics
        ],
        table_schema=ds.table_schema,
        keywords=list(ds.keywords or []),
        schema_version=ds.schema_version,
        personal_fields=list(ds.personal_fields or []),
        retention_days=ds.retention_days,
        assets=assets,
        created_at=ds.created_at,
        updated_at=ds.updated_at,
    )


def upsert_assets(
    session: Session, ds: Dataset, items: Sequence[AssetIn], locator: AreaLocator
) -> AssetUpsertResult:
    """Create or update assets by external id; assign each located one to its area."""
    ids = [a.id for a in items]
    if len(ids) != len(set(ids)):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise Invalid(f"asset ids must be unique within one request; repeated: {', '.join(dup)}")
    existing = {
        a.external_id: a
        for a in session.scalars(select(Asset).where(Asset.dataset_id == ds.id, Asset.external_id.in_(ids)))
    }
    located = [(a.lon, a.lat) for a in items if a.lon is not None and a.lat is not None]
    codes = iter(locator.locate_many(located))
    created = updated = 0
    outside: list[str] = []
    for item in items:
        asset = existing.get(item.id)
        if asset is None:
            asset = Asset(dataset_id=ds.id, external_id=item.id)
            session.add(asset)
            created += 1
        else:
            updated += 1
        asset.kind, asset.network, asset.name = item.kind, item.network, item.name
        asset.lon, asset.lat, asset.properties, asset.active = (
            item.lon,
            item.lat,
            item.properties,
            item.active,
        )
        if item.lon is not None and item.lat is not None:
            asset.geometry = {"type": "Point", "coordinates": [item.lon, item.lat]}
            asset.area_code = next(codes)
            # Kept and flagged, never dropped: the quality stage reports OUT_OF_TERRITORY.
            asset.in_territory = asset.area_code is not None or len(locator) == 0
            if not asset.in_territory:
                outside.append(item.id)
        else:
            asset.geometry, asset.area_code, asset.in_territory = None, None, True
    session.flush()
    return AssetUpsertResult(received=len(items), created=created, updated=updated, outside_territory=outside)


def assets_from_geojson(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn a GeoJSON FeatureCollection of points into asset dicts (id from feature id or properties)."""
    out: list[dict[str, Any]] = []
    for n, feat in enumerate(doc.get("features") or [], start=1):
        props = dict(feat.get("properties") or {})
        geom = feat.get("geometry") or {}
        ext_id = feat.get("id") if feat.get("id") is not None else props.pop("id", None)
        if ext_id is None:
            raise Invalid(f"feature {n} has no id (set the feature 'id' or an 'id' property)")
        item: dict[str, Any] = {"id": str(ext_id), "properties": props}
        for key in ("kind", "network", "name"):
            if key in props:
                item[key] = str(props.pop(key))
        if geom.get("type") == "Point":
            coords = geom.get("coordinates") or []
            if len(coords) >= 2:
                item["lon"], item["lat"] = float(coords[0]), float(coords[1])
        elif geom:
            raise Invalid(f"feature {n}: only Point geometries are taken for assets, got {geom.get('type')}")
        out.append(item)
    return out


def series_map(session: Session, ds: Dataset) -> dict[tuple[int, int], int]:
    """(asset id, metric id) → series id for a whole dataset."""
    stmt = select(Series.asset_id, Series.metric_id, Series.id).join(Asset, Asset.id == Series.asset_id)
    return {(a, m): s for a, m, s in session.execute(stmt.where(Asset.dataset_id == ds.id))}


def asset_ids(session: Session, ds: Dataset) -> dict[str, int]:
    """External id → asset id for a whole dataset."""
    stmt = select(Asset.external_id, Asset.id).where(Asset.dataset_id == ds.id)
    return {str(k): int(v) for k, v in session.execute(stmt)}
