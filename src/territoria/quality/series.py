"""Series and asset quality runner: reads new data series by series, stores findings by fingerprint.

Incremental: each dataset keeps a watermark (`quality_run.checked_until`, in data time); a run reads
only the series with data after it, plus a margin of history so that gaps, stuck runs and spikes
crossing the watermark keep their context. Re-finding a fault updates its row (same fingerprint)
instead of adding one. Data arriving later than the margin behind the watermark is seen by `full`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    case,
    cast,
    extract,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Metric, Series
from territoria.context import Context
from territoria.db.base import from_us, to_us, utcnow
from territoria.db.dialect import dialect_name, upsert
from territoria.ingest.models import Batch, FindingRow
from territoria.quality.models import QualityRun
from territoria.quality.rules import gap, rate_of_change, spike, stale_source, stuck_value
from territoria.timeseries.models import measurement, rollup_day
from territoria.validation.model import Finding
from territoria.validation.rules import area_mismatch, latlon_swapped, out_of_territory

MARGIN = timedelta(days=1)
# Rows read per query: a few series at a time keeps memory flat whatever the history length.
READ_ROWS = 200_000
ASSET_CODES = (latlon_swapped.RULE.code, out_of_territory.RULE.code, area_mismatch.RULE.code)
Progress = Callable[[str, int, int], None]


@dataclass
class RunReport:
    """What a quality run looked at and found, per rule code."""

    datasets: list[str] = field(default_factory=list)
    series: int = 0
    points: int = 0
    assets: int = 0
    found: Counter[str] = field(default_factory=Counter)  # findings seen in this run (new or again)
    new: Counter[str] = field(default_factory=Counter)  # of which never stored before
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Findings seen in this run."""
        return sum(self.found.values())


@dataclass(frozen=True)
class _Series:
    """One series to check: ids, labels, metric definition and expected interval."""

    id: int
    asset_id: int
    asset: str
    metric: Metric
    interval_s: int | None


@dataclass
class _Plan:
    """One dataset's run: its series, their latest data and the window to read."""

    ds: Dataset
    series: list[_Series]
    latest: dict[int, int]  # series id → µs of its latest point
    rows: dict[int, int]  # series id → estimated rows to read
    since: datetime | None  # read from here (None: everything)
    watermark: datetime | None
    rows_out: list[dict[str, Any]] = field(default_factory=list)


def _ts_us(session: Session) -> ColumnElement[int]:
    """measurement.ts as integer microseconds since the epoch, on either backend."""
    if dialect_name(session) == "sqlite":
        return type_coerce(measurement.c.ts, BigInteger)
    return cast(extract("epoch", measurement.c.ts) * 1_000_000, BigInteger)


def _row(
    plan: _Plan, f: Finding, key: str, series: _Series | None = None, asset_id: int | None = None
) -> None:
    """Queue a finding for storage under fingerprint key."""
    texts = {name: getattr(f, name) for name in ("code", "severity", "field")}
    texts["message_code"], texts["message_params"] = f.stored_message()
    labels = {k: v for k, v in (("asset", f.asset), ("metric", f.metric)) if v}
    where = {"asset_id": series.asset_id if series else asset_id, "series_id": series.id if series else None}
    plan.rows_out.append(
        {"dataset_id": plan.ds.id, **where, **texts, "start_ts": f.start, "end_ts": f.end}
        | {"details": {**f.details, **labels}, "fingerprint": key}
    )


def _series_key(f: Finding, s: _Series) -> str:
    """Fingerprint of a series finding: rule, series and start."""
    return f"{f.code}:s{s.id}:{to_us(f.start) if f.start else 0}"


