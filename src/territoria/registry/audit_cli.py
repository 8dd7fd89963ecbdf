"""`territoria audit …`: check the keyed chain of the audit trail (and its checkpoints), list its events."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from territoria.access.audit import audit_table_row, list_events, verify
from territoria.cli.common import cli_context, console, out
from territoria.cli.lang import num, say

audit_app = typer.Typer(help="Audit trail: HMAC-chained security events.", no_args_is_help=True)


@audit_app.command("verify")
def verify_command() -> None:
    """Walk the whole chain, then compare it with the signed checkpoints; exit 1 at the first problem."""
    ctx = cli_context()
    try:
        with ctx.session() as session:
            report = verify(session)
    finally:
        ctx.engine.dispose()
    if report.ok:
        typer.echo(say("cli.audit.intact", n=num(report.checked)))
        if report.legacy:
            typer.echo(say("cli.audit.legacy", n=num(report.legacy)))
        typer.echo(say("cli.audit.checkpoints", n=num(report.checkpoints)))
        if report.head_hash:
            typer.echo(f"head {report.head_hash}")
        return
    if report.first_bad_id is None:  # the table disagrees with the checkpoints as a whole
        tampered = say("cli.audit.tampered")
        console.print(f"[bold red]{tampered}[/] {report.reason}")
    else:
        where = say("cli.audit.broken_at", id=report.first_bad_id, n=num(report.checked))
        broken = say("cli.audit.broken")
        console.print(f"[bold red]{broken}[/] {where} {report.reason}")
    raise typer.Exit(1)


@audit_app.command("list")
def list_command(
    action: Annotated[
        str | None, typer.Option(help="Only this action (e.g. token.create), or a prefix such as 'dataset.'")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest events to show")] = 50,
) -> None:
    """Show the newest events of the audit trail."""
    ctx = cli_context()
    try:
        with ctx.session() as session:
            events = list_events(session, action=action, limit=limit)
    finally:
        ctx.engine.dispose()
    table = Table(title=say("cli.audit.title", n=num(len(events))))
    table.add_column(say("cli.column.id"), justify="right")
    for name in (say("cli.column.at_utc"), say("cli.audit.actor"), say("cli.audit.action")):
        table.add_column(name)
    table.add_column(say("cli.audit.target"))
    table.add_column(say("cli.audit.details"), overflow="fold")
    for event in events:
        table.add_row(*audit_table_row(event))
    out.print(table)
