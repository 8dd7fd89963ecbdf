"""Coverage on synthetic squares built in Lambert-93, where the answer is known, and on the real communes."""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest
from pyproj import Transformer

from territoria.domains.ev.coverage import CommuneShape, coverage
from territoria.domains.ev.model import ChargePoint
from territoria.territory.service import DEFAULT_GEOJSON, DEFAULT_POPULATION

TO_WGS84 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
Y0 = 6_300_000.0  # near Nice in Lambert-93


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A WGS 84 GeoJSON polygon of a Lambert-93 rectangle."""
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return {"type": "Polygon", "coordinates": [[list(TO_WGS84.transform(x, y)) for x, y in ring]]}


def charger(n: int, x: float, y: float, kw: float, access: str = "Accès libre") -> ChargePoint:
    """A charge point at a Lambert-93 position."""
    lon, lat = TO_WGS84.transform(x, y)
    return ChargePoint(
        id_pdc=f"FRXXXE{n}",
        id_station=f"FRXXXP{n}",
        station_name="s",
        operator="op",
        owner="owner",
        owner_siren=None,
        lon=lon,
        lat=lat,
        insee_declared=None,
        area_code=None,
        power_kw=kw,
        implantation=None,
        access=access,
    )


# A: 4 km square around (1,040,000, Y0); B: 4 km square 20 km east of it.
ALPHA = CommuneShape("06001", "Alpha", 3000, box(1_038_000, Y0 - 2000, 1_042_000, Y0 + 2000))
BETA = CommuneShape("06002", "Beta", 1000, box(1_058_000, Y0 - 2000, 1_062_000, Y0 + 2000))
POINTS = [
    charger(1, 1_040_000, Y0, 50.0),  # public fast charger at Alpha's centre: all of Alpha within 2.83 km
    charger(2, 1_060_000, Y0, 150.0, "Accès réservé"),  # fast but reserved: ignored
    charger(3, 1_060_000, Y0, 49.99),  # public but not fast: ignored
    charger(4, 1_060_000, Y0, 300.0, access=""),  # unknown access: not public
]


def test_covered_and_uncovered_squares() -> None:
    result = coverage(POINTS, [ALPHA, BETA], distance_km=5)
    assert result.fast_chargers == 1
    assert result.population == 4000
    assert result.uncovered_population == pytest.approx(1000.0)
    assert result.uncovered_share == pytest.approx(0.25)  # 1000 / 4000
    [beta] = result.communes
    assert (beta.code, beta.uncovered_share, beta.uncovered_population) == ("06002", 1.0, 1000.0)
    # Beta's samples lie 18 to 22 km from Alpha's centre; the farthest is a corner cell centre.
    assert beta.farthest_km is not None
    assert 21.0 < beta.farthest_km < 22.1


def test_larger_distance_covers_everything() -> None:
    result = coverage(POINTS, [ALPHA, BETA], distance_km=25)
    assert result.uncovered_share == 0.0
    assert result.communes == []


def test_no_fast_charger_leaves_everyone_uncovered() -> None:
    result = coverage(POINTS[1:], [ALPHA, BETA])
    assert result.fast_chargers == 0
    assert result.uncovered_share == 1.0
    assert [c.code for c in result.communes] == ["06001", "06002"]  # by uncovered population
    assert result.communes[0].farthest_km is None


def test_partly_covered_strip() -> None:
    # A 20 km × 1 km strip with a charger at the middle of its west edge: about the western 5 km
    # (a quarter of the strip, less a sliver at the corners) lies within 5 km.
    strip = CommuneShape("06003", "Strip", 800, box(1_080_000, Y0 - 500, 1_100_000, Y0 + 500))
    result = coverage([charger(9, 1_080_000, Y0, 60.0)], [strip], distance_km=5, samples=400)
    [row] = result.communes
    assert row.uncovered_share == pytest.approx(0.75, abs=0.02)
    assert result.uncovered_population == pytest.approx(800 * row.uncovered_share, abs=0.1)


def test_real_communes_all_sampled() -> None:
    doc = json.loads(DEFAULT_GEOJSON.read_text(encoding="utf-8"))
    with DEFAULT_POPULATION.open(encoding="utf-8") as fh:
        pops = {r["code"]: int(r["population_2021"]) for r in csv.DictReader(fh)}
    communes = [
        CommuneShape(
            f["properties"]["code"], f["properties"]["nom"], pops.get(f["properties"]["code"]), f["geometry"]
        )
        for f in doc["features"]
    ]
    assert len(communes) == 163
    nobody = coverage([], communes)
    assert len(nobody.communes) == 163  # every commune, multipolygons included, yields samples
    assert nobody.uncovered_share == 1.0
    # A public fast charger in central Nice covers Nice's core but not the mountain communes.
    nice = coverage(
        [
            ChargePoint(
                "p", "s", "s", "o", "o", None, 7.2620, 43.7031, None, "06088", 150.0, None, "Accès libre"
            )
        ],
        communes,
    )
    by_code = {c.code: c for c in nice.communes}
    assert "06088" not in by_code or by_code["06088"].uncovered_share < 0.5
    assert by_code["06120"].uncovered_share == 1.0  # Saint-Étienne-de-Tinée, some 60 km north
    assert nice.uncovered_share is not None
    assert 0 < nice.uncovered_share < 1
