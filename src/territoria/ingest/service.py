"""The one batch service behind HTTP, MQTT and file ingestion.

Every received row ends in exactly one place: stored (or recognised as already stored) or
quarantined with its reasons, in the same transaction as the batch record.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.db.base import from_us
from territoria.errors import Invalid
from territoria.ingest import resolver
from territoria.ingest.batches import Origin, claim_batch, close_batch
from territoria.ingest.fastpath import clean_points
from territoria.ingest.findings import store_batch_finding
from territoria.ingest.parsers import BadRow, Row
from territoria.ingest.schemas import BatchResult
from territoria.ingest.validation import GoodPoint, MeasurementChecker, RowError
from territoria.timeseries.points import Points
from territoria.timeseries.store import write_points
from territoria.validation.rules import duplicate, duplicate_conflict

MEASUREMENT_COLUMNS = ("asset", "metric", "ts", "value")


@dataclass
class _Sorted:
    """Where the rows of a batch went."""

    # (series, us) → (value, row) on the row-by-row path
    unique: dict[tuple[int, int], tuple[float, int]] = field(default_factory=dict)
    clean: Points | None = None  # the whole batch, when it took the vectorised path
    row_numbers: list[int] = field(default_factory=list)
    repeats: int = 0
    repeat_rows: list[int] = field(default_factory=list)  # a sample, for the DUPLICATE warning
    # (row, us, value already there, value received) of points contradicting another one
    conflicts: list[tuple[int, int, float, float]] = field(default_factory=list)
    rejected: list[tuple[int, list[RowError]]] = field(default_factory=list)

    @property
    def points(self) -> Points:
        """Every distinct point to store."""
        if self.clean is not None:
            return self.clean
        return Points.from_tuples([(sid, us, vn[0]) for (sid, us), vn in self.unique.items()])

    def index(self) -> dict[tuple[int, int], tuple[float, int]]:
        """(series, us) → (value, row number) of every point to store."""
        if self.clean is None:
            return self.unique
        values = zip(self.clean.value.tolist(), self.row_numbers, strict=True)
        return dict(zip(self.clean.pairs(), values, strict=True))

    def add(self, sid: int, us: int, value: float, n: int) -> None:
        """Keep the first point of a (series, time); count same-value repeats; flag other values."""
        key = (sid, us)
        first = self.unique.get(key)
        if first is None:
            self.unique[key] = (value, n)
        elif first[0] == value:
            self.repeats += 1
            if len(self.repeat_rows) < 100:
                self.repeat_rows.append(n)
        else:
            self.conflicts.append((n, us, first[0], value))


def _sort(
    session: Session, ds: Dataset, rows: list[Row], checker: MeasurementChecker, from_text: bool
) -> _Sorted:
    """Clean batches take the vectorised path; any other goes row by row."""
    series = resolver.series_ids(session, ds, set())
    clean = clean_points(
        rows, lambda names: resolver.asset_ids(session, ds, names), ds.metrics, series, checker
    )
    if clean is not None:
        return _Sorted(clean=clean, row_numbers=[n for n, _ in rows])
    names = {r.get("asset") for _, r in rows if isinstance(r, dict) and type(r.get("asset")) is str}
    assets = resolver.asset_ids(session, ds, names)
    return _sort_rows(session, ds, rows, checker, from_text, assets, series)


def _sort_rows(
    session: Session,
    ds: Dataset,
    rows: list[Row],
    checker: MeasurementChecker,
    from_text: bool,
    assets: dict[str, int],
    series: dict[tuple[int, int], int],
) -> _Sorted:
    """One pass over the rows: a valid row takes a short path of plain dict lookups."""
    metrics = {m.name: (m.id, m.min_value, m.max_value) for m in ds.metrics}
    ts_cache, parse_ts = checker.ts_cache, checker.parse_ts_cached
    out = _Sorted()
    later: list[GoodPoint] = []  # valid rows whose series does not exist yet
    isfinite = math.isfinite
    for n, raw in rows:
        if isinstance(raw, BadRow):
            out.rejected.append((n, raw.errors(n)))
            continue
        # The fast path, then the full explanation of what is wrong.
        a, m, t = raw.get("asset"), raw.get("metric"), raw.get("ts")
        # Only strings are looked up: a list or an object in a field is unhashable.
        aid = assets.get(a) if type(a) is str else None
        metric = metrics.get(m) if type(m) is str else None
        us = ts_cache.get(t) if type(t) is str else None
        if us is None and t is not None:
            us = parse_ts(t)
        v = raw.get("value")
        if aid is not None and metric is not None and us is not None and (type(v) is float or type(v) is int):
            v = float(v)
            lo, hi = metric[1], metric[2]
            if isfinite(v) and (lo is None or v >= lo) and (hi is None or v <= hi):
                sid = series.get((aid, metric[0]))
                if sid is None:
                    later.append(GoodPoint(n, aid, metric[0], us, v))
                else:
                    out.add(sid, us, v, n)
                continue
        verdict = checker.explain(n, raw, from_text, assets)
        if isinstance(verdict, GoodPoint):
            later.append(verdict)
        else:
            out.rejected.append((n, verdict))
    if later:
        series = resolver.series_ids(session, ds, {(p.asset_id, p.metric_id) for p in later})
        for p in later:
            out.add(series[(p.asset_id, p.metric_id)], p.us, p.value, p.row)
    return out


def ingest_measurements(
    session: Session,
    ds: Dataset,
    rows: Iterable[Row],
    origin: Origin,
    *,
    checksum: str,
    future_tolerance_s: int,
) -> BatchResult:
    """Check, store and account for every measurement row of one batch, in the caller's transaction."""
    if ds.kind != "timeseries":
        raise Invalid(f"dataset '{ds.slug}' holds records: send rows to /records instead")
    claimed = claim_batch(session, ds, origin, checksum=checksum, target="measurements")
    if isinstance(claimed, BatchResult):
        return claimed
    batch = claimed
    materialised = rows if isinstance(rows, list) else list(rows)
    checker = MeasurementChecker({m.name: m for m in ds.metrics}, batch.created_at, future_tolerance_s)
    result = _sort(session, ds, materialised, checker, origin.from_text)
    written = write_points(session, result.points)
    duplicates = result.repeats
    duplicate_rows = result.repeat_rows
    conflicts = result.conflicts
    if written.existing:
        index = result.index()
        for key, stored in written.existing.items():
            value, n = index[key]
            if stored == value:
                duplicates += 1
                if len(duplicate_rows) < 100:
                    duplicate_rows.append(n)
            else:
                conflicts.append((n, key[1], stored, value))
    raw_by_row = dict(materialised) if result.rejected or conflicts else {}
    rejected = [(n, raw_by_row[n], errs) for n, errs in result.rejected]
    for n, us, stored, value in conflicts:
        found = duplicate_conflict.check(n, from_us(us), stored, value)
        if found is not None:
            rejected.append((n, raw_by_row[n], [found.as_error()]))
    answer = close_batch(
        session, batch, ds, received=len(materialised), rejected=rejected, duplicates=duplicates
    )
    if (warning := duplicate.summary(duplicates, sorted(duplicate_rows))) is not None:
        store_batch_finding(session, ds, batch.id, warning)
        answer.warnings.append(warning.as_error())
    return answer
