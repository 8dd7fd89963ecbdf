"""IRVE out of the box: official examples pass; on generated files with every fault, the row verdicts
equal those of `frictionless validate` with the same schema."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from frictionless import Resource, Schema
from tests.conftest import World

from territoria.domains.ev.irve_schema import irve_example, irve_schema, irve_static_schema
from territoria.domains.ev.samples import FAULTS, irve_static_rows, to_columns, to_csv
from territoria.validation.tableschema import CompiledSchema

CODES = {
    "type_integer": "TYPE",
    "type_number": "TYPE",
    "required": "REQUIRED",
    "enum": "ENUM",
    "pattern_siren": "PATTERN",
    "pattern_id": "PATTERN",
    "range": "RANGE",
    "date_calendar": "TYPE",
    "date_format": "TYPE",
    "boolean": "TYPE",
    "geopoint_range": "TYPE",
    "geopoint_shape": "TYPE",
    "geopoint_text": "TYPE",
    "email": "TYPE",
}


@pytest.mark.parametrize("kind", ["statique", "dynamique"])
def test_official_examples_pass(kind: str) -> None:
    rows = list(csv.DictReader(io.StringIO(irve_example(kind))))  # type: ignore[arg-type]
    report = CompiledSchema(irve_schema(kind)).validate(to_columns(rows))  # type: ignore[arg-type]
    assert report.rows == 2 and report.findings == []


def frictionless_invalid_rows(path: Path, schema: dict) -> set[int]:
    resource = Resource(path.name, basepath=str(path.parent), schema=Schema.from_descriptor(schema))
    report = resource.validate(limit_errors=10**9)
    errors = report.tasks[0].errors
    assert all(getattr(e, "row_number", None) for e in errors), [e.message for e in errors][:3]
    return {e.row_number - 1 for e in errors}  # frictionless counts the header as row 1


@pytest.mark.parametrize("primary_key", [False, True])
def test_verdicts_equal_frictionless_row_by_row(tmp_path: Path, primary_key: bool) -> None:
    schema = irve_static_schema()
    if primary_key:
        schema["primaryKey"] = ["id_pdc_itinerance"]
    rows = irve_static_rows(2000, seed=3, fault_rate=0.15, duplicates=30)
    path = tmp_path / "irve.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    report = CompiledSchema(schema).validate(to_columns(rows))
    theirs = frictionless_invalid_rows(path, schema)
    for n in range(1, len(rows) + 1):
        assert bool(report.invalid[n - 1]) == (n in theirs), (n, rows[n - 1])
    assert 200 < len(theirs) < 600
    if primary_key:
        assert any(f.code == "UNIQUE" for f in report.findings)


def test_every_fault_is_found_with_its_code_and_field() -> None:
    base = irve_static_rows(1)[0]
    rows = []
    for kind in sorted(FAULTS):
        row = dict(base)
        field, value = FAULTS[kind]
        row[field] = value
        rows.append(row)
    report = CompiledSchema(irve_static_schema()).validate(to_columns(rows))
    for n, kind in enumerate(sorted(FAULTS), start=1):
        found = {(f.code, f.field) for f in report.findings if f.row == n}
        assert found == {(CODES[kind], FAULTS[kind][0])}, (kind, found)


def test_irve_dataset_quarantines_with_schema_names(world: World) -> None:
    body = {
        "slug": "irve",
        "title": "IRVE",
        "domain": "ev",
        "kind": "records",
        "schema": irve_static_schema(),
    }
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code == 201, r.text
    rows = irve_static_rows(20, seed=1)
    rows[3]["puissance_nominale"] = "-1"
    rows[3]["date_maj"] = "2021-13-01"
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve/records", content=to_csv(rows).encode(), headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["received"], out["accepted"], out["rejected"]) == (20, 19, 1)
    assert {(e["row"], e["field"], e["code"]) for e in out["errors"]} == {
        (4, "puissance_nominale", "RANGE"),
        (4, "date_maj", "TYPE"),
    }
    assert "puissance_nominale: '-1' is below minimum 0" in {e["message"] for e in out["errors"]}
    bad_header = to_csv(rows).replace("nom_station", "station", 1).replace("observations", "obs", 1)
    r = world.client.post("/api/v1/datasets/irve/records", content=bad_header.encode(), headers=headers)
    assert r.status_code in (400, 422), r.text
    text = r.text
    assert "missing column(s): nom_station, observations" in text
    assert "unexpected column(s): station, obs" in text


def test_irve_schema_attached_by_name(world) -> None:  # type: ignore[no-untyped-def]
    """A dataset takes the national IRVE schema by name; the official example passes."""
    from territoria.domains.ev.irve_schema import irve_example

    body = {
        "slug": "irve",
        "title": "IRVE",
        "domain": "ev-charging",
        "kind": "records",
        "schema": "irve-statique",
    }
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code == 201, r.text
    assert r.json()["schema"]["fields"][0]["name"] == "nom_amenageur"
    r = world.client.post(
        "/api/v1/datasets/irve/records",
        content=irve_example("statique").encode(),
        headers={**world.operator, "content-type": "text/csv"},
    )
    assert r.json()["rejected"] == 0 and r.json()["accepted"] >= 1
    bad = {**body, "slug": "irve2", "schema": "irve-v9"}
    r = world.client.post("/api/v1/datasets", json=bad, headers=world.operator)
    assert r.status_code == 422 and "irve-statique" in r.text
