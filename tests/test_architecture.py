"""The house rules of docs/architecture.md: one direction between packages, domains only as plug-ins."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from territoria import plugins
from territoria.contract import Domain

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "territoria"
# Outside these folders the code is generic: it may not name a domain (vendored libraries aside).
DOMAIN_FOLDERS = ("domains", "simulate")
EV_NAMES = re.compile(r"irve|\bev\b|/ev\b|domains\.ev|nom_station|coordonnees", re.IGNORECASE)
CHECKED = {".py", ".html", ".js", ".css", ".yaml", ".json"}


def generic_files() -> list[Path]:
    """Every source file of the generic packages (migrations are history: 0007 stays where it ran)."""
    out = []
    for path in SRC.rglob("*"):
        rel = path.relative_to(SRC)
        if path.suffix not in CHECKED or rel.parts[0] in DOMAIN_FOLDERS:
            continue
        if "vendor" in rel.parts or "versions" in rel.parts:
            continue
        out.append(path)
    return out


def test_import_linter_contracts_hold() -> None:
    # Layers in one direction (imports inside functions and under TYPE_CHECKING count), no domain imported.
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_every_top_level_module_has_a_layer() -> None:
    # A module outside every layer would escape the contract: new packages must take a place in it.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    named = {part.strip().split(".")[1] for layer in layers for part in re.split(r"[|:]", layer)}
    top = {p.stem for p in SRC.iterdir() if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert top - {"__init__"} - named == set()


def test_no_domain_names_in_generic_packages() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
        for path in generic_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if EV_NAMES.search(line)
    ]
    assert found == []


def test_the_ev_domain_is_found_through_its_entry_point() -> None:
    found = {d.name: d for d in plugins.discover()}
    assert isinstance(found.get("ev"), Domain)
    assert "/ev" in {entry.href for entry in found["ev"].nav}


WITHOUT_DOMAINS = """
import json
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from territoria.app import create_app
from territoria.cli.main import app as cli
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.settings import Settings
from territoria.territory.service import DEFAULT_GEOJSON, DEFAULT_POPULATION, load_areas

ctx = Context(Settings(database_url="sqlite:///" + {db!r}, demo=True))
upgrade(ctx.engine)
with ctx.session(write=True) as s:
    load_areas(s, DEFAULT_GEOJSON, population=DEFAULT_POPULATION)
client = TestClient(create_app(context=ctx))
paths = client.get("/api/v1/openapi.json").json()["paths"]
print(json.dumps({{
    "home": client.get("/").status_code,
    "home_links_ev": 'href="/ev"' in client.get("/").text,
    "map": client.get("/map").status_code,
    "opendata": client.get("/opendata").status_code,
    "ev_page": client.get("/ev").status_code,
    "ev_api": client.get("/api/v1/ev/indicators").status_code,
    "ev_paths": [p for p in paths if p.startswith("/api/v1/ev")],
    "healthz": client.get("/healthz").status_code,
    "cli_has_ev": " ev " in CliRunner().invoke(cli, ["--help"]).output,
}}))
"""


def test_the_platform_works_without_any_domain(tmp_path: Path) -> None:
    # The EV domain left out of the entry points (TERRITORIA_DOMAINS selects among them): no /ev anywhere.
    env = {**os.environ, "TERRITORIA_DOMAINS": "", "COLUMNS": "200"}
    script = WITHOUT_DOMAINS.format(db=str(tmp_path / "t.db"))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["home"] == answer["map"] == answer["opendata"] == answer["healthz"] == 200
    assert answer["ev_page"] == answer["ev_api"] == 404
    assert answer["ev_paths"] == [] and not answer["home_links_ev"] and not answer["cli_has_ev"]


def test_the_same_script_sees_the_domain_when_it_is_registered(tmp_path: Path) -> None:
    # The control: the only difference is the entry point selection.
    env = {**os.environ, "TERRITORIA_DOMAINS": "ev", "COLUMNS": "200"}
    script = WITHOUT_DOMAINS.format(db=str(tmp_path / "t.db"))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["ev_page"] == 200 and answer["home_links_ev"] and answer["cli_has_ev"]
    assert "/api/v1/ev/indicators" in answer["ev_paths"]
