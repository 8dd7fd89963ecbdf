"""What every CLI module shares: the consoles, the context on the environment's settings, failures."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from territoria.cli.lang import say
from territoria.context import Context
from territoria.dates import check_day
from territoria.db.migrate import upgrade
from territoria.errors import DomainError, Invalid
from territoria.settings import Settings

console = Console(stderr=True)  # progress, messages and errors: the standard output stays for results
out = Console()  # tables and results, for a pipe or a file


def cli_context(*, migrate: bool = True, **overrides: object) -> Context:
    """A context on the environment's settings (with `overrides`), the schema brought up to date."""
    ctx = Context(Settings(**overrides))  # type: ignore[arg-type]
    if migrate:
        upgrade(ctx.engine)
    return ctx


def print_error(message: str) -> None:
    """Print an error on the standard error, after the word "error:" in the run's language."""
    word = say("cli.error")
    console.print(f"[bold red]{word}[/] {message}")


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
