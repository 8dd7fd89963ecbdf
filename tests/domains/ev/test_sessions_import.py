"""Charging sessions: checks, the sessions dataset, import-sessions, and indicators from the stored rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from tests.conftest import World, build_world, sqlite_context
from tests.domains.ev.irve_factory import OPEN_IRVE_DATASET, irve_csv, pdc_id
from typer.testing import CliRunner

import territoria.domains.ev.cli_import  # noqa: F401 - registers the commands on ev_app
from territoria.catalog.service import get_dataset, get_organisation
from territoria.domains.ev.cli import ev_app
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.sessions_stats import session_stats
from territoria.domains.ev.sessions_store import PointRegistry, check_row, sessions_dataset
from territoria.domains.ev.status import ensure_status_dataset, sync_assets
from territoria.errors import Invalid, NotFound
from territoria.ingest.models import QuarantinedRow, Record
from territoria.ingest.parsers import BadRow

FILE = Path(__file__).parent / "data" / "sessions_semicolon.csv"
REGISTRY = PointRegistry({pdc_id(0, 0): 22.0, pdc_id(0, 1): None})


def with_points(world: World) -> World:
    """The world with 10 IRVE points (2 per commune) registered as assets of ev-status."""
    body = dict(OPEN_IRVE_DATASET)
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve/records", content=irve_csv().encode(), headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == 10, r.text
    with world.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        sync_assets(s, world.ctx.locator(), ds, consolidate(s).points)
    return world


def _row(**over: str) -> dict[str, str]:
    row = {"id_pdc_itinerance": pdc_id(0, 0), "start": "2024-05-01T08:00:00+02:00"}
    row.update(end="2024-05-01T09:00:00+02:00", energy="10")
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"end": "2024-05-01T07:00:00+02:00"}, "END_BEFORE_START"),
        ({"energy": "-0.1"}, "NEGATIVE_ENERGY"),
        ({"energy": "30"}, "IMPLAUSIBLE_ENERGY"),  # 30 kWh in one hour on a 22 kW point
        ({"start": "2024-05-01T08:00:00"}, "NAIVE_TS"),
        ({"start": "demain"}, "BAD_TS"),
        ({"energy": "beaucoup"}, "BAD_ENERGY"),
        ({"id_pdc_itinerance": "FRZZZE1234"}, "UNKNOWN_PDC"),
    ],
)
def test_check_row_codes(over: dict[str, str], code: str) -> None:
    verdict = check_row(_row(**over), REGISTRY)
    assert isinstance(verdict, BadRow) and verdict.code == code and code in verdict.message


def test_check_row_normalises() -> None:
    ok = check_row({"Session_ID": "a", "id_pdc": "fr*a68*e0600000", "début": "2024-05-01T08:00:00+02:00",
                    "fin": "2024-05-01T09:00:00Z", "énergie": "12,5", "note": "x"}, REGISTRY)  # fmt: skip
    assert ok == {
        "id_session": "a",
        "id_pdc_itinerance": pdc_id(0, 0),
        "start": "2024-05-01T06:00:00+00:00",
        "end": "2024-05-01T09:00:00+00:00",
        "energy": "12.5",
    }
    assert isinstance(check_row(_row(id_pdc_itinerance="FRZZZE1234"), None), dict)  # no registry: unchecked


def _cli(world: World, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, dict[str, object], str]:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", world.ctx.engine.url.render_as_string(hide_password=False))
    app = typer.Typer()
    app.add_typer(ev_app, name="ev")
    result = CliRunner().invoke(app, ["ev", *args])
    lines = result.stdout.strip().splitlines()
    return result.exit_code, (json.loads(lines[-1]) if result.exit_code == 0 else {}), result.stderr


def test_import_sessions_and_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = with_points(build_world(sqlite_context(tmp_path)))
    latin1 = tmp_path / "sessions.csv"
    latin1.write_bytes(FILE.read_text(encoding="utf-8").encode("latin-1"))
    code, _, err = _cli(world, monkeypatch, "import-sessions", str(latin1))
    assert code == 1 and "give --owner ORG" in " ".join(err.split())
    code, out, err = _cli(world, monkeypatch, "import-sessions", str(latin1), "--owner", "lightco")
    assert code == 0, err
    assert (out["encoding"], out["separator"], out["received"], out["accepted"]) == ("cp1252", ";", 9, 3)
    assert out["rejected_by_code"] == {
        "BAD_TS": 1,
        "END_BEFORE_START": 1,
        "IMPLAUSIBLE_ENERGY": 1,
        "NAIVE_TS": 1,
        "NEGATIVE_ENERGY": 1,
        "UNKNOWN_PDC": 1,
    }
    with world.ctx.session() as s:
        ds = get_dataset(s, "ev-sessions")
        assert ds.access == "private" and ds.table_schema["primaryKey"] == ["id_pdc_itinerance", "start"]
        keys = sorted(s.scalars(select(Record.key).where(Record.dataset_id == ds.id)))
        reasons = [
            q.errors[0]["code"]
            for q in s.scalars(select(QuarantinedRow).where(QuarantinedRow.dataset_id == ds.id))
        ]
    assert keys[0] == f"{pdc_id(0, 0)}|2024-05-01T06:00:00+00:00" and len(keys) == 3
    assert "UNKNOWN_PDC" in reasons
    code, out, _ = _cli(world, monkeypatch, "import-sessions", str(latin1))  # again: recognised
    assert code == 0 and out["replayed_batches"] == 1
    missing = tmp_path / "no_energy.csv"
    missing.write_text("id_pdc_itinerance,start,end\nA,B,C\n", encoding="utf-8")
    code, _, err = _cli(world, monkeypatch, "import-sessions", str(missing))
    assert code == 1 and "missing column(s) energy" in " ".join(err.split())

    start, end = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 4, tzinfo=UTC)
    with world.ctx.session() as s:
        communes = session_stats(s, start, end)
        territory = session_stats(s, start, end, "territory")
        one_day = session_stats(s, start, start + timedelta(days=1), "territory")
        with pytest.raises(Invalid):
            session_stats(s, start, end, "iris")  # not a level of sessions
        with pytest.raises(NotFound, match="import-sessions"):
            session_stats(s, start, end, dataset="nope")
    nice = next(r for r in communes.rows if r.area_code == "06088")
    assert (nice.charge_points, nice.sessions, nice.successful) == (2, 2, 1)
    assert nice.energy_kwh == pytest.approx(12.9) and nice.success_share == 0.5
    assert nice.sessions_per_pdc_per_day == pytest.approx(2 / (2 * 3))
    assert communes.points_source == "ev-status assets" and communes.days == 3
    [whole] = territory.rows
    assert (whole.area_code, whole.charge_points, whole.sessions) == ("*", 10, 3)
    assert whole.sessions_per_pdc_per_day == pytest.approx(3 / 30)
    assert one_day.rows[0].sessions == 2 and one_day.days == 1


def test_sessions_dataset_refuses_other_datasets(tmp_path: Path) -> None:
    world = build_world(sqlite_context(tmp_path))
    with world.ctx.session(write=True) as s, pytest.raises(Invalid, match="does not hold charging sessions"):
        sessions_dataset(s, "lights", None)
