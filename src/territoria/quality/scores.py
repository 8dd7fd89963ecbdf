"""Daily quality scores per dataset (UTC days) and per operator, from rollups, batches and findings.

Components, each in [0, 1] or None when it cannot be known:

- completeness: stored points ÷ expected points. Expected = Σ over the dataset's active series (an
  active asset's series that has data on or before that day) of the day's length ÷ the metric's
  reporting interval (the dataset's when the metric has none); each series counts at most its
  expected points, so one chatty series cannot hide a silent one. Today counts the elapsed part of
  the day only. Records datasets: share of required cells filled among the rows received that day
  (stored rows passed the REQUIRED rule; each REQUIRED error in quarantine is one empty cell).
- validity: accepted ÷ received over the batches opened that day (replays of corrected rows excluded:
  they measure the steward's work, not what the operator sent).
- freshness: delay of the latest data at the day's end (now, for today), as 1 within one reporting
  interval, falling linearly to 0 at `FRESH_INTERVALS` intervals; the delay itself is kept.
- consistency: 1 − share of the day's points covered by warning findings (a series finding covers its
  overlap with the day ÷ the interval, at most the series' points that day; a row finding one point).
- overall: weighted mean of the available components, weights `WEIGHTS` renormalised over them.

Only rollups, batch counts, quarantine errors and findings are read, never raw measurements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Metric, Series
from territoria.context import Context
from territoria.db.base import utcnow
from territoria.db.dialect import upsert
from territoria.ingest.models import Batch, FindingRow, QuarantinedRow
from territoria.quality.models import QualityScore
from territoria.timeseries.models import rollup_day, rollup_hour

DAY = timedelta(days=1)
COMPONENTS = ("completeness", "validity", "freshness", "consistency")
# Completeness and validity say whether the data can be used at all; freshness and consistency refine.
WEIGHTS: dict[str, float] = {"completeness": 0.35, "validity": 0.30, "freshness": 0.20, "consistency": 0.15}
FRESH_INTERVALS = 24
# A row of today (or of yesterday before its end was scored) older than this is recomputed on read.
STALE_AFTER = timedelta(minutes=10)
MAX_DAYS = 400


def day_start(value: datetime | date) -> datetime:
    """UTC midnight of the day holding `value` (a date is taken as a UTC day)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def last_days(n: int, now: datetime | None = None) -> list[datetime]:
    """The `n` UTC days ending today, oldest first."""
    today = day_start(now or utcnow())
    return [today - DAY * k for k in range(n - 1, -1, -1)]


@dataclass
class ScoreValues:
    """The figures of one day (or an aggregate of several datasets)."""

    expected: int = 0
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    warnings: int = 0
    delay_s: float | None = None
    completeness: float | None = None
    validity: float | None = None
    freshness: float | None = None
    consistency: float | None = None
    overall: float | None = None

    def finish(self) -> ScoreValues:
        """Set the overall score from the available components."""
        self.overall = overall_score({c: getattr(self, c) for c in COMPONENTS})
        return self


def overall_score(components: dict[str, float | None]) -> float | None:
    """Weighted mean of the components that are known (None when none is)."""
    known = {k: v for k, v in components.items() if v is not None}
    if not known:
        return None
    total = sum(WEIGHTS[k] for k in known)
    return sum(WEIGHTS[k] * v for k, v in known.items()) / total


def freshness_score(delay_s: float, interval_s: float) -> float:
    """1 within one interval, 0 from `FRESH_INTERVALS` intervals on, linear in between."""
    if delay_s <= interval_s:
        return 1.0
    return max(0.0, 1.0 - (delay_s - interval_s) / ((FRESH_INTERVALS - 1) * interval_s))


@dataclass
class _Finding:
    series_id: int | None
    start: datetime
    end: datetime
    points: int | None


