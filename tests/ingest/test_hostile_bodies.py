"""Hostile HTTP bodies (issue 13): deep nesting, huge fields, charsets, bad bytes, BOM, stray GeoJSON,
placeholder dates. Every one gets a clear 4xx or a quarantined row, never a 500."""

from __future__ import annotations

import gzip

import orjson
from sqlalchemy import select
from tests.conftest import World
from tests.ingest.test_measurements_api import post, rows
from tests.ingest.test_records_api import create as create_bins

from territoria.ingest.models import QuarantinedRow
from territoria.validation.limits import MAX_DEPTH

GOOD = {"asset": "L001", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 1.0}


def nested(depth: int) -> bytes:
    """JSON text of a value whose containers nest `depth` levels (orjson cannot even write it)."""
    opens = b"".join(b'{"a":' if i % 2 else b"[" for i in range(depth))
    closes = b"".join(b"}" if i % 2 else b"]" for i in reversed(range(depth)))
    return opens + b"1" + closes


def row_with(value: bytes, **fields: object) -> bytes:
    """JSON text of a row whose `value` is the given JSON text."""
    head = orjson.dumps({**GOOD, **fields})[:-1]
    return head.replace(b',"value":1.0', b"") + b',"value":' + value + b"}"


def quarantined(world: World) -> list[QuarantinedRow]:
    with world.ctx.session() as s:
        return list(s.scalars(select(QuarantinedRow).order_by(QuarantinedRow.id)))


def assert_no_surrogate(text: str) -> None:
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text), text


def test_deep_rows_are_quarantined_and_the_rest_stored(world: World) -> None:
    """A row nested 300 levels (orjson cannot write it back) is one PARSE row in quarantine, not a 500."""
    deep = row_with(nested(300), asset="L002")
    r = post(world, b"[" + orjson.dumps(GOOD) + b"," + deep + b"]")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["accepted"], body["rejected"]) == (2, 1, 1)
    assert body["errors"][0]["code"] == "PARSE" and f"deeper than {MAX_DEPTH}" in body["errors"][0]["message"]
    nd = orjson.dumps({**GOOD, "ts": "2026-11-01T00:15:00Z"}) + b"\n" + deep + b"\n"
    r = post(world, nd, "application/x-ndjson")
    assert (r.status_code, r.json()["accepted"], r.json()["rejected"]) == (200, 1, 1)
    q = quarantined(world)
    assert len(q) == 2 and all(e["code"] == "PARSE" for row in q for e in row.errors)
    assert all(0 < len(row.raw) <= 70_000 for row in q)
    # Deeper than any parser goes: the body itself cannot be parsed (400), still no 500.
    r = post(world, b"[" * 3000 + b"]" * 3000)
    assert r.status_code == 400, r.text


def test_deep_records_and_geojson(world: World) -> None:
    create_bins(world)
    url = "/api/v1/datasets/bins/records"
    deep = b'{"id": "B9", "kind": "glass", "capacity_l": 500, "extra": ' + nested(280) + b"}"
    headers = {**world.operator, "content-type": "application/json"}
    r = world.client.post(url, content=b"[" + deep + b"]", headers=headers)
    assert r.status_code == 200 and r.json()["errors"][0]["code"] == "PARSE", r.text
    feature = b'{"type": "Feature", "geometry": null, "properties": ' + deep + b"}"
    fc = b'{"type": "FeatureCollection", "features": [' + feature + b"]}"
    r = world.client.post(url, content=fc, headers={**world.operator, "content-type": "application/geo+json"})
    assert r.status_code == 200 and r.json()["rejected"] == 1, r.text


def test_csv_field_past_the_csv_limit_is_quarantined(world: World) -> None:
    huge = "x" * 140_000
    csv = f"asset,metric,ts,value\nL001,power,2026-11-01T00:00:00Z,1\n{huge},power,2026-11-01T00:00:00Z,1\n"
    csv += "L002,power,2026-11-01T00:00:00Z,2\n"
    r = post(world, csv, "text/csv")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["accepted"], body["rejected"]) == (3, 2, 1)
    assert body["errors"][0]["code"] == "PARSE" and "longer than" in body["errors"][0]["message"]


