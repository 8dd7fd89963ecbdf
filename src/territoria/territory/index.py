"""Point-to-area lookup on a shapely STRtree, shared by every ingestion path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree


@dataclass(frozen=True)
class AreaShape:
    """One area's code and geometry as loaded in memory."""

    code: str
    geometry: Any


class AreaLocator:
    """Finds the area containing a point; built once per process from the area table."""

    def __init__(self, areas: Sequence[AreaShape]) -> None:
        self._codes = [a.code for a in areas]
        self._geoms = [a.geometry for a in areas]
        for geom in self._geoms:
            shapely.prepare(geom)
        self._tree = STRtree(self._geoms) if self._geoms else None

    @classmethod
    def from_geojson(cls, items: Sequence[tuple[str, dict[str, Any]]]) -> AreaLocator:
        """Build from (code, GeoJSON geometry) pairs."""
        return cls([AreaShape(code, shape(geom)) for code, geom in items])

    def __len__(self) -> int:
        return len(self._codes)

    def centre(self) -> tuple[float, float] | None:
        """The (lat, lon) centre of the territory's bounding box, where maps open; None without areas."""
        if not self._geoms:
            return None
        west, south, east, north = shapely.total_bounds(self._geoms)
        return round((south + north) / 2, 4), round((west + east) / 2, 4)

    def locate(self, lon: float, lat: float) -> str | None:
        """Code of the area that contains (lon, lat), or None outside the territory."""
        if self._tree is None:
            return None
        point = shapely.Point(lon, lat)
        # covers() keeps points that lie exactly on a shared border in one of the two areas.
        for idx in self._tree.query(point, predicate="intersects"):
            if self._geoms[int(idx)].covers(point):
                return self._codes[int(idx)]
        return None

    def locate_many(self, coords: Sequence[tuple[float, float]]) -> list[str | None]:
        """Vectorised locate for many points (one STRtree query)."""
        if self._tree is None or not coords:
            return [None] * len(coords)
        points = shapely.points(list(coords))
        found: list[str | None] = [None] * len(coords)
        point_idx, area_idx = self._tree.query(points, predicate="intersects")
        for p, a in zip(point_idx.tolist(), area_idx.tolist(), strict=True):
            if found[p] is None:
                found[p] = self._codes[a]
        return found
