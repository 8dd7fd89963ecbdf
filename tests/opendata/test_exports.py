"""Streamed exports: CSV (with and without BOM), JSON, GeoJSON and GeoParquet read back and checked."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
import shapely.geometry
from tests.opendata.factories import NICE, MadeRelease, file_release, make_release

from territoria.context import Context
from territoria.errors import Unparseable
from territoria.opendata.explore import QueryRejected, parse_request
from territoria.opendata.exports import FORMATS, Export, area_geometries, export_release
from territoria.territory.service import DEFAULT_GEOJSON, load_areas

AREAS: dict[str, dict[str, Any]] = {
    f["properties"]["code"]: f["geometry"] for f in json.loads(DEFAULT_GEOJSON.read_text())["features"]
}


@pytest.fixture(scope="module")
def area_rel(tmp_path_factory: pytest.TempPathFactory) -> MadeRelease:
    """The small area release, on a file."""
    return file_release(tmp_path_factory.mktemp("exports") / "area.parquet")


@pytest.fixture(scope="module")
def point_rel(tmp_path_factory: pytest.TempPathFactory) -> MadeRelease:
    """The small point release, on a file."""
    return file_release(
        tmp_path_factory.mktemp("exports") / "point.parquet", geometry="point", slug="stations"
    )


def run(rel: MadeRelease, fmt: str, batch_rows: int = 5, **params: Any) -> tuple[Export, bytes]:
    """Export in small batches (several chunks) and gather the bytes."""
    options = {k: params.pop(k) for k in ("bom", "limit") if k in params}
    export = export_release(
        rel.table, parse_request(**params), fmt, areas=AREAS, batch_rows=batch_rows, **options
    )
    return export, b"".join(export.chunks)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_streams_in_chunks(area_rel: MadeRelease, fmt: str) -> None:
    export = export_release(area_rel.table, parse_request(), fmt, areas=AREAS, batch_rows=4)
    assert len(list(export.chunks)) >= len(area_rel.rows) // 4  # a chunk per batch, not one whole body


def text(value: Any) -> str:
    """A value as the CSV export writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


@pytest.mark.parametrize("bom", [False, True])
def test_csv_round_trips(area_rel: MadeRelease, bom: bool) -> None:
    export, data = run(area_rel, "csv", bom=bom)
    assert export.media_type == FORMATS["csv"] == "text/csv; charset=utf-8"
    assert export.filename == "energy-open-v1.csv"
    assert export.disposition == 'attachment; filename="energy-open-v1.csv"'
    assert data.startswith(b"\xef\xbb\xbf") is bom
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == [c.name for c in area_rel.columns]
    assert len(rows) == len(area_rel.rows)
    for got, want in zip(rows, area_rel.rows, strict=True):
        assert set(got) == set(want)
        for name, value in want.items():
            if isinstance(value, float):
                assert float(got[name]) == pytest.approx(value)
            else:
                assert got[name] == text(value), name


def test_csv_with_filters_and_no_rows(area_rel: MadeRelease) -> None:
    _, data = run(
        area_rel,
        "csv",
        select="area_code, sum(energy_kwh_sum) as e",
        group_by="area_code",
        where="total = ''",
    )
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [r["area_code"] for r in rows] == sorted({r["area_code"] for r in area_rel.rows if r["area_code"]})
    _, empty = run(area_rel, "csv", batch_rows=5, where="area_code = 'nowhere'", select="area_code, period")
    assert empty.decode().splitlines() == ['"area_code","period"']


def test_json_parses(area_rel: MadeRelease) -> None:
    export, data = run(area_rel, "json")
    assert export.media_type == "application/json"
    rows = json.loads(data)
    assert len(rows) == len(area_rel.rows)
    assert rows[0] == {**area_rel.rows[0], "period": text(area_rel.rows[0]["period"])}
    _, data = run(area_rel, "json", batch_rows=3, limit=4, where="secret")
    assert [r["secret"] for r in json.loads(data)] == [True] * 4
    _, data = run(area_rel, "json", where="area_code = 'nowhere'")
    assert json.loads(data) == []


def test_geojson_area_release(area_rel: MadeRelease) -> None:
    export, data = run(area_rel, "geojson")
    assert export.media_type == "application/geo+json"
    doc = json.loads(data)
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == len(area_rel.rows)
    for feature, row in zip(doc["features"], area_rel.rows, strict=True):
        assert feature["type"] == "Feature"
        assert feature["properties"]["area_code"] == row["area_code"]
        if row["area_code"] is None:  # totals across areas have no place
            assert feature["geometry"] is None
        else:
            assert feature["geometry"] == AREAS[row["area_code"]]
            assert shapely.geometry.shape(feature["geometry"]).is_valid


