"""The IRVE data-defect checks, one by one on normalised charge points (pure, no database)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from territoria.domains.ev.checks import (
    CODES,
    check_id_inconsistent,
    check_insee_mismatch,
    check_lonlat_swapped,
    check_nbre_pdc_implausible,
    check_power_implausible,
    check_siren_invalid,
    in_france,
    run_checks,
)
from territoria.domains.ev.model import ChargePoint

NICE = ChargePoint(
    id_pdc="FRA68E060000",
    id_station="FRA68P0600",
    station_name="Masséna",
    operator="Op",
    owner="Ville",
    owner_siren="130025265",
    lon=7.262,
    lat=43.703,
    insee_declared="06088",
    area_code="06088",
    power_kw=22.0,
    implantation="Voirie",
    access="Accès libre",
    nbre_pdc=2,
)


def nice_only(lon: float, lat: float) -> str | None:
    """A toy locator: a box around Nice."""
    return "06088" if 7.1 < lon < 7.4 and 43.6 < lat < 43.8 else None


def test_clean_point_has_no_finding() -> None:
    assert run_checks([NICE], {"FRA68P0600": ["a", "b"]}, nice_only) == []


def test_lonlat_swapped_proposes_the_swapped_pair() -> None:
    swapped = replace(NICE, lon=43.703, lat=7.262, area_code=None)
    [f] = check_lonlat_swapped(swapped, nice_only)
    assert (f.code, f.field, f.proposed_fix) == (
        "LONLAT_SWAPPED",
        "coordonneesXY",
        {"coordonneesXY": [7.262, 43.703]},
    )
    assert "inversées" in f.message_fr or "permutées" in f.message_fr
    # without a locator, the France boxes still tell it; a point in Paris or abroad is left alone
    assert [f.code for f in check_lonlat_swapped(swapped)] == ["LONLAT_SWAPPED"]
    assert list(check_lonlat_swapped(replace(NICE, lon=2.35, lat=48.85, area_code=None), nice_only)) == []
    assert list(check_lonlat_swapped(replace(NICE, lon=-74.0, lat=40.7, area_code=None))) == []
    assert in_france(55.45, -20.9) and not in_france(-20.9, 55.45)  # La Réunion


def test_insee_mismatch_compares_with_the_located_commune() -> None:
    [f] = check_insee_mismatch(replace(NICE, insee_declared="06029"))
    assert f.proposed_fix == {"code_insee_commune": "06088"} and f.field == "code_insee_commune"
    assert list(check_insee_mismatch(replace(NICE, insee_declared="75001", area_code=None))) == []


@pytest.mark.parametrize(("siren", "bad"), [("130025265", False), ("130025266", True), (None, False)])
def test_siren_luhn(siren: str | None, bad: bool) -> None:
    assert bool(list(check_siren_invalid(replace(NICE, owner_siren=siren)))) is bad


@pytest.mark.parametrize(
    ("station", "pdc", "field"),
    [
        ("FRA68P68021001", "FRA68E680210015", None),
        ("ESZUNP395912133460086982", "ESZUNE1111ER7", None),  # the official example's second row
        ("FRA68X68021001", "FRA68E680210015", "id_station_itinerance"),
        ("FRA68P68021001", "FRA68P680210015", "id_pdc_itinerance"),
        ("FRA68P68021001", "FRB12E680210015", "id_pdc_itinerance"),
        ("FRA6", "FRA68E1", "id_station_itinerance"),
        ("Non concerné", "Non concerné", None),
    ],
)
def test_id_consistency(station: str, pdc: str, field: str | None) -> None:
    found = list(check_id_inconsistent(replace(NICE, id_station=station, id_pdc=pdc)))
    assert [(f.code, f.field) for f in found] == ([("ID_INCONSISTENT", field)] if field else [])


@pytest.mark.parametrize(
    ("kw", "fix"),
    [
        (22.0, "none"),
        (1.3, "none"),
        (4000.0, "none"),
        (22000.0, 22.0),
        (0.5, None),
        (5e6, None),
        (9000.0, 9.0),
    ],
)
def test_power(kw: float, fix: float | None | str) -> None:
    found = list(check_power_implausible(replace(NICE, power_kw=kw)))
    if fix == "none":
        assert found == []
    else:
        [f] = found
        assert f.code == "POWER_IMPLAUSIBLE"
        assert f.proposed_fix == (None if fix is None else {"puissance_nominale": fix})


def test_nbre_pdc() -> None:
    assert list(check_nbre_pdc_implausible(NICE, 2)) == []
    assert [f.proposed_fix for f in check_nbre_pdc_implausible(NICE, 3)] == [{"nbre_pdc": 3}]
    assert len(list(check_nbre_pdc_implausible(replace(NICE, nbre_pdc=0)))) == 1
    assert len(list(check_nbre_pdc_implausible(replace(NICE, nbre_pdc=101)))) == 1


def test_every_finding_is_bilingual_with_a_known_code() -> None:
    bad = replace(NICE, lon=43.703, lat=7.262, area_code=None, owner_siren="1", power_kw=0.1, nbre_pdc=0)
    found = run_checks([bad, replace(NICE, insee_declared="06004", id_pdc="FRA68P1")], None, nice_only)
    assert {f.code for f in found} == set(CODES)
    assert all(f.code in CODES and f.message_en and f.message_fr and f.id_pdc for f in found)


def test_run_checks_gives_what_each_check_gives_in_order() -> None:
    # run_checks skips the checks a point obviously passes: it must find exactly what calling each one
    # on each point finds, in the same order, defects alone and together, with and without stations.
    variants = [
        {},
        {"lon": 43.703, "lat": 7.262},  # swapped, inside France once swapped
        {"lon": -70.0, "lat": 40.0},  # abroad, swapped abroad too
        {"lon": None},
        {"insee_declared": "06029"},
        {"area_code": None},
        {"owner_siren": "130025266"},
        {"owner_siren": "12"},
        {"owner_siren": None},
        {"id_station": "FRA68X0600"},
        {"id_pdc": "FRA68X060000"},
        {"id_pdc": "FRA69E060000"},
        {"id_station": "Non concerné", "id_pdc": "whatever"},
        {"power_kw": 22000.0},
        {"power_kw": 0.5},
        {"power_kw": float("nan")},
        {"power_kw": None},
        {"nbre_pdc": 0},
        {"nbre_pdc": 150},
        {"nbre_pdc": 3},
        {"nbre_pdc": None},
        {
            "power_kw": 9e9,
            "nbre_pdc": 0,
            "owner_siren": "1",
            "insee_declared": "06029",
            "lon": 43.7,
            "lat": 7.2,
        },
    ]
    points = [
        replace(NICE, id_pdc=f"{NICE.id_pdc}{i}", **v) if "id_pdc" not in v else replace(NICE, **v)
        for i, v in enumerate(variants)
    ]
    for stations in (None, {}, {NICE.id_station: ["a", "b"]}, {NICE.id_station: ["a", "b", "c"]}):
        for locate in (None, nice_only):
            expected = []
            for cp in points:
                members = stations.get(cp.id_station) if stations else None
                seen = len(members) if members is not None else None
                expected += [
                    *check_lonlat_swapped(cp, locate),
                    *check_insee_mismatch(cp),
                    *check_siren_invalid(cp),
                    *check_id_inconsistent(cp),
                    *check_power_implausible(cp),
                    *check_nbre_pdc_implausible(cp, seen),
                ]
            got = run_checks(points, stations, locate)
            assert [(f.code, f.id_pdc, f.message_en) for f in got] == [
                (f.code, f.id_pdc, f.message_en) for f in expected
            ]
            assert {f.code for f in got} == set(CODES)  # every defect was there to find
