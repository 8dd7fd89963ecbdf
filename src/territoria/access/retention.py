"""Retention: personal data older than a dataset's retention period is purged, in bounded chunks.

- time series with personal fields: raw measurements older than the period are deleted; the hourly and
  daily rollups (aggregates, no longer tied to a reading of one person at one instant) are kept;
- records with personal fields: those fields are set to null in records last updated (or valid until)
  before the period, and a key made of personal values is replaced by its pseudonym;
- every dataset with a period: quarantined raw rows older than it are deleted (they hold raw input).

Each chunk is its own short transaction, so ingestion keeps flowing (SQLite has a single writer), and
each dataset's run ends with one `retention.run` event in the audit trail.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from territoria.access.audit import record
from territoria.access.personal import KEY, pseudonym
from territoria.catalog.models import Asset, Dataset, Series
from territoria.context import Context
from territoria.db.base import utcnow
from territoria.ingest.models import QuarantinedRow, Record
from territoria.ingest.records_read import primary_key
from territoria.timeseries.models import measurement

log = logging.getLogger(__name__)
SERIES_CHUNK = 200  # series per DELETE …
WINDOW = timedelta(days=7)  # … and at most a week of their readings (~134,000 rows at 15 minutes)
ROW_CHUNK = 1000  # records or quarantined rows per transaction
ACTOR = "system:retention"
FIRST_RUN_DELAY_S = 60.0


@dataclass
class DatasetRetention:
    """What retention did (or, in a dry run, would do) to one dataset."""

    dataset: str
    kind: str
    retention_days: int
    cutoff: datetime
    personal_fields: list[str]
    measurements: int = 0
    records: int = 0
    quarantine: int = 0


@dataclass
class RetentionReport:
    """A retention run over every dataset that has a retention period."""

    at: datetime
    dry_run: bool
    datasets: list[DatasetRetention] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows deleted or purged over all datasets."""
        return sum(d.measurements + d.records + d.quarantine for d in self.datasets)


def _count(ctx: Context, stmt: Any) -> int:
    """One count in its own read transaction."""
    with ctx.session() as session:
        return int(session.scalar(stmt) or 0)


def _scalar(ctx: Context, stmt: Any) -> Any:
    """One scalar in its own read transaction (None when there are no rows)."""
    with ctx.session() as session:
        return session.scalar(stmt)


def _series_ids(ctx: Context, ds: Dataset) -> list[int]:
    """Ids of the dataset's series."""
    stmt = select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == ds.id)
    with ctx.session() as session:
        return list(session.scalars(stmt.order_by(Series.id)))


def purge_measurements(ctx: Context, ds: Dataset, cutoff: datetime, *, dry_run: bool) -> int:
    """Delete raw readings older than `cutoff`, a chunk of series and a week at a time."""
    total = 0
    ids = _series_ids(ctx, ds)
    for i in range(0, len(ids), SERIES_CHUNK):
        chunk = ids[i : i + SERIES_CHUNK]
        old = (measurement.c.series_id.in_(chunk), measurement.c.ts < cutoff)
        if dry_run:
            total += _count(ctx, select(func.count()).select_from(measurement).where(*old))
            continue
        start = _scalar(ctx, select(func.min(measurement.c.ts)).where(*old))
        while start is not None and start < cutoff:
            stop = min(start + WINDOW, cutoff)
            with ctx.session(write=True) as session:
                result = session.execute(
                    delete(measurement).where(
                        measurement.c.series_id.in_(chunk),
                        measurement.c.ts >= start,
                        measurement.c.ts < stop,
                    )
                )
                total += max(0, int(getattr(result, "rowcount", 0) or 0))
            start = stop
    return total


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
        return _count(ctx, select(func.count(Record.id)).where(*conds))
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
        return _count(ctx, select(func.count(QuarantinedRow.id)).where(*conds))
    total = 0
    while True:
        with ctx.session(write=True) as session:
            ids = list(session.scalars(select(QuarantinedRow.id).where(*conds).limit(ROW_CHUNK)))
            if not ids:
                break
            session.execute(delete(QuarantinedRow).where(QuarantinedRow.id.in_(ids)))
            total += len(ids)
    return total


def apply_retention(
    ctx: Context, ds: Dataset, now: datetime, *, dry_run: bool, actor: str = ACTOR
) -> DatasetRetention:
    """Purge one dataset past its retention period and note it in the audit trail."""
    assert ds.retention_days is not None
    cutoff = now - timedelta(days=ds.retention_days)
    personal = list(ds.personal_fields or [])
    done = DatasetRetention(ds.slug, ds.kind, ds.retention_days, cutoff, personal)
    if personal and ds.kind == "timeseries":
        done.measurements = purge_measurements(ctx, ds, cutoff, dry_run=dry_run)
    if personal and ds.kind == "records":
        done.records = purge_records(ctx, ds, cutoff, dry_run=dry_run, personal=personal)
    done.quarantine = purge_quarantine(ctx, ds, cutoff, dry_run=dry_run)
    if not dry_run:
        details = {k: v for k, v in asdict(done).items() if k != "dataset"}
        with ctx.session(write=True) as session:
            record(
                session,
                actor=actor,
                action="retention.run",
                target=f"dataset:{ds.slug}",
                organisation_id=ds.owner_id,
                details=details,
            )
    return done


def run_retention(
    ctx: Context, *, now: datetime | None = None, dry_run: bool = False, actor: str = ACTOR
) -> RetentionReport:
    """Apply every dataset's retention period (a dry run counts what would go and changes nothing)."""
    now = now or utcnow()
    with ctx.session() as session:
        datasets = list(
            session.scalars(
                select(Dataset).where(Dataset.retention_days.is_not(None)).order_by(Dataset.slug)
            ).unique()
        )
    report = RetentionReport(at=now, dry_run=dry_run)
    for ds in datasets:
        report.datasets.append(apply_retention(ctx, ds, now, dry_run=dry_run, actor=actor))
    return report


class RetentionSchedule(threading.Thread):
    """Runs `run_retention` shortly after start, then every `period` seconds, until stopped."""

    def __init__(self, ctx: Context, period: float) -> None:
        super().__init__(name="territoria-retention", daemon=True)
        self.ctx, self.period = ctx, period
        self.stop_event = threading.Event()

    def run(self) -> None:
        """Loop until stopped; the first run comes soon, as a server may be restarted daily."""
        wait = min(self.period, FIRST_RUN_DELAY_S)
        while not self.stop_event.wait(wait):
            wait = self.period
            try:
                report = run_retention(self.ctx)
                log.info("retention: %d row(s) purged over %d dataset(s)", report.total, len(report.datasets))
            except Exception:  # the schedule must survive a busy or restarting database
                log.exception("scheduled retention run failed; retrying at the next period")


def start_retention_schedule(ctx: Context) -> RetentionSchedule | None:
    """The periodic retention run of a server process (None when the interval is 0)."""
    if ctx.settings.retention_interval_s <= 0:
        return None
    schedule = RetentionSchedule(ctx, ctx.settings.retention_interval_s)
    schedule.start()
    return schedule
