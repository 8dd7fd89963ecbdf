"""`territoria policy set FILE`: a YAML file nested too deep is refused with a message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from territoria.cli.main import app


def test_deep_yaml_policy_file_is_refused_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    deep = tmp_path / "deep.yaml"
    deep.write_text("preset: x\nextra: " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["policy", "set", "anything", str(deep)])
    assert result.exit_code == 1, result.output
    assert "nested more than" in result.stderr
    assert not isinstance(result.exception, RecursionError)