def _plan(session: Session, ds: Dataset, *, full: bool, margin: timedelta, lookback: bool) -> _Plan:
    """The series of a dataset, their latest data (from the daily rollup) and the window to read."""
    run = session.get(QualityRun, ds.id)
    watermark = None if full or run is None else run.checked_until
    since = None if watermark is None else watermark - margin
    metrics = {m.id: m for m in ds.metrics}
    stmt = select(Series.id, Series.asset_id, Asset.external_id, Series.metric_id).join(
        Asset, Asset.id == Series.asset_id
    )
    series = [
        _Series(sid, aid, ext, metrics[mid], metrics[mid].reporting_interval_s or ds.reporting_interval_s)
        for sid, aid, ext, mid in session.execute(stmt.where(Asset.dataset_id == ds.id).order_by(Series.id))
    ]
    ids = select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == ds.id)
    counted = (
        rollup_day.c.n
        if since is None
        else case((rollup_day.c.bucket >= _day(since), rollup_day.c.n), else_=0)
    )
    agg = select(rollup_day.c.series_id, func.max(rollup_day.c.last_ts), func.sum(counted)).where(
        rollup_day.c.series_id.in_(ids)
    )
    if lookback and since is not None:
        agg = agg.where(rollup_day.c.bucket >= _day(since))
    latest: dict[int, int] = {}
    rows: dict[int, int] = {}
    for sid, last, n in session.execute(agg.group_by(rollup_day.c.series_id)):
        latest[sid], rows[sid] = to_us(last), int(n or 0)
    return _Plan(ds, series, latest, rows, since, watermark)


def _day(value: datetime) -> datetime:
    """Start of the UTC day of value (a daily rollup bucket)."""
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _groups(plan: _Plan, todo: Sequence[_Series]) -> Iterator[list[_Series]]:
    """Series in groups of about READ_ROWS rows to read."""
    group: list[_Series] = []
    size = 0
    for s in todo:
        n = plan.rows.get(s.id, 0)
        if group and size + n > READ_ROWS:
            yield group
            group, size = [], 0
        group.append(s)
        size += n
    if group:
        yield group


def _read(
    session: Session, plan: _Plan, group: list[_Series]
) -> dict[int, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """Points of a group of series in the run's window, in time order, as (µs, values) arrays."""
    ts = _ts_us(session)
    stmt = select(measurement.c.series_id, ts, measurement.c.value).where(
        measurement.c.series_id.in_([s.id for s in group])
    )
    if plan.since is not None:
        stmt = stmt.where(measurement.c.ts >= plan.since)
    rows = session.execute(stmt.order_by(measurement.c.series_id, measurement.c.ts)).all()
    out: dict[int, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    if not rows:
        return out
    sids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    stamps = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    cuts = np.flatnonzero(np.diff(sids)) + 1
    for a, b in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [len(rows)])), strict=True):
        out[int(sids[a])] = (stamps[a:b], values[a:b])
    return out


