"""Registered EVs per commune and the AFIR fleet-based target, from import to the API and the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import World
from tests.domains.ev.irve_factory import COMMUNES, OPEN_IRVE_DATASET, irve_csv
from typer.testing import CliRunner

from territoria.catalog.models import Dataset
from territoria.cli.main import app
from territoria.domains.ev.fleet import fleet_by_commune, fleet_rows, grouped, note_text
from territoria.ingest.parsers import BadRow

DATA = Path(__file__).parent / "data"
NICE, CANNES = COMMUNES["Nice"][0], COMMUNES["Cannes"][0]


def test_sdes_combined_count_is_taken_as_battery_electric_and_said() -> None:
    rows, notes = fleet_rows(
        [(1, {"CODGEO": "06088", "nb_vp_rechargeables_el": "12", "nb_vp": "99"})], "2025-01-01"
    )
    assert rows == [(1, {"code_insee": "06088", "date_arrete": "2025-01-01", "bev": "12", "phev": "0"})]
    texts = [note_text(n) for n in notes]
    assert any("upper bound" in n for n in texts) and any("no date column" in n for n in texts)
    assert "sans colonne de date : effectifs datés du 2025-01-01" in [note_text(n, "fr") for n in notes]
    bad = BadRow("x", "PARSE", "ragged")
    assert fleet_rows([(2, bad)], "2025-01-01")[0] == [(2, bad)]
    assert grouped({"a": (1, 2), "b": (3, 4), "c": (5, 6)}, {"a": "G", "b": "G"}) == {"G": (4, 6)}


def test_cli_import_api_and_page(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    body = dict(OPEN_IRVE_DATASET)
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve/records", content=irve_csv().encode(), headers=headers)
    assert r.status_code == 200 and r.json()["rejected"] == 0
    monkeypatch.setenv(
        "TERRITORIA_DATABASE_URL", str(world.ctx.engine.url.render_as_string(hide_password=False))
    )
    runner = CliRunner()
    result = runner.invoke(app, ["ev", "import-fleet", str(DATA / "sdes-vp-communes.csv")])
    assert result.exit_code == 1 and "--owner" in result.output
    result = runner.invoke(app, ["ev", "import-fleet", str(DATA / "sdes-vp-communes.csv"), "--owner", "city"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["accepted"], summary["rejected"]) == (2, 1)  # the bad code and negative count
    assert "upper bound" in result.output
    with world.ctx.session() as s:
        assert fleet_by_commune(s) == {NICE: (5000, 0), CANNES: (1000, 0)}
        assert s.scalar(select(Dataset.access).where(Dataset.slug == "ev-fleet")) == "open"
    rows = {row["code"]: row for row in world.client.get("/api/v1/ev/indicators").json()["rows"]}
    nice = rows[NICE]["afir"]
    # 2 public 22 kW points in Nice (the factory's access is "Accès libre") for 5000 BEVs × 1.3 kW
    assert nice["required_kw"] == pytest.approx(6500.0) and nice["installed_kw"] == pytest.approx(44.0)
    assert nice["ratio"] == pytest.approx(44.0 / 6500.0)
    assert rows["06004"]["afir"] is None  # Antibes: no count loaded
    [terr] = world.client.get("/api/v1/ev/indicators", params={"level": "territory"}).json()["rows"]
    assert terr["afir"]["required_kw"] == pytest.approx(7800.0)  # the communes with counts
    assert terr["afir"]["installed_kw"] == pytest.approx(220.0)  # every public point of the territory
    page = world.client.get("/ev?lang=en").text
    assert 'data-figure="afir">3 %' in page and "Public power / AFIR target (%)" in page
    assert '<th scope="col">Public power / AFIR target</th>' in page  # the commune table column
