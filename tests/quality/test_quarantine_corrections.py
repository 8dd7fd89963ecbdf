"""Corrections are typed like the original input (a CSV cell is text), through the API and the row form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from tests.conftest import World, web_login
from tests.quality.test_quarantine import Q, quarantined, qw, send, stored  # noqa: F401 - fixture

from territoria.ingest.files import import_file
from territoria.ingest.models import QuarantinedRow, Record

TS = "2026-11-01T00:00:00Z"


def _imported_row(world: World, tmp_path: Path) -> dict[str, Any]:
    """A CSV file imported as the demo does (a file batch, content type 'csv') with a value out of range."""
    path = tmp_path / "power.csv"
    path.write_text(f"asset,metric,ts,value\nL001,power,{TS},9999\nL002,power,{TS},12\n", encoding="utf-8")
    report = import_file(world.ctx, path, "lights")
    assert (report.received, report.rejected) == (2, 1)
    row = quarantined(world)[0]
    assert orjson.loads(row["raw"])["value"] == "9999"  # a CSV row is kept as its text cells
    return row


def test_a_text_cell_correction_of_a_csv_file_row_is_accepted(qw: World, tmp_path: Path) -> None:  # noqa: F811
    row = _imported_row(qw, tmp_path)
    before = stored(qw)
    edited = row["raw"].replace('"9999"', '"99"')  # the natural fix of the JSON shown
    r = qw.client.post(Q + "/resubmit", json=[{"id": row["id"], "raw": edited}], headers=qw.operator)
    assert r.status_code == 200 and r.json()["resubmitted"] == 1, r.text
    assert stored(qw) == before + 1
    assert quarantined(qw, status="open") == []


def test_a_row_correction_of_a_csv_row_takes_text_and_decimal_commas(qw: World) -> None:  # noqa: F811
    first = send(qw, f"asset,metric,ts,value\nL003,power,{TS},abc\n", "text/csv")
    row = quarantined(qw, batch=first["batch_id"])[0]
    cells = {"asset": "L003", "metric": "power", "ts": TS, "value": "12,5"}
    r = qw.client.post(Q + "/resubmit", json=[{"id": row["id"], "row": cells}], headers=qw.operator)
    assert r.status_code == 200 and r.json()["resubmitted"] == 1, r.text


def test_status_all_lists_every_row(qw: World) -> None:  # noqa: F811
    send(qw, [{"asset": "GHOST", "metric": "power", "ts": TS, "value": 1}, "not an object"])
    ids = [r["id"] for r in quarantined(qw)]
    r = qw.client.post(Q + "/discard", json={"ids": ids[:1], "reason": "x"}, headers=qw.operator)
    assert r.status_code == 200
    assert [r["id"] for r in quarantined(qw, status="all")] == ids
    assert len(quarantined(qw)) == 2 and len(quarantined(qw, status="open")) == 1
    t = qw.client.get(Q + "/totals", params={"status": "all"}, headers=qw.operator).json()
    assert t["total"] == 2
    assert qw.client.get(Q + ".csv", params={"status": "all"}, headers=qw.operator).status_code == 200


def _bins(world: World) -> None:
    """A records dataset with a number, an integer and a boolean column."""
    schema = {
        "fields": [
            {"name": "id", "type": "string", "title": "Identifiant", "constraints": {"required": True}},
            {"name": "capacity_l", "type": "integer", "title": "Capacity", "constraints": {"minimum": 100}},
            {"name": "fill", "type": "number", "description": "share filled, 0 to 1"},
            {"name": "locked", "type": "boolean"},
        ],
        "primaryKey": ["id"],
    }
    body = {"slug": "bins", "title": "Bins", "domain": "waste", "kind": "records", "schema": schema}
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201


def test_records_csv_row_corrected_with_text_cells(qw: World) -> None:  # noqa: F811
    _bins(qw)
    r = qw.client.post(
        "/api/v1/datasets/bins/records",
        content="id;capacity_l;fill;locked\nB1;500;0,5;true\nB2;50;0,25;false\n",
        headers={**qw.operator, "content-type": "text/csv"},
    )
    assert r.json()["rejected"] == 1, r.text
    row = qw.client.get("/api/v1/datasets/bins/quarantine", headers=qw.operator).json()[0]
    cells = {"id": "B2", "capacity_l": "150", "fill": "0,25", "locked": "false"}
    r = qw.client.post(
        "/api/v1/datasets/bins/quarantine/resubmit",
        json=[{"id": row["id"], "row": cells}],
        headers=qw.operator,
    )
    assert r.status_code == 200 and r.json()["resubmitted"] == 1, r.text
    with qw.ctx.session() as s:
        data = s.scalar(select(Record.data).where(Record.key.contains("B2")))
    assert data == {"id": "B2", "capacity_l": 150, "fill": 0.25, "locked": False}


def test_correction_form_of_a_csv_row(qw: World, tmp_path: Path) -> None:  # noqa: F811
    row = _imported_row(qw, tmp_path)
    csrf = web_login(qw.ctx, qw.client, org="lightco", role="producer")
    list_page = qw.client.get("/datasets/lights/quarantine?lang=en")
    url = f"/datasets/lights/quarantine/rows/{row['id']}"
    assert url in list_page.text and '<textarea id="raw-' not in list_page.text
    page = qw.client.get(url + "?lang=en")
    assert page.status_code == 200, page.text
    assert 'name="cell:value"' in page.text and 'value="9999"' in page.text
    assert 'aria-invalid="true"' in page.text and ">RANGE<" not in page.text  # the reason, not the code
    assert "Number" in page.text and "came from a CSV file" in page.text
    fr = qw.client.get(url + "?lang=fr")
    assert "fichier CSV" in fr.text and "Valeur" in fr.text
    cells = {"cell:asset": "L001", "cell:metric": "power", "cell:ts": TS}
    r = qw.client.post(url, data={**cells, "cell:value": "abc", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "attempt=" in r.headers["location"], r.text
    again = qw.client.get(r.headers["location"] + "&lang=en")
    assert again.status_code == 200 and 'role="alert"' in again.text
    main = again.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'value="abc"' in main and ">TYPE<" not in main and 'class="field-error"' in main
    assert quarantined(qw, status="open")[0]["id"] == row["id"]
    before = stored(qw)
    r = qw.client.post(url, data={**cells, "cell:value": "99", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "done=resubmitted" in r.headers["location"], r.headers
    assert stored(qw) == before + 1 and quarantined(qw, status="open") == []
    closed = qw.client.get(url + "?lang=en")
    assert closed.status_code == 200 and "cell:value" not in closed.text
    r = qw.client.post(url, data={**cells, "cell:value": "99", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "error=conflict" in r.headers["location"]
    assert qw.client.get("/datasets/lights/quarantine/rows/999999").status_code == 404
    r = qw.client.post(url, data={**cells, "cell:value": "99"})
    assert r.status_code == 403  # no CSRF token


def test_correction_form_of_a_json_row_types_its_fields(qw: World) -> None:  # noqa: F811
    _bins(qw)
    r = qw.client.post(
        "/api/v1/datasets/bins/records",
        json=[{"id": "B3", "capacity_l": "lots", "fill": 0.5, "locked": True}],
        headers=qw.operator,
    )
    assert r.json()["rejected"] == 1, r.text
    row = qw.client.get("/api/v1/datasets/bins/quarantine", headers=qw.operator).json()[0]
    csrf = web_login(qw.ctx, qw.client, org="lightco", role="producer")
    url = f"/datasets/bins/quarantine/rows/{row['id']}"
    page = qw.client.get(url + "?lang=en")
    assert "Identifiant" in page.text and "minimum 100" in page.text and "share filled" in page.text
    assert "came as JSON" in page.text
    data = {"cell:id": "B3", "cell:capacity_l": "200", "cell:fill": "0,5", "cell:locked": "true"}
    r = qw.client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
    assert "done=resubmitted" in r.headers["location"], r.headers
    with qw.ctx.session() as s:
        stored_row = s.scalar(select(Record.data).where(Record.key.contains("B3")))
        assert s.scalar(select(QuarantinedRow.status).where(QuarantinedRow.id == row["id"])) == "resubmitted"
    assert stored_row == {"id": "B3", "capacity_l": 200, "fill": 0.5, "locked": True}
