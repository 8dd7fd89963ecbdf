"""What the pages show: visible datasets, asset counts and positions, hourly averages (no HTTP here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access.personal import ASSET, View, mask_asset
from territoria.access.policy import check_read, readable
from territoria.access.principal import Principal
from territoria.catalog.models import Asset, Dataset, Metric, Series
from territoria.catalog.service import list_datasets
from territoria.territory.models import Area
from territoria.timeseries.models import rollup_hour

MAX_MAP_ASSETS = 50_000
CHART_DAYS = 7


def visible_datasets(session: Session, principal: Principal) -> list[Dataset]:
    """The datasets the pages may show to this visitor (open ones only when anonymous)."""
    return readable(principal, list_datasets(session))


def visible_dataset(session: Session, principal: Principal, slug: str) -> Dataset | None:
    """The dataset with that slug if the visitor may see it (None otherwise, as if it did not exist).

    The read, or the refusal, is noted for the audit trail like an API read.
    """
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    return ds if ds is not None and check_read(principal, ds) else None


def asset_counts(session: Session, datasets: Sequence[Dataset]) -> dict[int, int]:
    """Number of assets per dataset id, in one query."""
    ids = [ds.id for ds in datasets]
    if not ids:
        return {}
    stmt = (
        select(Asset.dataset_id, func.count(Asset.id))
        .where(Asset.dataset_id.in_(ids))
        .group_by(Asset.dataset_id)
    )
    return {dataset_id: int(n) for dataset_id, n in session.execute(stmt)}


def commune_names(session: Session) -> dict[str, str]:
    """INSEE code → name of every commune."""
    stmt = select(Area.code, Area.name).where(Area.level == "commune")
    return dict(session.execute(stmt).all())


@dataclass(frozen=True)
class CommuneCount:
    """Assets of a dataset in one commune."""

    code: str
    name: str
    count: int


@dataclass(frozen=True)
class AssetSpread:
    """Where a dataset's assets are: top communes, unlocated and outside the territory."""

    top: list[CommuneCount]
    unlocated: int
    outside: int


def asset_spread(session: Session, ds: Dataset, top: int = 10) -> AssetSpread:
    """Assets per commune (the `top` largest), plus those without position or outside the territory."""
    names = commune_names(session)
    n = func.count(Asset.id)
    stmt = (
        select(Asset.area_code, n)
        .where(Asset.dataset_id == ds.id, Asset.area_code.is_not(None))
        .group_by(Asset.area_code)
        .order_by(n.desc(), Asset.area_code)
        .limit(top)
    )
    rows = [
        CommuneCount(str(code), names.get(str(code), str(code)), int(c)) for code, c in session.execute(stmt)
    ]
    unlocated = session.scalar(
        select(func.count(Asset.id)).where(Asset.dataset_id == ds.id, Asset.lon.is_(None))
    )
    outside = session.scalar(
        select(func.count(Asset.id)).where(Asset.dataset_id == ds.id, Asset.in_territory.is_(False))
    )
    return AssetSpread(rows, int(unlocated or 0), int(outside or 0))


def asset_features(
    session: Session, ds: Dataset, limit: int = MAX_MAP_ASSETS, view: View | None = None
) -> dict[str, Any]:
    """The located assets of a dataset as a compact GeoJSON FeatureCollection for the maps.

    Seen through `view` (None: as stored): personal ids and names are pseudonyms, and a personal
    position becomes a null geometry (the commune stays), which the map leaves out.
    """
    names = commune_names(session)
    cols = (Asset.external_id, Asset.name, Asset.kind, Asset.network, Asset.lon, Asset.lat, Asset.area_code)
    order = Asset.id if view is not None and view.hides(ASSET) else Asset.external_id
    stmt = (
        select(*cols, Asset.in_territory)
        .where(Asset.dataset_id == ds.id, Asset.lon.is_not(None), Asset.lat.is_not(None))
        .order_by(order)
        .limit(limit + 1)
    )
    rows = session.execute(stmt).all()
    features = []
    for ext_id, name, kind, network, lon, lat, code, inside in rows[:limit]:
        shown = mask_asset(view, ext_id, name, lon, lat, None)
        point = None if shown.lon is None else {"type": "Point", "coordinates": [shown.lon, shown.lat]}
        features.append(
            {
                "type": "Feature",
                "id": shown.id,
                "geometry": point,
                "properties": {
                    "name": shown.name,
                    "kind": kind,
                    "network": network,
                    "area_code": code,
                    "commune": names.get(code, "") if code else "",
                    "in_territory": bool(inside),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features, "truncated": len(rows) > limit}


def hourly_average(session: Session, metric: Metric, days: int = CHART_DAYS) -> list[tuple[datetime, float]]:
    """Hourly mean of a metric over all assets, for the `days` ending at its latest hour (rollups only).

    The window ends at the latest stored hour rather than now, so a dataset fed with older data (an
    import, a paused simulation) still shows its last week.
    """
    joined = rollup_hour.join(Series, Series.id == rollup_hour.c.series_id)
    latest = session.scalar(
        select(func.max(rollup_hour.c.bucket)).select_from(joined).where(Series.metric_id == metric.id)
    )
    if latest is None:
        return []
    total, n = func.sum(rollup_hour.c.sum), func.sum(rollup_hour.c.n)
    stmt = (
        select(rollup_hour.c.bucket, total, n)
        .select_from(joined)
        .where(Series.metric_id == metric.id, rollup_hour.c.bucket > latest - timedelta(days=days))
        .group_by(rollup_hour.c.bucket)
        .order_by(rollup_hour.c.bucket)
    )
    return [(bucket, float(s) / int(c)) for bucket, s, c in session.execute(stmt) if c]