@dataclass
class _Inputs:
    """What one dataset's scores need over a window of days, read in a few queries."""

    intervals: dict[int, float | None] = field(default_factory=dict)  # series → interval (s)
    first_day: dict[int, datetime] = field(default_factory=dict)  # first data (hour, in the window)
    points: dict[datetime, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    latest_in_day: dict[datetime, datetime] = field(default_factory=dict)
    latest_before: datetime | None = None
    batches: dict[datetime, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    findings: list[_Finding] = field(default_factory=list)
    missing_cells: dict[datetime, int] = field(default_factory=lambda: defaultdict(int))


def _read_series(session: Session, ds: Dataset, inputs: _Inputs, end: datetime) -> None:
    """Active series with their interval, first day with data, and latest data before the window."""
    stmt = (
        select(Series.id, Metric.reporting_interval_s, func.min(rollup_day.c.bucket))
        .join(Asset, Asset.id == Series.asset_id)
        .join(Metric, Metric.id == Series.metric_id)
        .join(rollup_day, rollup_day.c.series_id == Series.id)
        .where(Asset.dataset_id == ds.id, Asset.active.is_(True), rollup_day.c.bucket < end)
        .group_by(Series.id, Metric.reporting_interval_s)
    )
    for sid, own, first in session.execute(stmt):
        seconds = own or ds.reporting_interval_s
        inputs.intervals[sid] = float(seconds) if seconds else None
        inputs.first_day[sid] = first


def _series_ids(ds: Dataset) -> Any:
    """Subquery of the dataset's active series."""
    return (
        select(Series.id)
        .join(Asset, Asset.id == Series.asset_id)
        .where(Asset.dataset_id == ds.id, Asset.active.is_(True))
    )


def _read_rollups(session: Session, ds: Dataset, inputs: _Inputs, start: datetime, end: datetime) -> None:
    """Points per series and day, latest timestamp per day, latest timestamp before the window."""
    r = rollup_day.c
    ids = _series_ids(ds)
    stmt = select(r.series_id, r.bucket, r.n, r.last_ts).where(
        r.series_id.in_(ids), r.bucket >= start, r.bucket < end
    )
    for sid, bucket, n, last_ts in session.execute(stmt):
        inputs.points[bucket][sid] = int(n)
        if bucket not in inputs.latest_in_day or last_ts > inputs.latest_in_day[bucket]:
            inputs.latest_in_day[bucket] = last_ts
    inputs.latest_before = session.scalar(
        select(func.max(r.last_ts)).where(r.series_id.in_(ids), r.bucket < start)
    )
    # A series that starts inside the window is expected from its first hour, not from midnight.
    h = rollup_hour.c
    first_hour = (
        select(h.series_id, func.min(h.bucket))
        .where(h.series_id.in_(ids), h.bucket >= start, h.bucket < end)
        .group_by(h.series_id)
    )
    for sid, bucket in session.execute(first_hour):
        if sid in inputs.first_day and inputs.first_day[sid] >= start:
            inputs.first_day[sid] = bucket


def _read_batches(session: Session, ds: Dataset, inputs: _Inputs, start: datetime, end: datetime) -> None:
    """Counts of the batches opened each day (replays excluded), and for records the empty cells."""
    stmt = select(Batch.created_at, Batch.received, Batch.accepted, Batch.rejected).where(
        Batch.dataset_id == ds.id,
        Batch.replay_of.is_(None),
        Batch.created_at >= start,
        Batch.created_at < end,
    )
    for created, received, accepted, rejected in session.execute(stmt):
        counts = inputs.batches[day_start(created)]
        counts[0] += received
        counts[1] += accepted
        counts[2] += rejected
    if ds.kind == "records":
        last = session.scalar(
            select(func.max(Batch.created_at)).where(
                Batch.dataset_id == ds.id, Batch.accepted > 0, Batch.created_at < start
            )
        )
        inputs.latest_before = last
        accepted_at = select(Batch.created_at).where(
            Batch.dataset_id == ds.id, Batch.accepted > 0, Batch.created_at >= start, Batch.created_at < end
        )
        for (created,) in session.execute(accepted_at):
            d = day_start(created)
            if d not in inputs.latest_in_day or created > inputs.latest_in_day[d]:
                inputs.latest_in_day[d] = created
        rows = (
            select(Batch.created_at, QuarantinedRow.errors)
            .join(Batch, Batch.id == QuarantinedRow.batch_id)
            .where(
                QuarantinedRow.dataset_id == ds.id,
                Batch.replay_of.is_(None),
                Batch.created_at >= start,
                Batch.created_at < end,
            )
        )
        for created, errors in session.execute(rows):
            missing = sum(1 for e in errors or [] if isinstance(e, dict) and e.get("code") == "REQUIRED")
            inputs.missing_cells[day_start(created)] += missing


def _read_findings(session: Session, ds: Dataset, inputs: _Inputs, start: datetime, end: datetime) -> None:
    """Warning findings touching the window."""
    f = FindingRow
    begin = func.coalesce(f.start_ts, f.created_at)
    finish = func.coalesce(f.end_ts, f.start_ts, f.created_at)
    stmt = select(f.series_id, f.start_ts, f.end_ts, f.created_at, f.details).where(
        f.dataset_id == ds.id, f.severity == "warning", begin < end, finish >= start
    )
    for sid, s, e, created, details in session.execute(stmt):
        first = s or created
        points = (details or {}).get("points") if isinstance(details, dict) else None
        n = points if isinstance(points, int) and not isinstance(points, bool) else None
        inputs.findings.append(_Finding(sid, first, e or first, n))


def _covered(fd: _Finding, d: datetime, interval: float | None) -> float:
    """Points of day `d` a warning covers (its share of the day's overlap)."""
    lo, hi = max(fd.start, d), min(fd.end, d + DAY)
    span = (fd.end - fd.start).total_seconds()
    overlap = max(0.0, (hi - lo).total_seconds())
    if fd.points is not None:
        return fd.points * (overlap / span if span > 0 else 1.0)
    if fd.series_id is None or interval is None or span <= 0:
        return 1.0
    return overlap / interval + (1.0 if fd.start >= d else 0.0)


def _touches(fd: _Finding, d: datetime) -> bool:
    """The finding's time range meets day `d`."""
    return fd.start < d + DAY and fd.end >= d


def _completeness(inputs: _Inputs, d: datetime, length_s: float) -> tuple[float | None, int]:
    """Stored points ÷ expected points of a time-series day, and the expected count."""
    expected = received = 0.0
    points = inputs.points.get(d, {})
    for sid, interval in inputs.intervals.items():
        first = inputs.first_day[sid]
        if interval is None or first >= d + DAY:
            continue
        e = (length_s - max(0.0, (first - d).total_seconds())) / interval
        if e <= 0:
            continue
        expected += e
        received += min(points.get(sid, 0), e)
    if expected <= 0:
        return None, 0
    return min(1.0, received / expected), round(expected)


def _dataset_interval(ds: Dataset, inputs: _Inputs) -> float | None:
    """The shortest expected interval of the dataset, for freshness."""
    known = [i for i in inputs.intervals.values() if i]
    known += [float(m.reporting_interval_s) for m in ds.metrics if m.reporting_interval_s]
    if ds.reporting_interval_s:
        known.append(float(ds.reporting_interval_s))
    return min(known) if known else None


def _score_day(
    ds: Dataset, inputs: _Inputs, d: datetime, now: datetime, latest: datetime | None
) -> ScoreValues:
    """The figures of one day from the window's inputs."""
    ref = min(d + DAY, now)
    received, accepted, rejected = inputs.batches.get(d, [0, 0, 0])
    v = ScoreValues(received=received, accepted=accepted, rejected=rejected)
    v.validity = accepted / received if received else None
    required = required_fields(ds)
    if ds.kind == "records":
        if required and received:
            v.completeness = max(0.0, 1.0 - inputs.missing_cells.get(d, 0) / (received * len(required)))
    else:
        v.completeness, v.expected = _completeness(inputs, d, (ref - d).total_seconds())
    interval = _dataset_interval(ds, inputs)
    if latest is not None:
        v.delay_s = max(0.0, (ref - latest).total_seconds())
        v.freshness = freshness_score(v.delay_s, interval) if interval else None
    day_points = inputs.points.get(d, {})
    total = accepted if ds.kind == "records" else sum(day_points.values())
    flagged: dict[int | None, float] = defaultdict(float)
    for fd in inputs.findings:
        if _touches(fd, d):
            v.warnings += 1
            flagged[fd.series_id] += _covered(fd, d, inputs.intervals.get(fd.series_id or -1))
    if total:
        capped = sum(n if s is None else min(n, day_points.get(s, 0)) for s, n in flagged.items())
        v.consistency = max(0.0, 1.0 - capped / total)
    return v.finish()


def required_fields(ds: Dataset) -> list[str]:
    """Names of the required fields of a records dataset's Table Schema."""
    schema = ds.table_schema or {}
    fields = schema.get("fields") if isinstance(schema, dict) else None
    return [
        str(f.get("name"))
        for f in fields or []
        if isinstance(f, dict) and isinstance(f.get("constraints"), dict) and f["constraints"].get("required")
    ]


def _has_anything(v: ScoreValues) -> bool:
    """A day worth a row: something was expected, received, flagged or can be dated."""
    return bool(v.expected or v.received or v.warnings or v.completeness is not None)


def score_dataset(
    session: Session, ds: Dataset, days: Sequence[datetime], now: datetime | None = None
) -> dict[datetime, ScoreValues]:
    """Figures of the given UTC days for one dataset (days without anything to say are left out)."""
    now = now or utcnow()
    wanted = sorted({day_start(d) for d in days if day_start(d) <= now})
    if not wanted:
        return {}
    start, end = wanted[0], wanted[-1] + DAY
    inputs = _Inputs()
    if ds.kind != "records":
        _read_series(session, ds, inputs, end)
        _read_rollups(session, ds, inputs, start, end)
    _read_batches(session, ds, inputs, start, end)
    _read_findings(session, ds, inputs, start, end)
    out: dict[datetime, ScoreValues] = {}
    latest = inputs.latest_before
    d = start
    while d < end:
        day_latest = inputs.latest_in_day.get(d)
        if day_latest is not None and (latest is None or day_latest > latest):
            latest = min(day_latest, now) if d == day_start(now) else day_latest
        if d in wanted:
            values = _score_day(ds, inputs, d, now, latest)
            if _has_anything(values):
                out[d] = values
        d += DAY
    return out


def compute_scores(
    session: Session, dataset: Dataset | None, days: Iterable[datetime | date], now: datetime | None = None
) -> list[QualityScore]:
    """Compute and store (replacing) the scores of the days for one dataset, or every dataset."""
    now = now or utcnow()
    wanted = sorted({day_start(d) for d in days})[-MAX_DAYS:]
    datasets = [dataset] if dataset is not None else list(session.scalars(select(Dataset)).unique())
    table: Any = QualityScore.__table__
    for ds in datasets:
        for d, v in score_dataset(session, ds, wanted, now).items():
            row = {c: getattr(v, c) for c in (*COMPONENTS, "overall", "expected", "received")}
            row |= {"accepted": v.accepted, "rejected": v.rejected, "warnings": v.warnings}
            row |= {"delay_s": v.delay_s, "organisation_id": ds.owner_id, "computed_at": now}
            ins = upsert(session, table).values(dataset_id=ds.id, day=d, **row)
            session.execute(ins.on_conflict_do_update(index_elements=["dataset_id", "day"], set_=row))
    session.flush()
    ids = [ds.id for ds in datasets]
    stmt = select(QualityScore).where(QualityScore.dataset_id.in_(ids), QualityScore.day.in_(wanted))
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def refresh_scores(
    session: Session, days: int = 2, dataset: Dataset | None = None, now: datetime | None = None
) -> list[QualityScore]:
    """Recompute the last `days` UTC days (today included) of one dataset or of every dataset."""
    now = now or utcnow()
    return compute_scores(session, dataset, last_days(days, now), now)


def stale_datasets(
    session: Session, datasets: Sequence[Dataset], now: datetime | None = None
) -> list[Dataset]:
    """The datasets whose row of today or yesterday is missing or older than `STALE_AFTER`."""
    now = now or utcnow()
    today = day_start(now)
    q = QualityScore
    stmt = select(q.dataset_id, q.day, q.computed_at).where(
        q.dataset_id.in_([ds.id for ds in datasets]), q.day >= today - DAY
    )
    seen = {(ds_id, d): at for ds_id, d, at in session.execute(stmt)}
    out = []
    for ds in datasets:
        for d in (today - DAY, today):
            at = seen.get((ds.id, d))
            # Yesterday's row is final once computed after its end; today's ages with the clock.
            if at is None or at < min(d + DAY, now) - STALE_AFTER:
                out.append(ds)
                break
    return out


def ensure_fresh(ctx: Context, session: Session, datasets: Sequence[Dataset]) -> None:
    """Recompute today's and yesterday's rows of the datasets whose rows are missing or stale."""
    stale = stale_datasets(session, datasets)
    if not stale:
        return
    with ctx.session(write=True) as writer:
        for ds in stale:
            refresh_scores(writer, 2, writer.get_one(Dataset, ds.id))
    # End the caller's read transaction: a SQLite reader keeps the snapshot of its first read.
    session.commit()


def history(
    session: Session, dataset_ids: Sequence[int], start: datetime, end: datetime
) -> list[QualityScore]:
    """Stored rows of these datasets for the days in [start, end), oldest first."""
    q = QualityScore
    stmt = (
        select(q)
        .where(q.dataset_id.in_(dataset_ids), q.day >= start, q.day < end)
        .order_by(q.dataset_id, q.day)
    )
    return list(session.scalars(stmt))


def latest_scores(session: Session, dataset_ids: Sequence[int]) -> dict[int, QualityScore]:
    """The most recent stored row of each dataset."""
    q = QualityScore
    newest = select(q.dataset_id, func.max(q.day).label("day")).where(q.dataset_id.in_(dataset_ids))
    sub = newest.group_by(q.dataset_id).subquery()
    stmt = select(q).join(sub, and_(q.dataset_id == sub.c.dataset_id, q.day == sub.c.day))
    return {row.dataset_id: row for row in session.scalars(stmt)}


def combine(rows: Sequence[QualityScore | ScoreValues]) -> ScoreValues:
    """Aggregate of several datasets' rows (an operator): sums, weighted means, worst delay.

    Completeness is weighted by expected points (received rows for records), validity is Σ accepted ÷
    Σ received, consistency is weighted by accepted rows, freshness is the plain mean; the delay is
    the largest (the stalest source is what the steward must see).
    """
    v = ScoreValues()
    for r in rows:
        v.expected += r.expected
        v.received += r.received
        v.accepted += r.accepted
        v.rejected += r.rejected
        v.warnings += r.warnings
        if r.delay_s is not None:
            v.delay_s = max(v.delay_s or 0.0, r.delay_s)
    v.completeness = _mean([(r.completeness, r.expected or r.received or 1) for r in rows])
    v.validity = v.accepted / v.received if v.received else None
    v.freshness = _mean([(r.freshness, 1) for r in rows])
    v.consistency = _mean([(r.consistency, r.accepted or 1) for r in rows])
    return v.finish()


def _mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Weighted mean of the known values."""
    known = [(x, w) for x, w in pairs if x is not None]
    weight = sum(w for _, w in known)
    return sum(x * w for x, w in known) / weight if weight else None


def open_quarantine(session: Session, dataset_ids: Sequence[int]) -> dict[int, int]:
    """Open quarantined rows per dataset."""
    q = QuarantinedRow
    stmt = (
        select(q.dataset_id, func.count(q.id))
        .where(q.dataset_id.in_(dataset_ids), q.status == "open")
        .group_by(q.dataset_id)
    )
    return {ds_id: int(n) for ds_id, n in session.execute(stmt)}


def findings_by_code(
    session: Session, dataset_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Findings per code and severity touching [start, end), with how many are still open."""
    f = FindingRow
    begin = func.coalesce(f.start_ts, f.created_at)
    finish = func.coalesce(f.end_ts, f.start_ts, f.created_at)
    is_open = func.sum(case((f.status == "open", 1), else_=0))
    stmt = (
        select(f.code, f.severity, func.count(f.id), is_open)
        .where(f.dataset_id == dataset_id, or_(and_(begin < end, finish >= start), f.status == "open"))
        .group_by(f.code, f.severity)
        .order_by(func.count(f.id).desc(), f.code)
    )
    return [
        {"code": code, "severity": sev, "count": int(n), "open": int(o or 0)}
        for code, sev, n, o in session.execute(stmt)
    ]
