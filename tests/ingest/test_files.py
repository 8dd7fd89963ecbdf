"""File import: streamed, chunked into batches, resumable, encoding errors quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.conftest import World
from typer.testing import CliRunner

from territoria.context import Context
from territoria.errors import Invalid, Unparseable
from territoria.ingest.files import import_file
from territoria.ingest.models import Batch
from territoria.timeseries.models import measurement


def stored(ctx: Context) -> int:
    with ctx.session() as s:
        return int(s.scalar(select(func.count()).select_from(measurement)) or 0)


def write_csv(path: Path, n: int, bad_bytes: bool = False) -> None:
    with path.open("wb") as fh:
        fh.write(b"asset,metric,ts,value\n")
        for i in range(n):
            fh.write(
                f"L{i % 20:03d},power,2026-11-01T{(i // 20) // 60:02d}:{(i // 20) % 60:02d}:00Z,{i % 400}\n".encode()
            )
        if bad_bytes:
            fh.write(b"L\xe9\xe9,power,2026-11-01T00:00:00Z,1\n")


def test_csv_import_in_chunks_and_resumable(world: World, tmp_path: Path) -> None:
    path = tmp_path / "readings.csv"
    write_csv(path, 5000, bad_bytes=True)
    progress: list[tuple[int, int]] = []
    report = import_file(
        world.ctx, path, "lights", chunk_rows=1000, on_progress=lambda b, r: progress.append((b, r))
    )
    assert (report.received, report.accepted, report.rejected) == (5001, 5000, 1)
    assert len(report.batches) == 6 and progress[-1][1] == 5001
    assert report.sample_errors[0]["code"] == "ENCODING"
    assert stored(world.ctx) == 5000
    again = import_file(world.ctx, path, "lights", chunk_rows=1000)
    assert again.skipped_batches == 6 and stored(world.ctx) == 5000
    with world.ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch).where(Batch.source == "file")) == 6


def test_ndjson_json_and_geojson_files(world: World, tmp_path: Path) -> None:
    rows = [
        {"asset": "L001", "metric": "on", "ts": f"2026-11-02T00:{m:02d}:00Z", "value": 1} for m in range(30)
    ]
    nd = tmp_path / "a.ndjson"
    nd.write_text("\n".join(json.dumps(r) for r in rows) + "\n{oops\n")
    r = import_file(world.ctx, nd, "lights")
    assert (r.accepted, r.rejected) == (30, 1)
    js = tmp_path / "b.json"
    js.write_text(json.dumps([{**x, "metric": "power"} for x in rows]))
    assert import_file(world.ctx, js, "lights").accepted == 30
    broken = tmp_path / "c.json"
    broken.write_text('[{"asset": "L001"}, {')
    with pytest.raises(Unparseable):
        import_file(world.ctx, broken, "lights")
    header = tmp_path / "d.csv"
    header.write_text("asset;ts;value\n")
    with pytest.raises(Invalid, match="metric"):
        import_file(world.ctx, header, "lights")


def test_import_command_prints_totals(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from territoria.cli.main import app

    path = tmp_path / "readings.csv"
    write_csv(path, 300)
    monkeypatch.setenv(
        "TERRITORIA_DATABASE_URL", str(world.ctx.engine.url.render_as_string(hide_password=False))
    )
    result = CliRunner().invoke(app, ["import", str(path), "--dataset", "lights"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["accepted"] == 300
    result = CliRunner().invoke(app, ["import", str(path), "--dataset", "nope"])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_geojson_of_a_timeseries_dataset_registers_its_assets(world: World, tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "NEW-1",
                "geometry": {"type": "Point", "coordinates": [7.0128, 43.5513]},
                "properties": {"kind": "light", "power_rating_w": 70},
            },
            {
                "type": "Feature",
                "id": "NEW-2",
                "geometry": {"type": "Point", "coordinates": [700, 43.5]},
                "properties": {},
            },
            {
                "type": "Feature",
                "properties": {"name": "no id"},
                "geometry": {"type": "Point", "coordinates": [7, 43.6]},
            },
        ],
    }
    path = tmp_path / "lights.geojson"
    path.write_text(json.dumps(doc))
    report = import_file(world.ctx, path, "lights")
    assert (report.target, report.received, report.accepted, report.rejected) == ("assets", 3, 1, 2)
    assert {e["row"] for e in report.sample_errors} == {2, 3}
    r = world.client.get("/api/v1/datasets/lights/assets?area=06029", headers=world.operator)
    assert [a["id"] for a in r.json()] == ["NEW-1"] and r.json()[0]["properties"]["power_rating_w"] == 70


def deep_text(depth: int) -> str:
    """JSON text of an object nested `depth` levels."""
    return '{"a":' * depth + "1" + "}" * depth


def test_a_deep_row_in_a_file_is_quarantined_and_the_rest_stored(world: World, tmp_path: Path) -> None:
    """Issue 13: a row nested 300 levels crashed `territoria import`; now it is one quarantined row."""
    good = [
        {"asset": "L001", "metric": "power", "ts": f"2026-11-03T00:{m:02d}:00Z", "value": 1} for m in range(5)
    ]
    deep = (
        '{"asset": "L002", "metric": "power", "ts": "2026-11-03T00:00:00Z", "value": ' + deep_text(300) + "}"
    )
    js = tmp_path / "deep.json"
    js.write_text("[" + ",".join([*(json.dumps(g) for g in good), deep]) + "]")
    report = import_file(world.ctx, js, "lights")
    assert (report.received, report.accepted, report.rejected) == (6, 5, 1)
    assert report.sample_errors[0]["code"] == "PARSE"
    nd = tmp_path / "deep.ndjson"
    nd.write_text(deep + "\n" + json.dumps({**good[0], "asset": "L003"}) + "\n")
    report = import_file(world.ctx, nd, "lights")
    assert (report.accepted, report.rejected) == (1, 1)
    # Deeper than any row may be and than the streaming parser survives: refused, not killed.
    abyss = tmp_path / "abyss.json"
    abyss.write_text("[" + "[" * 200_000 + "]" * 200_000 + "]")
    with pytest.raises(Unparseable, match="deeper than"):
        import_file(world.ctx, abyss, "lights")


def test_import_command_quarantines_a_deep_row(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from territoria.cli.main import app

    path = tmp_path / "deep.ndjson"
    row = {"asset": "L004", "metric": "power", "ts": "2026-11-04T00:00:00Z", "value": 3}
    deep = (
        '{"asset": "L004", "metric": "power", "ts": "2026-11-04T00:15:00Z", "value": ' + deep_text(400) + "}"
    )
    path.write_text(json.dumps(row) + "\n" + deep + "\n")
    monkeypatch.setenv(
        "TERRITORIA_DATABASE_URL", str(world.ctx.engine.url.render_as_string(hide_password=False))
    )
    result = CliRunner().invoke(app, ["import", str(path), "--dataset", "lights"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "batches": 1,
        "received": 2,
        "accepted": 1,
        "rejected": 1,
    }
    result = CliRunner().invoke(app, ["import", str(path), "--dataset", "lights", "--encoding", "rot13"])
    assert result.exit_code == 1 and "charset" in result.output


def test_single_feature_geojson_file_and_other_objects(world: World, tmp_path: Path) -> None:
    feature = {
        "type": "Feature",
        "id": "SOLO",
        "geometry": {"type": "Point", "coordinates": [7.27, 43.70]},
        "properties": {"kind": "light"},
    }
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps(feature))
    report = import_file(world.ctx, path, "lights")
    assert report.target == "assets" and (report.received, report.accepted) == (1, 1)
    path.write_text(json.dumps({"type": "GeometryCollection", "geometries": []}))
    with pytest.raises(Invalid, match="FeatureCollection"):
        import_file(world.ctx, path, "lights")
