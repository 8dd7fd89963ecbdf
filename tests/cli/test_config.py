"""The CLI finds the demo's database, never creates an empty one by accident, and links use the real URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import build_world
from typer.testing import CliRunner

from territoria.cli.common import listen_url, record_config
from territoria.cli.main import app
from territoria.context import Context
from territoria.settings import Settings
from territoria.simulate.demo import data_dir_url
from territoria.timeseries.models import measurement

CSV = "asset,metric,ts,value\nL000,power,2026-11-26T10:00:00Z,120\nL001,power,2026-11-26T10:00:00Z,80\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder where the configuration lookup is on, with no user file and no variable."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("TERRITORIA_CONFIG", raising=False)
    monkeypatch.delenv("TERRITORIA_DATABASE_URL", raising=False)
    monkeypatch.delenv("TERRITORIA_PUBLIC_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    monkeypatch.setenv("COLUMNS", "300")
    (work / "readings.csv").write_text(CSV, encoding="utf-8")
    return work


def _clean(text: str) -> str:
    return " ".join(text.split())


def test_import_on_a_missing_database_fails_and_creates_nothing(folder: Path) -> None:
    code, _out, err = run("import", "readings.csv", "--dataset", "lights")
    assert code == 1
    message = _clean(err)
    assert "no Territoria database" in message and "territoria-data/territoria.db" in message
    assert "./scripts/demo.sh" in message and "territoria db upgrade" in message
    assert "TERRITORIA_DATABASE_URL" in message and "territoria.toml" in message
    assert not (folder / "territoria-data").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["readings.csv"]


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "list"),
        ("quality", "run"),
        ("dead-letters", "list"),
        ("policy", "show", "lights"),
        ("user", "reset-link", "ana@ville.fr"),
        ("token", "create", "--org", "x", "--scope", "read"),
        ("ev", "sync-assets"),
    ],
)
def test_reading_commands_never_create_a_database(folder: Path, args: tuple[str, ...]) -> None:
    missing = folder / "elsewhere" / "t.db"
    code, _out, err = run("--database-url", f"sqlite:///{missing}", *args)
    assert code == 1, err
    assert "territoria db upgrade" in _clean(err)
    assert not missing.parent.exists()


def test_a_file_without_schema_is_refused_in_french(folder: Path) -> None:
    empty = folder / "empty.db"
    empty.touch()
    code, _out, err = run(
        "--lang",
        "fr",
        "--database-url",
        f"sqlite:///{empty}",
        "import",
        "readings.csv",
        "--dataset",
        "lights",
    )
    assert code == 1
    assert "n'a pas le schéma de Territoria" in _clean(err) and "territoria db upgrade" in _clean(err)
    assert empty.stat().st_size == 0


def test_db_upgrade_is_the_explicit_way_to_create_one(folder: Path) -> None:
    assert run("db", "upgrade")[0] == 0
    assert (folder / "territoria-data" / "territoria.db").is_file()
    code, _out, err = run("audit", "list")
    assert code == 0, err


def _demo_like(folder: Path, port: int) -> Context:
    """What `territoria demo --port PORT --data-dir …` leaves behind: a database and ./territoria.toml."""
    settings = Settings(
        database_url=data_dir_url(folder.parent / "demo-data"),
        demo=True,
        public_url=listen_url("127.0.0.1", port),
    )
    ctx = Context(settings)
    from territoria.db.migrate import upgrade

    upgrade(ctx.engine)
    build_world(ctx)
    assert record_config(settings, by="demo") == Path.cwd() / "territoria.toml"
    return ctx


def test_the_cli_acts_on_the_database_the_demo_recorded(folder: Path) -> None:
    ctx = _demo_like(folder, 8765)
    code, out, err = run("import", "readings.csv", "--dataset", "lights")
    assert code == 0, err
    assert '"accepted": 2' in out
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(measurement)) == 2
    assert not (folder / "territoria-data").exists()  # the default database was never touched
    # The variable (or --database-url) still wins over the file.
    code, _out, err = run(
        "--database-url", f"sqlite:///{folder}/other.db", "import", "readings.csv", "--dataset", "lights"
    )
    assert code == 1 and "other.db" in _clean(err)
    ctx.engine.dispose()


def test_invitation_and_reset_links_use_the_recorded_port(folder: Path) -> None:
    ctx = _demo_like(folder, 8765)
    code, out, err = run("user", "create", "ana@ville.fr", "--org", "lightco", "--role", "steward")
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("http://127.0.0.1:8765/invitation/")
    code, out, err = run("user", "reset-link", "ana@ville.fr")
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("http://127.0.0.1:8765/password-reset/")
    ctx.engine.dispose()


def test_a_relative_database_in_the_file_is_relative_to_the_file(folder: Path, tmp_path: Path) -> None:
    user_file = tmp_path / "user-config" / "territoria" / "territoria.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text('database_url = "sqlite:///data/t.db"\npublic_url = "https://data.ville.fr"\n')
    settings = Settings()
    assert settings.database_url == f"sqlite:///{user_file.parent / 'data' / 't.db'}"
    assert settings.public_url == "https://data.ville.fr" and settings.configured("public_url")
    # ./territoria.toml wins over the user's file, the variables over both.
    Path("territoria.toml").write_text('public_url = "http://127.0.0.1:9001"\n')
    assert Settings().public_url == "http://127.0.0.1:9001"
    assert Settings().database_url.endswith("/data/t.db")


def test_the_demo_never_replaces_a_file_written_by_hand(folder: Path) -> None:
    Path("territoria.toml").write_text('database_url = "postgresql+psycopg://db/prod"\n')
    assert record_config(Settings(database_url="sqlite:///x.db"), by="demo") is None
    assert "prod" in Path("territoria.toml").read_text()


def test_serve_links_use_the_port_it_listens_on(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(web: Any, **options: Any) -> None:
        seen["public_url"] = web.state.context.settings.public_url
        seen["port"] = options["port"]

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("TERRITORIA_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("TERRITORIA_QUALITY_INTERVAL_S", "0")
    monkeypatch.setenv("TERRITORIA_RETENTION_INTERVAL_S", "0")
    code, _out, err = run("serve", "--port", "8931")
    assert code == 0, err
    assert seen == {"public_url": "http://127.0.0.1:8931", "port": 8931}
    assert "http://127.0.0.1:8931" in _clean(err)
    # A configured public URL (a proxy's) is kept.
    monkeypatch.setenv("TERRITORIA_PUBLIC_URL", "https://data.ville.fr")
    assert run("serve", "--port", "8931")[0] == 0
    assert seen["public_url"] == "https://data.ville.fr"
    assert listen_url("0.0.0.0", 80).startswith("http://") and "0.0.0.0" not in listen_url("0.0.0.0", 80)  # noqa: S104
