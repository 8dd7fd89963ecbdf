"""`territoria dead-letters …`: read, replay and discard the MQTT messages kept in ingest_dead_letter."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from territoria.cli.common import cli_context, console, out
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
    table = Table(title=f"Dead letters ({len(letters)} of {total}, newest first)")
    for name, justify in (
        ("id", "right"),
        ("when (UTC)", "left"),
        ("topic", "left"),
        ("dataset", "left"),
        ("attempts", "right"),
        ("error", "left"),
        ("payload bytes", "right"),
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
            f"{letter.payload_bytes:,}",
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
    where = f" for dataset {dataset}" if dataset else ""
    if not total:
        typer.echo(f"no dead letters{where} / aucun message en souffrance")
        return
    out.print(letters_table(letters, total))
    typer.echo(f"{total} dead letter(s){where}, {len(letters)} shown")


@dead_letters_app.command("replay")
def replay_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Ids of the letters to replay")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every letter (oldest first)")] = False,
    dataset: Annotated[str | None, typer.Option(help="With --all: only the letters of this dataset")] = None,
) -> None:
    """Ingest letters again through the MQTT worker's path; each leaves the table once its batch committed."""
    if bool(ids) == all_:
        console.print("[bold red]error:[/] give the ids of the letters to replay, or --all (not both)")
        raise typer.Exit(2)
    if dataset is not None and not all_:
        console.print("[bold red]error:[/] --dataset goes with --all")
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
        typer.echo("no dead letters to replay / aucun message à rejouer")
        return
    for outcome in outcomes:
        if outcome.status == "stored" and outcome.result is not None:
            r = outcome.result
            typer.echo(
                f"{outcome.id}: stored in batch {r.batch_id}: received {r.received}, accepted {r.accepted} "
                f"({r.duplicates} already stored), rejected {r.rejected}"
                + (f" (in quarantine: GET /api/v1/datasets/{r.dataset}/quarantine)" if r.rejected else "")
            )
        elif outcome.status == "missing":
            typer.echo(f"{outcome.id}: not found")
        else:
            typer.echo(f"{outcome.id}: still failing, kept: {outcome.error}")
    stored = sum(o.status == "stored" for o in outcomes)
    typer.echo(f"{stored} of {len(outcomes)} replayed and removed")
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
        console.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        ctx.engine.dispose()
    for letter_id in done:
        typer.echo(f"{letter_id}: discarded")
    for letter_id in missing:
        typer.echo(f"{letter_id}: not found")
    typer.echo(f"{len(done)} discarded")
    if missing:
        raise typer.Exit(1)
