"""The public open-data API: list, release, Table Schema, explore records and streamed exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.conftest import World
from tests.opendata.factories import ANTIBES, NICE, MadeRelease, make_release

from territoria.opendata.api import router

API = "/api/v1/opendata"


def with_router(app: FastAPI) -> FastAPI:
    """The app with the open-data router (added here until the app factory includes it)."""
    if not any(getattr(r, "path", "") == f"{API}/{{slug}}/records" for r in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
def client(world: World) -> TestClient:
    """An anonymous client of the world's app, open-data routes included."""
    return TestClient(with_router(world.client.app))  # type: ignore[arg-type]


@pytest.fixture
def rel(world: World) -> MadeRelease:
    """A published area release of 'energy-open'."""
    return make_release(world.ctx)


def problem(response: Any, status: int) -> dict[str, Any]:
    """The problem+json body of an error answer."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_list_shows_released_datasets_only(world: World, client: TestClient) -> None:
    assert client.get(API).json() == []
    make_release(world.ctx, slug="failed-one", status="failed")
    make_release(world.ctx, version=1)
    make_release(world.ctx, version=2)
    listed = client.get(API).json()
    assert [d["slug"] for d in listed] == ["energy-open"]
    entry = listed[0]
    assert entry["version"] == 2
    assert entry["title"] == "Open energy-open" and entry["publisher"] == "City"
    assert entry["licence"] == "etalab-2.0" and entry["domain"] == "electricity"
    assert entry["rows"] == 28
    assert entry["coverage"] == {"start": "2024-01-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}
    assert entry["released_at"]
    assert entry["links"]["records"] == f"{API}/energy-open/records"
    assert entry["links"]["exports"]["parquet"] == f"{API}/energy-open/exports/parquet"
    assert entry["links"]["schema"] == f"{API}/energy-open/schema.json"
    assert entry["links"]["catalogue"] == "/opendata/catalog.jsonld"


def test_release_detail(client: TestClient, rel: MadeRelease) -> None:
    body = client.get(f"{API}/energy-open").json()
    assert body["slug"] == "energy-open" and body["version"] == 1 and body["geometry"] == "area"
    assert body["keywords"] == ["energy"]
    assert [c["name"] for c in body["columns"]] == [c.name for c in rel.columns]
    assert body["columns"][6] == {
        "name": "energy_kwh_sum",
        "type": "number",
        "role": "measure",
        "title": {"en": "Energy", "fr": "Énergie"},
        "unit": "kWh",
    }
    assert body["report"] == {"k": 3, "suppressed": 4}
    assert body["changelog"] == {"added": 28, "removed": 0}
    assert len(body["sha256"]) == 64


def test_404_without_a_release(world: World, client: TestClient) -> None:
    make_release(world.ctx, slug="failed-one", status="failed")
    for path in (
        "/lights",
        "/nope",
        "/lights/records",
        "/nope/schema.json",
        "/lights/exports/csv",
        "/failed-one",
    ):
        body = problem(client.get(API + path), 404)
        assert "GET /api/v1/opendata" in body["detail"]


def test_table_schema(client: TestClient, rel: MadeRelease) -> None:
    schema = client.get(f"{API}/energy-open/schema.json").json()
    fields = {f["name"]: f for f in schema["fields"]}
    assert list(fields) == [c.name for c in rel.columns]
    assert fields["energy_kwh_sum"]["type"] == "number" and fields["energy_kwh_sum"]["unit"] == "kWh"
    assert fields["energy_kwh_sum"]["title"] == "Energy"
    assert "Énergie" in fields["energy_kwh_sum"]["description"]
    assert fields["period"]["type"] == "datetime" and "unit" not in fields["period"]
    assert schema["missingValues"] == [""]


def test_records_default_page(client: TestClient, rel: MadeRelease) -> None:
    body = client.get(f"{API}/energy-open/records").json()
    assert body["dataset"] == "energy-open" and body["version"] == 1
    assert body["total_count"] == len(rel.rows) == len(body["results"])
    assert body["results"][0]["period"] == "2024-01-01T00:00:00Z"
    assert body["results"][0]["area_code"] == NICE


def test_records_query(client: TestClient, rel: MadeRelease) -> None:
    params = {
        "select": "area_code, month(period) as month, sum(energy_kwh_sum) as energy",
        "where": f"area_code in ('{NICE}', '{ANTIBES}') and period >= '2024-02'",
        "group_by": "area_code, month",
        "order_by": "energy desc",
        "limit": "2",
        "offset": "1",
    }
    body = client.get(f"{API}/energy-open/records", params=params).json()
    assert body["total_count"] == 6  # two communes × three months
    expected = {}
    for r in rel.rows:
        if r["area_code"] in (NICE, ANTIBES) and r["period"].month >= 2:
            key = (r["area_code"], r["period"].strftime("%Y-%m-%dT%H:%M:%SZ"))
            expected[key] = expected.get(key, 0.0) + (r["energy_kwh_sum"] or 0.0)
    ranked = sorted(expected.items(), key=lambda kv: -kv[1])[1:3]
    assert [(r["area_code"], r["month"], r["energy"]) for r in body["results"]] == [
        (*k, v) for k, v in ranked
    ]


def test_syntax_error_is_400_with_its_position(client: TestClient, rel: MadeRelease) -> None:
    body = problem(client.get(f"{API}/energy-open/records", params={"where": "area_code = "}), 400)
    assert body["detail"] == "where: expected a value after '=', found the end at position 13"
    assert body["errors"] == [{"field": "where", "position": 13, "code": "SYNTAX", "message": body["detail"]}]


def test_query_errors_are_400(client: TestClient, rel: MadeRelease) -> None:
    for params, code in (
        ({"where": "nope = 1"}, "UNKNOWN_COLUMN"),
        ({"select": "sum(area_name)"}, "TYPE"),
        ({"select": "area_code, count(*)"}, "GROUP_BY"),
        ({"where": "x = 'y' or " * 200}, "TOO_LONG"),
    ):
        body = problem(client.get(f"{API}/energy-open/records", params=params), 400)
        assert body["errors"][0]["code"] == code


def test_bad_pages_are_422(client: TestClient, rel: MadeRelease) -> None:
    for params in (
        {"limit": "10001"},
        {"limit": "-1"},
        {"offset": "-1"},
        {"offset": "1000001"},
        {"limit": "lots"},
    ):
        problem(client.get(f"{API}/energy-open/records", params=params), 422)


def test_limit_is_bounded_by_the_setting(world: World, client: TestClient, rel: MadeRelease) -> None:
    assert client.get(f"{API}/energy-open/records", params={"limit": "10000"}).status_code == 200
    world.ctx.settings.explore_max_limit = 5
    body = problem(client.get(f"{API}/energy-open/records", params={"limit": "6"}), 422)
    assert "between 0 and 5" in body["detail"]


WEIRD = [
    "1; DROP TABLE x",
    "' OR 1=1 --",
    "area_code = 'x'') or 1=1 --'",
    "\x00",
    "é' ☃",
    "((((((((((((((((((((((((((((((((((((((((",
    "not " * 300 + "secret",
    "period > '9999-12-31T23:59:59.999999Z'",
    "period < '0001-01-01'",
    "contributors > 1e308 or contributors < -1e308",
    "energy_kwh_sum = 1e999",
    "year(period) = 0",
    "area_code like '%%%%_\\'",
    "count(*",
    ")",
]


def test_weird_input_is_never_a_server_error(client: TestClient, rel: MadeRelease) -> None:
    for param in ("select", "where", "group_by", "order_by"):
        for value in WEIRD:
            response = client.get(f"{API}/energy-open/records", params={param: value})
            assert response.status_code in (200, 400, 422), (param, value, response.text)
            export = client.get(f"{API}/energy-open/exports/json", params={param: value})
            assert export.status_code in (200, 400, 422), (param, value, export.text)


def test_injection_in_a_literal_is_a_harmless_comparison(client: TestClient, rel: MadeRelease) -> None:
    response = client.get(f"{API}/energy-open/records", params={"where": "area_code = 'x'') or 1=1 --'"})
    assert response.json()["total_count"] == 0 and response.json()["results"] == []


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}


def test_exports(client: TestClient, rel: MadeRelease) -> None:
    for fmt, media_type in MEDIA_TYPES.items():
        check_export(client, rel, fmt, media_type)


def check_export(client: TestClient, rel: MadeRelease, fmt: str, media_type: str) -> None:
    """One format of the full release."""
    response = client.get(f"{API}/energy-open/exports/{fmt}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["content-disposition"] == f'attachment; filename="energy-open-v1.{fmt}"'
    if fmt == "csv":
        assert len(list(csv.DictReader(io.StringIO(response.text)))) == len(rel.rows)
    elif fmt == "json":
        assert len(response.json()) == len(rel.rows)
    elif fmt == "geojson":
        features = response.json()["features"]
        assert sum(f["geometry"] is not None for f in features) == 24  # polygons from the territory
    else:
        table = pq.read_table(io.BytesIO(response.content))
        assert table.num_rows == len(rel.rows)
        assert (
            json.loads(pq.read_metadata(io.BytesIO(response.content)).metadata[b"geo"])["version"] == "1.1.0"
        )


def test_export_with_a_query_and_a_bom(client: TestClient, rel: MadeRelease) -> None:
    params = {
        "select": "area_code, count(*) as n",
        "group_by": "area_code",
        "where": "not secret",
        "bom": "true",
    }
    response = client.get(f"{API}/energy-open/exports/csv", params=params)
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["area_code"] for r in rows] == ["06004", "06029", "06088", ""]
    response = client.get(
        f"{API}/energy-open/exports/json", params={"limit": "3", "order_by": "contributors desc"}
    )
    assert [r["contributors"] for r in response.json()] == sorted(
        (r["contributors"] for r in rel.rows), reverse=True
    )[:3]


def test_export_errors(client: TestClient, rel: MadeRelease) -> None:
    body = problem(client.get(f"{API}/energy-open/exports/csv", params={"where": "area_code = "}), 400)
    assert body["errors"][0]["position"] == 13
    problem(client.get(f"{API}/energy-open/exports/xlsx"), 422)
    problem(client.get(f"{API}/energy-open/exports/csv", params={"limit": "0"}), 422)


def test_point_release_geojson(world: World, client: TestClient) -> None:
    made = make_release(world.ctx, slug="stations", geometry="point")
    features = client.get(f"{API}/stations/exports/geojson").json()["features"]
    assert [f["geometry"]["coordinates"] if f["geometry"] else None for f in features] == [
        [r["lon"], r["lat"]] if r["lon"] is not None else None for r in made.rows
    ]
