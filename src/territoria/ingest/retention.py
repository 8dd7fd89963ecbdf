"""Retention of what ingest stores: personal fields of old records nulled, old quarantined rows deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from territoria.access.personal import KEY, pseudonym
from territoria.access.retention import PurgeHook, count_rows, register_purge
from territoria.catalog.models import Dataset
from territoria.context import Context
from territoria.ingest.models import QuarantinedRow, Record
from territoria.ingest.records_read import primary_key

ROW_CHUNK = 1000  # records or quarantined rows per transaction


def _holds_personal(personal: list[str]) -> ColumnElement[bool]:
    """Some personal field of the record's data is not null."""
    return or_(*(Record.data[name].as_string().is_not(None) for name in personal))


def purge_records(
    ctx: Context, ds: Dataset, cutoff: datetime, *, dry_run: bool, personal: list[str] | None = None
) -> int:
    """Null the personal fields of records older than `cutoff`; returns how many records changed."""
    personal = personal if personal is not None else list(ds.personal_fields or [])
    if not personal:
        return 0
    pk = primary_key(ds)
    # A key made of personal values (or a digest of the whole row) is personal too.
    rekey = not pk or any(k in personal for k in pk)
    key_field = pk[0] if len(pk) == 1 else KEY
    age = func.coalesce(Record.valid_to, Record.updated_at)
    conds = (Record.dataset_id == ds.id, age < cutoff, _holds_personal(personal))
    if dry_run:
        return count_rows(ctx, select(func.count(Record.id)).where(*conds))
    total, last = 0, 0
    while True:
        with ctx.session(write=True) as session:
            cols = (Record.id, Record.key, Record.data, Record.updated_at)
            stmt = select(*cols).where(*conds, Record.id > last).order_by(Record.id).limit(ROW_CHUNK)
            rows = session.execute(stmt).all()
            if not rows:
                break
            changes = [
                {
                    "id": rid,
                    "data": {**(data or {}), **dict.fromkeys(personal)},
                    "key": pseudonym(ctx.settings.secret_key, ds.slug, key_field, key) if rekey else key,
                    # Purging is not an update of the record: its age stays what it was.
                    "updated_at": updated_at,
                }
                for rid, key, data, updated_at in rows
            ]
            session.execute(update(Record), changes)
            total += len(rows)
            last = rows[-1][0]
    return total


def purge_quarantine(ctx: Context, ds: Dataset, cutoff: datetime, *, dry_run: bool) -> int:
    """Delete quarantined raw rows received before `cutoff`."""
    conds = (QuarantinedRow.dataset_id == ds.id, QuarantinedRow.created_at < cutoff)
    if dry_run:
        return count_rows(ctx, select(func.count(QuarantinedRow.id)).where(*conds))
    total = 0
    while True:
        with ctx.session(write=True) as session:
            ids = list(session.scalars(select(QuarantinedRow.id).where(*conds).limit(ROW_CHUNK)))
            if not ids:
                break
            session.execute(delete(QuarantinedRow).where(QuarantinedRow.id.in_(ids)))
            total += len(ids)
    return total


def _purge_quarantine(
    ctx: Context, ds: Dataset, cutoff: datetime, *, dry_run: bool, personal: list[str]
) -> int:
    """The registered purge of quarantined raw rows (every dataset with a period)."""
    return purge_quarantine(ctx, ds, cutoff, dry_run=dry_run)


register_purge(
    PurgeHook("records", lambda ds, personal: bool(personal) and ds.kind == "records", purge_records)
)
register_purge(PurgeHook("quarantine", lambda ds, personal: True, _purge_quarantine))
