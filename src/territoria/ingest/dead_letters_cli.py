"""`territoria dead-letters …`: read, replay and discard the MQTT messages kept in ingest_dead_letter."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from territoria.cli.common import cli_context, out, print_error
from territoria.cli.lang import num, say
from territoria.errors import DomainError
from territoria.ingest.dead_letters import (
    DeadLetterLine,
    count_dead_letters,
    dead_letter_ids,
    discard,
    list_dead_letters,
    replay,
)

dead_letters_app = typer.Typer(
    help="MQTT messages neither stored nor quarantined (ingest_dead_letter): list, replay, discard.",
    no_args_is_help=True,
)
ERROR_PREVIEW = 80


def _preview(text: str) -> str:
    """The first line of an error, cut to fit a table cell."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= ERROR_PREVIEW else line[: ERROR_PREVIEW - 1] + "…"


def letters_table(letters: list[DeadLetterLine], total: int) -> Table:
    """One line per letter, newest first."""
    table = Table(title=say("cli.dead_letters.title", shown=num(len(letters)), total=num(total)))
    for name, justify in (
        (say("cli.column.id"), "right"),
        (say("cli.column.at_utc"), "left"),
        (say("cli.dead_letters.topic"), "left"),
        (say("cli.column.dataset"), "left"),
        (say("cli.dead_letters.attempts"), "right"),
        (say("cli.dead_letters.error"), "left"),
        (say("cli.dead_letters.payload_bytes"), "right"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for letter in letters:
        table.add_row(
            str(letter.id),
            f"{letter.created_at:%Y-%m-%d %H:%M:%S}",
            escape(letter.topic),
            escape(letter.dataset),
            str(letter.attempts),
            escape(_preview(letter.error)),
            num(letter.payload_bytes),
        )
    return table


@dead_letters_app.command("list")
def list_command(
    dataset: Annotated[str | None, typer.Option(help="Only the letters of this dataset slug")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest letters to show")] = 50,
) -> None:
    """Show the newest dead letters: topic, dataset, attempts, error and payload size."""
    ctx = cli_context()
    try:
        with ctx.session() as session:
            total = count_dead_letters(session, dataset=dataset)
            letters = list_dead_letters(session, dataset=dataset, limit=limit)
    finally:
        ctx.engine.dispose()
    if not total:
        typer.echo(
            say("cli.dead_letters.none_in", dataset=dataset) if dataset else say("cli.dead_letters.none")
        )
        return
    out.print(letters_table(letters, total))
    shown = num(len(letters))
    if dataset:
        typer.echo(say("cli.dead_letters.count_in", n=num(total), dataset=dataset, shown=shown))
    else:
        typer.echo(say("cli.dead_letters.count", n=num(total), shown=shown))


@dead_letters_app.command("replay")
def replay_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Ids of the letters to replay")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every letter (oldest first)")] = False,
    dataset: Annotated[str | None, typer.Option(help="With --all: only the letters of this dataset")] = None,
) -> None:
    """Ingest letters again through the MQTT worker's path; each leaves the table once its batch committed."""
    if bool(ids) == all_:
        print_error(say("cli.dead_letters.ids_or_all"))
        raise typer.Exit(2)
    if dataset is not None and not all_:
        print_error(say("cli.dead_letters.dataset_needs_all"))
        raise typer.Exit(2)
    ctx = cli_context()
    try:
        if all_:
            with ctx.session() as session:
                ids = dead_letter_ids(session, dataset=dataset)
        outcomes = replay(ctx, list(ids or []))
    finally:
        ctx.engine.dispose()
    if not outcomes:
        typer.echo(say("cli.dead_letters.nothing_to_replay"))
        return
    for outcome in outcomes:
        if outcome.status == "stored" and outcome.result is not None:
            r = outcome.result
            line = say(
                "cli.dead_letters.stored",
                id=outcome.id,
                batch=r.batch_id,
                received=num(r.received),
                accepted=num(r.accepted),
                duplicates=num(r.duplicates),
                rejected=num(r.rejected),
            )
            if r.rejected:
                line += say("cli.dead_letters.in_quarantine", dataset=r.dataset)
            typer.echo(line)
        elif outcome.status == "missing":
            typer.echo(say("cli.dead_letters.not_found", id=outcome.id))
        else:
            typer.echo(say("cli.dead_letters.still_failing", id=outcome.id, error=outcome.error))
    stored = sum(o.status == "stored" for o in outcomes)
    typer.echo(say("cli.dead_letters.replayed", stored=num(stored), n=num(len(outcomes))))
    if stored < len(outcomes):
        raise typer.Exit(1)


@dead_letters_app.command("discard")
def discard_command(
    ids: Annotated[list[int], typer.Argument(help="Ids of the letters to delete")],
    reason: Annotated[str, typer.Option(help="Why they are deleted (kept in the audit trail)")],
) -> None:
    """Delete letters for good; each deletion is an audit event carrying the reason."""
    ctx = cli_context()
    try:
        done, missing = discard(ctx, ids, reason=reason)
    except DomainError as exc:
        print_error(exc.message)
        raise typer.Exit(1) from exc
    finally:
        ctx.engine.dispose()
    for letter_id in done:
        typer.echo(say("cli.dead_letters.discarded", id=letter_id))
    for letter_id in missing:
        typer.echo(say("cli.dead_letters.not_found", id=letter_id))
    typer.echo(say("cli.dead_letters.discarded_count", n=num(len(done))))
    if missing:
        raise typer.Exit(1)
