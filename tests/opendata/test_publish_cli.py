"""`territoria policy set|show` and `territoria publish` as a steward uses them on a simulated city."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territoria.cli.main import app


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small simulated city in a SQLite file named by TERRITORIA_DATABASE_URL."""
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    code, _out, err = _run(
        "simulate", "--assets", "300", "--days", "3", "--feeds-dir", str(tmp_path / "irve")
    )
    assert code == 0, err
    assert (tmp_path / "irve" / "irve-statique.csv").exists() and "status changes" in err
    return tmp_path


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_policy_then_publish_from_the_command_line(city: Path) -> None:
    code, _out, err = _run("publish", "electricity-meters")
    assert code == 1 and "no privacy policy" in err
    bad = city / "bad.yaml"
    bad.write_text("preset: fr-energy-by-commune\nk: 100000\n", encoding="utf-8")
    code, _out, err = _run("policy", "set", "electricity-meters", str(bad))
    assert code == 1 and "K_UNREACHABLE" not in err and "contributors in all" in err
    code, _out, err = _run("policy", "set", "electricity-meters", "--preset", "fr-energy-by-commune")
    assert code == 0 and "version 1" in err
    code, out, _err = _run("policy", "show", "electricity-meters")
    assert code == 0 and json.loads(out)["policy"]["k"] == 10
    code, out, err = _run("publish", "electricity-meters")
    assert code == 0, err
    assert "published" in err and "MIN_CONTRIBUTORS" in err and out.strip() == "/opendata/electricity-meters"
    assert list((city / "releases" / "electricity-meters").glob("v1-*.parquet"))
    code, _out, err = _run("publish", "air-quality", "--preset", "open-measurements")
    assert code == 0, err
