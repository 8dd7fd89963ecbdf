"""Territory loading and point-to-commune assignment on the real Alpes-Maritimes communes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from territoria.context import Context
from territoria.territory.models import Area
from territoria.territory.service import DEFAULT_GEOJSON, DEFAULT_POPULATION, TerritoryError, load_areas


def test_load_163_communes_with_population(ctx: Context) -> None:
    with ctx.session(write=True) as s:
        report = load_areas(s, DEFAULT_GEOJSON, population=DEFAULT_POPULATION)
    assert report.loaded == 163
    assert report.with_population == 163
    with ctx.session() as s:
        nice = s.scalar(select(Area).where(Area.code == "06088"))
        assert nice is not None and nice.name == "Nice" and nice.population == 348085
        # The official names (INSEE, in the population file), not the outlines' names without article.
        names = {
            a.code: a.name for a in s.scalars(select(Area).where(Area.code.in_(["06030", "06149", "06057"])))
        }
        assert names == {"06030": "Le Cannet", "06149": "La Trinité", "06057": "L'Escarène"}
    # Loading again updates in place, and keeps the official names.
    with ctx.session(write=True) as s:
        assert load_areas(s, DEFAULT_GEOJSON).loaded == 163
    with ctx.session() as s:
        assert s.scalar(select(Area.name).where(Area.code == "06030")) == "Le Cannet"


def test_locator_assigns_known_places(ctx: Context) -> None:
    with ctx.session(write=True) as s:
        load_areas(s, DEFAULT_GEOJSON)
    loc = ctx.locator()
    assert loc.locate(7.2661, 43.6961) == "06088"  # Nice, Place Masséna
    assert loc.locate(7.0128, 43.5513) == "06029"  # Cannes, La Croisette
    assert loc.locate(7.1256, 43.5804) == "06004"  # Antibes
    assert loc.locate(2.3522, 48.8566) is None  # Paris: outside the territory
    assert loc.locate_many([(7.2661, 43.6961), (2.35, 48.85)]) == ["06088", None]


def test_bad_files_get_clear_errors(ctx: Context, tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with ctx.session(write=True) as s, pytest.raises(TerritoryError, match="not a readable GeoJSON"):
        load_areas(s, bad)
    nocode = tmp_path / "nocode.geojson"
    nocode.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [7, 43]},
                    }
                ],
            }
        )
    )
    with ctx.session(write=True) as s, pytest.raises(TerritoryError, match="no 'code'"):
        load_areas(s, nocode)
    pop = tmp_path / "pop.csv"
    pop.write_text("insee,population\n06088,1\n")
    with ctx.session(write=True) as s, pytest.raises(TerritoryError, match="'code' column"):
        load_areas(s, DEFAULT_GEOJSON, population=pop)


def test_areas_api_is_a_feature_collection(world) -> None:  # type: ignore[no-untyped-def]
    r = world.client.get("/api/v1/areas?level=commune")
    assert r.status_code == 200
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 163
    nice = next(f for f in doc["features"] if f["properties"]["code"] == "06088")
    assert nice["properties"]["population"] == 348085
