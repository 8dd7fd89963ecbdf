"""HTTP route of the territory's areas."""

from __future__ import annotations

import hashlib
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Response

from territoria.http.deps import SessionDep
from territoria.territory.service import areas_feature_collection

router = APIRouter(prefix="/api/v1", tags=["territory"])
# Every map of every page draws the communes from here: the browser keeps them a while, then asks
# again with the ETag (a 304 when the boundaries have not changed).
CACHE_CONTROL = "public, max-age=600"


@router.get("/areas", response_class=Response)
def list_areas(
    session: SessionDep,
    level: Annotated[str, Query(max_length=16)] = "commune",
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Areas of one level as a GeoJSON FeatureCollection (public: boundaries are open data)."""
    body = orjson.dumps(areas_feature_collection(session, level))
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
