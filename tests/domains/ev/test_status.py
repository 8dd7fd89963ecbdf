"""The status history of charge points on the time-series store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import typer
from sqlalchemy import select
from tests.conftest import World
from tests.domains.ev.irve_factory import COMMUNES, irve_csv, pdc_id
from typer.testing import CliRunner

from territoria.catalog.models import Asset, Dataset
from territoria.catalog.service import get_dataset, get_organisation
from territoria.domains.ev.cli import decode, delimiter, ev_app
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.status import (
    STATUS_DATASET,
    availability_by_area,
    ensure_status_dataset,
    import_dynamic,
    status_events,
    sync_assets,
)
from territoria.errors import Invalid
from territoria.ingest.models import Batch, QuarantinedRow

NICE = COMMUNES["Nice"][0]
A, B = pdc_id(0, 0), pdc_id(0, 1)  # the two points of station 0, in Nice
NOW = datetime.now(UTC).replace(microsecond=0)
DAY = datetime.combine(NOW.date() - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
H = timedelta(hours=1)


def dyn(pdc: str, at: datetime | str, etat: str = "en_service", occupation: str = "libre") -> dict[str, str]:
    """One IRVE dynamic row."""
    ts = at if isinstance(at, str) else at.isoformat()
    return {"id_pdc_itinerance": pdc, "etat_pdc": etat, "occupation_pdc": occupation, "horodatage": ts}


GOOD = [
    dyn(A, DAY),
    dyn(A, DAY + 6 * H, occupation="occupe"),
    dyn(B, DAY),
    dyn(A, DAY + 12 * H, etat="hors_service", occupation="inconnu"),
    dyn(A, DAY + 30 * H),  # the next day, outside the window of the checks
]
BAD = [
    (dyn(A, NOW + timedelta(days=1)), "FUTURE_TS"),
    (dyn(A, NOW - timedelta(days=100)), "TOO_OLD"),
    (dyn("FRXXXE99999", DAY), "UNKNOWN_PDC"),
    (dyn(B, DAY + H, etat="cassé"), "ENUM"),
    (dyn(B, "hier"), "BAD_TS"),
]


@pytest.fixture
def ev(world: World) -> World:
    """The world with 10 IRVE charge points (2 per commune) consolidated into the status dataset."""
    body = {"slug": "irve", "title": "irve", "domain": "ev", "kind": "records", "schema": "irve-statique"}
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code == 201, r.text
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve/records", content=irve_csv().encode(), headers=headers)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
    with world.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        assert sync_assets(s, world.ctx.locator(), ds, consolidate(s).points) == 10
    return world


def test_dataset_and_assets(ev: World) -> None:
    with ev.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))  # already there: the same one
        assert ds.kind == "timeseries" and ds.reporting_interval_s is None
        assert sorted(m.name for m in ds.metrics) == ["etat_pdc", "occupation_pdc"]
        asset = s.scalar(select(Asset).where(Asset.dataset_id == ds.id, Asset.external_id == A))
        assert asset is not None and asset.kind == "charge_point" and asset.area_code == NICE
        assert asset.properties["station"] == "FRA68P060000" and asset.properties["power_kw"] == 22.0
        assert sync_assets(s, ev.ctx.locator(), ds, consolidate(s).points) == 10  # updates, no duplicate
        assert len(s.scalars(select(Asset.id).where(Asset.dataset_id == ds.id)).all()) == 10
        with pytest.raises(Invalid):
            ensure_status_dataset(s, get_organisation(s, "lightco"), "lights")  # wrong metrics


def test_import_quarantines_every_rejected_row(ev: World) -> None:
    rows = GOOD + [r for r, _ in BAD]
    with ev.ctx.session(write=True) as s:
        report = import_dynamic(s, get_dataset(s, STATUS_DATASET), rows, now=NOW)
    assert (report.received, report.accepted, report.rejected) == (10, 5, 5)
    assert report.rejected_by_code == {"BAD_TS": 1, "ENUM": 1, "FUTURE_TS": 1, "TOO_OLD": 1, "UNKNOWN_PDC": 1}
    with ev.ctx.session() as s:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.slug == STATUS_DATASET))
        quarantined = s.scalars(select(QuarantinedRow).where(QuarantinedRow.dataset_id == ds_id)).all()
        got = {q.row_number: (q.errors[0]["code"], orjson.loads(q.raw)) for q in quarantined}
        assert got == {len(GOOD) + i: (code, row) for i, (row, code) in enumerate(BAD, start=1)}
        batch = s.get(Batch, report.batch_id)
        assert batch is not None and batch.rejected == 5 and batch.accepted == 2 * len(GOOD)
        assert "cassé" in next(q for q in quarantined if q.errors[0]["code"] == "ENUM").errors[0]["message"]
    # the same rows again: nothing new stored, still nothing lost
    with ev.ctx.session(write=True) as s:
        again = import_dynamic(s, get_dataset(s, STATUS_DATASET), rows, now=NOW)
    assert (again.accepted, again.rejected, again.already_stored) == (5, 5, 10)


def test_events_round_trip_and_availability(ev: World) -> None:
    with ev.ctx.session(write=True) as s:
        report = import_dynamic(s, get_dataset(s, STATUS_DATASET), GOOD, now=NOW)
        assert report.rejected == 0
    end = DAY + 24 * H
    with ev.ctx.session() as s:
        ds = get_dataset(s, STATUS_DATASET)
        events = status_events(s, ds, DAY, end)
        assert [(e.id_pdc, e.at, e.etat, e.occupation) for e in events] == [
            (A, DAY, "en_service", "libre"),
            (A, DAY + 6 * H, "en_service", "occupe"),
            (A, DAY + 12 * H, "hors_service", "inconnu"),
            (B, DAY, "en_service", "libre"),
        ]
        gap = timedelta(days=2)
        by_commune = {a.area_code: a for a in availability_by_area(s, ds, DAY, end, max_gap=gap)}
        territory = availability_by_area(s, ds, DAY, end, "territory", max_gap=gap)
        with pytest.raises(Invalid):
            availability_by_area(s, ds, DAY, end, "region")
    # Nice: A 12 h en service (6 h occupied) then 12 h out of service; B 24 h en service and free.
    nice = by_commune[NICE]
    assert nice.points == 2 and nice.availability_rate == pytest.approx(36 / 48)
    assert nice.occupancy_rate == pytest.approx(6 / 36)
    assert nice.totals.unknown_s == 0
    assert len(by_commune) == 5 and by_commune[COMMUNES["Cannes"][0]].availability_rate is None
    assert [(t.area_code, t.points) for t in territory] == [("*", 10)]
    assert territory[0].availability_rate == pytest.approx(0.75)
    assert territory[0].totals.unknown_s == (240 - 48) * 3600


def test_decode_and_delimiter() -> None:
    assert decode("a;é\n".encode("utf-8-sig")) == ("a;é\n", "utf-8-sig")
    assert decode("a;é\n".encode()) == ("a;é\n", "utf-8")
    assert decode("a;é\n".encode("latin-1")) == ("a;é\n", "latin-1")
    assert delimiter("a;b;c\n1,5;2;3") == ";" and delimiter("a,b\n") == ","


def test_cli_sync_and_import_semicolon_bom(
    ev: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", ev.ctx.engine.url.render_as_string(hide_password=False))
    app = typer.Typer()
    app.add_typer(ev_app, name="ev")
    runner = CliRunner()
    result = runner.invoke(app, ["ev", "sync-assets"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"dataset": STATUS_DATASET, "assets": 10}
    lines = [
        "id_pdc_itinerance;etat_pdc;occupation_pdc;horodatage",
        f"{A};en_service;libre;{DAY.isoformat()}",
        f"{B};en_service;réservé;{DAY.isoformat()}",
    ]
    path = tmp_path / "dyn.csv"
    path.write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    result = runner.invoke(app, ["ev", "import-dynamic", str(path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert (out["encoding"], out["separator"], out["received"], out["accepted"]) == ("utf-8-sig", ";", 2, 1)
    assert out["rejected_by_code"] == {"ENUM": 1}
    assert "encoding utf-8-sig" in result.stderr
    result = runner.invoke(app, ["ev", "import-dynamic", str(path), "--dataset", "nope"])
    assert result.exit_code == 1 and "does not exist" in result.stderr
