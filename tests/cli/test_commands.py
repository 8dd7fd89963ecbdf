"""The command line as an operator uses it: schema, territory, organisation, token, simulate."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from territoria.cli.main import app
from territoria.context import Context
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.settings import Settings
from territoria.territory.service import DEFAULT_GEOJSON, DEFAULT_POPULATION
from territoria.timeseries.models import measurement


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", url)
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_operator_setup_from_the_command_line(db_url: str) -> None:
    assert run("db", "upgrade")[0] == 0
    code, _out, err = run("territory", "load", str(DEFAULT_GEOJSON), "--population", str(DEFAULT_POPULATION))
    assert code == 0 and "163 areas loaded" in err
    assert run("org", "create", "lightco", "--name", "LightCo", "--kind", "operator")[0] == 0
    code, _out, err = run("org", "create", "lightco", "--name", "LightCo", "--kind", "operator")
    assert code == 1 and "already exists" in err
    code, _out, err = run("org", "create", "Bad Slug", "--name", "X", "--kind", "operator")
    assert code == 1 and "slug" in err
    code, _out, err = run("org", "create", "x", "--name", "X", "--kind", "operator", "--siren", "123456789")
    assert code == 1 and "Luhn" in err
    code, out, _err = run("token", "create", "--org", "lightco", "--scope", "ingest", "--scope", "read")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("trt_") and len(token) > 40
    code, _out, err = run("token", "create", "--org", "nope", "--scope", "read")
    assert code == 1 and "does not exist" in err
    code, _out, err = run("token", "create", "--org", "lightco", "--scope", "root")
    assert code == 1 and "scopes" in err
    # The printed token works against the API.
    from fastapi.testclient import TestClient

    from territoria.app import create_app

    client = TestClient(create_app(Settings(database_url=db_url, demo=True)))
    assert client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_simulate_loads_a_small_city_through_the_batch_service(db_url: str) -> None:
    code, _out, err = run("simulate", "--assets", "120", "--days", "1")
    assert code == 0, err
    ctx = Context(Settings(database_url=db_url))
    with ctx.session() as s:
        stored = s.scalar(select(func.count()).select_from(measurement))
        received = s.scalar(select(func.sum(Batch.received)))
        accepted = s.scalar(select(func.sum(Batch.accepted)))
        rejected = s.scalar(select(func.sum(Batch.rejected)))
        quarantined = s.scalar(select(func.count()).select_from(QuarantinedRow))
    assert received == accepted + rejected and quarantined == rejected
    assert stored == accepted and stored > 1000
    code, _out, err = run("simulate", "--assets", "120", "--days", "1")
    assert code == 0 and "already loaded" in err


def test_serve_refuses_the_demo_secret(db_url: str) -> None:
    code, _out, err = run("serve", "--port", "8999")
    assert code == 1 and "TERRITORIA_SECRET_KEY" in err
