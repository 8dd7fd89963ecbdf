"""HTTP route of the territory's areas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from territoria.http.deps import SessionDep
from territoria.territory.service import areas_feature_collection

router = APIRouter(prefix="/api/v1", tags=["territory"])


@router.get("/areas")
def list_areas(
    session: SessionDep, level: Annotated[str, Query(max_length=16)] = "commune"
) -> dict[str, Any]:
    """Areas of one level as a GeoJSON FeatureCollection (public: boundaries are open data)."""
    return areas_feature_collection(session, level)
