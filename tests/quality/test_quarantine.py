"""The quarantine workflow: list and filter, CSV export, resubmit corrected rows, discard with a reason."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import World, web_login

from territoria.app import create_app
from territoria.context import Context
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.quality.quarantine_api import router as quarantine_api
from territoria.quality.quarantine_pages import router as quarantine_pages
from territoria.timeseries.models import measurement

Q = "/api/v1/datasets/lights/quarantine"


def quality_app(ctx: Context) -> FastAPI:
    """The app with the quarantine routers, first: their list route replaces the ingest one."""
    app = create_app(context=ctx)
    app.include_router(quarantine_api)
    app.router.routes.insert(0, app.router.routes.pop())
    app.include_router(quarantine_pages)
    return app


@pytest.fixture
def qw(world: World) -> World:
    """The standard world, its client on the app with the quarantine routers."""
    world.client = TestClient(quality_app(world.ctx))
    return world


BAD_BATCH: list[Any] = [
    {"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10},
    {"asset": "GHOST", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10},
    {"asset": "L001", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 999},
    {"asset": "L002", "metric": "voltage", "ts": "2026-11-01T00:00:00Z", "value": 1},
    "not an object",
]


def send(world: World, body: Any, ctype: str = "application/json") -> dict[str, Any]:
    """Post a measurement batch as the owner; its answer."""
    data = body if isinstance(body, str) else orjson.dumps(body)
    r = world.client.post(
        "/api/v1/datasets/lights/measurements",
        content=data,
        headers={**world.operator, "content-type": ctype},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def quarantined(world: World, **params: Any) -> list[dict[str, Any]]:
    """The quarantine list as the owner."""
    r = world.client.get(Q, params=params, headers=world.operator)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


def stored(world: World) -> int:
    """Number of stored measurements."""
    with world.ctx.session() as s:
        return int(s.scalar(select(func.count()).select_from(measurement)) or 0)


def test_list_filter_and_totals(qw: World) -> None:
    first = send(qw, BAD_BATCH)
    assert (first["accepted"], first["rejected"]) == (1, 4)
    csv_body = (
        "asset,metric,ts,value\nL003,power,2026-11-01T00:00:00Z,abc\nL004,power,2026-11-01T00:00:00Z,5\n"
    )
    second = send(qw, csv_body, "text/csv")
    assert second["rejected"] == 1
    rows = quarantined(qw)
    assert len(rows) == 5 and {r["status"] for r in rows} == {"open"}
    r = qw.client.get(Q, params={"limit": 2}, headers=qw.operator)
    assert len(r.json()) == 2 and r.headers["X-Total-Count"] == "5"
    assert {r["row"] for r in quarantined(qw, batch=first["batch_id"])} == {2, 3, 4, 5}
    ranged = quarantined(qw, code="RANGE")
    assert len(ranged) == 1 and orjson.loads(ranged[0]["raw"])["value"] == 999
    assert [r["row"] for r in quarantined(qw, field="value")] == [3, 1]
    assert [r["batch_id"] for r in quarantined(qw, field="value", code="TYPE")] == [second["batch_id"]]
    assert quarantined(qw, status="discarded") == []
    t = qw.client.get(Q + "/totals", headers=qw.operator).json()
    assert t["total"] == 5 and t["by_status"] == {"open": 5, "resubmitted": 0, "discarded": 0}
    assert t["by_code"]["UNKNOWN_ASSET"] == 1 and t["by_code"]["RANGE"] == 1 and t["by_code"]["TYPE"] == 2
    assert t["by_field"]["value"] == 2
    assert qw.client.get(Q, params={"limit": 0}, headers=qw.operator).status_code == 422
    assert qw.client.get(Q, params={"status": "gone"}, headers=qw.operator).status_code == 422


def test_csv_download(qw: World) -> None:
    send(qw, BAD_BATCH)
    r = qw.client.get(Q + ".csv", headers=qw.operator)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert not r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["row"] for row in table] == ["2", "3", "4", "5"]
    ghost = table[0]
    assert ghost["codes"] == "UNKNOWN_ASSET" and ghost["status"] == "open"
    assert orjson.loads(ghost["raw"])["asset"] == "GHOST" and "GHOST" in ghost["messages"]
    assert table[1]["fields"] == "value"
    r = qw.client.get(
        Q + ".csv", params={"bom": "true", "delimiter": ";", "code": "RANGE"}, headers=qw.operator
    )
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert len(table) == 1 and table[0]["codes"] == "RANGE"


def test_correct_and_resubmit(qw: World) -> None:
    first = send(qw, BAD_BATCH)
    second = send(qw, [{"asset": "GHOST2", "metric": "on", "ts": "2026-11-01T00:00:00Z", "value": 1}])
    before = stored(qw)
    rows = {r["row"]: r for r in quarantined(qw, batch=first["batch_id"])}
    other = quarantined(qw, batch=second["batch_id"])[0]
    body = [
        {
            "id": rows[2]["id"],
            "row": {"asset": "L005", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10},
        },
        {
            "id": rows[3]["id"],
            "raw": '{"asset": "L001", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 99}',
        },
        {
            "id": rows[4]["id"],
            "row": {"asset": "L002", "metric": "volts", "ts": "2026-11-01T00:00:00Z", "value": 1},
        },
        {
            "id": other["id"],
            "row": {"asset": "L006", "metric": "on", "ts": "2026-11-01T00:00:00Z", "value": 1},
        },
    ]
    r = qw.client.post(Q + "/resubmit", json=body, headers=qw.operator)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["resubmitted"], out["still_open"]) == (3, 1)
    assert len(out["batches"]) == 2  # one new batch per original batch
    assert stored(qw) == before + 3
    outcome = {o["id"]: o for o in out["rows"]}
    assert outcome[rows[4]["id"]]["status"] == "open"
    assert outcome[rows[4]["id"]]["errors"][0]["code"] == "UNKNOWN_METRIC"
    with qw.ctx.session() as s:
        replays = {b.replay_of: b for b in s.scalars(select(Batch).where(Batch.replay_of.is_not(None)))}
        assert set(replays) == {first["batch_id"], second["batch_id"]}
        replay = replays[first["batch_id"]]
        assert (replay.received, replay.accepted, replay.rejected) == (3, 2, 1)
        q = {x.id: x for x in s.scalars(select(QuarantinedRow))}
        for i in (rows[2]["id"], rows[3]["id"], other["id"]):
            assert q[i].status == "resubmitted" and q[i].resolved_at is not None
            assert (q[i].resolved_by or "").startswith("org:lightco/")
        assert q[rows[2]["id"]].replay_batch_id == replay.id
        assert q[rows[4]["id"]].status == "open"
        # The failed attempt is kept in the new batch's quarantine, closed onto the row that stays open.
        attempt = next(x for x in q.values() if x.batch_id == replay.id)
        assert attempt.errors[0]["code"] == "UNKNOWN_METRIC" and attempt.status == "discarded"
        assert str(rows[4]["id"]) in (attempt.resolution_reason or "")
    assert len(quarantined(qw, status="open")) == 2  # the failed row once, and the untouched "not an object"
    again = qw.client.post(Q + "/resubmit", json=body[:1], headers=qw.operator)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["errors"][0]["code"] == "ALREADY_RESUBMITTED"
    fixed = [{"id": rows[4]["id"], "row": {**body[2]["row"], "metric": "power"}}]
    r = qw.client.post(Q + "/resubmit", json=fixed, headers=qw.operator)
    assert r.json()["resubmitted"] == 1 and stored(qw) == before + 4


def test_resubmit_csv_line_and_bad_requests(qw: World) -> None:
    first = send(qw, "asset,metric,ts,value\nL003,power,2026-11-01T00:00:00Z,abc\n", "text/csv")
    row = quarantined(qw, batch=first["batch_id"])[0]
    assert orjson.loads(row["raw"])["value"] == "abc"  # a CSV row that could be read is kept as its fields
    for bad in (
        [],
        [{"id": row["id"], "row": {}, "raw": "x"}],
        [{"id": row["id"]}, {"id": row["id"]}],
        [{"id": "1"}],
    ):
        assert qw.client.post(Q + "/resubmit", json=bad, headers=qw.operator).status_code == 422, bad
    assert qw.client.post(Q + "/resubmit", json=[{"id": 999999}], headers=qw.operator).status_code == 404
    r = qw.client.post(
        Q + "/resubmit",
        json=[{"id": row["id"], "raw": "L003,power,2026-11-01T00:00:00Z,12,5"}],
        headers=qw.operator,
    )
    assert r.json()["still_open"] == 1  # five fields for four columns: rejected again, stays open
    r = qw.client.post(
        Q + "/resubmit",
        json=[{"id": row["id"], "raw": "L003;power;2026-11-01T00:00:00Z;12,5"}],
        headers=qw.operator,
    )
    assert r.status_code == 200 and r.json()["resubmitted"] == 1, r.text
    with qw.ctx.session() as s:
        assert s.scalar(select(measurement.c.value)) == 12.5


def test_discard(qw: World) -> None:
    send(qw, BAD_BATCH)
    ids = [r["id"] for r in quarantined(qw)]
    url = Q + "/discard"
    assert qw.client.post(url, json={"ids": ids[:2]}, headers=qw.operator).status_code == 422
    r = qw.client.post(url, json={"ids": ids[:2], "reason": "   "}, headers=qw.operator)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    for bad_id in (2**70, 0, -1):  # found by schemathesis: an id past 64 bits used to crash
        r = qw.client.post(url, json={"ids": [bad_id], "reason": "x"}, headers=qw.operator)
        assert r.status_code == 422, bad_id
    r = qw.client.post(
        url, json={"ids": ids[:2], "reason": "test meter, decommissioned"}, headers=qw.operator
    )
    assert r.status_code == 200 and r.json() == {"discarded": ids[:2], "already_discarded": []}
    r = qw.client.post(url, json={"ids": ids[:2], "reason": "again"}, headers=qw.operator)
    assert r.json() == {"discarded": [], "already_discarded": ids[:2]}  # idempotent, history unchanged
    gone = quarantined(qw, status="discarded")
    assert [g["id"] for g in gone] == ids[:2]
    assert gone[0]["resolution_reason"] == "test meter, decommissioned"
    assert gone[0]["resolved_by"].startswith("org:lightco/") and gone[0]["resolved_at"]
    assert qw.client.post(Q + "/resubmit", json=[{"id": ids[0]}], headers=qw.operator).status_code == 409
    fix = {
        "id": ids[2],
        "row": {"asset": "L001", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 9},
    }
    assert qw.client.post(Q + "/resubmit", json=[fix], headers=qw.operator).json()["resubmitted"] == 1
    r = qw.client.post(url, json={"ids": [ids[2]], "reason": "late"}, headers=qw.operator)
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "ALREADY_RESUBMITTED"


def test_access(qw: World) -> None:
    send(qw, BAD_BATCH)
    rid = quarantined(qw)[0]["id"]
    calls = [
        ("get", Q, None),
        ("get", Q + "/totals", None),
        ("get", Q + ".csv", None),
        ("post", Q + "/resubmit", [{"id": rid}]),
        ("post", Q + "/discard", {"ids": [rid], "reason": "no"}),
    ]
    for method, url, body in calls:
        for headers in (qw.other, {}):  # a private dataset they may not see: answered as an unknown one
            r = qw.client.request(method.upper(), url, json=body, headers=headers)
            assert r.status_code == 404, (url, r.text)
        r = qw.client.request(method.upper(), url, json=body, headers=qw.reader)
        assert r.status_code == 403, (url, r.text)  # the owner's read-only token sees it, not its rejects
    assert qw.client.get(Q, headers=qw.admin).status_code == 404  # no data bypass for the platform admin
    assert quarantined(qw)[0]["status"] == "open"


def test_records_rows_resubmitted(qw: World) -> None:
    schema = {
        "fields": [
            {"name": "id", "type": "string", "constraints": {"required": True}},
            {"name": "capacity_l", "type": "integer", "constraints": {"minimum": 100}},
        ],
        "primaryKey": ["id"],
    }
    body = {"slug": "bins", "title": "Bins", "domain": "waste", "kind": "records", "schema": schema}
    assert qw.client.post("/api/v1/datasets", json=body, headers=qw.operator).status_code == 201
    r = qw.client.post(
        "/api/v1/datasets/bins/records",
        content="id,capacity_l\nB1,500\nB2,50\n",
        headers={**qw.operator, "content-type": "text/csv"},
    )
    assert r.json()["rejected"] == 1
    row = qw.client.get("/api/v1/datasets/bins/quarantine", headers=qw.operator).json()[0]
    assert orjson.loads(row["raw"]) == {"id": "B2", "capacity_l": "50"}
    r = qw.client.post(
        "/api/v1/datasets/bins/quarantine/resubmit",
        json=[{"id": row["id"], "raw": "B2,150"}],
        headers=qw.operator,
    )
    assert r.status_code == 200 and r.json()["resubmitted"] == 1, r.text
    assert r.json()["batches"][0]["accepted"] == 1


def test_quarantine_page(qw: World) -> None:
    send(qw, BAD_BATCH)
    assert qw.client.get("/datasets/lights/quarantine").status_code == 404  # private: not visible
    csrf = web_login(qw.ctx, qw.client, org="lightco", role="producer")
    page = qw.client.get("/datasets/lights/quarantine?lang=fr")
    assert page.status_code == 200 and "Quarantaine" in page.text
    assert "UNKNOWN_ASSET" in page.text and "GHOST" in page.text
    assert "quarantine.csv" in page.text and 'for="discard-reason"' in page.text
    assert "<script" not in page.text and " style=" not in page.text
    assert f'name="csrf_token" value="{csrf}"' in page.text
    en = qw.client.get("/datasets/lights/quarantine?lang=en&code=RANGE")
    assert "Quarantine of" in en.text and "1 matching row" in en.text and "GHOST" not in en.text
    ids = [r["id"] for r in quarantined(qw)]
    r = qw.client.post("/datasets/lights/quarantine/discard", data={"ids": ids[:1], "reason": "x"})
    assert r.status_code == 403  # no CSRF token
    r = qw.client.post(
        "/datasets/lights/quarantine/discard",
        data={"ids": ids[:1], "reason": "", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "reason_required" in r.headers["location"]
    r = qw.client.post(
        "/datasets/lights/quarantine/discard",
        data={"ids": [str(i) for i in ids[:2]], "reason": "bad meter", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "done=discarded" in r.headers["location"]
    assert qw.client.get(r.headers["location"] + "&lang=en").text.count("2 rows discarded") == 1
    by = [g["resolved_by"] for g in quarantined(qw, status="discarded")]
    assert by == ["user:producer@lightco.example.org@org:lightco"] * 2
    raw = '{"asset": "L001", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 5}'
    r = qw.client.post(
        "/datasets/lights/quarantine/resubmit",
        data={"id": str(ids[2]), "raw": raw, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert "done=resubmitted" in r.headers["location"]
    r = qw.client.post(
        "/datasets/lights/quarantine/discard",
        data={"ids": [str(ids[3])], "reason": "x", "csrf_token": csrf},
        headers={"origin": "https://evil.example"},
    )
    assert r.status_code == 403
    web_login(qw.ctx, qw.client, org="lightco", role="analyst")
    assert qw.client.get("/datasets/lights/quarantine").status_code == 403  # analysts do not see raw rows


def test_quarantine_page_outside_the_demo(qw: World) -> None:
    r = qw.client.patch("/api/v1/datasets/lights", json={"access": "open"}, headers=qw.operator)
    assert r.status_code == 200, r.text
    r = qw.client.get("/datasets/lights/quarantine?lang=en")
    assert r.status_code == 401 and "owner only" in r.text
    r = qw.client.get("/datasets/lights/quarantine?lang=fr", headers=qw.other)
    assert r.status_code == 403 and "Vous ne pouvez pas ouvrir la quarantaine" in r.text
    assert qw.client.get("/datasets/lights/quarantine", headers=qw.operator).status_code == 200
