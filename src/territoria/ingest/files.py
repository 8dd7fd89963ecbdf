"""File import: stream CSV, NDJSON, JSON or GeoJSON files of any size in constant memory.

The file is cut into chunks; each chunk is one batch in its own transaction with an idempotency key
derived from the file's checksum, so an interrupted import can simply be run again: finished chunks
are recognised and skipped, and nothing is stored twice.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from territoria.catalog.schemas import AssetIn
from territoria.catalog.service import assets_from_geojson, get_dataset, upsert_assets
from territoria.context import Context
from territoria.errors import Invalid
from territoria.ingest import records
from territoria.ingest.batches import Origin
from territoria.ingest.parsers import (
    BadRow,
    Row,
    csv_chunks,
    format_of,
    geojson_rows,
    iter_json_stream,
    iter_ndjson,
    text_encoding,
)
from territoria.ingest.schemas import BatchResult
from territoria.ingest.service import MEASUREMENT_COLUMNS, ingest_measurements
from territoria.timeseries.store import ConcurrentWrite
from territoria.validation.tabular import Chunk

CHUNK_ROWS = 50_000


@dataclass
class ImportReport:
    """Totals of a file import across its batches."""

    batches: list[str] = field(default_factory=list)
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped_batches: int = 0
    target: str = "rows"  # or "assets" for a GeoJSON of a time-series dataset
    encoding: str | None = None  # of a CSV file: declared, or found by the tabular reader
    separator: str | None = None
    sample_errors: list[dict[str, object]] = field(default_factory=list)

    def add(self, result: BatchResult) -> None:
        """Account for one batch."""
        self.batches.append(result.batch_id)
        self.received += result.received
        self.accepted += result.accepted
        self.rejected += result.rejected
        self.duplicates += result.duplicates
        self.skipped_batches += int(result.replayed)
        if len(self.sample_errors) < 20:
            self.sample_errors.extend(result.errors[: 20 - len(self.sample_errors)])


def file_checksum(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks(
    fh: io.BufferedReader, fmt: str, required: list[str], encoding: str | None, size: int
) -> Iterator[Iterable[Row]]:
    """Chunks of `size` rows of an open file in its format (CSV: columnar chunks)."""
    if fmt == "csv":
        yield from csv_chunks(fh, required, encoding=encoding, rows=size)
        return
    rows = iter_ndjson(fh) if fmt == "ndjson" else iter_json_stream(fh)
    if fmt == "geojson":
        rows = geojson_rows(rows)
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def import_file(
    ctx: Context,
    path: Path,
    dataset: str,
    *,
    encoding: str | None = None,
    organisation_id: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a file into a dataset; `on_progress(bytes_read, rows_done)` is called after each chunk.

    A CSV file is read in the `encoding` given, else the one found (validation/tabular.py).
    """
    fmt = format_of(None, path.name)
    if encoding is not None:
        encoding = text_encoding(encoding)  # an unknown or non-text codec is refused before any row
    checksum = file_checksum(path)
    with ctx.session() as session:
        ds = get_dataset(session, dataset)
        kind = ds.kind
        required = list(MEASUREMENT_COLUMNS) if kind == "timeseries" else records.required_columns(ds)
    if fmt == "geojson" and kind == "timeseries":
        return _import_assets(ctx, path, dataset, chunk_rows=chunk_rows, on_progress=on_progress)
    report = ImportReport()
    with path.open("rb") as fh:
        for index, chunk in enumerate(_chunks(fh, fmt, required, encoding, chunk_rows)):
            origin = Origin(
                source="file",
                organisation_id=organisation_id,
                content_type=fmt,
                idempotency_key=f"file:{checksum}:{chunk_rows}:{index}",
                from_text=fmt == "csv",
            )
            if isinstance(chunk, Chunk):
                report.encoding, report.separator = chunk.encoding, chunk.delimiter
            report.add(_ingest_chunk(ctx, dataset, kind, chunk, origin, checksum))
            if on_progress:
                on_progress(fh.tell(), report.received)
    return report


def _ingest_chunk(
    ctx: Context, dataset: str, kind: str, chunk: Iterable[Row], origin: Origin, checksum: str
) -> BatchResult:
    """One chunk, one transaction (retried if a concurrent writer raced on the same points)."""
    for attempt in range(3):
        try:
            with ctx.session(write=True) as session:
                ds = get_dataset(session, dataset)
                if kind == "timeseries":
                    return ingest_measurements(
                        session,
                        ds,
                        chunk,
                        origin,
                        checksum=checksum,
                        future_tolerance_s=ctx.settings.future_tolerance_s,
                    )
                return records.ingest_records(
                    session, ds, chunk, origin, checksum=checksum, locator=ctx.locator()
                )
        except ConcurrentWrite:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _asset_or_errors(n: int, feature: object) -> AssetIn | list[dict[str, object]]:
    """One feature as an asset, or why it cannot be one."""
    if isinstance(feature, BadRow):
        return [{"row": n, "field": None, "code": feature.code, "message": feature.message}]
    try:
        if not isinstance(feature, dict):
            raise Invalid("not a GeoJSON feature")
        return AssetIn.model_validate(assets_from_geojson({"features": [feature]})[0])
    except Invalid as exc:
        return [{"row": n, "field": None, "code": "INVALID_ASSET", "message": exc.message}]
    except ValidationError as exc:
        return [
            {
                "row": n,
                "field": ".".join(map(str, e["loc"])) or None,
                "code": "INVALID_ASSET",
                "message": e["msg"],
            }
            for e in exc.errors()
        ]


def _import_assets(
    ctx: Context,
    path: Path,
    dataset: str,
    *,
    chunk_rows: int,
    on_progress: Callable[[int, int], None] | None,
) -> ImportReport:
    """A GeoJSON file for a time-series dataset registers its assets (upsert on the feature id)."""
    report = ImportReport(target="assets")
    locator = ctx.locator()
    with path.open("rb") as fh:
        features = iter_json_stream(fh)
        while chunk := list(itertools.islice(features, chunk_rows)):
            good: list[AssetIn] = []
            for n, feature in chunk:
                verdict = _asset_or_errors(n, feature)
                if isinstance(verdict, AssetIn):
                    good.append(verdict)
                else:
                    report.rejected += 1
                    if len(report.sample_errors) < 20:
                        report.sample_errors.extend(verdict)
            unique = list({a.id: a for a in good}.values())  # a later feature with the same id wins
            with ctx.session(write=True) as session:
                upsert_assets(session, get_dataset(session, dataset), unique, locator)
            report.received += len(chunk)
            report.accepted += len(good)
            if on_progress:
                on_progress(fh.tell(), report.received)
    return report
