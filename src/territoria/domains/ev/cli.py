"""`territoria ev …`: charge point assets from the consolidated IRVE data, and the dynamic status feed."""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
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

from territoria.catalog.models import Dataset
from territoria.catalog.service import get_organisation
from territoria.cli.lang import say
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.status import STATUS_DATASET, ensure_status_dataset, import_dynamic, sync_assets
from territoria.errors import DomainError, Invalid

ev_app = typer.Typer(help="EV charging: charge point assets and IRVE dynamic status.", no_args_is_help=True)
console = Console(stderr=True)
UTF8_BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 1 << 20  # the encoding and the separator are found in the first MiB
PROGRESS_ROWS = 10_000


def cli_context() -> Context:
    from territoria.settings import Settings

    ctx = Context(Settings())
    upgrade(ctx.engine)
    return ctx


def fail(message: str) -> typer.Exit:
    """Print an error that says what to do (its prefix in the run's language), and exit with status 1."""
    prefix = say("cli.error")
    console.print(f"[bold red]{prefix}[/] {message}")
    return typer.Exit(1)


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding found: UTF-8 with a BOM, UTF-8, or else Latin-1."""
    encoding = sniff_encoding(data, complete=True)
    start = len(UTF8_BOM) if encoding == "utf-8-sig" else 0
    return data[start:].decode("utf-8" if encoding == "utf-8-sig" else encoding), encoding


def sniff_encoding(head: bytes, *, complete: bool = False) -> str:
    """The encoding of a file, "utf-8-sig", "utf-8" or "latin-1", from its first bytes (or all of them).

    A head may end inside a multi-byte character: only an invalid sequence, not a cut one, says Latin-1.
    """
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def delimiter(text: str) -> str:
    """`;` or `,`, whichever the header line uses more."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def read_rows(text: str | Iterable[str], sep: str) -> Iterator[dict[str, str]]:
    """CSV rows, one at a time, as dicts with stripped column names (missing cells become empty strings).

    `text` is the whole text or, for a file of any size, its lines (an open text file).
    """
    lines = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.DictReader(lines, delimiter=sep)
    try:
        if reader.fieldnames is not None:
            reader.fieldnames = [name.strip() for name in reader.fieldnames]
        for row in reader:
            yield {k: (v or "") for k, v in row.items() if k is not None}
    except csv.Error as exc:  # a field past the csv module's limit (131,072 characters): say where
        raise Invalid(f"line {reader.line_num + 1} of the CSV file cannot be read: {exc}") from exc


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
                    raise fail(f"dataset '{dataset}' does not exist: give --owner to create it")
                ds = ensure_status_dataset(s, get_organisation(s, owner), dataset)
            points = consolidate(s, source).points
            count = sync_assets(s, ctx.locator(), ds, points)
    except DomainError as exc:
        raise fail(exc.message) from exc
    console.print(f"{count:,} charge point(s) registered as assets of '{dataset}'")
    json.dump({"dataset": dataset, "assets": count}, sys.stdout)
    print()


@ev_app.command("import-dynamic")
def import_dynamic_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="IRVE dynamic CSV file")],
    dataset: Annotated[str, typer.Option(help="status dataset slug")] = STATUS_DATASET,
) -> None:
    """Import an IRVE dynamic status file: good rows are stored, the others quarantined with a reason.

    The file is streamed (read, checked and stored in chunks), so its size does not matter; the
    encoding and the separator are found from its first bytes.
    """
    size = file.stat().st_size
    with file.open("rb") as raw:
        head = raw.read(SNIFF_BYTES)
    encoding = sniff_encoding(head, complete=len(head) < SNIFF_BYTES)
    # "ignore": the head may end inside a character
    sep = delimiter(head.removeprefix(UTF8_BOM).decode(encoding.removesuffix("-sig"), "ignore"))
    console.print(f"{file.name}: encoding {encoding}, separator '{sep}', {size / 1e6:,.1f} MB")
    ctx = cli_context()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with (
            Progress(*columns, console=console) as progress,
            file.open("rb") as raw,
            io.TextIOWrapper(raw, encoding=encoding, newline="") as lines,
            ctx.session(write=True) as s,
        ):
            ds = s.scalar(select(Dataset).where(Dataset.slug == dataset))
            if ds is None:
                raise fail(f"dataset '{dataset}' does not exist: run `territoria ev sync-assets --owner …`")
            task = progress.add_task(f"import {file.name}", total=size, rows=0)

            def advancing() -> Iterator[dict[str, str]]:
                done = 0
                for done, row in enumerate(read_rows(lines, sep), start=1):
                    yield row
                    if done % PROGRESS_ROWS == 0:  # the bar follows the bytes read, not every row
                        progress.update(task, completed=raw.tell(), rows=done)
                progress.update(task, completed=size, rows=done)

            report = import_dynamic(s, ds, advancing(), now=datetime.now(UTC))
    except UnicodeDecodeError as exc:
        raise fail(
            f"{file.name} is not {encoding} throughout ({exc.reason} further than its first "
            f"{SNIFF_BYTES:,} bytes): nothing was imported; save it in one encoding (UTF-8) and try again"
        ) from exc
    except DomainError as exc:
        raise fail(exc.message) from exc
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
