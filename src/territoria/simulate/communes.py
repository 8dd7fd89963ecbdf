"""The 163 real communes of the Alpes-Maritimes, read from the package's territory data."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from shapely.geometry import shape

GEOJSON_FILE = "communes-06-alpes-maritimes.geojson"
POPULATION_FILE = "communes-06-population.csv"
NICE = "06088"


@dataclass(frozen=True)
class Commune:
    """A commune: INSEE code, name, 2021 population, area, reference point and GeoJSON geometry."""

    code: str
    name: str
    population: int
    area_km2: float
    lat: float
    lon: float
    geometry: dict[str, Any] = field(hash=False, compare=False, repr=False)

    def shape(self) -> Any:
        """The commune's boundary as a shapely geometry (cached)."""
        return _shape(self.code)


def _read_text(name: str) -> str:
    """Text of one file of territoria/data/territory."""
    return resources.files("territoria").joinpath("data", "territory", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_communes() -> tuple[Commune, ...]:
    """The communes of the Alpes-Maritimes, sorted by INSEE code (boundaries joined to population)."""
    collection = json.loads(_read_text(GEOJSON_FILE))
    geometries = {f["properties"]["code"]: f["geometry"] for f in collection["features"]}
    communes = []
    for row in csv.DictReader(io.StringIO(_read_text(POPULATION_FILE))):
        code = row["code"]
        communes.append(
            Commune(
                code=code,
                name=row["name"],
                population=int(row["population_2021"]),
                area_km2=float(row["area_km2"]),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                geometry=geometries[code],
            )
        )
    return tuple(sorted(communes, key=lambda c: c.code))


@cache
def _shape(code: str) -> Any:
    """Shapely geometry of one commune, built once."""
    for commune in load_communes():
        if commune.code == code:
            return shape(commune.geometry)
    raise KeyError(code)


def commune_shapes() -> dict[str, Any]:
    """Shapely geometries of all communes keyed by INSEE code."""
    return {c.code: c.shape() for c in load_communes()}
