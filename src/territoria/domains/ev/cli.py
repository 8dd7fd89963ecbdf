"""`territoria ev …`: charge point assets from the consolidated IRVE data, and the dynamic status feed."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from territoria.catalog.models import Dataset
from territoria.catalog.service import get_organisation
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.status import STATUS_DATASET, ensure_status_dataset, import_dynamic, sync_assets
from territoria.errors import DomainError

ev_app = typer.Typer(help="EV charging: charge point assets and IRVE dynamic status.", no_args_is_help=True)
console = Console(stderr=True)
UTF8_BOM = b"\xef\xbb\xbf"


def _context() -> Context:
    from territoria.settings import Settings

    ctx = Context(Settings())
    upgrade(ctx.engine)
    return ctx


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding found: UTF-8 with a BOM, UTF-8, or else Latin-1."""
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def delimiter(text: str) -> str:
    """`;` or `,`, whichever the header line uses more."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def read_rows(text: str, sep: str) -> list[dict[str, str]]:
    """CSV rows as dicts with stripped column names (missing cells become empty strings)."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=sep)
    if reader.fieldnames is not None:
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
    return [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]


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
    ctx = _context()
    try:
        with ctx.session(write=True) as s:
            ds = s.scalar(select(Dataset).where(Dataset.slug == dataset))
            if ds is None:
                if owner is None:
                    raise _fail(f"dataset '{dataset}' does not exist: give --owner to create it")
                ds = ensure_status_dataset(s, get_organisation(s, owner), dataset)
            points = consolidate(s, source).points
            count = sync_assets(s, ctx.locator(), ds, points)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(f"{count:,} charge point(s) registered as assets of '{dataset}'")
    json.dump({"dataset": dataset, "assets": count}, sys.stdout)
    print()


@ev_app.command("import-dynamic")
def import_dynamic_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="IRVE dynamic CSV file")],
    dataset: Annotated[str, typer.Option(help="status dataset slug")] = STATUS_DATASET,
) -> None:
    """Import an IRVE dynamic status file: good rows are stored, the others quarantined with a reason."""
    text, encoding = decode(file.read_bytes())
    sep = delimiter(text)
    rows = read_rows(text, sep)
    console.print(f"{file.name}: encoding {encoding}, separator '{sep}', {len(rows):,} row(s)")
    ctx = _context()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress, ctx.session(write=True) as s:
            ds = s.scalar(select(Dataset).where(Dataset.slug == dataset))
            if ds is None:
                raise _fail(f"dataset '{dataset}' does not exist: run `territoria ev sync-assets --owner …`")
            task = progress.add_task(f"check {file.name}", total=len(rows))

            def advancing() -> Iterator[dict[str, str]]:
                for row in rows:
                    yield row
                    progress.advance(task)

            report = import_dynamic(s, ds, advancing(), now=datetime.now(UTC))
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(
        f"received {report.received:,}, accepted {report.accepted:,}, rejected {report.rejected:,}"
        + (f" ({report.already_stored:,} measurement(s) already stored)" if report.already_stored else "")
    )
    for code, n in report.rejected_by_code.items():
        console.print(f"  [yellow]{code}[/] {n:,}")
    if report.rejected:
        console.print(f"rejected rows are in quarantine: GET /api/v1/datasets/{dataset}/quarantine")
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
