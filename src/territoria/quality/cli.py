"""`territoria quality …`: run the series and asset rules on the stored data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from territoria.cli.common import cli_context, console
from territoria.cli.lang import lang
from territoria.db.migrate import upgrade
from territoria.quality.rules import RULES
from territoria.quality.scores import refresh_scores
from territoria.quality.series import RunReport, run_quality

quality_app = typer.Typer(help="Data quality: series and asset rules.", no_args_is_help=True)


def summary(report: RunReport) -> Table:
    """The findings of a run per rule code: seen in this run, and of those, new."""
    table = Table(title=f"Quality run: {', '.join(report.datasets) or 'no time-series dataset'}")
    table.add_column("code")
    table.add_column("rule")
    table.add_column("found", justify="right")
    table.add_column("new", justify="right")
    for code in sorted(report.found):
        title = RULES[code].title(lang()) if code in RULES else ""
        table.add_row(code, title, str(report.found[code]), str(report.new[code]))
    table.add_row("total", "", str(report.total), str(sum(report.new.values())), style="bold")
    return table


@quality_app.command("run")
def run(
    dataset: Annotated[
        str | None, typer.Option(help="Dataset slug (default: every time-series dataset)")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Rescan all history, not only data since the last run")
    ] = False,
) -> None:
    """Run the series rules (gaps, stuck values, spikes, …) and the asset rules, and store findings."""
    ctx = cli_context(migrate=False)
    upgrade(ctx.engine)
    tasks: dict[str, TaskID] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:

        def on_progress(slug: str, done: int, total: int) -> None:
            """Advance the bar of a dataset."""
            if slug not in tasks:
                tasks[slug] = progress.add_task(slug, total=total)
            progress.update(tasks[slug], completed=done, total=total)

        report = run_quality(ctx, dataset, full=full, progress=on_progress)
    if dataset is not None and not report.datasets:
        console.print(f"[bold red]error:[/] no time-series dataset '{dataset}': see GET /api/v1/datasets")
        raise typer.Exit(1)
    with ctx.session(write=True) as session:
        refresh_scores(session, days=2)
    console.print(summary(report))
    console.print(
        f"{report.series} series, {report.points} points and {report.assets} assets checked "
        f"in {report.seconds:.1f} s"
    )
