"""A dataset's assets as a caller's view shows them (pseudonymised ids, coarsened positions)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria import paging
from territoria.access.personal import ASSET, View, mask_asset
from territoria.catalog.models import Asset, Dataset
from territoria.catalog.schemas import AssetPublic


def list_assets(
    session: Session,
    ds: Dataset,
    *,
    area: str | None = None,
    limit: int = 10000,
    view: View | None = None,
    cursor: str | None = None,
) -> tuple[list[AssetPublic], str | None]:
    """A page of a dataset's assets, optionally in one area, as `view` shows them (None: as stored),
    and the cursor of the next page (None on the last one)."""
    stmt = select(Asset).where(Asset.dataset_id == ds.id)
    if area:
        stmt = stmt.where(Asset.area_code == area)
    # Ordering (or paging) pseudonymised ids by their clear value would hint at it: creation order instead.
    hidden = view is not None and view.hides(ASSET)
    if hidden:
        after = paging.decode(cursor, int)
        stmt = stmt.where(Asset.id > after[0]) if after else stmt
        stmt = stmt.order_by(Asset.id)
    else:
        after = paging.decode(cursor, str)
        stmt = stmt.where(Asset.external_id > after[0]) if after else stmt
        stmt = stmt.order_by(Asset.external_id)
    rows, more = paging.split(session.scalars(stmt.limit(limit + 1)).all(), limit)
    out: list[AssetPublic] = []
    for a in rows:
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
    following = None
    if more:
        last = rows[-1]
        following = paging.encode(last.id) if hidden else paging.encode(last.external_id)
    return out, following