def _previous(session: Session, sid: int, before: datetime) -> tuple[int, float] | None:
    """The last point of a series before a time (to see a gap that crosses the window start)."""
    stmt = (
        select(_ts_us(session), measurement.c.value)
        .where(measurement.c.series_id == sid, measurement.c.ts < before)
        .order_by(measurement.c.ts.desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    return None if row is None else (int(row[0]), float(row[1]))


def _check_series(plan: _Plan, s: _Series, ts: np.ndarray[Any, Any], values: np.ndarray[Any, Any]) -> None:
    """Run the series rules on one series' window."""
    found: list[Finding] = []
    if s.interval_s:
        found += gap.check(ts, interval_s=s.interval_s, asset=s.asset, metric=s.metric.name)
        found += stuck_value.check(ts, values, metric=s.metric, interval_s=s.interval_s, asset=s.asset)
    found += spike.check(ts, values, metric=s.metric, asset=s.asset)
    found += rate_of_change.check(ts, values, metric=s.metric, asset=s.asset)
    window_start = from_us(int(ts[0])) if plan.since is not None else None
    for f in found:
        _row(plan, f, _series_key(f, s), s)
        if f.code == stuck_value.RULE.code and f.start == window_start:
            plan.rows_out[-1]["continues"] = True


def _continued(session: Session, plan: _Plan) -> None:
    """A stuck run cut by the window start continues the stored finding it extends (same fingerprint)."""
    for r in plan.rows_out:
        if not r.pop("continues", False):
            continue
        earlier = session.execute(
            select(FindingRow.fingerprint, FindingRow.start_ts)
            .where(
                FindingRow.dataset_id == plan.ds.id,
                FindingRow.series_id == r["series_id"],
                FindingRow.code == r["code"],
                FindingRow.end_ts >= r["start_ts"],
                FindingRow.start_ts <= r["start_ts"],
            )
            .order_by(FindingRow.start_ts)
            .limit(1)
        ).first()
        if earlier is not None and earlier[1] is not None:
            r["fingerprint"], r["start_ts"] = earlier[0], earlier[1]


def _scan(session: Session, plan: _Plan, report: RunReport, progress: Progress | None) -> dict[int, int]:
    """Read and check every series with data after the watermark; returns each one's first point."""
    cutoff = None if plan.watermark is None else to_us(plan.watermark)
    todo = [s for s in plan.series if s.id in plan.latest and (cutoff is None or plan.latest[s.id] > cutoff)]
    first: dict[int, int] = {}
    done = 0
    for group in _groups(plan, todo):
        points = _read(session, plan, group)
        for s in group:
            ts, values = points.get(s.id, (np.zeros(0, np.int64), np.zeros(0)))
            if plan.since is not None and s.interval_s:
                late = ts.size == 0 or int(ts[0]) - to_us(plan.since) > 2 * s.interval_s * 1_000_000
                prev = _previous(session, s.id, plan.since) if late else None
                if prev is not None:
                    ts, values = np.concatenate(([prev[0]], ts)), np.concatenate(([prev[1]], values))
            if ts.size:
                first[s.id] = int(ts[0])
                _check_series(plan, s, ts, values)
            report.points += int(ts.size)
        done += len(group)
        if progress:
            progress(plan.ds.slug, done, len(todo))
    report.series += len(todo)
    return first


def _edges(plan: _Plan, first: dict[int, int]) -> None:
    """Gaps at the ends: a series starting after its metric's first data or stopping before its latest."""
    by_metric: dict[int, list[_Series]] = {}
    for s in plan.series:
        if s.id in plan.latest and s.interval_s:
            by_metric.setdefault(s.metric.id, []).append(s)
    for group in by_metric.values():
        until = max(plan.latest[s.id] for s in group)
        since = min((first[s.id] for s in group if s.id in first), default=None)
        for s in group:
            assert s.interval_s is not None
            tail = np.array([plan.latest[s.id]], dtype=np.int64)
            found = gap.check(
                tail, interval_s=s.interval_s, asset=s.asset, metric=s.metric.name, until_us=until
            )
            if plan.watermark is None and since is not None and s.id in first:
                head = np.array([first[s.id]], dtype=np.int64)
                found += gap.check(
                    head, interval_s=s.interval_s, asset=s.asset, metric=s.metric.name, since_us=since
                )
            for f in found:
                _row(plan, f, _series_key(f, s), s)


def _stale(plan: _Plan, now: datetime) -> None:
    """STALE_SOURCE for the whole dataset when it is silent, else for each silent series."""
    if not plan.latest:
        return
    now_us = to_us(now)
    intervals = [s.interval_s for s in plan.series if s.interval_s]
    ds_interval = plan.ds.reporting_interval_s or (min(intervals) if intervals else None)
    latest = max(plan.latest.values())
    if ds_interval and stale_source.is_stale(latest, now_us, ds_interval):
        f = stale_source.check(latest, now_us=now_us, interval_s=ds_interval, dataset=plan.ds.slug)
        if f is not None:
            _row(plan, f, f"STALE_SOURCE:d{plan.ds.id}:{latest}")
        return
    check = partial(stale_source.check, now_us=now_us, dataset=plan.ds.slug)
    for s in plan.series:
        last = plan.latest.get(s.id)
        f = check(last, interval_s=s.interval_s or 0, asset=s.asset, metric=s.metric.name)
        if f is not None:
            _row(plan, f, f"STALE_SOURCE:s{s.id}:{last}", s)


def _assets(ctx: Context, session: Session, plan: _Plan, report: RunReport) -> None:
    """Asset rules on every located asset of the dataset."""
    locator = ctx.locator()
    if len(locator) == 0:  # no territory loaded: nothing to compare with
        return
    locate = locator.locate
    stmt = select(Asset.id, Asset.external_id, Asset.lon, Asset.lat, Asset.properties).where(
        Asset.dataset_id == plan.ds.id, Asset.lon.is_not(None), Asset.lat.is_not(None)
    )
    for aid, ext, lon, lat, props in session.execute(stmt):
        report.assets += 1
        for f in (
            latlon_swapped.check(ext, lon, lat, locate),
            out_of_territory.check(ext, lon, lat, locate),
            area_mismatch.check(ext, lon, lat, props, locate),
        ):
            if f is not None:
                _row(plan, f, f"{f.code}:a{aid}:{lon:.6f}:{lat:.6f}", asset_id=aid)


def _store(session: Session, plan: _Plan, report: RunReport, *, resolve: Sequence[str]) -> None:
    """Upsert the findings by fingerprint; close open findings of `resolve` codes not seen again."""
    _continued(session, plan)
    rows = list({r["fingerprint"]: r for r in plan.rows_out}.values())
    keys = [r["fingerprint"] for r in rows]
    mine = FindingRow.dataset_id == plan.ds.id
    known = set(session.scalars(select(FindingRow.fingerprint).where(mine, FindingRow.fingerprint.in_(keys))))
    for r in rows:
        report.found[r["code"]] += 1
        if r["fingerprint"] not in known:
            report.new[r["code"]] += 1
    table: Table = FindingRow.__table__  # type: ignore[assignment]
    if rows:
        ins = upsert(session, table)
        exc = ins.excluded
        stmt = ins.on_conflict_do_update(
            index_elements=["dataset_id", "fingerprint"],
            set_={
                **{c: exc[c] for c in ("start_ts", "end_ts", "message_code", "message_params", "details")},
                # Found again after it was resolved: open again (a steward's other decisions stay).
                "status": case((table.c.status == "resolved", "open"), else_=table.c.status),
            },
        )
        session.execute(stmt, [{**r, "status": "open", "created_at": utcnow()} for r in rows])
    if resolve:
        opened = select(FindingRow.id, FindingRow.fingerprint).where(
            mine, FindingRow.code.in_(resolve), FindingRow.status == "open"
        )
        gone = [fid for fid, key in session.execute(opened) if key not in set(keys)]
        if gone:
            session.execute(update(FindingRow).where(FindingRow.id.in_(gone)).values(status="resolved"))


def _advance(session: Session, plan: _Plan, now: datetime) -> None:
    """Move the dataset's watermark to its latest data."""
    latest = from_us(max(plan.latest.values())) if plan.latest else None
    last_batch = session.scalar(select(func.max(Batch.created_at)).where(Batch.dataset_id == plan.ds.id))
    run = session.get(QualityRun, plan.ds.id)
    if run is None:
        run = QualityRun(dataset_id=plan.ds.id)
        session.add(run)
    if latest is not None and (run.checked_until is None or latest > run.checked_until):
        run.checked_until = latest
    run.last_batch_at = last_batch
    run.last_run_at = now


def run_quality(
    ctx: Context,
    dataset_slug: str | None = None,
    *,
    now: datetime | None = None,
    full: bool = False,
    progress: Progress | None = None,
    assets: bool = True,
    stale: bool = True,
    margin: timedelta = MARGIN,
) -> RunReport:
    """Run the series and asset rules on one time-series dataset (or all), store findings, advance."""
    started = time.perf_counter()
    when = now or utcnow()
    report = RunReport()
    with ctx.session() as session:
        stmt = select(Dataset.id).where(Dataset.kind == "timeseries")
        if dataset_slug is not None:
            stmt = stmt.where(Dataset.slug == dataset_slug)
        ids = list(session.scalars(stmt.order_by(Dataset.slug)))
    for ds_id in ids:
        with ctx.session() as session:
            ds = session.get_one(Dataset, ds_id)
            plan = _plan(session, ds, full=full, margin=margin, lookback=not stale)
            first = _scan(session, plan, report, progress)
            _edges(plan, first)
            if stale:
                _stale(plan, when)
            if assets:
                _assets(ctx, session, plan, report)
        resolve = [*(ASSET_CODES if assets else ()), *((stale_source.RULE.code,) if stale else ())]
        with ctx.session(write=True) as session:
            _store(session, plan, report, resolve=resolve)
            _advance(session, plan, when)
        report.datasets.append(ds.slug)
    report.seconds = time.perf_counter() - started
    return report


def run_after_ingest(ctx: Context, dataset_slug: str) -> RunReport:
    """The cheap incremental pass after a batch: series rules on new data only (no assets, no staleness)."""
    return run_quality(ctx, dataset_slug, assets=False, stale=False)
