"""`territoria retention …`: purge personal data older than each dataset's retention period."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from territoria.access.retention import RetentionReport, run_retention
from territoria.cli.common import cli_context, console, out
from territoria.db.migrate import upgrade

retention_app = typer.Typer(help="Retention of personal data.", no_args_is_help=True)


def summary(report: RetentionReport) -> Table:
    """One line per dataset: its period, the cut-off and what was (or would be) purged."""
    verb = "would purge / serait purgé" if report.dry_run else "purged / purgé"
    table = Table(title=f"Retention {report.at:%Y-%m-%d %H:%M} UTC — {verb}")
    table.add_column("dataset")
    table.add_column("days / jours", justify="right")
    table.add_column("before / avant (UTC)")
    table.add_column("personal fields / champs personnels", overflow="fold")
    for name in ("measurements", "records", "quarantine"):
        table.add_column(name, justify="right")
    for d in report.datasets:
        table.add_row(
            d.dataset,
            str(d.retention_days),
            f"{d.cutoff:%Y-%m-%d %H:%M}",
            ", ".join(d.personal_fields) or "—",
            str(d.measurements),
            str(d.records),
            str(d.quarantine),
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
        console.print(
            "no dataset has a retention period / aucun jeu de données n'a de durée de conservation "
            '(set one with PATCH /api/v1/datasets/{slug} {"retention_days": …})'
        )
        return
    out.print(summary(report))
    what = "would be purged / seraient purgées" if dry_run else "purged / purgées"
    console.print(f"{report.total} row(s) {what}")
