"""Location generalisation: points to the cells of the European INSPIRE grid (ETRS89-LAEA, EPSG:3035)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import Transformer


@lru_cache(maxsize=2)
def _transformers() -> tuple[Transformer, Transformer]:
    """WGS 84 ↔ ETRS89-LAEA, the projection of the INSPIRE grid (and of INSEE's gridded statistics)."""
    forward = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
    back = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    return forward, back


def grid_cells(lon: np.ndarray, lat: np.ndarray, size_m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """INSPIRE cell codes (e.g. CRS3035RES500mN2300000E4100000) and cell-centre lon/lat; NaN in, None out."""
    forward, back = _transformers()
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    x, y = forward.transform(lon, lat)
    east = np.floor(np.asarray(x) / size_m) * size_m
    north = np.floor(np.asarray(y) / size_m) * size_m
    centre_lon, centre_lat = back.transform(east + size_m / 2, north + size_m / 2)
    valid = np.isfinite(east) & np.isfinite(north)
    codes = np.array(
        [
            f"CRS3035RES{size_m}mN{int(n)}E{int(e)}" if ok else None
            for e, n, ok in zip(east, north, valid, strict=True)
        ],
        dtype=object,
    )
    centre_lon = np.where(valid, np.round(np.asarray(centre_lon), 6), np.nan)
    centre_lat = np.where(valid, np.round(np.asarray(centre_lat), 6), np.nan)
    return codes, centre_lon, centre_lat
