"""Static EV indicators on a hand-computed fixture: classes on their bounds, densities, AFIR."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import World, sqlite_context
from tests.domains.ev.irve_factory import irve_csv

from territoria.app import create_app
from territoria.domains.ev.api import router
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.indicators import (
    AreaFacts,
    afir_ratios,
    by_commune,
    by_group,
    for_territory,
    is_fast,
    is_public,
    power_class,
)
from territoria.domains.ev.model import ChargePoint
from territoria.territory.groups import DEFAULT_EPCI, load_groups

A, B, C = "06001", "06002", "06003"
FREE, RESERVED = "Accès libre", "Accès réservé"
AREAS = [
    AreaFacts(A, "Alpha", population=200_000, area_km2=50.0),
    AreaFacts(B, "Beta", population=1_000, area_km2=10.0),
    AreaFacts(C, "Gamma", population=None, area_km2=None),
]


def cp(
    n: int, area: str | None, station: str, kw: float | None, impl: str | None, access: str | None
) -> ChargePoint:
    """A charge point with only what indicators read."""
    return ChargePoint(
        id_pdc=f"FRXXXE{n}",
        id_station=station,
        station_name=station,
        operator="op",
        owner="owner",
        owner_siren=None,
        lon=7.0,
        lat=43.7,
        insee_declared=area,
        area_code=area,
        power_kw=kw,
        implantation=impl,
        access=access,
    )


ROAD, PARK, FAST = "Voirie", "Parking public", "Station dédiée à la recharge rapide"
POINTS = [
    cp(1, A, "S1", 7.39, ROAD, FREE),  # [0, 7.4)
    cp(2, A, "S1", 7.4, ROAD, FREE),  # [7.4, 22]
    cp(3, A, "S2", 22.0, PARK, RESERVED),  # [7.4, 22]
    cp(4, A, "S2", 50.0, PARK, FREE),  # [50, 150)
    cp(5, A, "S3", 350.0, FAST, FREE),  # >= 350
    cp(6, B, "S4", 22.01, ROAD, RESERVED),  # (22, 50)
    cp(7, B, "S4", 149.99, ROAD, FREE),  # [50, 150)
    cp(8, B, "S5", 150.0, None, "accès libre"),  # [150, 350)
    cp(9, B, "S5", None, None, None),  # unknown power
    cp(10, None, "S6", 100.0, ROAD, FREE),  # outside the territory
]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        (0.0, "0-7.4"),
        (7.39, "0-7.4"),
        (7.4, "7.4-22"),
        (22.0, "7.4-22"),
        (22.0001, "22-50"),
        (49.99, "22-50"),
        (50.0, "50-150"),
        (149.99, "50-150"),
        (150.0, "150-350"),
        (349.99, "150-350"),
        (350.0, "350+"),
        (4000.0, "350+"),
        (None, "unknown"),
    ],
)
def test_power_class_bounds(kw: float | None, expected: str) -> None:
    assert power_class(kw) == expected


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        ("Accès libre", True),
        ("ACCES LIBRE", True),
        (" accès libre ", True),
        (RESERVED, False),
        (None, False),
        ("", False),
    ],
)
def test_public_access(access: str | None, expected: bool) -> None:
    assert is_public(access) is expected


def test_by_commune_hand_computed() -> None:
    rows = {r.code: r for r in by_commune(POINTS, AREAS)}
    assert list(rows) == [A, B, C]
    a, b, c = rows[A], rows[B], rows[C]
    assert (a.charge_points, a.stations, a.fast_chargers, a.public_charge_points) == (5, 3, 2, 4)
    assert a.installed_kw == pytest.approx(436.79)  # 7.39 + 7.4 + 22 + 50 + 350
    assert a.by_power_class == {
        "0-7.4": 1, "7.4-22": 2, "22-50": 0, "50-150": 1, "150-350": 0, "350+": 1, "unknown": 0,
    }  # fmt: skip
    assert a.by_implantation == {PARK: 2, FAST: 1, ROAD: 2}
    assert a.per_100k["charge_points"] == pytest.approx(2.5)  # 5 / 200,000 × 100,000
    assert a.per_100k["stations"] == pytest.approx(1.5)
    assert a.per_100k["installed_kw"] == pytest.approx(218.395)
    assert a.per_km2["charge_points"] == pytest.approx(0.1)  # 5 / 50
    assert a.per_km2["stations"] == pytest.approx(0.06)
    assert a.per_km2["installed_kw"] == pytest.approx(8.7358)

    assert (b.charge_points, b.stations, b.fast_chargers, b.public_charge_points) == (4, 2, 2, 2)
    assert b.installed_kw == pytest.approx(322.0)  # 22.01 + 149.99 + 150, the unknown power counts 0
    assert b.by_power_class == {
        "0-7.4": 0, "7.4-22": 0, "22-50": 1, "50-150": 1, "150-350": 1, "350+": 0, "unknown": 1,
    }  # fmt: skip
    assert b.by_implantation == {ROAD: 2, "unknown": 2}
    assert b.per_100k["charge_points"] == pytest.approx(400.0)
    assert b.per_km2["installed_kw"] == pytest.approx(32.2)

    assert (c.charge_points, c.stations, c.installed_kw) == (0, 0, 0.0)
    assert c.per_100k == {"charge_points": None, "stations": None, "installed_kw": None}
    assert c.per_km2["charge_points"] is None


def test_by_group_sums_member_communes() -> None:
    groups = [AreaFacts("G1", "Group 1", 200_100, 60.0), AreaFacts("G2", "Group 2", None, None)]
    rows = {r.code: r for r in by_group(POINTS, groups, {A: "G1", C: "G1", B: "G2"})}
    assert (rows["G1"].charge_points, rows["G1"].stations) == (5, 3)  # A's points; C has none
    assert rows["G1"].per_100k["charge_points"] == pytest.approx(5 / 200_100 * 100_000)
    assert (rows["G2"].charge_points, rows["G2"].per_100k["charge_points"]) == (4, None)


def test_territory_hand_computed() -> None:
    t = for_territory(POINTS, AREAS)
    assert (t.code, t.population, t.area_km2) == ("territory", 201_000, 60.0)
    assert (t.charge_points, t.stations, t.fast_chargers) == (9, 5, 4)  # point 10 is outside
    assert t.installed_kw == pytest.approx(758.79)
    assert t.per_100k["charge_points"] == pytest.approx(9 / 201_000 * 100_000)
    assert t.per_km2["stations"] == pytest.approx(5 / 60)
    assert sum(t.by_power_class.values()) == 9


def test_afir_hand_computed() -> None:
    ratios = afir_ratios(POINTS, {A: (100, 50), B: (0, 0), C: (10, 0)})
    a = ratios[A]
    assert a.required_kw == pytest.approx(170.0)  # 100 × 1.3 + 50 × 0.8
    assert a.installed_kw == pytest.approx(414.79)  # public only: 7.39 + 7.4 + 50 + 350
    assert a.ratio == pytest.approx(414.79 / 170.0)
    assert ratios[B].installed_kw == pytest.approx(299.99)  # 149.99 + 150
    assert ratios[B].ratio is None  # no vehicle registered
    assert (ratios[C].required_kw, ratios[C].installed_kw, ratios[C].ratio) == (13.0, 0.0, 0.0)


def test_epci_level_is_refused_while_not_loaded(tmp_path: Path) -> None:
    ctx = sqlite_context(tmp_path)
    app = create_app(context=ctx)
    app.include_router(router)
    with TestClient(app) as client:
        res = client.get("/api/v1/ev/indicators", params={"level": "epci"})
        assert res.status_code == 422
        assert "no EPCI areas are loaded" in res.text and "load-groups" in res.text
        assert client.get("/api/v1/ev/indicators", params={"level": "iris"}).status_code == 422
    ctx.engine.dispose()


def test_routes_on_imported_irve(world: World) -> None:
    body = {
        "slug": "irve",
        "title": "IRVE",
        "domain": "ev",
        "kind": "records",
        "schema": "irve-statique",
        "access": "open",
    }
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve/records", content=irve_csv(5, 2).encode(), headers=headers)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
    with world.ctx.session() as s:
        points = consolidate(s).points
    app = create_app(context=world.ctx)
    app.include_router(router)
    client = TestClient(app)  # no token: the indicators are public

    res = client.get("/api/v1/ev/indicators", params={"level": "commune"})
    assert res.status_code == 200, res.text
    rows = res.json()["rows"]
    assert len(rows) == 163
    located = [p for p in points if p.area_code]
    assert 0 < len(located) <= 10  # points outside the 06 communes are left out
    assert sum(row["charge_points"] for row in rows) == len(located)
    nice = next(row for row in rows if row["code"] == "06088")
    assert nice["charge_points"] == sum(1 for p in located if p.area_code == "06088")
    assert nice["per_100k"]["charge_points"] == pytest.approx(nice["charge_points"] / 348_085 * 100_000)

    with world.ctx.session(write=True) as s:
        load_groups(s, DEFAULT_EPCI)
    epcis = client.get("/api/v1/ev/indicators", params={"level": "epci"}).json()["rows"]
    assert len(epcis) == 7 and sum(row["charge_points"] for row in epcis) == len(located)
    metro = next(row for row in epcis if row["code"] == "200030195")  # Nice is in the Métropole
    assert metro["charge_points"] >= nice["charge_points"] and metro["population"] > 348_085

    [terr] = client.get("/api/v1/ev/indicators", params={"level": "territory"}).json()["rows"]
    stations = len({p.id_station for p in located})
    assert (terr["code"], terr["charge_points"], terr["stations"]) == ("territory", len(located), stations)
    assert terr["installed_kw"] == pytest.approx(sum(p.power_kw or 0 for p in located))

    cov = client.get("/api/v1/ev/coverage", params={"distance_km": 5}).json()
    assert cov["fast_chargers"] == sum(1 for p in points if is_fast(p) and is_public(p.access))
    assert 0 < cov["uncovered_share"] <= 1
    assert client.get("/api/v1/ev/coverage", params={"distance_km": 0}).status_code == 422
