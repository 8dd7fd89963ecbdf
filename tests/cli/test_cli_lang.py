"""The generic command line speaks the run's language: `--lang`, else LANG, else English (as before)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from territoria.cli.main import app
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.models import DeadLetter
from territoria.settings import Settings

NNBSP = "\u202f"  # French groups digits with a narrow no-break space (CLDR)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")  # tables on one line per row
    ctx = Context(Settings(database_url=url))  # commands other than set-up never create a database
    upgrade(ctx.engine)
    ctx.engine.dispose()
    return url


def run(*args: str, lang: str | None = None) -> tuple[int, str, str]:
    """Run the command with `LANG` set to `lang` (none: the C locale)."""
    env = {"LANG": lang or "C.UTF-8"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_refusals_before_any_work(db_url: str) -> None:
    code, _out, err = run("user", "role", "ann@city.example", "--org", "city")
    assert code == 1 and "error: give either --role ROLE or --remove" in err
    code, _out, err = run("--lang", "fr", "user", "role", "ann@city.example", "--org", "city")
    assert code == 1 and "erreur : indiquez soit --role RÔLE, soit --remove" in err
    code, _out, err = run("agreement", "list", "--status", "nope", lang="fr_FR.UTF-8")
    assert code == 2 and "choisissez parmi upcoming, active" in err
    code, _out, err = run("agreement", "list", "--status", "nope")
    assert code == 2 and "choose among upcoming, active" in err
    code, _out, err = run(
        "--lang",
        "fr",
        "agreement",
        "create",
        "--dataset",
        "d",
        "--org",
        "o",
        "--purpose",
        "p",
        "--expires",
        "soon",
    )
    assert code == 2 and "n'est pas une date" in err


def test_dead_letters_in_each_language(db_url: str) -> None:
    code, out, _err = run("dead-letters", "list")
    assert code == 0 and out.strip() == "no dead letters"
    code, out, _err = run("--lang", "fr", "dead-letters", "list", "--dataset", "meters")
    assert code == 0 and out.strip() == "aucun message en souffrance pour le jeu de données meters"
    ctx = Context(Settings(database_url=db_url))
    upgrade(ctx.engine)
    with ctx.session(write=True) as s:
        s.add(
            DeadLetter(
                topic="territoria/meters/M1/energy",
                dataset="meters",
                payload=b"x" * 1500,
                error="boom",
                attempts=5,
            )
        )
    ctx.engine.dispose()
    code, out, _err = run("dead-letters", "list", lang="fr_FR.UTF-8")
    assert code == 0 and "Messages en souffrance (1 sur 1, du plus récent au plus ancien)" in out
    assert "tentatives" in out and f"1{NNBSP}500" in out  # numbers as French writes them
    assert "1 message(s) en souffrance, 1 affiché(s)" in out
    code, out, _err = run("--lang", "en", "dead-letters", "list", lang="fr_FR.UTF-8")  # the option wins
    assert code == 0 and "Dead letters (1 of 1, newest first)" in out and "1,500" in out
    assert "1 dead letter(s), 1 shown" in out


def test_audit_and_retention_in_each_language(db_url: str) -> None:
    code, out, _err = run("audit", "verify", lang="fr_FR.UTF-8")
    assert code == 0 and "0 événements, chaîne intacte" in out and "points de contrôle signés" in out
    assert "chain" not in out  # one language at a time, no more "English / français" lines
    code, out, _err = run("audit", "verify")
    assert code == 0 and "0 events, chain intact" in out and "chaîne" not in out
    code, out, _err = run("--lang", "fr", "audit", "list")
    assert code == 0 and "Journal d'audit" in out and "auteur" in out
    code, _out, err = run("retention", "run", "--dry-run", lang="fr_FR.UTF-8")
    assert code == 0 and "aucun jeu de données n'a de durée de conservation" in err
    code, _out, err = run("retention", "run", "--dry-run")
    assert code == 0 and "no dataset has a retention period" in err and "aucun" not in err
