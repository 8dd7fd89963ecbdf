"""Records datasets: rows checked against a Table Schema, upserted on the primary key, located."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import World

from territoria.ingest.files import import_file

SCHEMA = {
    "fields": [
        {"name": "id", "type": "string", "constraints": {"required": True}},
        {"name": "kind", "type": "string", "constraints": {"enum": ["glass", "paper"]}},
        {"name": "capacity_l", "type": "integer", "constraints": {"minimum": 100, "maximum": 5000}},
        {"name": "lon", "type": "number"},
        {"name": "lat", "type": "number"},
    ],
    "primaryKey": ["id"],
}


def create(world: World) -> None:
    body = {"slug": "bins", "title": "Recycling bins", "domain": "waste", "kind": "records", "schema": SCHEMA}
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code == 201, r.text


def test_records_rows_are_checked_and_upserted(world: World) -> None:
    create(world)
    rows = [
        {"id": "B1", "kind": "glass", "capacity_l": 2000, "lon": 7.2661, "lat": 43.6961},
        {"id": "B2", "kind": "metal", "capacity_l": 50, "lon": 7.0128, "lat": 43.5513},
        {"kind": "paper", "capacity_l": "big"},
        {"id": "B1", "kind": "paper", "capacity_l": 3000, "lon": 7.2661, "lat": 43.6961},
    ]
    r = world.client.post("/api/v1/datasets/bins/records", json=rows, headers=world.operator)
    assert r.status_code == 200, r.text
    body = r.json()
    # A primary key repeated within one file is refused as frictionless does: the repeat is UNIQUE.
    assert (body["received"], body["accepted"], body["rejected"]) == (4, 1, 3)
    codes = {(e["row"], e["code"]) for e in body["errors"]}
    assert {(2, "ENUM"), (2, "RANGE"), (3, "REQUIRED"), (3, "TYPE"), (4, "UNIQUE")} <= codes
    again = [{"id": "B1", "kind": "paper", "capacity_l": 3000, "lon": 7.2661, "lat": 43.6961}]
    r = world.client.post("/api/v1/datasets/bins/records", json=again, headers=world.operator)
    assert r.json()["accepted"] == 1  # across batches, the later row updates the record
    csv = "id,kind,capacity_l,lon,lat\nB3,paper,500,7.1256,43.5804\n"
    r = world.client.post(
        "/api/v1/datasets/bins/records", content=csv, headers={**world.operator, "content-type": "text/csv"}
    )
    assert r.json()["accepted"] == 1
    r = world.client.post("/api/v1/datasets/bins/measurements", json=[], headers=world.operator)
    assert r.status_code == 422


def test_geojson_file_of_records(world: World, tmp_path: Path) -> None:
    create(world)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [7.2661, 43.6961]},
                "properties": {"id": f"G{i}", "kind": "glass", "capacity_l": 1000},
            }
            for i in range(5)
        ],
    }
    path = tmp_path / "bins.geojson"
    path.write_text(json.dumps(doc))
    report = import_file(world.ctx, path, "bins")
    assert (report.accepted, report.rejected) == (5, 0)
    from sqlalchemy import select

    from territoria.ingest.models import Record

    with world.ctx.session() as s:
        codes = set(s.scalars(select(Record.area_code)))
    assert codes == {"06088"}


def test_rolled_back_batch_does_not_poison_the_id_cache(world: World) -> None:
    """Series created by a transaction that rolls back are not remembered for later batches."""
    from territoria.catalog.service import get_dataset
    from territoria.ingest.batches import Origin
    from territoria.ingest.service import ingest_measurements

    row = [(1, {"asset": "L005", "metric": "on", "ts": "2026-11-01T00:00:00Z", "value": 1})]

    class Boom(Exception):
        pass

    try:
        with world.ctx.session(write=True) as s:
            ingest_measurements(
                s, get_dataset(s, "lights"), row, Origin("http"), checksum="", future_tolerance_s=300
            )
            raise Boom
    except Boom:
        pass
    r = world.client.post("/api/v1/datasets/lights/measurements", json=[row[0][1]], headers=world.operator)
    assert r.json()["accepted"] == 1
    q = world.client.get("/api/v1/datasets/lights/measurements?asset=L005&metric=on", headers=world.operator)
    assert q.json()["count"] == 1


def test_foreign_key_to_another_dataset(world: World) -> None:
    create(world)
    schema = {
        "fields": [{"name": "id", "type": "string"}, {"name": "bin", "type": "string"}],
        "primaryKey": ["id"],
        "foreignKeys": [{"fields": ["bin"], "reference": {"resource": "bins", "fields": ["id"]}}],
    }
    body = {"slug": "pickups", "title": "Pick-ups", "domain": "waste", "kind": "records", "schema": schema}
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    bins = [{"id": "B1", "kind": "glass", "capacity_l": 2000}]
    world.client.post("/api/v1/datasets/bins/records", json=bins, headers=world.operator)
    rows = [{"id": "P1", "bin": "B1"}, {"id": "P2", "bin": "B9"}]
    r = world.client.post("/api/v1/datasets/pickups/records", json=rows, headers=world.operator)
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    assert r.json()["errors"][0]["code"] == "FOREIGN_KEY" and r.json()["errors"][0]["row"] == 2