def test_declared_charsets_are_decoded_or_refused(world: World) -> None:
    csv = "asset,metric,ts,value\nL001,power,2026-11-01T00:00:00Z,1\nL002,power,2026-11-01T00:00:00Z,2\n"
    for charset in ("utf-16", "utf-16-le", "utf-32", "cp1252", "utf-8-sig"):
        r = post(world, csv.encode(charset), f"text/csv; charset={charset}")
        assert r.status_code == 200 and r.json()["rejected"] == 0, (charset, r.text)
    for charset in ("utf-16", "cp1252", "utf-8-sig"):
        body = ('[{"asset": "L003", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 1}]').encode(
            charset
        )
        r = post(world, body, f"application/json; charset={charset}")
        assert r.status_code == 200 and r.json()["accepted"] == 1, (charset, r.text)
    r = post(world, b"\xff\xfe\x00\xd8", "application/json; charset=utf-16")
    assert r.status_code == 400, r.text
    for charset in ("rot13", "base64", "zlib", "undefined", "no-such-charset"):
        r = post(world, csv.encode(), f"text/csv; charset={charset}")
        assert r.status_code == 415, (charset, r.text)
        assert "charset" in r.json()["detail"]


def test_undecodable_bytes_give_a_clear_answer_without_surrogates(world: World) -> None:
    # A bad byte in the header: 422 with an ENCODING error, and an answer that is valid UTF-8 JSON.
    r = post(world, b"asset,metric\xff,ts,value\nL001,power,2026-11-01T00:00:00Z,1\n", "text/csv")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == "ENCODING"
    assert_no_surrogate(r.text)
    # A gzip (binary) body sent as CSV, JSON or NDJSON: 4xx or quarantine, never a 500.
    blob = gzip.compress(orjson.dumps(rows(50)))
    for ctype in ("text/csv", "application/json", "application/x-ndjson", "application/geo+json"):
        r = post(world, blob, ctype)
        assert r.status_code < 500, (ctype, r.text)
        assert_no_surrogate(r.text)
    # UTF-16 bytes declared as UTF-8, and a NUL inside a field: quarantined as ENCODING.
    body = "asset,metric,ts,value\nL001,power,2026-11-01T00:00:00Z,1\nL\x00,power,2026-11-01T00:00:00Z,1\n"
    r = post(world, body, "text/csv")
    assert r.status_code == 200 and r.json()["errors"][0]["code"] == "ENCODING", r.text
    for row in quarantined(world):
        assert "\x00" not in row.raw
        assert_no_surrogate(row.raw)


def test_bom_before_a_json_body_is_accepted(world: World) -> None:
    r = post(world, b"\xef\xbb\xbf" + orjson.dumps([GOOD]))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    nd = b"\xef\xbb\xbf" + orjson.dumps({**GOOD, "ts": "2026-11-01T00:15:00Z"}) + b"\n"
    r = post(world, nd, "application/x-ndjson")
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def test_geojson_body_must_be_a_feature_collection_or_a_feature(world: World) -> None:
    create_bins(world)
    url = "/api/v1/datasets/bins/records"
    headers = {**world.operator, "content-type": "application/geo+json"}
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [7.2661, 43.6961]},
        "properties": {"id": "F1", "kind": "glass", "capacity_l": 1000},
    }
    r = world.client.post(url, content=orjson.dumps(feature), headers=headers)
    assert r.status_code == 200 and (r.json()["received"], r.json()["accepted"]) == (1, 1), r.text
    for other in (
        {"type": "Point", "coordinates": [7.2, 43.7]},
        {"type": "Topology", "objects": {}},
        {"rows": [1, 2]},
    ):
        r = world.client.post(url, content=orjson.dumps(other), headers=headers)
        assert r.status_code == 422 and "FeatureCollection" in r.json()["detail"], r.text
    bad = {
        "type": "FeatureCollection",
        "features": [{**feature, "properties": [1, 2]}, {**feature, "geometry": 3}],
    }
    r = world.client.post(url, content=orjson.dumps(bad), headers=headers)
    assert r.status_code == 200 and r.json()["rejected"] == 2, r.text


def test_placeholder_dates_are_refused(world: World) -> None:
    old = [
        {**GOOD, "ts": "0001-01-01T00:00:00Z"},
        {**GOOD, "ts": "1969-12-31T23:59:59Z"},
        {**GOOD, "ts": "1970-01-01T00:00:00Z"},
    ]
    r = post(world, old)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert {e["code"] for e in body["errors"]} == {"PAST_TS"}
    assert all(e["field"] == "ts" and e["message_fr"] for e in body["errors"])
    # The vectorised path refuses them too (a clean batch of one old row).
    r = post(world, [{**GOOD, "asset": "L003", "ts": "0001-01-01T00:00:00+00:00"}])
    assert r.json()["errors"][0]["code"] == "PAST_TS"
