"""Coverage: the share of population farther than X km from a public fast charger.

Method. Population is only known per commune, so each commune's population is spread evenly over its
surface: the commune polygon is projected to Lambert-93 (EPSG:2154, metres) and sampled on a regular
square grid sized for about `samples` points inside it (grid cell = sqrt(area / samples)); each sample
inside the polygon carries population / n. A commune too small or thin for any grid node to fall inside
is represented by its representative point (always inside). Each sample's distance to the nearest public
fast charger (power >= 50 kW, `condition_acces` "Accès libre") is taken from a shapely STRtree in
Lambert-93; the samples farther than the threshold make the uncovered population. This assumes an even
density inside each commune: it overstates the uncovered share of communes whose people live in a
valley next to a charger, and the fix (weighting by a population grid such as INSEE Filosofi tiles) only
changes the weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.strtree import STRtree

from territoria.domains.ev.indicators import is_fast, is_public
from territoria.domains.ev.model import ChargePoint

DEFAULT_DISTANCE_KM = 5.0
DEFAULT_SAMPLES = 64
_TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


@dataclass(frozen=True)
class CommuneShape:
    """A commune's population and WGS 84 GeoJSON geometry."""

    code: str
    name: str
    population: int | None
    geometry: dict[str, Any]


@dataclass(frozen=True)
class UncoveredCommune:
    """A commune with part of its population beyond the threshold."""

    code: str
    name: str
    population: int
    uncovered_population: float
    uncovered_share: float
    farthest_km: float | None  # the commune's worst sample: its distance to the nearest fast charger


@dataclass
class Coverage:
    """Result of a coverage computation."""

    distance_km: float
    fast_chargers: int
    population: int
    uncovered_population: float
    uncovered_share: float | None
    communes: list[UncoveredCommune] = field(default_factory=list)


def to_lambert93(geom: Any) -> Any:
    """A WGS 84 (lon, lat) shapely geometry projected to Lambert-93 metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_L93.transform(xy[:, 0], xy[:, 1])))


def sample_points(polygon: Any, samples: int = DEFAULT_SAMPLES) -> np.ndarray[Any, Any]:
    """About `samples` grid points inside a projected polygon, as an (n, 2) array (at least one)."""
    if polygon.is_empty or polygon.area <= 0:
        pt = polygon.representative_point() if not polygon.is_empty else None
        return np.empty((0, 2)) if pt is None else np.array([[pt.x, pt.y]])
    step = math.sqrt(polygon.area / samples)
    min_x, min_y, max_x, max_y = polygon.bounds
    # Cell centres, so a square polygon gets a symmetric grid.
    xs = np.arange(min_x + step / 2, max_x, step)
    ys = np.arange(min_y + step / 2, max_y, step)
    grid_x, grid_y = np.meshgrid(xs, ys)
    gx, gy = grid_x.ravel(), grid_y.ravel()
    inside = shapely.contains_xy(polygon, gx, gy)
    if not inside.any():
        pt = polygon.representative_point()
        return np.array([[pt.x, pt.y]])
    return np.column_stack([gx[inside], gy[inside]])


def fast_public_points(points: Iterable[ChargePoint]) -> list[tuple[float, float]]:
    """(lon, lat) of the public fast chargers that have coordinates."""
    return [
        (p.lon, p.lat)
        for p in points
        if p.lon is not None and p.lat is not None and is_fast(p) and is_public(p.access)
    ]


def coverage(
    points: Iterable[ChargePoint],
    communes: Sequence[CommuneShape],
    distance_km: float = DEFAULT_DISTANCE_KM,
    samples: int = DEFAULT_SAMPLES,
) -> Coverage:
    """Share of the population farther than `distance_km` from a public fast charger, per commune."""
    chargers = fast_public_points(points)
    tree = None
    if chargers:
        lon, lat = np.array(chargers).T
        x, y = _TO_L93.transform(lon, lat)
        tree = STRtree(shapely.points(np.column_stack([x, y])))
    limit_m = distance_km * 1000.0
    total = 0
    uncovered_total = 0.0
    listed: list[UncoveredCommune] = []
    for c in communes:
        pop = c.population or 0
        total += pop
        xy = sample_points(to_lambert93(shape(c.geometry)), samples)
        if len(xy) == 0:
            continue
        if tree is None:
            dist = np.full(len(xy), math.inf)
        else:
            _, dist = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
        far = dist > limit_m
        if not far.any():
            continue
        share = float(far.sum()) / len(xy)
        uncovered = pop * share
        uncovered_total += uncovered
        worst = float(dist.max())
        listed.append(
            UncoveredCommune(
                code=c.code,
                name=c.name,
                population=pop,
                uncovered_population=round(uncovered, 1),
                uncovered_share=round(share, 4),
                farthest_km=None if math.isinf(worst) else round(worst / 1000.0, 2),
            )
        )
    listed.sort(key=lambda u: (-u.uncovered_population, u.code))
    return Coverage(
        distance_km=distance_km,
        fast_chargers=len(chargers),
        population=total,
        uncovered_population=round(uncovered_total, 1),
        uncovered_share=round(uncovered_total / total, 4) if total else None,
        communes=listed,
    )
