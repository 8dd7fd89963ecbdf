"""`territoria audit …`: check the keyed chain of the audit trail (and its checkpoints), list its events."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from territoria.access.audit import audit_table_row, list_events, verify
from territoria.cli.common import cli_context, console, out

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
        typer.echo(f"{report.checked} events, chain intact / chaîne intacte")
        if report.legacy:
            typer.echo(f"{report.legacy} of them from before the keyed chain (SHA-256) / antérieurs à la clé")
        typer.echo(f"{report.checkpoints} signed checkpoints / points de contrôle signés")
        if report.head_hash:
            typer.echo(f"head {report.head_hash}")
        return
    if report.first_bad_id is None:  # the table disagrees with the checkpoints as a whole
        console.print(f"[bold red]audit trail tampered / journal d'audit altéré[/]: {report.reason}")
    else:
        console.print(
            f"[bold red]chain broken / chaîne rompue[/] at event {report.first_bad_id} "
            f"({report.checked} events intact before it): {report.reason}"
        )
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
    table = Table(title=f"Audit trail ({len(events)} events, newest first)")
    for name, justify in (("id", "right"), ("at (UTC)", "left"), ("actor", "left"), ("action", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("target")
    table.add_column("details", overflow="fold")
    for event in events:
        table.add_row(*audit_table_row(event))
    out.print(table)
