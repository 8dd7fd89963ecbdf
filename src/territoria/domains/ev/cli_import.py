"""`territoria ev import-static | import-sessions | import-ocpi | import-fleet`: files into the observatory.

Registered on the `ev` sub-app of domains/ev/cli.py by importing this module (see territoria/cli.py).
Each command prints its progress and summary on stderr and one JSON line on stdout for scripts.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from territoria import i18n
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_organisation
from territoria.cli.lang import lang, say
from territoria.context import Context
from territoria.domains.ev import ocpi
from territoria.domains.ev.cli import cli_context, console, ev_app, fail, num
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.csvfile import open_table, read_table
from territoria.domains.ev.fleet import ALIASES as ALIASES_FLEET
from territoria.domains.ev.fleet import COMBINED, FLEET_DATASET, ensure_fleet_dataset, fleet_rows, note_text
from territoria.domains.ev.irve_versions import upgrade_chunk, upgrade_header
from territoria.domains.ev.ocpi_import import irve_dataset, status_dataset, store_statuses
from territoria.domains.ev.records_import import CHUNK_ROWS, RecordsImportReport, import_chunks, import_rows
from territoria.domains.ev.sessions_store import (
    ALIASES,
    COLUMNS,
    SESSIONS_DATASET,
    STATUS_DATASET,
    checked_rows,
    point_registry,
    sessions_dataset,
)
from territoria.errors import DomainError
from territoria.ingest.batches import Origin

OwnerOption = Annotated[
    str | None, typer.Option(help="organisation slug owning the dataset, when it must be created")
]
REQUIRED_SESSION_COLUMNS = ("id_pdc_itinerance", "start", "end", "energy")


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar; yields the function advancing it by a number of rows."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def warm_consolidation(ctx: Context) -> None:
    """Consolidate once now, so that the observatory's first page after this import is quick.

    On SQLite the result is kept as a snapshot until the IRVE records change (domains/ev/snapshot.py);
    elsewhere there is nothing to keep, so nothing is done.
    """
    if ctx.engine.dialect.name != "sqlite":
        return
    with console.status(say("ev.cli.consolidating")), ctx.session() as s:
        points = len(consolidate(s).points)
    console.print(say("ev.cli.observatory_ready", n=num(points)))


def _summary(report: RecordsImportReport, dataset: str, extra: dict[str, Any]) -> None:
    """Counts and reasons on stderr, the JSON line on stdout."""
    counts = {
        "received": num(report.received),
        "accepted": num(report.accepted),
        "rejected": num(report.rejected),
    }
    console.print(say("ev.cli.counts", **counts))
    if report.replayed_batches:
        console.print(say("ev.cli.replayed", n=report.replayed_batches))
    for code, n in report.rejected_by_code.items():
        console.print(f"  [yellow]{code}[/] {num(n)}")
    if report.rejected:
        console.print(say("ev.cli.in_quarantine", dataset=dataset))
    json.dump({"dataset": dataset, **extra, **report.as_dict()}, sys.stdout, ensure_ascii=False)
    print()


@ev_app.command("import-static")
def import_static_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="IRVE static CSV file")],
    dataset: Annotated[str, typer.Option(help="records dataset with the IRVE static schema")],
    owner: OwnerOption = None,
    drop_unknown: Annotated[bool, typer.Option(help="leave out columns that are not IRVE")] = False,
) -> None:
    """Import an IRVE static file of any v2 version (';' or ',', UTF-8/BOM/Windows-1252), upgraded to v2.3."""
    data = file.read_bytes()
    try:
        table = open_table(data, what="IRVE static")
        up = upgrade_header(table.header, drop_unknown=drop_unknown)
        # Columnar chunks: the rows are checked by whole columns, never made into dicts to be read.
        chunks = [upgrade_chunk(c, up) for c in table.chunks(CHUNK_ROWS)]
    except DomainError as exc:
        raise fail(say("ev.cli.file_note", file=file.name, note=exc.message)) from exc
    found = {"encoding": table.encoding, "separator": repr(table.delimiter)}
    notes = [i18n.t("ev.cli.encoding_separator", "en", **found), *up.notes()]  # the JSON line's, in English
    for note in [say("ev.cli.encoding_separator", **found), *up.notes(lang())]:
        console.print(say("ev.cli.file_note", file=file.name, note=note))
    ctx = cli_context()
    try:
        with ctx.session(write=True) as s:
            org = get_organisation(s, owner) if owner else None
            irve_dataset(s, dataset, org)
        key = f"ev-static:{hashlib.sha256(data).hexdigest()}:{CHUNK_ROWS}"
        origin = Origin(source="file", content_type="csv", from_text=True)
        with _progress(say("ev.cli.progress_import", file=file.name), sum(map(len, chunks))) as advance:
            report = import_chunks(ctx, dataset, chunks, origin, key=key, on_progress=advance)
        if report.accepted:
            warm_consolidation(ctx)
    except DomainError as exc:
        raise fail(exc.message) from exc
    report.notes = notes
    _summary(
        report, dataset, {"version": up.version, "encoding": table.encoding, "separator": table.delimiter}
    )


@ev_app.command("import-sessions")
def import_sessions_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="sessions CSV file")],
    dataset: Annotated[str, typer.Option(help="sessions dataset slug")] = SESSIONS_DATASET,
    owner: OwnerOption = None,
) -> None:
    """Import charging sessions (id_pdc_itinerance, start, end, energy kWh, optional id_session)."""
    data = file.read_bytes()
    try:
        table = read_table(data, what="sessions")
    except DomainError as exc:
        raise fail(say("ev.cli.file_note", file=file.name, note=exc.message)) from exc
    names = {ALIASES.get(h.lower(), h.lower()) for h in table.header}
    if missing := [c for c in REQUIRED_SESSION_COLUMNS if c not in names]:
        raise fail(
            say(
                "ev.cli.sessions_missing_columns",
                file=file.name,
                missing=", ".join(missing),
                found=", ".join(table.header),
                expected=", ".join(COLUMNS),
            )
        )
    ignored = sorted(names - set(COLUMNS))
    found = {"encoding": table.encoding, "separator": repr(table.separator)}
    console.print(say("ev.cli.sessions_file", file=file.name, **found, n=num(len(table.rows))))
    if ignored:
        console.print(say("ev.cli.sessions_ignored", file=file.name, columns=", ".join(ignored)))
    ctx = cli_context()
    try:
        with ctx.session(write=True) as s:
            sessions_dataset(s, dataset, get_organisation(s, owner) if owner else None)
            registry = point_registry(s)
        if registry is None:
            console.print(say("ev.cli.no_registry"))
        rows = checked_rows(table.rows, registry)
        key = f"ev-sessions:{hashlib.sha256(data).hexdigest()}"
        with _progress(say("ev.cli.progress_import", file=file.name), len(rows)) as advance:
            report = import_rows(ctx, dataset, rows, key=key, on_progress=advance)
    except DomainError as exc:
        raise fail(exc.message) from exc
    _summary(report, dataset, {"encoding": table.encoding, "separator": table.separator})


def _parse_set(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise fail(say("ev.cli.bad_set", pair=repr(pair)))
        out[name.strip()] = value.strip()
    return out


@ev_app.command("import-ocpi")
def import_ocpi_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="OCPI 2.2.1 Locations JSON")],
    dataset: Annotated[str, typer.Option(help="records dataset with the IRVE static schema")],
    owner: OwnerOption = None,
    status: Annotated[
        bool, typer.Option("--status", help="also import EVSE statuses into ev-status")
    ] = False,
    status_dataset_slug: Annotated[
        str, typer.Option("--status-dataset", help="status dataset")
    ] = STATUS_DATASET,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE for IRVE fields OCPI lacks (repeat)")
    ] = None,
) -> None:
    """Map OCPI Locations/EVSEs/Connectors to IRVE static rows (one per EVSE) and import them."""
    data = file.read_bytes()
    try:
        mapping = ocpi.map_locations(ocpi.locations_of(data), _parse_set(set_ or []))
    except DomainError as exc:
        raise fail(say("ev.cli.file_note", file=file.name, note=exc.message)) from exc
    console.print(say("ev.cli.ocpi_file", file=file.name, locations=mapping.locations, evses=mapping.evses))
    for u in mapping.unmapped:
        where = say("ev.cli.ocpi_unmapped", location=repr(u.location_id), evse=repr(u.evse_id or u.evse_uid))
        console.print(f"  [yellow]{u.code}[/] {where}: {u.text(lang())}")
    if mapping.missing_fields:
        hints = " ".join(f"--set {f}=…" for f in mapping.missing_fields)
        console.print(say("ev.cli.ocpi_missing_fields", hints=hints))
    ctx = cli_context()
    extra: dict[str, Any] = {"locations": mapping.locations, "evses": mapping.evses}
    extra["unmapped"] = [u.as_dict() for u in mapping.unmapped]
    try:
        with ctx.session(write=True) as s:
            irve_dataset(s, dataset, get_organisation(s, owner) if owner else None)
        key = f"ev-ocpi:{hashlib.sha256(data).hexdigest()}"
        with _progress(say("ev.cli.progress_import", file=file.name), len(mapping.static_rows)) as advance:
            report = import_rows(
                ctx, dataset, mapping.static_rows, key=key, content_type="ocpi", on_progress=advance
            )
        if report.accepted:
            warm_consolidation(ctx)
        if status:
            with ctx.session(write=True) as s:
                status_ds = status_dataset(
                    s, status_dataset_slug, get_organisation(s, owner) if owner else None
                )
                synced, dyn = store_statuses(
                    s,
                    ctx.locator(),
                    dataset,
                    status_ds,
                    mapping,
                    now=datetime.now(UTC),
                    origin=Origin("file"),
                )
            console.print(
                say(
                    "ev.cli.ocpi_statuses",
                    synced=num(synced),
                    received=num(dyn.received),
                    accepted=num(dyn.accepted),
                    rejected=num(dyn.rejected),
                    by_code=dyn.rejected_by_code or "",
                    skipped=len(mapping.status_skipped),
                )
            )
            extra["status"] = {
                "received": dyn.received,
                "accepted": dyn.accepted,
                "rejected": dyn.rejected,
                "rejected_by_code": dyn.rejected_by_code,
                "skipped": [u.as_dict() for u in mapping.status_skipped],
            }
    except DomainError as exc:
        raise fail(exc.message) from exc
    _summary(report, dataset, extra)


@ev_app.command("import-fleet")
def import_fleet_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of EV counts per commune")],
    dataset: Annotated[str, typer.Option(help="fleet dataset slug")] = FLEET_DATASET,
    owner: OwnerOption = None,
    date: Annotated[str | None, typer.Option(help="count date (YYYY-MM-DD) when the file has none")] = None,
) -> None:
    """Import registered EVs per commune (code_insee, bev, phev; or SDES codgeo, nb_vp_rechargeables_el)."""
    data = file.read_bytes()
    try:
        table = read_table(data, what="EV counts")
    except DomainError as exc:
        raise fail(say("ev.cli.file_note", file=file.name, note=exc.message)) from exc
    names = {h.strip().lower() for h in table.header}
    if not names & {k for k, v in ALIASES_FLEET.items() if v == "code_insee"}:
        raise fail(say("ev.cli.fleet_no_commune", file=file.name, found=", ".join(table.header)))
    if not names & ({k for k, v in ALIASES_FLEET.items() if v == "bev"} | {COMBINED}):
        raise fail(
            say("ev.cli.fleet_no_count", file=file.name, column=COMBINED, found=", ".join(table.header))
        )
    rows, codes = fleet_rows(table.rows, date or datetime.now(UTC).date().isoformat())
    for code in codes:
        console.print(say("ev.cli.file_note", file=file.name, note=note_text(code, lang())))
    notes = [note_text(code) for code in codes]  # the JSON line's, in English
    ctx = cli_context()
    try:
        with ctx.session(write=True) as s:
            ds = s.scalar(select(Dataset).where(Dataset.slug == dataset))
            if owner:
                ensure_fleet_dataset(s, get_organisation(s, owner), dataset)
            elif ds is None:
                raise fail(say("ev.cli.no_dataset_give_owner_org", dataset=dataset))
            else:
                ensure_fleet_dataset(s, ds.owner, dataset)  # checks that it holds EV counts
        key = f"ev-fleet:{hashlib.sha256(data).hexdigest()}"
        with _progress(say("ev.cli.progress_import", file=file.name), len(rows)) as advance:
            report = import_rows(ctx, dataset, rows, key=key, on_progress=advance)
    except DomainError as exc:
        raise fail(exc.message) from exc
    report.notes = notes
    _summary(report, dataset, {"encoding": table.encoding, "separator": table.separator})
