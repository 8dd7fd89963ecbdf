"""Quality reports of a batch and of a dataset, in JSON and in HTML (French and English)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.conftest import World, web_login
from tests.quality.test_quarantine import BAD_BATCH, Q, quality_app, quarantined, send

from territoria.catalog.models import Dataset
from territoria.ingest.models import FindingRow


@pytest.fixture
def qw(world: World) -> World:
    """The standard world, its client on the app with the quarantine routers."""
    world.client = TestClient(quality_app(world.ctx))
    return world


def add_finding(world: World, batch_id: str) -> None:
    """A warning found on a stored row of the batch."""
    with world.ctx.session(write=True) as s:
        ds = s.query(Dataset).filter_by(slug="lights").one()
        s.add(
            FindingRow(
                dataset_id=ds.id,
                batch_id=batch_id,
                code="SPIKE",
                severity="warning",
                row_number=1,
                field="value",
                message_code="finding.text",
                message_params={
                    "en": "value far from its neighbours",
                    "fr": "valeur éloignée de ses voisines",
                },
                fingerprint=f"spike-{batch_id}",
            )
        )


def test_batch_report_json(qw: World) -> None:
    first = send(qw, BAD_BATCH)
    add_finding(qw, first["batch_id"])
    url = f"/api/v1/batches/{first['batch_id']}/report"
    r = qw.client.get(url, headers=qw.operator)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    report = r.json()
    came = report["received"]
    assert (came["rows"], came["accepted"], came["rejected"]) == (5, 1, 4)
    assert came["source"] == "http" and came["organisation"]["slug"] == "lightco"
    assert len(came["checksum"]) == 64 and came["created_at"] and came["replays"] == []
    why = report["rejected"]
    assert why["by_code"] == {"RANGE": 1, "TYPE": 1, "UNKNOWN_ASSET": 1, "UNKNOWN_METRIC": 1}
    assert why["by_field"]["value"] == 1
    assert [x["row"] for x in why["examples"]] == [2, 3, 4, 5]
    odd = report["suspicious"]
    assert odd["total"] == 1 and odd["by_code"] == [{"code": "SPIKE", "severity": "warning", "count": 1}]
    # A resubmission links both ways.
    rid = next(x["id"] for x in quarantined(qw) if x["row"] == 3)
    fix = {"id": rid, "row": {"asset": "L001", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 9}}
    replay = qw.client.post(Q + "/resubmit", json=[fix], headers=qw.operator).json()["batches"][0]["batch_id"]
    assert qw.client.get(url, headers=qw.operator).json()["received"]["replays"] == [replay]
    back = qw.client.get(f"/api/v1/batches/{replay}/report", headers=qw.operator).json()
    assert back["received"]["replay_of"] == first["batch_id"] and back["rejected"]["rows"] == 0
    assert qw.client.get(url, headers=qw.other).status_code == 404  # unseen: as an unknown batch
    assert qw.client.get(url).status_code == 404
    assert qw.client.get("/api/v1/batches/nope/report", headers=qw.operator).status_code == 404


def test_dataset_report_json(qw: World) -> None:
    first = send(qw, BAD_BATCH)
    send(qw, "asset,metric,ts,value\nL003,power,2026-11-01T00:00:00Z,abc\n", "text/csv")
    add_finding(qw, first["batch_id"])
    ids = [x["id"] for x in quarantined(qw)]
    qw.client.post(Q + "/discard", json={"ids": ids[:1], "reason": "test"}, headers=qw.operator)
    r = qw.client.get("/api/v1/datasets/lights/report", headers=qw.operator)
    assert r.status_code == 200, r.text
    report = r.json()
    today = datetime.now(UTC).date().isoformat()
    assert report["totals"] == {"batches": 2, "received": 6, "accepted": 1, "rejected": 5}
    assert report["per_day"] == [{"day": today, "batches": 2, "received": 6, "accepted": 1, "rejected": 5}]
    assert report["top_rejection_codes"]["TYPE"] == 2 and list(report["top_rejection_codes"])[0] == "TYPE"
    assert report["open_quarantine"]["rows"] == 4
    assert report["findings"]["by_code"][0]["code"] == "SPIKE"
    assert len(report["batches"]) == 2 and not report["batches_truncated"]
    past = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    older = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    r = qw.client.get(
        "/api/v1/datasets/lights/report", params={"start": past, "end": older}, headers=qw.operator
    )
    assert r.json()["totals"]["batches"] == 0 and r.json()["per_day"] == []
    r = qw.client.get(
        "/api/v1/datasets/lights/report", params={"start": older, "end": past}, headers=qw.operator
    )
    assert r.status_code == 422
    assert qw.client.get("/api/v1/datasets/lights/report", headers=qw.other).status_code == 404
    assert qw.client.get("/api/v1/datasets/lights/report").status_code == 404


@pytest.mark.parametrize(
    ("lang", "words"), [("fr", ("Ce qui est arrivé", "Reçues")), ("en", ("What came in", "Received"))]
)
def test_reports_in_html(qw: World, lang: str, words: tuple[str, str]) -> None:
    first = send(qw, BAD_BATCH)
    add_finding(qw, first["batch_id"])
    url = f"/api/v1/batches/{first['batch_id']}/report"
    r = qw.client.get(url, params={"format": "html", "lang": lang}, headers=qw.operator)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in r.text and all(w in r.text for w in words)
    assert "UNKNOWN_ASSET" in r.text and "SPIKE" in r.text and "GHOST" in r.text
    message = "valeur éloignée de ses voisines" if lang == "fr" else "value far from its neighbours"
    assert message in r.text
    assert "Content-Security-Policy" in r.headers and "<script" not in r.text
    browser = {**qw.operator, "accept": "text/html,application/xhtml+xml", "accept-language": lang}
    assert qw.client.get(url, headers=browser).headers["content-type"].startswith("text/html")
    r = qw.client.get(
        "/api/v1/datasets/lights/report", params={"format": "html", "lang": lang}, headers=qw.operator
    )
    assert r.status_code == 200 and words[1] in r.text and "UNKNOWN_ASSET" in r.text and "SPIKE" in r.text
    title = "Rapport qualité" if lang == "fr" else "Quality report"
    assert title in r.text


def test_report_pages_for_the_browser(qw: World) -> None:
    first = send(qw, BAD_BATCH)
    assert qw.client.get(f"/batches/{first['batch_id']}/report").status_code == 404  # anonymous browser
    web_login(qw.ctx, qw.client, org="lightco", role="producer")
    r = qw.client.get(f"/batches/{first['batch_id']}/report?lang=en")
    assert r.status_code == 200 and "What was rejected and why" in r.text and "UNKNOWN_ASSET" in r.text
    r = qw.client.get("/datasets/lights/report?lang=fr")
    assert r.status_code == 200 and "Principaux motifs de rejet" in r.text
    assert qw.client.get("/batches/nope/report").status_code == 404
    page = qw.client.get("/datasets/lights/quarantine?lang=en").text
    assert f"/batches/{first['batch_id']}/report" in page and "/datasets/lights/report" in page
    qw.client.cookies.clear()
    assert qw.client.get(f"/batches/{first['batch_id']}/report", headers=qw.operator).status_code == 200
    assert qw.client.get("/datasets/lights/report", headers=qw.other).status_code == 404
