"""Retention: personal data older than a dataset's retention period is purged, in bounded chunks.

- time series with personal fields: raw measurements older than the period are deleted; the hourly and
  daily rollups (aggregates, no longer tied to a reading of one person at one instant) are kept;
- records with personal fields: those fields are set to null in records last updated (or valid until)
  before the period, and a key made of personal values is replaced by its pseudonym;
- every dataset with a period: quarantined raw rows older than it are deleted (they hold raw input).

Each store registers its purge (`register_purge`): timeseries/retention.py and ingest/retention.py for
the platform, a domain's contract for its own stores. Each chunk is its own short transaction, so
ingestion keeps flowing (SQLite has a single writer), and each dataset's run ends with one
`retention.run` event in the audit trail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from territoria.access.audit import record
from territoria.catalog.models import Dataset
from territoria.context import Context
from territoria.db.base import utcnow

log = logging.getLogger(__name__)
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
    other: dict[str, int] = field(default_factory=dict)  # purges that domains register


@dataclass
class RetentionReport:
    """A retention run over every dataset that has a retention period."""

    at: datetime
    dry_run: bool
    datasets: list[DatasetRetention] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows deleted or purged over all datasets."""
        return sum(d.measurements + d.records + d.quarantine + sum(d.other.values()) for d in self.datasets)


Purge = Callable[..., int]  # (ctx, dataset, cutoff, *, dry_run, personal) -> rows purged


@dataclass(frozen=True)
class PurgeHook:
    """How one store purges a dataset past its retention period; registered by that store."""

    name: str
    applies: Callable[[Dataset, list[str]], bool]
    purge: Purge


PURGES: dict[str, PurgeHook] = {}
# The platform's own stores; retention refuses to run without them rather than purge half the data.
REQUIRED = ("measurements", "records", "quarantine")


def register_purge(hook: PurgeHook) -> None:
    """Add (or replace) a store's purge; stores and domains call this when they are loaded."""
    PURGES[hook.name] = hook


def count_rows(ctx: Context, stmt: Any) -> int:
    """One count in its own read transaction."""
    with ctx.session() as session:
        return int(session.scalar(stmt) or 0)


def scalar_in(ctx: Context, stmt: Any) -> Any:
    """One scalar in its own read transaction (None when there are no rows)."""
    with ctx.session() as session:
        return session.scalar(stmt)


def apply_retention(
    ctx: Context, ds: Dataset, now: datetime, *, dry_run: bool, actor: str = ACTOR
) -> DatasetRetention:
    """Purge one dataset past its retention period and note it in the audit trail."""
    assert ds.retention_days is not None
    cutoff = now - timedelta(days=ds.retention_days)
    personal = list(ds.personal_fields or [])
    done = DatasetRetention(ds.slug, ds.kind, ds.retention_days, cutoff, personal)
    missing = [name for name in REQUIRED if name not in PURGES]
    if missing:
        raise RuntimeError(f"retention purges not loaded: {', '.join(missing)} (load territoria.plugins)")
    for hook in PURGES.values():
        if hook.applies(ds, personal):
            n = hook.purge(ctx, ds, cutoff, dry_run=dry_run, personal=personal)
            if hook.name in REQUIRED:
                setattr(done, hook.name, n)
            else:
                done.other[hook.name] = n
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
