"""The maps' background setting: presets, a URL of one's own, none; the CSP follows it; pages pass it on."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from territoria.app import create_app
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.settings import Settings
from territoria.web.basemap import PRESETS, base_layer
from territoria.web.colours import LAYER_PALETTE, layer_colour
from territoria.web.render import content_security_policy


def test_presets_point_to_the_ign_geoplateforme_and_osm() -> None:
    assert "GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in (PRESETS["plan-ign"].url or "")
    assert "ORTHOIMAGERY.ORTHOPHOTOS" in (PRESETS["ortho-ign"].url or "")
    assert all(p in (PRESETS["plan-ign"].url or "") for p in ("{z}", "{x}", "{y}"))
    assert PRESETS["osm"].url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert PRESETS["none"].url is None
    assert "IGN" in PRESETS["ortho-ign"].attribution and "OpenStreetMap" in PRESETS["osm"].attribution


def test_the_csp_allows_the_background_origin_only() -> None:
    assert "img-src 'self' data: https://data.geopf.fr;" in content_security_policy(
        Settings(map_base="plan-ign")
    )
    assert "img-src 'self' data:;" in content_security_policy(Settings(map_base="none"))
    own = Settings(
        map_base="https://{s}.tiles.example.fr/{z}/{x}/{y}.png", map_base_attribution="<b>Ville</b>"
    )
    assert "https://*.tiles.example.fr" in content_security_policy(own)
    layer = base_layer(own.map_base, own.map_base_attribution)
    assert layer.name == "custom" and layer.attribution == "&lt;b&gt;Ville&lt;/b&gt;"  # text, not HTML


@pytest.mark.parametrize(
    "value", ["ign", "ftp://x/{z}/{x}/{y}", "https://tiles.example.fr/{z}/{x}.png", "javascript:{z}{x}{y}"]
)
def test_an_unknown_background_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError, match="map_base"):
        Settings(map_base=value)


def test_layer_colours_are_distinct() -> None:
    assert len(set(LAYER_PALETTE)) == len(LAYER_PALETTE) >= 11
    assert [layer_colour(i) for i in range(11)] == list(LAYER_PALETTE[:11])


def _config(html: str, element: str) -> dict[str, object]:
    found = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', html, re.S)
    assert found
    data = json.loads(found.group(1))
    assert isinstance(data, dict)
    return data


def test_the_map_page_uses_the_configured_background(tmp_path: object) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/t.db", demo=True, map_base="ortho-ign")
    ctx = Context(settings)
    upgrade(ctx.engine)
    with TestClient(create_app(context=ctx)) as client:
        response = client.get("/map")
        if response.status_code != 200:  # the map may ask to log in; the open-data portal never does
            pytest.skip("the map page needs a login here")
        assert "https://data.geopf.fr" in response.headers["content-security-policy"]
        tiles = _config(response.text, "map-config")["tiles"]
        assert isinstance(tiles, dict) and tiles["name"] == "ortho-ign"
        assert "leaflet.markercluster.js" in response.text


def test_the_areas_are_cached_by_the_browser(tmp_path: object) -> None:
    ctx = Context(Settings(database_url=f"sqlite:///{tmp_path}/t.db", demo=True))
    upgrade(ctx.engine)
    with TestClient(create_app(context=ctx)) as client:
        first = client.get("/api/v1/areas?level=commune")
        assert first.status_code == 200 and first.json()["type"] == "FeatureCollection"
        assert "max-age" in first.headers["cache-control"] and first.headers["etag"]
        again = client.get("/api/v1/areas?level=commune", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and not again.content
        other = client.get("/api/v1/areas?level=commune", headers={"If-None-Match": '"x"'})
        assert other.status_code == 200
