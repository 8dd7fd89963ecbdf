"""Hostile bodies on the EV import routes (issue 13): deep nesting, huge fields, NUL, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import World
from tests.domains.ev.irve_factory import pdc_id
from tests.domains.ev.test_sessions_import import with_points

NOW = datetime.now(UTC).replace(microsecond=0)
HEADER = "id_pdc_itinerance;etat_pdc;occupation_pdc;horodatage"


def deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.fixture
def ev(world: World) -> World:
    return with_points(world)


def line(i: int, pdc: str | None = None) -> str:
    when = (NOW - timedelta(hours=2, minutes=i)).isoformat()
    return ";".join([pdc or pdc_id(0, i % 2), "en_service", "libre", when])


def test_hostile_bodies_never_5xx(ev: World) -> None:
    status, ocpi = "/api/v1/ev/status", "/api/v1/ev/ocpi/locations?dataset=irve"
    csv = {**ev.operator, "content-type": "text/csv"}
    js = {**ev.operator, "content-type": "application/json"}
    row = b'{"id_pdc_itinerance": "' + pdc_id(0, 0).encode() + b'", "etat_pdc": '
    for depth in (300, 1000):
        for url in (status, ocpi):
            r = ev.client.post(url, content=b"[" + row + deep(depth) + b"}]", headers=js)
            assert r.status_code < 500, (url, depth, r.text)
        location = b'[{"id": "L1", "coordinates": ' + deep(depth) + b', "evses": []}]'
        r = ev.client.post(ocpi, content=location, headers=js)
        assert r.status_code < 500, (depth, r.text)
    huge = "\n".join([HEADER, line(0), line(1, "X" * 140_000), line(2)]).encode()
    r = ev.client.post(status, content=huge, headers=csv)
    assert r.status_code == 200 and r.json()["received"] == 3, r.text
    nul = "\n".join([HEADER, *(line(i) for i in range(200)), line(300, "FR\x00X")]).encode()
    r = ev.client.post(status, content=nul, headers=csv)
    assert r.status_code < 500, r.text
    r = ev.client.post(status, content=b"\xef\xbb\xbf[]", headers=js)
    assert r.status_code < 500, r.text


def test_deep_ocpi_documents_are_refused_clearly(ev: World) -> None:
    ocpi = "/api/v1/ev/ocpi/locations?dataset=irve"
    js = {**ev.operator, "content-type": "application/json"}
    for body in (b"[" + b"[" * 300 + b"]" * 300 + b"]", b'{"data": [' + deep(500) + b"]}"):
        r = ev.client.post(ocpi, content=body, headers=js)
        assert r.status_code == 422 and "deeper than" in r.json()["detail"], r.text


def test_cli_rows_past_the_csv_field_limit_are_kept_for_quarantine() -> None:
    # The one tabular reader: a row past the csv module's limit is a PARSE row, the others are read.
    from territoria.ingest.parsers import BadRow
    from territoria.validation.tabular import open_csv

    rows = list(open_csv([b"a;b\n", b"1;2\n", b"x" * 140_000 + b";3\n", b"4;5\n"]).rows())
    assert [n for n, _ in rows] == [1, 2, 3]
    assert rows[0][1] == {"a": "1", "b": "2"} and rows[2][1] == {"a": "4", "b": "5"}
    bad = rows[1][1]
    assert isinstance(bad, BadRow) and bad.code == "PARSE" and "longer than" in bad.message
