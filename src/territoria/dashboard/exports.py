"""Download of a dataset the visitor may read, from its page: its records, or its series at a resolution,
as a CSV a spreadsheet opens (what the API gives, under the same access rules and pseudonyms)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from territoria.access.personal import View, view_of
from territoria.access.policy import allowed_fields, require_read
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.dates import QueryDay
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.http.limits import Expensive
from territoria.ingest.records_read import MAX_LIMIT, read_records
from territoria.spreadsheet import safe_cell
from territoria.timeseries.paging import parse_cursor
from territoria.timeseries.query import MAX_POINTS, query_series

router = APIRouter(tags=["pages"], include_in_schema=False)
DEFAULT_DAYS = 90  # a series download covers the last 90 days unless the visitor names a period
Decimal = Literal["point", "comma"]


class _Sheet:
    """CSV text written a block at a time: cells safe for spreadsheets, the chosen decimal mark."""

    def __init__(self, decimal: Decimal) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(
            self.buffer, delimiter=";" if decimal == "comma" else ",", lineterminator="\r\n"
        )
        self.comma = decimal == "comma"

    def cell(self, value: object) -> object:
        """A value as written: text neutralised against formulas, floats with the decimal mark."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            text = repr(value)
            return text.replace(".", ",") if self.comma else text
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, int):
            return value
        return safe_cell(str(value))

    def row(self, values: Sequence[object]) -> None:
        """Add one row."""
        self.writer.writerow([self.cell(v) for v in values])

    def take(self) -> str:
        """The text written since the last call."""
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def record_columns(ds: Dataset, allowed: frozenset[str] | None) -> list[str]:
    """The data columns of a records download: the schema's fields the visitor may read, in its order."""
    names = [
        f["name"] for f in (ds.table_schema or {}).get("fields") or [] if isinstance(f, dict) and "name" in f
    ]
    return [n for n in names if allowed is None or n in allowed]


def _record_lines(ctx: Context, slug: str, view: View, columns: list[str], decimal: Decimal) -> Iterator[str]:
    """Every record, a page at a time, in a session of its own (the request's is closed by then)."""
    sheet = _Sheet(decimal)
    yield "\ufeff"
    with ctx.session() as session:
        ds = get_dataset(session, slug)
        page = read_records(session, ds, view=view, area=None, limit=MAX_LIMIT)
        if not columns:  # no Table Schema: the fields the first page holds
            columns = sorted({name for record in page.records for name in record.data})
        sheet.row(["key", "area_code", *columns, "updated_at"])
        while True:
            for record in page.records:
                sheet.row(
                    [record.key, record.area_code, *(record.data.get(c) for c in columns), record.updated_at]
                )
            yield sheet.take()
            if page.next is None:
                return
            page = read_records(session, ds, view=view, area=None, limit=MAX_LIMIT, after=page.next)


def _series_lines(
    ctx: Context, slug: str, view: View, span: tuple[datetime, datetime], resolution: str, decimal: Decimal
) -> Iterator[str]:
    """Every point of the dataset's series over the span, a page at a time, in a session of its own."""
    sheet = _Sheet(decimal)
    yield "\ufeff"
    sheet.row(["asset", "metric", "time", "value"])
    with ctx.session() as session:
        ds = get_dataset(session, slug)
        cursor: str | None = None
        while True:
            result = query_series(
                session,
                ds,
                start=span[0],
                end=span[1],
                resolution=resolution,  # type: ignore[arg-type]
                limit=MAX_POINTS,
                view=view,
                cursor=parse_cursor(cursor),
            )
            for p in result.data:
                sheet.row([p.asset, p.metric, p.ts, p.value])
            yield sheet.take()
            if result.cursor is None:
                return
            cursor = result.cursor


def _span(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The download's period: the named days, else the last DEFAULT_DAYS days up to tomorrow."""
    last = end or datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(), UTC)
    return start or last - timedelta(days=DEFAULT_DAYS), last


@router.get("/datasets/{slug}/export.csv")
def dataset_export(
    slug: str,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    _slot: Expensive,
    start: QueryDay | None = None,
    end: QueryDay | None = None,
    resolution: Literal["raw", "hour", "day"] = "day",
    decimal: Decimal = "point",
) -> StreamingResponse:
    """The dataset as CSV (UTF-8 with a BOM): records with their readable fields, or series points
    (`resolution`, default daily means, over `start`..`end`, default the last 90 days)."""
    ds = get_dataset(session, slug)
    require_read(principal, ds)
    view = view_of(principal, ds, ctx.settings.secret_key)
    variant = "-fr" if decimal == "comma" else ""
    if ds.kind == "records":
        columns = record_columns(ds, allowed_fields(principal, ds))
        body = _record_lines(ctx, ds.slug, view, columns, decimal)
        filename = f"{ds.slug}-records{variant}.csv"
    else:
        first = datetime.combine(start, time(), UTC) if start else None
        last = datetime.combine(end, time(), UTC) if end else None
        span = _span(first, last)
        body = _series_lines(ctx, ds.slug, view, span, resolution, decimal)
        filename = f"{ds.slug}-{resolution}-{span[0].date()}-{span[1].date()}{variant}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)
