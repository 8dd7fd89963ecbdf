"""LATLON_SWAPPED: an asset outside the territory whose exchanged coordinates land inside it."""

from __future__ import annotations

from collections.abc import Callable

from territoria.validation.model import Finding, Rule, finding

RULE = Rule(
    "LATLON_SWAPPED", "warning", "asset", "Latitude and longitude swapped", "Latitude et longitude inversées"
)
Locate = Callable[[float, float], "str | None"]


def check(asset: str, lon: float | None, lat: float | None, locate: Locate) -> Finding | None:
    """A finding proposing (lat, lon) when (lon, lat) is outside every area but (lat, lon) is inside.

    The fix is proposed in details, never applied: the sender corrects its data.
    """
    if lon is None or lat is None or locate(lon, lat) is not None:
        return None
    area = locate(lat, lon)
    if area is None:
        return None
    return finding(
        RULE,
        f"lon {lon:g}, lat {lat:g} lies outside the territory; exchanged (lon {lat:g}, lat {lon:g}) "
        f"it falls in area {area}: the coordinates were probably sent as lat, lon",
        f"lon {lon:g}, lat {lat:g} est hors du territoire ; inversées (lon {lat:g}, lat {lon:g}) "
        f"elles tombent dans la zone {area} : les coordonnées ont sans doute été envoyées en lat, lon",
        asset=asset,
        field="lon,lat",
        details={"lon": lon, "lat": lat, "proposed": {"lon": lat, "lat": lon}, "area_code": area},
    )
