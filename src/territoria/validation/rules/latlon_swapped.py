"""LATLON_SWAPPED: an asset outside the territory whose exchanged coordinates land inside it."""

from __future__ import annotations

from collections.abc import Callable

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("LATLON_SWAPPED", "warning", "asset")
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
    return coded(
        RULE,
        "finding.LATLON_SWAPPED",
        {"lon": f"{lon:g}", "lat": f"{lat:g}", "area": area},
        asset=asset,
        field="lon,lat",
        details={"lon": lon, "lat": lat, "proposed": {"lon": lat, "lat": lon}, "area_code": area},
    )
