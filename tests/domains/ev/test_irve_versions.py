"""Former IRVE static versions and real-world encodings: upgraded to v2.3 with notes, or refused clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from tests.conftest import World, build_world, sqlite_context
from typer.testing import CliRunner

import territoria.domains.ev.cli_import  # noqa: F401 - registers the commands on ev_app
from territoria.catalog.service import get_dataset
from territoria.cli import lang as cli_lang
from territoria.cli.main import app as main_app
from territoria.domains.ev.cli import ev_app
from territoria.domains.ev.csvfile import UnreadableFile, read_table
from territoria.domains.ev.irve_versions import (
    IrveFileRefused,
    upgrade_header,
    upgrade_rows,
    v23_columns,
)
from territoria.ingest.models import Record
from territoria.ingest.parsers import BadRow

DATA = Path(__file__).parent / "data"
OFFICIAL = Path("/work/shared/data/irve")


def _table(name: str) -> tuple[list[str], str, str]:
    t = read_table((DATA / name).read_bytes())
    return t.header, t.encoding, t.separator


def test_v20_latin1_semicolon_gets_cable_t2_attache_added() -> None:
    table = read_table((DATA / "irve_v20_latin1_semicolon.csv").read_bytes())
    assert (table.encoding, table.separator) == ("cp1252", ";")
    up = upgrade_header(table.header)
    assert up.version == "2.0" and up.added == ["cable_t2_attache"] and not up.renamed
    rows = list(upgrade_rows(table.rows, up))
    first = rows[0][1]
    assert isinstance(first, dict) and list(first) == list(v23_columns())
    assert first["cable_t2_attache"] == "" and first["nom_amenageur"] == "Régie Énergie Côte d'Azur"
    assert first["tarification"] == "0,35€ / kWh"  # Windows-1252, not Latin-1: the euro sign survives
    assert any("cable_t2_attache" in note for note in up.notes())


def test_v22_bom_header_with_a_renamed_column() -> None:
    header, encoding, sep = _table("irve_v22_bom.csv")
    assert (encoding, sep) == ("utf-8-sig", ",") and header[0] == "nom_amenageur"
    up = upgrade_header(header)
    assert up.version == "2.1-2.3" and up.renamed == {"coordonneesxy": "coordonneesXY"} and not up.added


def test_refusals_say_what_is_wrong_and_what_to_do() -> None:
    with pytest.raises(IrveFileRefused, match=r"IRVE v1 .*Ask the operator for a v2.3 file"):
        upgrade_header(_table("irve_v1.csv")[0])
    with pytest.raises(IrveFileRefused, match=r"no IRVE column"):
        upgrade_header(_table("garbage.csv")[0])
    with pytest.raises(IrveFileRefused, match=r"import-dynamic"):
        upgrade_header(_table_of(OFFICIAL / "exemple-valide-dynamique.csv"))
    extra = _table("irve_v23_extra_column.csv")[0]
    with pytest.raises(IrveFileRefused, match=r"commentaire_interne.*--drop-unknown"):
        upgrade_header(extra)
    assert upgrade_header(extra, drop_unknown=True).dropped == ["commentaire_interne"]
    without_required = [c for c in v23_columns() if c != "contact_operateur"]
    with pytest.raises(IrveFileRefused, match=r"required IRVE v2.3 column\(s\) missing: contact_operateur"):
        upgrade_header(without_required)
    with pytest.raises(IrveFileRefused, match="name the same field"):
        upgrade_header([*v23_columns(), "Nom_Station"])
    with pytest.raises(UnreadableFile, match="binary"):
        read_table(b"PK\x03\x04\x00\x00xlsx")
    with pytest.raises(UnreadableFile, match="empty"):
        read_table(b"")


def _table_of(path: Path) -> list[str]:
    return read_table(path.read_bytes()).header


def test_ragged_lines_stay_rows_for_quarantine() -> None:
    table = read_table(b"a;b\n1;2\n\n3;4;5\n")
    assert table.rows[0] == (1, {"a": "1", "b": "2"})
    assert isinstance(table.rows[1][1], BadRow) and table.rows[1][1].code == "PARSE"


@pytest.fixture
def sqlite_world(tmp_path: Path) -> World:
    """The small world on SQLite only (the CLI paths are the same code on both backends)."""
    return build_world(sqlite_context(tmp_path))


def _cli(world: World, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, dict[str, object], str]:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", world.ctx.engine.url.render_as_string(hide_password=False))
    app = typer.Typer()
    app.add_typer(ev_app, name="ev")
    result = CliRunner().invoke(app, ["ev", *args])
    lines = result.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if result.exit_code == 0 and lines else {}
    return result.exit_code, out, result.stderr


def test_cli_import_static_every_accepted_form(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    w = sqlite_world
    code, out, err = _cli(w, monkeypatch, "import-static", str(DATA / "irve_v20_latin1_semicolon.csv"),
                          "--dataset", "irve-a", "--owner", "lightco")  # fmt: skip
    assert code == 0, err
    assert (out["version"], out["encoding"], out["received"], out["accepted"]) == ("2.0", "cp1252", 6, 6)
    assert "added empty column(s) optional in v2.3: cable_t2_attache" in out["notes"]
    with w.ctx.session() as s:
        ds = get_dataset(s, "irve-a")
        stored = list(s.scalars(select(Record).where(Record.dataset_id == ds.id)))
    assert len(stored) == 6 and {r.area_code for r in stored} == {"06088", "06029", "06004"}
    # the import consolidates once, so the observatory's first page reuses a stored snapshot
    assert "observatory ready: 6 consolidated charge point(s)" in err
    assert list((Path(w.ctx.engine.url.database or "").parent / "ev-snapshots").iterdir())
    assert {r.data["nom_amenageur"] for r in stored} == {"Régie Énergie Côte d'Azur"}
    # Run again: the batch is recognised, nothing is stored twice.
    code, out, err = _cli(w, monkeypatch, "import-static", str(DATA / "irve_v20_latin1_semicolon.csv"),
                          "--dataset", "irve-a")  # fmt: skip
    assert code == 0 and out["replayed_batches"] == 1, err
    code, out, err = _cli(
        w, monkeypatch, "import-static", str(DATA / "irve_v22_bom.csv"), "--dataset", "irve-a"
    )
    assert code == 0 and out["accepted"] == 4, err
    assert "renamed column(s): 'coordonneesxy' → coordonneesXY" in out["notes"]
    # The official valid example imports as it is (both of its rows are valid since v2.3.0).
    official = tmp_path / "exemple-valide-statique.csv"
    shutil.copy(OFFICIAL / "exemple-valide-statique.csv", official)
    code, out, err = _cli(w, monkeypatch, "import-static", str(official), "--dataset", "irve-a")
    assert code == 0 and (out["version"], out["received"], out["accepted"]) == ("2.1-2.3", 2, 2), err


def test_cli_import_static_refusals(sqlite_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sqlite_world
    code, _, err = _cli(w, monkeypatch, "import-static", str(DATA / "garbage.csv"), "--dataset", "irve-a")
    assert code == 1 and "does not look like an IRVE static" in " ".join(err.split())
    code, _, err = _cli(w, monkeypatch, "import-static", str(DATA / "irve_v1.csv"), "--dataset", "irve-a")
    assert code == 1 and "IRVE v1" in err
    code, _, err = _cli(
        w, monkeypatch, "import-static", str(DATA / "irve_v22_bom.csv"), "--dataset", "irve-a"
    )
    assert code == 1 and "give --owner ORG" in " ".join(err.split())
    code, _, err = _cli(
        w, monkeypatch, "import-static", str(DATA / "irve_v22_bom.csv"), "--dataset", "lights"
    )
    assert code == 1 and "does not have the IRVE static schema" in " ".join(err.split())
    code, out, err = _cli(w, monkeypatch, "import-static", str(DATA / "irve_v23_extra_column.csv"),
                          "--dataset", "irve-b", "--owner", "lightco", "--drop-unknown")  # fmt: skip
    assert code == 0 and out["accepted"] == 2, err
    assert "dropped unknown column(s): commentaire_interne" in out["notes"]


def test_cli_import_static_speaks_the_users_language(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--lang fr` or LANG=fr_FR.UTF-8: the summary in French; else English; the JSON line never changes."""
    w = sqlite_world
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", w.ctx.engine.url.render_as_string(hide_password=False))
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_lang, "_chosen", [])  # this test's choice of language, not another test's
    sample = str(DATA / "irve_v20_latin1_semicolon.csv")
    args = ["--lang", "fr", "ev", "import-static", sample, "--dataset", "irve-a", "--owner", "lightco"]
    result = CliRunner().invoke(main_app, args)
    assert result.exit_code == 0, result.output
    err = " ".join(result.stderr.split())
    assert "irve_v20_latin1_semicolon.csv : encodage cp1252, séparateur ';'" in err
    assert "irve_v20_latin1_semicolon.csv : IRVE statique v2.0 détecté" in err
    assert "colonne(s) facultative(s) en v2.3 ajoutée(s) vide(s) : cable_t2_attache" in err
    assert "lignes reçues : 6, acceptées : 6, rejetées : 0" in err
    assert "observatoire prêt : 6 point(s) de recharge consolidé(s)" in err
    assert "received" not in err and "detected" not in err
    out = json.loads(result.stdout.strip().splitlines()[-1])  # for scripts: the same in every language
    assert "added empty column(s) optional in v2.3: cable_t2_attache" in out["notes"]
    assert "encoding cp1252, separator ';'" in out["notes"]
    # The locale environment, without --lang.
    monkeypatch.setattr(cli_lang, "_chosen", [])
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    code, _, err = _cli(w, monkeypatch, "import-static", sample, "--dataset", "irve-a")
    assert code == 0 and "1 lot(s) déjà importé(s) auparavant : ignoré(s)" in " ".join(err.split()), err
    # Neither: English, as before catalogs.
    monkeypatch.delenv("LANG")
    code, _, err = _cli(w, monkeypatch, "import-static", sample, "--dataset", "irve-a")
    err = " ".join(err.split())
    assert code == 0 and "1 batch(es) already imported before: skipped" in err, err
    assert "irve_v20_latin1_semicolon.csv: detected IRVE static v2.0" in err
    assert "received 6, accepted 6, rejected 0" in err
    # A refusal says what to do in the run's language.
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    code, _, err = _cli(w, monkeypatch, "import-static", sample, "--dataset", "irve-new")
    assert code == 1 and "erreur :" in err
