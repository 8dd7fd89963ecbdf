"""The maps' background: a preset (Plan IGN, IGN orthophotos, OpenStreetMap), any XYZ URL, or none.

Set with TERRITORIA_MAP_BASE (a preset name, `none`, or a URL template with {z}, {x} and {y}) and, for a
URL of your own, TERRITORIA_MAP_BASE_ATTRIBUTION. The commune outlines are drawn from the territory's
own areas whatever the background, so a map stays readable when no tile server can be reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from markupsafe import escape

from territoria.settings import MAP_BASE_PRESETS

_GEOPF = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}&STYLE=normal"
    "&TILEMATRIXSET=PM&FORMAT={format}&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}"
)
_IGN = '&copy; <a href="https://geoservices.ign.fr/">IGN</a> – Géoplateforme'


@dataclass(frozen=True)
class BaseLayer:
    """One background: its tile URL template (None: no background), attribution (HTML) and zoom limit."""

    name: str
    url: str | None
    attribution: str
    max_zoom: int = 19

    def origin(self) -> str | None:
        """The scheme and host the tiles come from (for the page's Content-Security-Policy)."""
        if not self.url:
            return None
        parts = urlsplit(self.url)
        # Sub-domains written {s} (a, b, c) become a CSP wildcard.
        host = parts.netloc.replace("{s}", "*")
        return f"{parts.scheme}://{host}"

    def config(self) -> dict[str, Any]:
        """What the map toolkit needs (territoria-map.js `tiles`)."""
        return {"name": self.name, "url": self.url, "attribution": self.attribution, "maxZoom": self.max_zoom}


PRESETS: dict[str, BaseLayer] = {
    "plan-ign": BaseLayer(
        "plan-ign",
        _GEOPF.format(layer="GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2", format="image/png"),
        _IGN + " (Plan IGN v2)",
        19,
    ),
    "ortho-ign": BaseLayer(
        "ortho-ign",
        _GEOPF.format(layer="ORTHOIMAGERY.ORTHOPHOTOS", format="image/jpeg"),
        _IGN + " (orthophotos)",
        19,
    ),
    "osm": BaseLayer(
        "osm",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
        19,
    ),
    "none": BaseLayer("none", None, "", 19),
}
assert tuple(PRESETS) == MAP_BASE_PRESETS  # noqa: S101 - one list of names, checked at import


def base_layer(setting: str, attribution: str = "") -> BaseLayer:
    """The background the settings name (a custom URL's attribution is plain text, escaped here)."""
    if setting in PRESETS:
        return PRESETS[setting]
    return BaseLayer("custom", setting, str(escape(attribution)), 19)
