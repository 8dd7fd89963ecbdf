"""HTTP import routes of the EV observatory: rights per dataset, reports, and no 5xx for any body."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import World
from tests.domains.ev.irve_factory import pdc_id
from tests.domains.ev.test_ocpi import DEFAULTS, _doc, _recent
from tests.domains.ev.test_sessions_import import with_points

from territoria.catalog.service import get_organisation
from territoria.domains.ev.sessions_store import ensure_sessions_dataset

NOW = datetime.now(UTC).replace(microsecond=0)
CSV = {"content-type": "text/csv"}
JSON = {"content-type": "application/json"}
ODD_BODIES: list[tuple[bytes, str]] = [
    (b"", "text/csv"),
    (b"", "application/json"),
    (b"\x00\x01\x02PK", "text/csv"),
    (b"{", "application/json"),
    (b"null", "application/json"),
    (b'{"data": 3}', "application/json"),
    (b'[1, "a", null]', "application/json"),
    (b'[{"id_pdc_itinerance": {"x": 1}, "etat_pdc": 3}]', "application/json"),
    (b"id_pdc_itinerance;etat_pdc\n;;;;\n", "text/csv"),
    ("é;à\n\xff".encode("latin-1"), "text/csv"),
    (b"<xml/>", "application/xml"),
    (b"[{}]", "application/x-ndjson"),
]


@pytest.fixture
def ev(world: World) -> World:
    """The world with IRVE points registered in ev-status."""
    return with_points(world)


def _status_csv(sep: str = ";") -> bytes:
    lines = [
        sep.join(["id_pdc_itinerance", "etat_pdc", "occupation_pdc", "horodatage"]),
        sep.join([pdc_id(0, 0), "en_service", "libre", (NOW - timedelta(hours=2)).isoformat()]),
        sep.join([pdc_id(0, 1), "en_service", "occupe", (NOW - timedelta(hours=2)).isoformat()]),
        sep.join(["FRXXXE99999", "en_service", "libre", (NOW - timedelta(hours=2)).isoformat()]),
        sep.join([pdc_id(1, 0), "cassé", "libre", (NOW - timedelta(hours=2)).isoformat()]),
    ]
    return "\r\n".join(lines).encode("utf-8-sig")


def test_post_status_rights_and_report(ev: World) -> None:
    url = "/api/v1/ev/status"
    assert ev.client.post(url, content=_status_csv(), headers=CSV).status_code == 404
    assert ev.client.post(url, content=_status_csv(), headers={**ev.reader, **CSV}).status_code == 403
    assert ev.client.post(url, content=_status_csv(), headers={**ev.other, **CSV}).status_code == 404
    r = ev.client.post(url, content=_status_csv(), headers={**ev.operator, **CSV})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["dataset"], body["received"], body["accepted"], body["rejected"]) == ("ev-status", 4, 2, 2)
    assert body["rejected_by_code"] == {"ENUM": 1, "UNKNOWN_PDC": 1}
    rows = [
        {"id_pdc_itinerance": pdc_id(2, 0), "etat_pdc": "hors_service", "occupation_pdc": "inconnu",
         "horodatage": (NOW - timedelta(hours=1)).isoformat(), "etat_prise_type_2": None},
        {"id_pdc_itinerance": pdc_id(2, 1), "etat_pdc": 1, "occupation_pdc": "libre", "horodatage": "hier"},
    ]  # fmt: skip
    r = ev.client.post(url, json=rows, headers=ev.operator)
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (1, 1), r.text
    quarantine = ev.client.get("/api/v1/datasets/ev-status/quarantine", headers=ev.operator)
    assert quarantine.status_code == 200 and "UNKNOWN_PDC" in quarantine.text
    assert ev.client.post(f"{url}?dataset=nope", json=rows, headers=ev.operator).status_code == 404


def test_post_ocpi_rights_report_and_statuses(ev: World) -> None:
    query = "&".join(f"set={k}={v}" for k, v in DEFAULTS.items())
    url = f"/api/v1/ev/ocpi/locations?dataset=irve&{query}"
    doc = json.dumps(_recent(_doc())).encode()
    assert ev.client.post(url, content=doc, headers=JSON).status_code == 401
    assert ev.client.post(url, content=doc, headers={**ev.reader, **JSON}).status_code == 403
    r = ev.client.post(url + "&status=true", content=doc, headers={**ev.operator, **JSON})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["accepted"], body["rejected"], body["evses"]) == (9, 4, 5, 10)
    assert {u["code"] for u in body["unmapped"]} >= {"NO_EVSE_ID", "PLANNED", "NO_POWER", "NOT_LOCATION"}
    assert body["missing_fields"] == []
    assert (body["status"]["received"], body["status"]["accepted"]) == (6, 4)
    r = ev.client.post("/api/v1/ev/ocpi/locations?dataset=irve", content=doc, headers={**ev.operator, **JSON})
    assert r.status_code == 200 and r.json()["accepted"] == 0
    assert r.json()["missing_fields"] == ["contact_operateur", "paiement_acte", "restriction_gabarit"]
    for bad_url, status in [
        ("/api/v1/ev/ocpi/locations?dataset=lights", 422),  # not an IRVE dataset
        ("/api/v1/ev/ocpi/locations?dataset=nope", 404),
        ("/api/v1/ev/ocpi/locations", 422),  # no dataset
        (f"{url}&set=colour=blue", 422),
        (f"{url}&set=novalue", 422),
        ("/api/v1/ev/ocpi/locations?dataset=irve&status=true&status_dataset=irve", 422),
    ]:
        got = ev.client.post(bad_url, content=doc, headers={**ev.operator, **JSON})
        assert got.status_code == status, (bad_url, got.text)
        assert got.headers["content-type"].startswith("application/problem+json")


def test_malformed_bodies_never_5xx(ev: World) -> None:
    for url in ("/api/v1/ev/status", "/api/v1/ev/ocpi/locations?dataset=irve"):
        for body, content_type in ODD_BODIES:
            r = ev.client.post(url, content=body, headers={**ev.operator, "content-type": content_type})
            assert r.status_code < 500, (url, body, r.text)
    r = ev.client.post("/api/v1/ev/status", content=b"{", headers={**ev.operator, **JSON})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    r = ev.client.post(
        "/api/v1/ev/ocpi/locations?dataset=irve", content=b"[{", headers={**ev.operator, **JSON}
    )
    assert r.status_code == 400


def test_get_sessions_follows_the_dataset_read_access(ev: World, tmp_path: Path) -> None:
    url = "/api/v1/ev/sessions?level=territory&days=7"
    assert ev.client.get(url, headers=ev.operator).status_code == 404  # no sessions dataset yet
    with ev.ctx.session(write=True) as s:
        ensure_sessions_dataset(s, get_organisation(s, "lightco"))
    day = (NOW - timedelta(days=2)).replace(hour=8, minute=0, second=0)
    rows = [
        {"id_session": "1", "id_pdc_itinerance": pdc_id(0, 0), "start": day.isoformat(),
         "end": (day + timedelta(hours=1)).isoformat(), "energy": 11.5},
        {"id_session": "2", "id_pdc_itinerance": pdc_id(0, 1), "start": day.isoformat(),
         "end": (day + timedelta(minutes=2)).isoformat(), "energy": 0.2},
    ]  # fmt: skip
    r = ev.client.post("/api/v1/datasets/ev-sessions/records", json=rows, headers=ev.operator)
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    assert ev.client.get(url).status_code == 404  # private and unseen: as unknown
    assert ev.client.get(url, headers=ev.other).status_code == 404
    r = ev.client.get(url, headers=ev.reader)
    assert r.status_code == 200, r.text
    [row] = r.json()["rows"]
    assert (row["area_code"], row["charge_points"], row["sessions"], row["successful"]) == ("*", 10, 2, 1)
    assert row["energy_kwh"] == pytest.approx(11.7) and row["success_share"] == 0.5
    assert row["sessions_per_pdc_per_day"] == pytest.approx(2 / 70)
    r = ev.client.get("/api/v1/ev/sessions?level=commune&days=7", headers=ev.reader)
    nice = next(x for x in r.json()["rows"] if x["area_code"] == "06088")
    assert nice["sessions"] == 2 and nice["charge_points"] == 2
    assert ev.client.get("/api/v1/ev/sessions?level=epci", headers=ev.reader).status_code == 422
    # the success thresholds are settings: with 0.1 kWh and 1 minute both sessions succeed
    r = ev.client.get(url + "&min_energy_kwh=0.1&min_minutes=1", headers=ev.reader)
    assert r.json()["rows"][0]["successful"] == 2
    assert ev.client.get(url + "&min_minutes=-1", headers=ev.reader).status_code == 422
