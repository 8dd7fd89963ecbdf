"""What every CLI module shares: the consoles, the context on the environment's settings, failures."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from territoria.cli.lang import say
from territoria.context import Context
from territoria.dates import check_day
from territoria.db.migrate import upgrade
from territoria.errors import DomainError, Invalid
from territoria.settings import (
    CONFIG_ENV,
    CONFIG_NAME,
    WRITTEN_MARK,
    Settings,
    config_files,
    read_config_file,
)

console = Console(stderr=True)  # progress, messages and errors: the standard output stays for results
out = Console()  # tables and results, for a pipe or a file
_database_option: list[str] = []  # --database-url of this run, set by the main callback at each run


def choose_database(url: str | None) -> None:
    """Remember this run's --database-url (it wins over the variables and the configuration files)."""
    _database_option[:] = [url] if url else []


def cli_context(*, migrate: bool = True, create: bool = False, **overrides: object) -> Context:
    """A context on the configured settings (with `overrides`), the schema brought up to date.

    Only the set-up commands (`db upgrade`, `demo`, `simulate`, `serve`) pass `create`: every other
    command refuses a database that does not exist or has no schema, instead of creating an empty one.
    """
    if _database_option and "database_url" not in overrides:
        overrides["database_url"] = _database_option[0]
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:  # a broken territoria.toml
        raise fail(str(exc)) from exc
    if not create:
        _require_sqlite_file(settings)
    ctx = Context(settings)
    if not create:
        _require_schema(ctx)
    if migrate:
        upgrade(ctx.engine)
    return ctx


def print_error(message: str) -> None:
    """Print an error on the standard error, after the word "error:" in the run's language."""
    word = say("cli.error")
    console.print(f"[bold red]{word}[/] {message}")


def database_source(settings: Settings) -> str:
    """Where the database URL came from: the option or variable, a configuration file, or the default."""
    if _database_option:
        return "--database-url"
    if os.environ.get("TERRITORIA_DATABASE_URL"):
        return "TERRITORIA_DATABASE_URL"
    for path in config_files():
        if path.is_file() and "database_url" in read_config_file(path):
            return str(path)
    return say("cli.db_source_default")


def _shown_url(settings: Settings) -> str:
    """The database URL without its password."""
    try:
        return make_url(settings.database_url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return settings.database_url


def _require_sqlite_file(settings: Settings) -> None:
    """Refuse a SQLite file that does not exist or holds no Territoria schema, creating nothing."""
    path = settings.sqlite_path()
    if path is None:
        return
    if not path.is_file():
        raise fail(say("cli.no_database", url=_shown_url(settings), source=database_source(settings)))
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
    except sqlite3.Error:
        found = None
    if found is None:
        raise fail(say("cli.no_schema", url=_shown_url(settings), source=database_source(settings)))


def _require_schema(ctx: Context) -> None:
    """Refuse a server database without the Territoria schema (SQLite files are checked before)."""
    if ctx.settings.is_sqlite:
        return
    try:
        present = inspect(ctx.engine).has_table("alembic_version")
    except SQLAlchemyError as exc:
        raise fail(
            say(
                "cli.no_connection",
                url=_shown_url(ctx.settings),
                source=database_source(ctx.settings),
                reason=str(exc.__cause__ or exc).strip().splitlines()[0],
            )
        ) from exc
    if not present:
        raise fail(say("cli.no_schema", url=_shown_url(ctx.settings), source=database_source(ctx.settings)))


def record_config(settings: Settings, *, by: str, folder: Path | None = None) -> Path | None:
    """Write the database URL and the public URL to ./territoria.toml, for the commands run here.

    A file written by hand (without Territoria's first line) is never replaced: None is returned and the
    caller says so. TERRITORIA_CONFIG, when it names a file, names the file written.
    """
    named = os.environ.get(CONFIG_ENV, "").strip()
    path = Path(named) if named and named.lower() != "none" else (folder or Path.cwd()) / CONFIG_NAME
    if path.exists():
        try:
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        except (OSError, UnicodeDecodeError):
            return None
        if not first.startswith(WRITTEN_MARK):
            return None
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"{WRITTEN_MARK} {by}` on {stamp}: the commands run from this folder use this database.\n"
        "# Lookup: --database-url / TERRITORIA_* variables, then ./territoria.toml, then\n"
        "# ~/.config/territoria/territoria.toml, then the defaults. Delete this file to forget it.\n"
        f"database_url = {_toml_string(settings.database_url)}\n"
        f"public_url = {_toml_string(settings.public_url)}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _toml_string(value: str) -> str:
    """A TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def listen_url(host: str, port: int) -> str:
    """The URL a server listening on host:port answers at (a wildcard address: this machine's name)."""
    import socket

    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        host = socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def fail(problem: str | DomainError) -> typer.Exit:
    """Print an error that says what to do (a refusal with its reasons), to be raised: exit status 1."""
    print_error(problem.message if isinstance(problem, DomainError) else problem)
    return typer.Exit(1)


def day_option(value: str, option: str) -> date:
    """A YYYY-MM-DD option, within the dates the platform accepts."""
    try:
        return check_day(date.fromisoformat(value), option)
    except ValueError as exc:
        raise typer.BadParameter(say("cli.not_a_date", value=value), param_hint=option) from exc
    except Invalid as exc:  # 9999-12-31 would overflow once its end of day is computed
        raise typer.BadParameter(exc.message, param_hint=option) from exc
