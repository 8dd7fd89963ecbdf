"""OUT_OF_TERRITORY: an asset located outside every area, and not because of swapped coordinates."""

from __future__ import annotations

from collections.abc import Callable

from territoria.validation.model import Finding, Rule, finding

RULE = Rule("OUT_OF_TERRITORY", "warning", "asset", "Outside the territory", "Hors du territoire")
Locate = Callable[[float, float], "str | None"]


def check(asset: str, lon: float | None, lat: float | None, locate: Locate) -> Finding | None:
    """A finding when (lon, lat) falls in no area and neither does (lat, lon) (that is LATLON_SWAPPED)."""
    if lon is None or lat is None or locate(lon, lat) is not None or locate(lat, lon) is not None:
        return None
    return finding(
        RULE,
        f"lon {lon:g}, lat {lat:g} lies outside every commune of the territory: "
        "kept, but left out of the per-area figures",
        f"lon {lon:g}, lat {lat:g} est en dehors de toutes les communes du territoire : "
        "conservé, mais exclu des chiffres par zone",
        asset=asset,
        field="lon,lat",
        details={"lon": lon, "lat": lat},
    )
