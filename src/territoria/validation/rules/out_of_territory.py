"""OUT_OF_TERRITORY: an asset located outside every area, and not because of swapped coordinates."""

from __future__ import annotations

from collections.abc import Callable

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("OUT_OF_TERRITORY", "warning", "asset")
Locate = Callable[[float, float], "str | None"]


def check(asset: str, lon: float | None, lat: float | None, locate: Locate) -> Finding | None:
    """A finding when (lon, lat) falls in no area and neither does (lat, lon) (that is LATLON_SWAPPED)."""
    if lon is None or lat is None or locate(lon, lat) is not None or locate(lat, lon) is not None:
        return None
    return coded(
        RULE,
        "finding.OUT_OF_TERRITORY",
        {"lon": f"{lon:g}", "lat": f"{lat:g}"},
        asset=asset,
        field="lon,lat",
        details={"lon": lon, "lat": lat},
    )
