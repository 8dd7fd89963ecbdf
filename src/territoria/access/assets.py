"""A dataset's assets as a caller's view shows them (pseudonymised ids, coarsened positions)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.personal import ASSET, View, mask_asset
from territoria.catalog.models import Asset, Dataset
from territoria.catalog.schemas import AssetPublic


def list_assets(
    session: Session, ds: Dataset, *, area: str | None = None, limit: int = 10000, view: View | None = None
) -> list[AssetPublic]:
    """Assets of a dataset, optionally in one area, as `view` shows them (None: as stored)."""
    stmt = select(Asset).where(Asset.dataset_id == ds.id)
    if area:
        stmt = stmt.where(Asset.area_code == area)
    # Ordering pseudonymised ids by their clear value would hint at it: creation order instead.
    order = Asset.id if view is not None and view.hides(ASSET) else Asset.external_id
    out: list[AssetPublic] = []
    for a in session.scalars(stmt.order_by(order).limit(limit)):
        shown = mask_asset(view, a.external_id, a.name, a.lon, a.lat, a.properties)
        out.append(
            AssetPublic(
                id=shown.id,
                kind=a.kind,
                network=a.network,
                name=shown.name,
                lon=shown.lon,
                lat=shown.lat,
                area_code=a.area_code,
                in_territory=a.in_territory,
                properties=shown.properties,
                active=a.active,
            )
        )
    return out
