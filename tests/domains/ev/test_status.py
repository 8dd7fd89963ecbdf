"""The status history of charge points on the time-series store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from sqlalchemy import func, select
from tests.conftest import World, sqlite_context
from tests.domains.ev.irve_factory import COMMUNES, irve_csv, pdc_id
from typer.testing import CliRunner

from territoria.catalog.models import Asset, Dataset
from territoria.catalog.schemas import OrganisationCreate
from territoria.catalog.service import create_organisation, get_dataset, get_organisation
from territoria.domains.ev import status as status_module
from territoria.domains.ev.cli import ev_app
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.model import ChargePoint
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
from territoria.ingest.parsers import BadRow
from territoria.validation import tabular
from territoria.validation.model import error_message
from territoria.validation.tabular import UTF8_BOM, decode, detect_encoding, open_csv, sniff_delimiter

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
        enum = next(q for q in quarantined if q.errors[0]["code"] == "ENUM").errors[0]
        assert "cassé" in error_message(enum, "en") and "message" not in enum  # stored as a code
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
    # One policy for every CSV reader: not UTF-8 is Windows-1252 (was Latin-1 here, U+0080 for "€").
    assert decode("a;é€\n".encode("cp1252")) == ("a;é€\n", "cp1252")
    assert sniff_delimiter("a;b;c") == ";" and sniff_delimiter("a,b") == ","


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


@pytest.mark.parametrize("chunk_rows", [1, 3, 50_000])
def test_import_in_chunks_accounts_for_every_row_as_one_batch(ev: World, chunk_rows: int) -> None:
    # a repeat of a stored row, and a row contradicting one of an earlier chunk
    rows = [*GOOD, *(r for r, _ in BAD), dyn(A, DAY), dyn(A, DAY + 6 * H, occupation="libre")]
    with ev.ctx.session(write=True) as s:
        report = import_dynamic(s, get_dataset(s, STATUS_DATASET), rows, now=NOW, chunk_rows=chunk_rows)
    assert (report.received, report.accepted, report.rejected) == (12, 6, 6)
    assert report.rejected_by_code == {
        "BAD_TS": 1,
        "DUPLICATE_CONFLICT": 1,
        "ENUM": 1,
        "FUTURE_TS": 1,
        "TOO_OLD": 1,
        "UNKNOWN_PDC": 1,
    }
    assert report.already_stored == 3  # both values of the repeat, the etat of the contradiction
    with ev.ctx.session() as s:
        assert s.scalars(select(Batch.id).where(Batch.id == report.batch_id)).all() == [report.batch_id]
        batch = s.get(Batch, report.batch_id)
        # the batch counts measurement rows: two per good IRVE row (7), one per rejected one (5)
        assert batch is not None and (batch.received, batch.rejected, batch.duplicates) == (19, 6, 3)
        assert batch.accepted == 13 and len(batch.checksum) == 64
        numbers = s.scalars(
            select(QuarantinedRow.row_number).where(QuarantinedRow.batch_id == report.batch_id)
        ).all()
        assert sorted(numbers) == [6, 7, 8, 9, 10, 12]
        ds = get_dataset(s, STATUS_DATASET)
        assert len(status_events(s, ds, DAY, DAY + 48 * H)) == 5  # nothing stored twice, nothing lost


def test_import_consumes_rows_one_chunk_at_a_time(ev: World, monkeypatch: pytest.MonkeyPatch) -> None:
    pulled: list[int] = []
    stored_after: list[int] = []
    original = status_module._store_chunk

    def feed() -> Iterator[dict[str, str]]:
        for i in range(10):
            pulled.append(i)
            yield dyn(A, DAY + i * H)

    def spy(*args: Any, **kwargs: Any) -> None:
        stored_after.append(len(pulled))
        original(*args, **kwargs)

    monkeypatch.setattr(status_module, "_store_chunk", spy)
    with ev.ctx.session(write=True) as s:
        report = import_dynamic(s, get_dataset(s, STATUS_DATASET), feed(), now=NOW, chunk_rows=4)
    assert stored_after == [4, 8, 10]  # each chunk stored before the next rows are read
    assert (report.received, report.accepted, report.rejected) == (10, 10, 0)


def test_sync_registers_more_points_than_sqlite_binds_at_once(tmp_path: Path) -> None:
    # 33,000 ids in one IN list failed on SQLite (at most 32,766 bound parameters): slices of 5,000.
    ctx = sqlite_context(tmp_path)
    n = 33_001
    points = [
        ChargePoint(
            id_pdc=f"FRA68E{i:09d}",
            id_station=f"FRA68P{i // 4:07d}",
            station_name=f"Station {i // 4}",
            operator="Op",
            owner="Ville",
            owner_siren=None,
            lon=7.0 + (i % 1000) / 10_000,
            lat=43.7,
            insee_declared=None,
            area_code=None,
            power_kw=22.0,
            implantation=None,
            access=None,
        )
        for i in range(n)
    ]
    with ctx.session(write=True) as s:
        org = create_organisation(s, OrganisationCreate(slug="op", name="Op", kind="operator"))
        ds = ensure_status_dataset(s, org)
        assert sync_assets(s, ctx.locator(), ds, points) == n
    with ctx.session(write=True) as s:
        ds = get_dataset(s, STATUS_DATASET)
        assert s.scalar(select(func.count(Asset.id)).where(Asset.dataset_id == ds.id)) == n
        assert sync_assets(s, ctx.locator(), ds, points[-2:]) == 2  # updates, no duplicate
        assert s.scalar(select(func.count(Asset.id)).where(Asset.dataset_id == ds.id)) == n
    ctx.engine.dispose()


def test_encoding_sniffed_from_a_head_cut_anywhere() -> None:
    text = "id_pdc_itinerance,etat_pdc\nFRA68E1,réservé\n".encode()
    cut = text.index("é".encode()) + 1  # inside the two bytes of "é"
    assert detect_encoding(text[:cut]) == "utf-8"  # a cut character is not an invalid one
    assert detect_encoding(text[:cut], complete=True) == "cp1252"
    assert detect_encoding(UTF8_BOM + text) == "utf-8-sig"
    assert detect_encoding("é;".encode("latin-1") + text) == "cp1252"
    # A short line is a ragged row kept for quarantine, as on every other CSV path (it was padded).
    first, second = open_csv([b" a ;b\r\n", b"1;\r\n", b"2\r\n"]).rows()
    assert first == (1, {"a": "1", "b": ""})
    assert second[0] == 2 and isinstance(second[1], BadRow) and second[1].code == "PARSE"


def test_cli_streams_latin1_comma_and_refuses_a_file_changing_encoding(
    ev: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", ev.ctx.engine.url.render_as_string(hide_password=False))
    app = typer.Typer()
    app.add_typer(ev_app, name="ev")
    runner = CliRunner()
    lines = [
        "id_pdc_itinerance,etat_pdc,occupation_pdc,horodatage",
        f"{A},en_service,libre,{DAY.isoformat()}",
        f"{B},en_service,réservé,{DAY.isoformat()}",
    ]
    path = tmp_path / "dyn.csv"
    path.write_bytes("\n".join(lines).encode("latin-1"))
    result = runner.invoke(app, ["ev", "import-dynamic", str(path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert (out["encoding"], out["separator"], out["received"], out["accepted"]) == ("cp1252", ",", 2, 1)
    assert out["rejected_by_code"] == {"ENUM": 1}
    # UTF-8 in the sniffed head, Latin-1 further on: refused whole, nothing stored
    monkeypatch.setattr(tabular, "SNIFF_BYTES", 64)
    later = [f"{A},en_service,libre,{(DAY + i * H).isoformat()}" for i in range(1, 5)]
    path.write_bytes("\n".join([lines[0], *later]).encode() + b"\n" + lines[2].encode("latin-1"))
    with ev.ctx.session() as s:
        batches = s.scalar(select(func.count(Batch.id)))
    result = runner.invoke(app, ["ev", "import-dynamic", str(path)])
    assert result.exit_code == 1 and "nothing was imported" in " ".join(result.stderr.split())
    with ev.ctx.session() as s:
        assert s.scalar(select(func.count(Batch.id))) == batches
        assert len(status_events(s, get_dataset(s, STATUS_DATASET), DAY, DAY + 24 * H)) == 1


def test_clean_chunks_take_the_vectorised_path(ev: World, monkeypatch: pytest.MonkeyPatch) -> None:
    row_by_row: list[int] = []
    original = status_module._sort

    def spy(session: Any, ds: Any, rows: list[Any], *args: Any) -> Any:
        row_by_row.append(len(rows))
        return original(session, ds, rows, *args)

    monkeypatch.setattr(status_module, "_sort", spy)
    # new charge points in later chunks, series made in this very import
    rows = [dyn(pdc, DAY + i * H) for pdc in (A, B, pdc_id(1, 0)) for i in range(4)]
    with ev.ctx.session(write=True) as s:
        report = import_dynamic(s, get_dataset(s, STATUS_DATASET), rows, now=NOW, chunk_rows=3)
    assert row_by_row == [] and (report.received, report.accepted) == (12, 12)
    with ev.ctx.session(write=True) as s:  # a rejected row sends its chunk (only) row by row
        bad = [dyn(A, DAY + 5 * H), dyn(A, "hier"), dyn(B, DAY + 5 * H)]
        report = import_dynamic(s, get_dataset(s, STATUS_DATASET), bad, now=NOW, chunk_rows=2)
    assert row_by_row == [3] and (report.accepted, report.rejected) == (2, 1)
    with ev.ctx.session() as s:
        assert len(status_events(s, get_dataset(s, STATUS_DATASET), DAY, DAY + 24 * H)) == 14
