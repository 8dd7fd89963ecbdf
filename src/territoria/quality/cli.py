"""`territoria quality …`: run the series and asset rules on the stored data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from territoria.cli.common import cli_context, console, print_error
from territoria.cli.lang import lang, num, say
from territoria.db.migrate import upgrade
from territoria.quality.rules import RULES
from territoria.quality.scores import refresh_scores
from territoria.quality.series import RunReport, run_quality

quality_app = typer.Typer(help="Data quality: series and asset rules.", no_args_is_help=True)


def summary(report: RunReport) -> Table:
    """The findings of a run per rule code: seen in this run, and of those, new."""
    datasets = ", ".join(report.datasets) or say("cli.quality.no_series_dataset")
    table = Table(title=say("cli.quality.title", datasets=datasets))
    table.add_column(say("cli.column.code"))
    table.add_column(say("cli.quality.rule"))
    table.add_column(say("cli.quality.found"), justify="right")
    table.add_column(say("cli.quality.new"), justify="right")
    for code in sorted(report.found):
        title = RULES[code].title(lang()) if code in RULES else ""
        table.add_row(code, title, num(report.found[code]), num(report.new[code]))
    table.add_row(say("cli.total"), "", num(report.total), num(sum(report.new.values())), style="bold")
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
        print_error(say("cli.quality.unknown_dataset", dataset=dataset))
        raise typer.Exit(1)
    with ctx.session(write=True) as session:
        refresh_scores(session, days=2)
    console.print(summary(report))
    console.print(
        say(
            "cli.quality.checked",
            series=num(report.series),
            points=num(report.points),
            assets=num(report.assets),
            seconds=num(report.seconds, 1),
        )
    )
