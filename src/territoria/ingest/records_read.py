"""Reading a records dataset: pages of records in key order, as the caller's view shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.personal import View, key_in_clear, mask_record
from territoria.catalog.models import Dataset
from territoria.errors import Invalid
from territoria.ingest.models import Record

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1000
CURSOR = "@"  # opaque cursors (record ids) start with this


class RecordPublic(BaseModel):
    """One record as shown to API users."""

    key: str
    data: dict[str, Any]
    area_code: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    updated_at: datetime


class RecordsPage(BaseModel):
    """A page of records; `next` goes in `after=` for the following page (null: last page)."""

    records: list[RecordPublic]
    next: str | None


def primary_key(ds: Dataset) -> list[str]:
    """The fields of the dataset's primary key (none: records are keyed by a digest of the row)."""
    pk = (ds.table_schema or {}).get("primaryKey") or []
    return [pk] if isinstance(pk, str) else [str(k) for k in pk]


def schema_fields(ds: Dataset) -> list[str]:
    """Names of the fields of the dataset's current Table Schema."""
    fields = (ds.table_schema or {}).get("fields") or []
    return [str(f["name"]) for f in fields if isinstance(f, dict) and "name" in f]


def _cursor(after: str) -> int:
    """The record id of an opaque cursor."""
    raw = after[len(CURSOR) :] if after.startswith(CURSOR) else ""
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid("'after' takes the 'next' value of the previous page")
    return int(raw)


def read_records(
    session: Session,
    ds: Dataset,
    *,
    view: View | None = None,
    area: str | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> RecordsPage:
    """Records of a dataset in key order after `after`, at most `limit`, as `view` shows them.

    When the caller sees keys as pseudonyms, the page order follows the record ids and `next` is an
    opaque cursor: ordering by the clear key, or paging on it, would reveal it.
    """
    if ds.kind != "records":
        raise Invalid(f"dataset '{ds.slug}' holds time series: read /measurements instead")
    limit = max(1, min(limit, MAX_LIMIT))
    pk = primary_key(ds)
    by_key = key_in_clear(view, pk)
    stmt = select(Record).where(Record.dataset_id == ds.id)
    if area:
        stmt = stmt.where(Record.area_code.in_([c.strip() for c in area.split(",") if c.strip()]))
    if by_key:
        if after:
            stmt = stmt.where(Record.key > after)
        stmt = stmt.order_by(Record.key)
    else:
        if after:
            stmt = stmt.where(Record.id > _cursor(after))
        stmt = stmt.order_by(Record.id)
    rows = session.scalars(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    fields = schema_fields(ds)
    out = []
    for r in rows:
        key, data = mask_record(view, r.key, r.data or {}, pk, fields)
        out.append(
            RecordPublic(
                key=key,
                data=data,
                area_code=r.area_code,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                updated_at=r.updated_at,
            )
        )
    following = None
    if more and rows:
        following = rows[-1].key if by_key else f"{CURSOR}{rows[-1].id}"
    return RecordsPage(records=out, next=following)
