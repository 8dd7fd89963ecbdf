"""Load area boundaries and population, and serve the locator and GeoJSON of areas."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.territory.index import AreaLocator, AreaShape
from territoria.territory.models import Area

PACKAGED = Path(__file__).resolve().parent.parent / "data" / "territory"
DEFAULT_GEOJSON = PACKAGED / "communes-06-alpes-maritimes.geojson"
DEFAULT_POPULATION = PACKAGED / "communes-06-population.csv"


class TerritoryError(ValueError):
    """A territory file that cannot be loaded, with what to fix."""


@dataclass(frozen=True)
class LoadReport:
    """What a territory load did."""

    level: str
    loaded: int
    with_population: int
    population_unmatched: list[str]


def _feature_code(props: dict[str, Any]) -> str | None:
    """The area code of a feature, from the usual property names."""
    for key in ("code", "insee", "INSEE_COM", "code_insee", "codgeo"):
        if props.get(key):
            return str(props[key])
    return None


def _read_population(path: Path) -> dict[str, dict[str, Any]]:
    """Population and surface per code from a CSV with a `code` column."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "code" not in reader.fieldnames:
            raise TerritoryError(f"{path}: the population CSV needs a 'code' column (INSEE code)")
        pop_col = next((c for c in reader.fieldnames if c.startswith("population")), None)
        if pop_col is None:
            raise TerritoryError(f"{path}: no population column (expected e.g. 'population_2021')")
        out: dict[str, dict[str, Any]] = {}
        for line, row in enumerate(reader, start=2):
            try:
                out[row["code"].strip()] = {
                    "population": int(float(row[pop_col])) if row[pop_col] else None,
                    "area_km2": float(row["area_km2"]) if row.get("area_km2") else None,
                    "name": (row.get("name") or row.get("nom") or "").strip() or None,
                }
            except ValueError as exc:
                raise TerritoryError(f"{path}, line {line}: {exc}") from exc
        return out


def load_areas(
    session: Session, geojson: Path, *, level: str = "commune", population: Path | None = None
) -> LoadReport:
    """Upsert the areas of a GeoJSON FeatureCollection (and population CSV) at one level."""
    try:
        doc = json.loads(geojson.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TerritoryError(f"{geojson}: not a readable GeoJSON file ({exc})") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not features:
        raise TerritoryError(f"{geojson}: expected a FeatureCollection with at least one feature")
    pops = _read_population(population) if population else {}
    existing = {a.code: a for a in session.scalars(select(Area).where(Area.level == level))}
    seen: set[str] = set()
    for n, feat in enumerate(features, start=1):
        props = feat.get("properties") or {}
        code = _feature_code(props)
        if code is None or not feat.get("geometry"):
            raise TerritoryError(f"{geojson}: feature {n} has no 'code' property or no geometry")
        geom = shape(feat["geometry"])
        if geom.is_empty or not geom.is_valid:
            geom = geom.buffer(0)
        min_lon, min_lat, max_lon, max_lat = geom.bounds
        area = existing.get(code) or Area(code=code, level=level)
        # The population file's name is the official one (INSEE: "Le Cannet"); the outlines may drop the
        # article ("Cannet"), which no one in the territory would recognise: an official name, once
        # stored, is kept when outlines are loaded again without the population file.
        official = pops.get(code, {}).get("name") or (area.name if code in existing else None)
        area.name = str(official or props.get("nom") or props.get("name") or code)
        area.geometry = feat["geometry"]
        area.min_lon, area.min_lat, area.max_lon, area.max_lat = min_lon, min_lat, max_lon, max_lat
        if code in pops:
            area.population = pops[code]["population"]
            area.area_km2 = pops[code]["area_km2"]
        session.add(area)
        seen.add(code)
    session.flush()
    return LoadReport(
        level=level,
        loaded=len(seen),
        with_population=len(seen & pops.keys()),
        population_unmatched=sorted(pops.keys() - seen),
    )


def build_locator(session: Session, level: str = "commune") -> AreaLocator:
    """An STRtree locator over every area of a level."""
    rows = session.execute(select(Area.code, Area.geometry).where(Area.level == level)).all()
    return AreaLocator([AreaShape(code, shape(geom)) for code, geom in rows])


def areas_feature_collection(session: Session, level: str = "commune") -> dict[str, Any]:
    """All areas of a level as a GeoJSON FeatureCollection."""
    areas = session.scalars(select(Area).where(Area.level == level).order_by(Area.code))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": a.code,
                "geometry": a.geometry,
                "properties": {
                    "code": a.code,
                    "name": a.name,
                    "level": a.level,
                    "population": a.population,
                    "area_km2": a.area_km2,
                },
            }
            for a in areas
        ],
    }
