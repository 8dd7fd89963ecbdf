"""What a release is built from: per-contributor values per period, read from rollups or records."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Metric, Series
from territoria.ingest.models import Record
from territoria.opendata.policy import Period, PolicyBody
from territoria.opendata.tables import GeometryKind, ReleaseColumn
from territoria.timeseries.models import rollup_day, rollup_hour

CHUNK = 200_000
NUMPY_UNIT = {"hour": "h", "day": "D", "month": "M"}


@dataclass
class Window:
    """The half-open time range a release covers, in whole periods."""

    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        """Length in days (the span of the published curves)."""
        return (self.end - self.start).total_seconds() / 86_400


@dataclass
class Extract:
    """One row per contributor × period (× record): who, when, where, categories and measure values."""

    contributor: np.ndarray  # int64
    period: np.ndarray  # datetime64[us]
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # object arrays: area_code, categories…
    values: dict[str, np.ndarray] = field(default_factory=dict)  # float64 per measure

    def __len__(self) -> int:
        return len(self.contributor)

    def take(self, mask: np.ndarray) -> Extract:
        """The rows where mask is true."""
        return Extract(
            self.contributor[mask],
            self.period[mask],
            {k: v[mask] for k, v in self.attributes.items()},
            {k: v[mask] for k, v in self.values.items()},
        )


def truncate(ts: np.ndarray, period: Period) -> np.ndarray:
    """Timestamps (datetime64) to the start of their hour, day or month, as datetime64[us]."""
    return ts.astype(f"datetime64[{NUMPY_UNIT[period]}]").astype("datetime64[us]")


def floor_to(at: datetime, period: Period) -> datetime:
    """The start of the period holding `at` (UTC)."""
    at = at.astimezone(UTC)
    if period == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    if period == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_start(start: datetime, period: Period) -> datetime:
    """The start of the period after the one starting at `start`."""
    if period == "hour":
        return start + timedelta(hours=1)
    if period == "day":
        return start + timedelta(days=1)
    return (start.replace(day=1) + timedelta(days=32)).replace(day=1)


def window_for(first: datetime | None, body: PolicyBody, period: Period, now: datetime) -> Window | None:
    """Whole periods from the first data to now minus the publication delay (None: nothing to publish)."""
    end = floor_to(now - timedelta(days=body.delay_days), period)
    if first is None:
        return None
    start = floor_to(first, period)
    if start < first:  # the first period is partial: a day with half its hours would look like a drop
        start = next_start(start, period)
    if body.window_days is not None:
        start = max(start, floor_to(end - timedelta(days=body.window_days), period))
    return Window(start, end) if start < end else None


def first_timeseries_instant(session: Session, ds: Dataset) -> datetime | None:
    """The first daily bucket of the dataset (its rollups), or None."""
    series = select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == ds.id)
    found = session.scalar(select(func.min(rollup_day.c.bucket)).where(rollup_day.c.series_id.in_(series)))
    return found if isinstance(found, datetime) else None


def _asset_attributes(session: Session, ds: Dataset, names: list[str]) -> dict[int, dict[str, Any]]:
    """Per asset id: external id, name, kind, lon, lat, area code and the asked properties."""
    out: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(
            Asset.id,
            Asset.external_id,
            Asset.name,
            Asset.kind,
            Asset.lon,
            Asset.lat,
            Asset.area_code,
            Asset.properties,
        ).where(Asset.dataset_id == ds.id)
    )
    for aid, ext, name, kind, lon, lat, area, stored in rows:
        props = {**(stored or {}), "kind": kind}
        attrs = {"asset": ext, "name": name or ext, "kind": kind, "lon": lon, "lat": lat, "area_code": area}
        attrs.update({n: None if props.get(n) is None else str(props.get(n)) for n in names})
        out[aid] = attrs
    return out


def timeseries_extract(
    session: Session, ds: Dataset, body: PolicyBody, period: Period, window: Window
) -> Extract:
    """Per asset and period, each measure's per-contributor value, from the hourly or daily rollups."""
    table = rollup_hour if period == "hour" else rollup_day
    metric_ids = dict(session.execute(select(Metric.name, Metric.id).where(Metric.dataset_id == ds.id)).all())
    series_rows = session.execute(
        select(Series.id, Series.asset_id, Series.metric_id)
        .join(Asset, Asset.id == Series.asset_id)
        .where(Asset.dataset_id == ds.id)
    ).all()
    wanted = {metric_ids[m.source] for m in body.measures}
    series_asset = {sid: aid for sid, aid, mid in series_rows if mid in wanted}
    series_metric = {sid: mid for sid, _aid, mid in series_rows}
    c = table.c
    stmt = (
        select(c.series_id, c.bucket, c.n, c.sum)
        .where(c.series_id.in_(list(series_asset)), c.bucket >= window.start, c.bucket < window.end)
        .execution_options(yield_per=CHUNK)
    )
    sid_parts, ts_parts, n_parts, sum_parts = [], [], [], []
    for chunk in session.execute(stmt).partitions(CHUNK):
        sid_parts.append(np.fromiter((r[0] for r in chunk), dtype=np.int64, count=len(chunk)))
        ts_parts.append(np.array([r[1].replace(tzinfo=None) for r in chunk], dtype="datetime64[us]"))
        n_parts.append(np.fromiter((r[2] for r in chunk), dtype=np.float64, count=len(chunk)))
        sum_parts.append(np.fromiter((r[3] for r in chunk), dtype=np.float64, count=len(chunk)))
    if not sid_parts:
        return Extract(np.zeros(0, np.int64), np.zeros(0, "datetime64[us]"))
    sid, ts = np.concatenate(sid_parts), truncate(np.concatenate(ts_parts), period)
    n, total = np.concatenate(n_parts), np.concatenate(sum_parts)
    asset = np.fromiter((series_asset[s] for s in sid), dtype=np.int64, count=len(sid))
    metric = np.fromiter((series_metric[s] for s in sid), dtype=np.int64, count=len(sid))
    # One output row per asset × period; each measure sums its own metric's n and sum there.
    keys = np.stack([asset, ts.astype(np.int64)], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    values: dict[str, np.ndarray] = {}
    for measure in body.measures:
        mine = metric == metric_ids[measure.source]
        sums = np.bincount(inverse[mine], weights=total[mine], minlength=len(uniq))
        counts = np.bincount(inverse[mine], weights=n[mine], minlength=len(uniq))
        with np.errstate(invalid="ignore", divide="ignore"):
            value = sums if measure.per_contributor == "sum" else sums / counts
        values[measure.name] = np.where(counts > 0, value * measure.scale, np.nan)
    return Extract(uniq[:, 0].astype(np.int64), uniq[:, 1].astype("datetime64[us]"), {}, values)


def attach_assets(
    session: Session, ds: Dataset, extract: Extract, names: list[str]
) -> dict[int, dict[str, Any]]:
    """Add the assets' attributes (area, location, categories) to an extract; returns the asset table."""
    table = _asset_attributes(session, ds, names)
    for name in ["asset", "name", "kind", "lon", "lat", "area_code", *names]:
        extract.attributes[name] = np.array([table[a][name] for a in extract.contributor], dtype=object)
    return table


def _record_time(value: Any) -> datetime | None:
    """A record's date or datetime field as a UTC datetime (None when absent or unreadable)."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def records_rows(
    session: Session, ds: Dataset
) -> list[tuple[int, str, dict[str, Any], float | None, float | None, str | None]]:
    """Every record of the dataset: id, key, data, lon, lat, area code."""
    stmt = select(Record.id, Record.key, Record.data, Record.lon, Record.lat, Record.area_code).where(
        Record.dataset_id == ds.id
    )
    return [tuple(r) for r in session.execute(stmt.order_by(Record.id))]


def _stable_id(who: str) -> int:
    """A contributor's id that does not depend on the order rows are read in (63 bits of a hash)."""
    return int.from_bytes(hashlib.blake2b(who.encode(), digest_size=8).digest(), "big") >> 1


def records_extract(session: Session, ds: Dataset, body: PolicyBody, period: Period | None) -> Extract:
    """Per record: its contributor (a field, or the record itself), period, categories and measure values."""
    rows = records_rows(session, ds)
    agg = body.aggregate
    who_field = agg.contributor if agg else None
    names = sorted({*(agg.categories if agg else []), *body.keep, *(r.field for r in body.rules)})
    contributor = np.zeros(len(rows), np.int64)
    period_values = np.zeros(len(rows), "datetime64[us]")
    present = np.ones(len(rows), bool)
    attributes = {n: np.empty(len(rows), object) for n in [*names, "area_code", "lon", "lat"]}
    values = {m.name: np.full(len(rows), np.nan) for m in body.measures}
    for i, (rid, _key, data, lon, lat, area) in enumerate(rows):
        who = data.get(who_field) if who_field else None
        # Ids stable from one release to the next: the next release is compared contributor by contributor.
        contributor[i] = _stable_id(str(who)) if who is not None else int(rid)
        if period is not None and body.time is not None and body.time.field:
            at = _record_time(data.get(body.time.field))
            if at is None:
                present[i] = False
            else:
                period_values[i] = np.datetime64(floor_to(at, period).replace(tzinfo=None), "us")
        for n in names:
            attributes[n][i] = None if data.get(n) is None else str(data.get(n))
        attributes["area_code"][i], attributes["lon"][i], attributes["lat"][i] = area, lon, lat
        for m in body.measures:
            raw = data.get(m.source)
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                values[m.name][i] = float(raw) * m.scale
    extract = Extract(contributor, period_values, attributes, values)
    return extract.take(present) if not present.all() else extract


# -- domain sources ---------------------------------------------------------------------------------
# A domain may publish a table the generic shaping cannot build (a consolidation across datasets,
# time-weighted rates…). It declares a DomainSource in its contract, which the composition registers
# under a preset name; the policy then names it (`source`), and the release goes through the same
# service: checks, immutable file, change log, catalogue.
_REGISTRY: dict[str, DomainSource] = {}


@dataclass
class DomainTable:
    """A domain source's public table: rows, columns (dimensions key the change log), geometry, checks."""

    table: pa.Table
    columns: list[ReleaseColumn]
    geometry: GeometryKind
    window: Window | None = None
    # Extra report checks ({code, title: {en, fr}, checked, failures, passed, examples}).
    checks: list[dict[str, Any]] = field(default_factory=list)
    secret: int = 0  # rows with a value withheld (published as null, flagged secret)


@dataclass(frozen=True)
class DomainSource:
    """A named way to build a release: its preset, its own policy checks, and the table builder."""

    name: str
    preset: Callable[[Dataset], dict[str, Any]]
    check: Callable[[Session, Dataset, PolicyBody], list[dict[str, Any]]]
    build: Callable[[Session, Dataset, PolicyBody, datetime], DomainTable]
    # a published standard its releases follow (a national schema), for the DCAT catalogue
    standard: tuple[str, str] | None = None  # (URL, title)


def register_source(source: DomainSource) -> DomainSource:
    """Make a domain source available to policies (its name is also its preset's name)."""
    _REGISTRY[source.name] = source
    return source


def domain_sources() -> dict[str, DomainSource]:
    """Every registered domain source, by name."""
    return dict(_REGISTRY)