def test_geojson_point_release(point_rel: MadeRelease) -> None:
    _, data = run(point_rel, "geojson", batch_rows=2)
    features = json.loads(data)["features"]
    assert len(features) == len(point_rel.rows)
    for feature, row in zip(features, point_rel.rows, strict=True):
        if row["lon"] is None:
            assert feature["geometry"] is None
        else:
            assert feature["geometry"] == {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
        assert feature["properties"]["sessions"] == row["sessions"]


def test_geojson_without_a_location_column_has_null_geometries(area_rel: MadeRelease) -> None:
    _, data = run(area_rel, "geojson", select="segment, count(*)", group_by="segment", batch_rows=1)
    assert [f["geometry"] for f in json.loads(data)["features"]] == [None, None, None]


def read_parquet(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def geo_of(data: bytes) -> dict[str, Any]:
    """The GeoParquet `geo` metadata, checked against the 1.1 essentials."""
    meta = pq.read_metadata(io.BytesIO(data)).metadata
    geo: dict[str, Any] = orjson.loads(meta[b"geo"])
    assert geo["version"] == "1.1.0"
    assert geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB"
    assert "crs" not in column  # OGC:CRS84 by default
    assert set(column["geometry_types"]) <= {"Point", "Polygon", "MultiPolygon"}
    return geo


def test_geoparquet_area_release(area_rel: MadeRelease) -> None:
    export, data = run(area_rel, "parquet")
    assert export.media_type == "application/vnd.apache.parquet"
    assert export.filename == "energy-open-v1.parquet"
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    table = read_parquet(data)
    assert table.column_names == [*(c.name for c in area_rel.columns), "geometry"]
    assert table.schema.field("geometry").type == pa.binary()  # plain WKB for every reader
    assert table.schema.field("period").type == pa.timestamp("us", tz="UTC")
    assert pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups > 1  # written batch by batch
    geo = geo_of(data)
    column = geo["columns"]["geometry"]
    assert column["geometry_types"] == sorted(
        {AREAS[c]["type"] for c in (r["area_code"] for r in area_rel.rows) if c}
    )
    west, south, east, north = column["bbox"]
    assert west < 7.0 < east and south < 43.6 < north
    for row, wkb in zip(table.to_pylist(), table.column("geometry").to_pylist(), strict=True):
        if row["area_code"] is None:
            assert wkb is None
        else:
            assert shapely.from_wkb(wkb).equals(shapely.geometry.shape(AREAS[row["area_code"]]))
    rows = table.drop_columns(["geometry"]).to_pylist()
    assert rows == area_rel.rows


def test_geoparquet_point_release(point_rel: MadeRelease) -> None:
    _, data = run(point_rel, "parquet", batch_rows=2)
    table = read_parquet(data)
    geo_of(data)
    column = geo_of(data)["columns"]["geometry"]
    assert column["geometry_types"] == ["Point"]
    assert column["bbox"] == [7.0128, 43.5513, 7.262, 43.703]
    for row, wkb in zip(point_rel.rows, table.column("geometry").to_pylist(), strict=True):
        if row["lon"] is None:
            assert wkb is None
        else:
            point = shapely.from_wkb(wkb)
            assert (point.geom_type, point.x, point.y) == ("Point", row["lon"], row["lat"])


def test_parquet_without_geometry_is_plain(tmp_path: Path) -> None:
    rel = file_release(tmp_path / "plain.parquet", geometry="")
    _, data = run(rel, "parquet", batch_rows=4)
    table = read_parquet(data)
    assert "geometry" not in table.column_names
    assert b"geo" not in (pq.read_metadata(io.BytesIO(data)).metadata or {})
    assert table.to_pylist() == rel.rows


def test_parquet_of_a_selection_without_location_is_plain(area_rel: MadeRelease) -> None:
    _, data = run(area_rel, "parquet", select="segment, period", where=f"area_code = '{NICE}'")
    table = read_parquet(data)
    assert table.column_names == ["segment", "period"] and table.num_rows == 8


def test_empty_parquet_is_valid(area_rel: MadeRelease) -> None:
    _, data = run(area_rel, "parquet", where="contributors < 0")
    assert read_parquet(data).num_rows == 0
    geo_of(data)


def test_query_errors_raise_before_any_byte(area_rel: MadeRelease) -> None:
    with pytest.raises(Unparseable):
        export_release(area_rel.table, parse_request(where="area_code ="), "csv")
    with pytest.raises(QueryRejected):
        export_release(area_rel.table, parse_request(select="sum(area_name)"), "parquet")


def test_area_geometries_come_from_the_territory(ctx: Context) -> None:
    with ctx.session(write=True) as s:
        load_areas(s, DEFAULT_GEOJSON)
    with ctx.session() as s:
        areas = area_geometries(s)
    assert len(areas) == len(AREAS) == 163
    assert shapely.geometry.shape(areas[NICE]).equals(shapely.geometry.shape(AREAS[NICE]))
    made = make_release(ctx)
    export = export_release(made.table, parse_request(), "geojson", areas=areas)
    features = json.loads(b"".join(export.chunks))["features"]
    assert sum(f["geometry"] is not None for f in features) == sum(
        r["area_code"] is not None for r in made.rows
    )


def test_a_client_leaving_early_ends_the_query(area_rel: MadeRelease) -> None:
    before = {t.name for t in threading.enumerate()}
    export = export_release(area_rel.table, parse_request(), "csv", batch_rows=2)
    chunks = iter(export.chunks)
    assert next(chunks).startswith(b'"area_code"')
    next(chunks)
    chunks.close()  # what the server does when the connection drops
    assert not [t for t in threading.enumerate() if t.name == "opendata-stream" and t.name not in before]
    again = export_release(area_rel.table, parse_request(), "json")
    assert len(json.loads(b"".join(again.chunks))) == len(area_rel.rows)
