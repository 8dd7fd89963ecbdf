"""Consolidation of IRVE datasets imported through the normal records path, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from tests.conftest import World
from tests.domains.ev.irve_factory import COMMUNES, DEFECTS, irve_csv, irve_rows, pdc_id

from territoria.catalog.models import Dataset
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.irve_schema import irve_example
from territoria.domains.ev.samples import to_csv
from territoria.errors import Invalid, NotFound
from territoria.ingest.models import Batch


def load(world: World, slug: str, csv_text: str) -> None:
    """Create an IRVE static dataset (unless it exists) and import a CSV into it, all rows accepted."""
    body = {
        "slug": slug,
        "title": slug,
        "domain": "ev",
        "kind": "records",
        "schema": "irve-statique",
        "access": "open",
    }
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code in (201, 409), r.text
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post(f"/api/v1/datasets/{slug}/records", content=csv_text.encode(), headers=headers)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text


def set_received(world: World, slug: str, when: datetime) -> None:
    """Pretend every batch of a dataset arrived at `when`."""
    with world.ctx.session(write=True) as s:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.slug == slug))
        s.execute(update(Batch).where(Batch.dataset_id == ds_id).values(created_at=when))


def test_official_example_consolidates(world: World) -> None:
    load(world, "irve", irve_example("statique"))
    with world.ctx.session() as s:
        out = consolidate(s)
    assert [p.id_pdc for p in out.points] == ["ESZUNE1111ER7", "FRA68E680210015"]
    cp = out.points[1]
    assert (cp.id_station, cp.power_kw, cp.nbre_pdc, cp.insee_declared) == (
        "FRA68P68021001",
        22.0,
        10,
        "75001",
    )
    assert (cp.lon, cp.lat, cp.area_code) == (7.487105, 48.345345, None)  # in France, outside the territory
    assert cp.connectors == ("ef", "type_2") and str(cp.commissioned) == "2020-01-14"
    assert [(p.dataset, p.received_at is not None) for p in cp.sources] == [("irve", True)]
    assert out.stations == {
        "ESZUNP395912133460086982": ["ESZUNE1111ER7"],
        "FRA68P68021001": ["FRA68E680210015"],
    }
    assert out.conflicts == []
    # both rows declare 10 charge points for a station of which the file holds one
    assert {(f.code, f.id_pdc) for f in out.findings} == {
        ("NBRE_PDC_IMPLAUSIBLE", "ESZUNE1111ER7"),
        ("NBRE_PDC_IMPLAUSIBLE", "FRA68E680210015"),
    }


def test_generated_defects_are_flagged_with_their_codes_only(world: World) -> None:
    defects = {code: 2 * i + 1 for i, code in enumerate(sorted(DEFECTS))}  # one per station, 2nd point
    rows = irve_rows(stations=len(DEFECTS) + 2, per_station=2, defects=defects)
    load(world, "irve-06", to_csv(rows))
    with world.ctx.session() as s:
        out = consolidate(s)
    assert len(out.points) == len(rows) and out.conflicts == []
    expected = {(code, rows[i]["id_pdc_itinerance"]) for code, i in defects.items()}
    assert {(f.code, f.id_pdc) for f in out.findings} == expected
    by_code = {f.code: f for f in out.findings}
    assert by_code["POWER_IMPLAUSIBLE"].proposed_fix == {"puissance_nominale": 22.0}
    swapped = next(p for p in out.points if p.id_pdc == rows[defects["LONLAT_SWAPPED"]]["id_pdc_itinerance"])
    assert swapped.area_code is None
    assert by_code["LONLAT_SWAPPED"].proposed_fix == {"coordonneesXY": [swapped.lat, swapped.lon]}
    # clean points are located in the commune they declare
    clean = [p for p in out.points if p.id_pdc.endswith("0")]
    assert all(p.area_code == p.insee_declared for p in clean), [
        (p.area_code, p.insee_declared) for p in clean
    ]
    assert {p.area_code for p in clean} == {c for c, _, _ in COMMUNES.values()}
    assert len(out.stations) == len(DEFECTS) + 2 and all(len(v) == 2 for v in out.stations.values())


def test_sources_disagreeing_on_power_give_one_conflict_and_the_latest_wins(world: World) -> None:
    rows = irve_rows(stations=2, per_station=2)
    load(world, "irve-a", to_csv(rows))
    rows[1]["puissance_nominale"] = "50"
    load(world, "irve-b", to_csv(rows))
    early, late = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    target = pdc_id(0, 1)
    for older, newer, chosen in [("irve-a", "irve-b", 50.0), ("irve-b", "irve-a", 22.0)]:
        set_received(world, older, early)
        set_received(world, newer, late)
        with world.ctx.session() as s:
            out = consolidate(s)
        [conflict] = out.conflicts
        assert (conflict.id_pdc, conflict.field, conflict.chosen) == (target, "puissance_nominale", chosen)
        said = {(v.source.dataset, v.value, v.source.received_at) for v in conflict.values}
        assert said == {
            ("irve-a", 22.0, early if older == "irve-a" else late),
            ("irve-b", 50.0, early if older == "irve-b" else late),
        }
        assert [v.source.dataset for v in conflict.values] == [older, newer]  # oldest first
        point = next(p for p in out.points if p.id_pdc == target)
        assert point.power_kw == chosen
        assert [p.dataset for p in point.sources] == [older, newer]
        assert all(p.record_key for p in point.sources)
        assert len(out.points) == 4 and out.findings == []


def test_named_datasets_only(world: World) -> None:
    load(world, "irve-a", irve_csv(stations=1, per_station=2))
    load(world, "irve-b", irve_csv(stations=2, per_station=2))
    with world.ctx.session() as s:
        assert len(consolidate(s, ["irve-a"]).points) == 2
        assert len(consolidate(s).points) == 4
        with pytest.raises(NotFound):
            consolidate(s, ["lights"])  # a time-series dataset is no IRVE source
        with pytest.raises(NotFound):
            consolidate(s, ["nope"])
    body = {"slug": "other", "title": "o", "domain": "x", "kind": "records", "schema": "irve-dynamique"}
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    with world.ctx.session() as s, pytest.raises(Invalid):
        consolidate(s, ["other"])
