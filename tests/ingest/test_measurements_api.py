"""Measurement batches over HTTP: formats, per-row errors, quarantine, idempotency, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select
from tests.conftest import World

from territoria.ingest.models import Batch, QuarantinedRow
from territoria.timeseries.models import measurement

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def rows(n: int, assets: int = 20, value: float = 100.0) -> list[dict[str, object]]:
    """n power rows spread over assets, 15 minutes apart per asset."""
    return [
        {
            "asset": f"L{i % assets:03d}",
            "metric": "power",
            "ts": (T0 + timedelta(minutes=15 * (i // assets))).isoformat(),
            "value": value,
        }
        for i in range(n)
    ]


def count_measurements(world: World) -> int:
    with world.ctx.session() as s:
        return int(s.scalar(select(func.count()).select_from(measurement)) or 0)


def post(world: World, body: object, ctype: str = "application/json", **headers: str):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, bytes | str) else orjson.dumps(body)
    return world.client.post(
        "/api/v1/datasets/lights/measurements",
        content=data,
        headers={**world.operator, "content-type": ctype, **headers},
    )


def test_json_ndjson_and_csv_batches(world: World) -> None:
    r = post(world, rows(200))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["accepted"], body["rejected"]) == (200, 200, 0)
    nd = b"\n".join(orjson.dumps(x) for x in rows(40, value=5.0)[20:]) + b"\n"
    r = post(world, nd.replace(b"5.0", b"100.0"), "application/x-ndjson")
    assert r.json()["accepted"] == 20 and r.json()["duplicates"] == 20
    csv = "asset,metric,ts,value\nL001,on,2026-11-01T00:00:00Z,1\nL001,on,2026-11-01T00:15:00+01:00,0\n"
    r = post(world, csv, "text/csv; charset=utf-8")
    assert (r.json()["accepted"], r.json()["rejected"]) == (2, 0)
    assert count_measurements(world) == 202


def test_every_rejected_row_is_quarantined_with_reasons(world: World) -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    batch = [
        {"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10},
        {"asset": "GHOST", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10},
        {"asset": "L000", "metric": "voltage", "ts": "2026-11-01T00:00:00Z", "value": 10},
        {"asset": "L000", "metric": "power", "ts": "yesterday", "value": 10},
        {"asset": "L000", "metric": "power", "ts": "2026-11-01T01:00:00", "value": 10},
        {"asset": "L000", "metric": "power", "ts": "2026-11-01T02:00:00Z", "value": False},
        {"asset": "L000", "metric": "power", "ts": "2026-11-01T03:00:00Z", "value": 401},
        {"asset": "L000", "metric": "power", "ts": future, "value": 1},
        {"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 11},
        "not an object",
        {"metric": "power", "ts": "2026-11-01T04:00:00Z"},
    ]
    r = post(world, batch)
    assert r.status_code == 200
    body = r.json()
    assert body["received"] == 11 and body["accepted"] == 1 and body["rejected"] == 10
    assert body["received"] == body["accepted"] + body["rejected"]
    codes = {(e["row"], e["code"]) for e in body["errors"]}
    for expected in [
        (2, "UNKNOWN_ASSET"),
        (3, "UNKNOWN_METRIC"),
        (4, "TYPE"),
        (5, "TYPE"),
        (6, "TYPE"),
        (7, "RANGE"),
        (8, "FUTURE_TS"),
        (9, "DUPLICATE_CONFLICT"),
        (10, "TYPE"),
        (11, "REQUIRED"),
    ]:
        assert expected in codes, expected
    q = world.client.get("/api/v1/datasets/lights/quarantine", headers=world.operator).json()
    assert len(q) == 10 and {x["row"] for x in q} == set(range(2, 12))
    assert orjson.loads(q[0]["raw"])["asset"] == "GHOST"
    assert world.client.get("/api/v1/datasets/lights/quarantine", headers=world.other).status_code == 404
    b = world.client.get(f"/api/v1/batches/{body['batch_id']}", headers=world.operator).json()
    assert (b["received"], b["accepted"], b["rejected"]) == (11, 1, 10)
    assert len(b["errors"]) == len(body["errors"])


def test_idempotency_key_makes_a_retry_a_no_op(world: World) -> None:
    first = post(world, rows(100), **{"Idempotency-Key": "k-1"})
    again = post(world, rows(100), **{"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["batch_id"] == first.json()["batch_id"]
    assert count_measurements(world) == 100
    with world.ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 1


def test_same_point_is_never_stored_twice(world: World) -> None:
    twice = rows(50) + rows(50)
    r = post(world, twice)
    assert r.json()["accepted"] == 100 and r.json()["duplicates"] == 50
    r = post(world, rows(50))
    assert r.json()["duplicates"] == 50
    assert count_measurements(world) == 50
    warning = r.json()["warnings"][0]
    assert warning["code"] == "DUPLICATE" and "50 points" in warning["message"] and warning["message_fr"]
    from territoria.ingest.models import FindingRow

    with world.ctx.session() as s:
        found = s.scalars(select(FindingRow).where(FindingRow.code == "DUPLICATE")).all()
    assert len(found) == 2 and {f.details["count"] for f in found} == {50}


def test_bad_bodies(world: World) -> None:
    r = post(world, b'[{"asset": "L000",\n "value": }]')
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert "line 2, column" in r.json()["detail"]
    assert post(world, b'{"asset": 1}').status_code == 400
    r = post(world, "asset,ts,value\nL000,2026-11-01T00:00:00Z,1\n", "text/csv")
    assert r.status_code == 422 and "metric" in r.json()["detail"]
    assert post(world, b"x", "application/xml").status_code == 422
    nd = b'{"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 1}\n{broken\n'
    r = post(world, nd, "application/x-ndjson")
    assert r.json()["rejected"] == 1 and r.json()["errors"][0]["code"] == "PARSE"
    latin = "asset,metric,ts,value\nL000,power,2026-11-01T00:00:00Z,1\nL\xe9,power,2026-11-01T00:00:00Z,1\n"
    r = post(world, latin.encode("latin-1"), "text/csv")
    assert r.json()["accepted"] == 1 and r.json()["errors"][0]["code"] == "ENCODING"
    r = post(world, latin.encode("latin-1"), "text/csv; charset=latin-1")
    assert r.json()["errors"][0]["code"] == "UNKNOWN_ASSET"
    with world.ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(QuarantinedRow)) == 3


def test_auth_and_limits(world: World) -> None:
    c = world.client
    url = "/api/v1/datasets/lights/measurements"
    assert c.post(url, json=rows(1)).status_code == 404  # a private dataset, unseen: as unknown
    assert c.post(url, json=rows(1), headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.post(url, json=rows(1), headers={"Authorization": "Basic abc"}).status_code == 401
    assert c.post(url, json=rows(1), headers=world.other).status_code == 404
    assert c.post(url, json=rows(1), headers=world.reader).status_code == 403
    assert (
        c.post("/api/v1/datasets/nope/measurements", json=rows(1), headers=world.operator).status_code == 404
    )
    world.ctx.settings.max_body_bytes = 1000
    r = c.post(url, json=rows(100), headers=world.operator)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert count_measurements(world) == 0
