"""`territoria retention …`: purge personal data older than each dataset's retention period."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from territoria.access.retention import RetentionReport, run_retention
from territoria.cli.common import cli_context, console, out
from territoria.cli.lang import num, say
from territoria.db.migrate import upgrade

retention_app = typer.Typer(help="Retention of personal data.", no_args_is_help=True)


def summary(report: RetentionReport) -> Table:
    """One line per dataset: its period, the cut-off and what was (or would be) purged."""
    at = f"{report.at:%Y-%m-%d %H:%M}"
    title = say("cli.retention.title_dry", at=at) if report.dry_run else say("cli.retention.title", at=at)
    table = Table(title=title)
    table.add_column(say("cli.column.dataset"))
    table.add_column(say("cli.retention.days"), justify="right")
    table.add_column(say("cli.retention.before"))
    table.add_column(say("cli.retention.personal_fields"), overflow="fold")
    for name in (
        say("cli.retention.measurements"),
        say("cli.retention.records"),
        say("cli.retention.quarantine"),
    ):
        table.add_column(name, justify="right")
    for d in report.datasets:
        table.add_row(
            d.dataset,
            str(d.retention_days),
            f"{d.cutoff:%Y-%m-%d %H:%M}",
            ", ".join(d.personal_fields) or "—",
            num(d.measurements),
            num(d.records),
            num(d.quarantine),
        )
    return table


@retention_app.command("run")
def run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be purged; change nothing")
    ] = False,
) -> None:
    """Delete old raw readings and quarantined rows, and null old personal fields of records."""
    ctx = cli_context(migrate=False)
    try:
        upgrade(ctx.engine)
        report = run_retention(ctx, dry_run=dry_run, actor="cli")
    finally:
        ctx.engine.dispose()
    if not report.datasets:
        console.print(say("cli.retention.none"))
        return
    out.print(summary(report))
    total = num(report.total)
    console.print(say("cli.retention.total_dry", n=total) if dry_run else say("cli.retention.total", n=total))
