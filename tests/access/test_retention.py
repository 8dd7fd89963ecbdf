"""Retention: old raw readings, personal fields of old records and old quarantined rows are purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from tests.conftest import World
from typer.testing import CliRunner

from territoria.access import retention
from territoria.access.audit import list_events, verify
from territoria.access.personal import pseudonym
from territoria.catalog.models import Asset, Dataset, Series
from territoria.cli.main import app
from territoria.ingest import retention as ingest_retention
from territoria.ingest.models import QuarantinedRow, Record
from territoria.timeseries import retention as timeseries_retention
from territoria.timeseries.models import measurement, rollup_day, rollup_hour

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
OLD = NOW - timedelta(days=60)
RECENT = NOW - timedelta(days=2)

METERS = {
    "slug": "meters",
    "title": "Smart meters",
    "domain": "electricity",
    "kind": "timeseries",
    "metrics": [{"name": "energy", "unit": "kWh"}],
    "personal_fields": ["asset"],
    "retention_days": 30,
}
RESIDENTS = {
    "slug": "residents",
    "title": "Subscribers",
    "domain": "electricity",
    "kind": "records",
    "schema": {
        "fields": [
            {"name": "email", "type": "string"},
            {"name": "holder", "type": "string", "personal": True},
            {"name": "commune", "type": "string"},
            {"name": "kwh", "type": "number"},
        ],
        "primaryKey": ["email"],
    },
    "personal_fields": ["email"],
    "retention_days": 30,
}
ROWS = [
    {"email": "old@example.org", "holder": "Old Timer", "commune": "Nice", "kwh": 1},
    {"email": "valid@example.org", "holder": "Still Valid", "commune": "Nice", "kwh": 2},
    {"email": "ended@example.org", "holder": "Moved Away", "commune": "Nice", "kwh": 3},
    {"email": "new@example.org", "holder": "New Comer", "commune": "Nice", "kwh": 4},
]


def readings(assets: list[str], metric: str, at: datetime, n: int = 4) -> list[dict[str, object]]:
    """n readings per asset every 15 minutes from `at`."""
    return [
        {"asset": a, "metric": metric, "ts": (at + timedelta(minutes=15 * k)).isoformat(), "value": 1.0}
        for a in assets
        for k in range(n)
    ]


@pytest.fixture
def aged(world: World) -> World:
    """Meters (asset personal), subscribers (e-mail and holder personal) and lights, with old and new data."""
    c, op = world.client, world.operator
    for body in (METERS, RESIDENTS):
        assert c.post("/api/v1/datasets", json=body, headers=op).status_code == 201
    assert c.patch("/api/v1/datasets/lights", json={"retention_days": 30}, headers=op).status_code == 200
    meters = [{"id": f"M{i}", "kind": "meter"} for i in range(2)]
    assert c.post("/api/v1/datasets/meters/assets", json=meters, headers=op).status_code == 200
    for slug, assets, metric in (("meters", ["M0", "M1"], "energy"), ("lights", ["L000", "L001"], "power")):
        for at in (OLD, RECENT):
            bad = [{"asset": "NOPE", "metric": metric, "ts": at.isoformat(), "value": 1.0}]
            r = c.post(
                f"/api/v1/datasets/{slug}/measurements", json=readings(assets, metric, at) + bad, headers=op
            )
            assert (r.json()["accepted"], r.json()["rejected"]) == (8, 1), r.text
    assert c.post("/api/v1/datasets/residents/records", json=ROWS, headers=op).json()["accepted"] == 4
    with world.ctx.session(write=True) as s:
        # The rows quarantined from the old batches (1st and 3rd) age; records by updated_at or valid_to.
        first = s.scalars(select(QuarantinedRow.id).order_by(QuarantinedRow.id)).all()
        s.execute(update(QuarantinedRow).where(QuarantinedRow.id.in_(first[::2])).values(created_at=OLD))
        ages = {
            "old@example.org": {"updated_at": OLD},
            "valid@example.org": {"updated_at": OLD, "valid_to": NOW + timedelta(days=300)},
            "ended@example.org": {"valid_to": NOW - timedelta(days=40)},
        }
        for key, values in ages.items():
            s.execute(update(Record).where(Record.key == key).values(**values))
    return world


def counts(world: World) -> dict[str, object]:
    """Everything retention may touch, per dataset."""
    out: dict[str, object] = {}
    with world.ctx.session() as s:
        for slug in ("meters", "lights"):
            ds_id = s.scalar(select(Dataset.id).where(Dataset.slug == slug))
            series = (
                select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == ds_id)
            )
            for table in (measurement, rollup_hour, rollup_day):
                n = s.scalar(select(func.count()).select_from(table).where(table.c.series_id.in_(series)))
                out[f"{slug}.{table.name}"] = n
            out[f"{slug}.quarantine"] = s.scalar(
                select(func.count(QuarantinedRow.id)).where(QuarantinedRow.dataset_id == ds_id)
            )
        out["records"] = sorted(
            (r.key, sorted(r.data.items(), key=lambda kv: kv[0]), r.updated_at)
            for r in s.scalars(select(Record))
        )
    return out


def retention_events(world: World) -> list[dict[str, object]]:
    with world.ctx.session() as s:
        return [
            {"target": e.target, "actor": e.actor, **e.details}
            for e in list_events(s, action="retention.run", limit=100)
        ]


def test_dry_run_changes_nothing(aged: World) -> None:
    before = counts(aged)
    report = retention.run_retention(aged.ctx, dry_run=True)
    assert report.dry_run and counts(aged) == before and retention_events(aged) == []
    found = {d.dataset: (d.measurements, d.records, d.quarantine) for d in report.datasets}
    assert found == {"lights": (0, 0, 1), "meters": (8, 0, 1), "residents": (0, 2, 0)}


def test_retention_purges_old_personal_data(aged: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny chunks, so that every loop turns more than once.
    monkeypatch.setattr(timeseries_retention, "SERIES_CHUNK", 1)
    monkeypatch.setattr(timeseries_retention, "WINDOW", timedelta(days=3))
    monkeypatch.setattr(ingest_retention, "ROW_CHUNK", 1)
    before = counts(aged)
    report = retention.run_retention(aged.ctx)
    found = {d.dataset: (d.measurements, d.records, d.quarantine) for d in report.datasets}
    assert found == {"lights": (0, 0, 1), "meters": (8, 0, 1), "residents": (0, 2, 0)}
    assert report.total == 12
    after = counts(aged)
    assert after["meters.measurement"] == 8 and before["meters.measurement"] == 16
    # Aggregates are kept: the hourly and daily rollups still cover the old period.
    for table in ("rollup_hour", "rollup_day"):
        assert after[f"meters.{table}"] == before[f"meters.{table}"]
    # No personal field in lights: its readings stay; its old quarantined row goes.
    assert after["lights.measurement"] == before["lights.measurement"] == 16
    assert (before["lights.quarantine"], after["lights.quarantine"]) == (2, 1)
    assert (before["meters.quarantine"], after["meters.quarantine"]) == (2, 1)
    with aged.ctx.session() as s:
        records = {r.data["kwh"]: r for r in s.scalars(select(Record))}
        assert s.scalar(select(func.min(measurement.c.ts)).select_from(measurement)) is not None
    secret = aged.ctx.settings.secret_key
    for kwh, email in ((1, "old@example.org"), (3, "ended@example.org")):
        rec = records[kwh]
        assert rec.data == {"email": None, "holder": None, "commune": "Nice", "kwh": kwh}
        assert rec.key == pseudonym(secret, "residents", "email", email)  # the key was the e-mail
    assert records[1].updated_at == OLD  # purging does not make a record look fresh
    assert records[2].data["email"] == "valid@example.org"  # still valid: kept
    assert records[4].data["holder"] == "New Comer"
    events = {e["target"]: e for e in retention_events(aged)}
    assert set(events) == {"dataset:lights", "dataset:meters", "dataset:residents"}
    assert events["dataset:meters"]["measurements"] == 8 and events["dataset:meters"]["quarantine"] == 1
    assert events["dataset:residents"]["records"] == 2 and events["dataset:residents"]["retention_days"] == 30
    assert events["dataset:meters"]["actor"] == "system:retention"
    with aged.ctx.session() as s:
        assert verify(s).ok
    # A second run finds nothing left to purge (and says so in the trail).
    again = retention.run_retention(aged.ctx)
    assert again.total == 0 and len(retention_events(aged)) == 6


def test_owner_reads_after_retention(aged: World) -> None:
    retention.run_retention(aged.ctx)
    r = aged.client.get("/api/v1/datasets/meters/measurements?resolution=day", headers=aged.operator)
    days = {p["ts"][:10] for p in r.json()["data"]}
    assert OLD.date().isoformat() in days  # daily aggregates of the purged period remain
    r = aged.client.get("/api/v1/datasets/meters/measurements", headers=aged.operator)
    assert r.json()["count"] == 8  # raw readings only for the recent period


def test_datasets_without_retention_are_untouched(world: World) -> None:
    body = {**METERS, "retention_days": None}
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    assert (
        world.client.post(
            "/api/v1/datasets/meters/assets", json=[{"id": "M0"}], headers=world.operator
        ).status_code
        == 200
    )
    world.client.post(
        "/api/v1/datasets/meters/measurements", json=readings(["M0"], "energy", OLD), headers=world.operator
    )
    report = retention.run_retention(world.ctx)
    assert report.datasets == [] and report.total == 0
    with world.ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(measurement)) == 4


def test_retention_command(aged: World, monkeypatch: pytest.MonkeyPatch) -> None:
    url = aged.ctx.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", url)
    before = counts(aged)
    result = CliRunner().invoke(app, ["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "meters" in result.stdout and "12 row(s) would be purged" in result.stderr
    assert counts(aged) == before
    result = CliRunner().invoke(app, ["retention", "run"])
    assert result.exit_code == 0 and "12 row(s) purged" in result.stderr
    assert {e["actor"] for e in retention_events(aged)} == {"cli"}


def test_schedule_runs_and_stops(aged: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "FIRST_RUN_DELAY_S", 0.01)
    aged.ctx.settings.retention_interval_s = 3600
    schedule = retention.start_retention_schedule(aged.ctx)
    assert schedule is not None
    try:
        for _ in range(500):
            if retention_events(aged):
                break
            schedule.join(0.02)
    finally:
        schedule.stop_event.set()
        schedule.join(5)
    assert len(retention_events(aged)) == 3 and not schedule.is_alive()
    aged.ctx.settings.retention_interval_s = 0
    assert retention.start_retention_schedule(aged.ctx) is None
