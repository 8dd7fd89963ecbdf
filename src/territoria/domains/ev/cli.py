"""`territoria ev …`: charge point assets from the consolidated IRVE data, and the dynamic status feed."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import select

from territoria import i18n
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_organisation
from territoria.cli.common import cli_context as common_context
from territoria.cli.lang import lang, say
from territoria.context import Context
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.status import STATUS_DATASET, ensure_status_dataset, import_dynamic, sync_assets
from territoria.errors import DomainError, Invalid
from territoria.ingest.parsers import BadRow
from territoria.validation.tabular import Tabular, open_csv

ev_app = typer.Typer(help="EV charging: charge point assets and IRVE dynamic status.", no_args_is_help=True)
console = Console(stderr=True)
PROGRESS_ROWS = 10_000


def cli_context() -> Context:
    """The configured database, which must exist (no command of the observatory creates one)."""
    return common_context()


def num(value: float, decimals: int = 0) -> str:
    """A count or size written as the run's language writes numbers (1,234 in English, 1 234 in French)."""
    return i18n.number(value, lang(), decimals)


def fail(message: str) -> typer.Exit:
    """Print an error that says what to do (its prefix in the run's language), and exit with status 1."""
    prefix = say("cli.error")
    console.print(f"[bold red]{prefix}[/] {message}")
    return typer.Exit(1)


def dynamic_rows(tab: Tabular, file: str) -> Iterator[dict[str, str]]:
    """The rows of an IRVE dynamic file as text cells; a ragged line keeps its text so that the
    quarantine shows it (its checks then fail); bytes that are not text refuse the whole file."""
    for n, row in tab.rows():
        if not isinstance(row, BadRow):
            yield row
        elif row.code == "ENCODING":
            raise Invalid(
                say("ev.cli.mixed_encoding", file=file, encoding=tab.encoding, row=n, raw=row.raw[:200])
            )
        else:
            yield {"raw": row.raw}


@ev_app.command("sync-assets")
def sync_assets_cmd(
    dataset: Annotated[str, typer.Option(help="status dataset slug")] = STATUS_DATASET,
    owner: Annotated[
        str | None, typer.Option(help="organisation slug owning the dataset, when it must be created")
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="IRVE static dataset slug (repeat; default: every one)")
    ] = None,
) -> None:
    """Register one asset per consolidated charge point in the status dataset (created when missing)."""
    ctx = cli_context()
    try:
        with ctx.session(write=True) as s:
            ds = s.scalar(select(Dataset).where(Dataset.slug == dataset))
            if ds is None:
                if owner is None:
                    raise fail(say("ev.cli.no_dataset_give_owner", dataset=dataset))
                ds = ensure_status_dataset(s, get_organisation(s, owner), dataset)
            points = consolidate(s, source).points
            count = sync_assets(s, ctx.locator(), ds, points)
    except DomainError as exc:
        raise fail(exc.message) from exc
    console.print(say("ev.cli.assets_registered", n=num(count), dataset=dataset))
    json.dump({"dataset": dataset, "assets": count}, sys.stdout)
    print()


@ev_app.command("import-dynamic")
def import_dynamic_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="IRVE dynamic CSV file")],
    dataset: Annotated[str, typer.Option(help="status dataset slug")] = STATUS_DATASET,
) -> None:
    """Import an IRVE dynamic status file: good rows are stored, the others quarantined with a reason.

    The file is streamed (read, checked and stored in chunks), so its size does not matter; the
    encoding and the separator are found from its first bytes (validation/tabular.py).
    """
    size = file.stat().st_size
    ctx = cli_context()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn(say("ev.cli.progress_rows", rows="{task.fields[rows]:,}")),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with (
            Progress(*columns, console=console) as progress,
            file.open("rb") as raw,
            ctx.session(write=True) as s,
        ):
            tab = open_csv(raw, skip_blank=True)
            encoding, sep = tab.encoding, tab.delimiter
            mb = num(size / 1e6, 1)
            console.print(say("ev.cli.dynamic_file", file=file.name, encoding=encoding, separator=sep, mb=mb))
            ds = s.scalar(select(Dataset).where(Dataset.slug == dataset))
            if ds is None:
                raise fail(say("ev.cli.no_dataset_sync_assets", dataset=dataset))
            task = progress.add_task(say("ev.cli.progress_import", file=file.name), total=size, rows=0)

            def advancing() -> Iterator[dict[str, str]]:
                done = 0
                for done, row in enumerate(dynamic_rows(tab, file.name), start=1):
                    yield row
                    if done % PROGRESS_ROWS == 0:  # the bar follows the bytes read, not every row
                        progress.update(task, completed=raw.tell(), rows=done)
                progress.update(task, completed=size, rows=done)

            report = import_dynamic(s, ds, advancing(), now=datetime.now(UTC))
    except DomainError as exc:
        raise fail(exc.message) from exc
    counts = {
        "received": num(report.received),
        "accepted": num(report.accepted),
        "rejected": num(report.rejected),
    }
    if report.already_stored:
        console.print(say("ev.cli.counts_already_stored", **counts, stored=num(report.already_stored)))
    else:
        console.print(say("ev.cli.counts", **counts))
    for code, n in report.rejected_by_code.items():
        console.print(f"  [yellow]{code}[/] {num(n)}")
    if report.rejected:
        console.print(say("ev.cli.in_quarantine", dataset=dataset))
    json.dump(
        {
            "encoding": encoding,
            "separator": sep,
            "received": report.received,
            "accepted": report.accepted,
            "rejected": report.rejected,
            "rejected_by_code": report.rejected_by_code,
            "batch": report.batch_id,
        },
        sys.stdout,
    )
    print()
