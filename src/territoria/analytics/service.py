"""KPIs for the API and pages: the registry (shipped + user-defined), access, cache and default spans."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access import policy
from territoria.access.audit import record
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.analytics import providers
from territoria.analytics.definitions import KpiDefinition, load_yaml, shipped
from territoria.analytics.engine import KpiRow, Scope, compute_simple, ratio
from territoria.analytics.models import KpiCache, KpiDefinitionRow
from territoria.analytics.periods import Coverage, as_date, next_start, period_start
from territoria.catalog.models import Asset, Dataset, Series
from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.dates import check_day
from territoria.errors import Conflict, Invalid, NotFound
from territoria.ingest.models import Batch
from territoria.timeseries.models import rollup_day

MAX_PERIODS = {"day": 800, "week": 530, "month": 240, "year": 50}
DEFAULT_PERIODS = {"day": 31, "week": 26, "month": 12, "year": 5}
SHIPPED: dict[str, KpiDefinition] = {k.code: k for k in shipped()}


def register_kpi_file(path: Path) -> None:
    """Add a domain's shipped KPI definitions (same YAML format as analytics/kpis.yaml)."""
    for kpi in load_yaml(path.read_text(encoding="utf-8"), path.name):
        SHIPPED[kpi.code] = kpi


# Wraps the computation of a KPI on a cache miss, given the session it runs in.
MissGuard = Callable[[Session], AbstractContextManager[None]]


def registry(session: Session) -> dict[str, KpiDefinition]:
    """Every KPI by code: the shipped ones, then those defined by users."""
    kpis = dict(SHIPPED)
    for row in session.scalars(select(KpiDefinitionRow).order_by(KpiDefinitionRow.code)):
        kpis[row.code] = KpiDefinition.model_validate(row.definition)
    return kpis


def get_kpi(session: Session, code: str) -> KpiDefinition:
    """One KPI, or 404."""
    kpi = registry(session).get(code)
    if kpi is None:
        raise NotFound(f"no KPI '{code}': GET /api/v1/kpis lists them")
    return kpi


def sources(session: Session, kpi: KpiDefinition) -> list[tuple[Dataset, str | None]]:
    """(dataset, metric) pairs a KPI reads, a ratio's through its two KPIs."""
    if kpi.aggregation == "ratio":
        assert kpi.numerator is not None and kpi.denominator is not None
        pairs: list[tuple[Dataset, str | None]] = []
        for code in (kpi.numerator, kpi.denominator):
            pairs += sources(session, get_kpi(session, code))
        return pairs
    assert kpi.dataset is not None
    return [(get_dataset(session, kpi.dataset), kpi.metric)]


def readable(session: Session, principal: Principal, kpi: KpiDefinition) -> bool:
    """True when the principal may read every source of the KPI (nothing is noted)."""
    try:
        pairs = sources(session, kpi)
    except NotFound:
        return False  # a KPI on a dataset that does not exist (yet) is not listed
    for ds, metric in pairs:
        fields = policy.allowed_fields(principal, ds)
        if not policy.can_read(principal, ds) or (metric and fields is not None and metric not in fields):
            return False
    return True


def require_kpi(session: Session, principal: Principal, kpi: KpiDefinition) -> None:
    """Refuse a KPI whose sources the principal may not read (the policy notes the refusal); a KPI over a
    dataset the principal may not even see answers like an unknown KPI (neither is listed to it)."""
    for ds, metric in sources(session, kpi):
        try:
            policy.require_read(principal, ds)
        except NotFound:
            raise NotFound(f"no KPI '{kpi.code}': GET /api/v1/kpis lists them") from None
        if metric:
            policy.require_field(principal, ds, metric)


def data_version(session: Session, kpi: KpiDefinition) -> str:
    """A watermark of the source data: it changes whenever a batch is stored for a source dataset."""
    ids = sorted({ds.id for ds, _ in sources(session, kpi)})
    count, last = session.execute(
        select(func.count(), func.max(Batch.created_at)).where(Batch.dataset_id.in_(ids))
    ).one()
    digest = hashlib.sha256(kpi.model_dump_json().encode()).hexdigest()[:16]
    return f"{count}|{last.isoformat() if last else '-'}|{digest}"


def default_scope(period: str, start: date | None, end: date | None, level: str) -> Scope:
    """The asked span aligned on whole periods; by default the last complete and current periods."""
    start = check_day(start, "start") if start else None
    end = check_day(end, "end") if end else None
    if end is None:
        end = next_start(period_start(datetime.now(UTC).date(), period), period)
    else:
        end = next_start(period_start(end - timedelta(days=1), period), period)
    if start is None:
        start = end
        for _ in range(DEFAULT_PERIODS[period]):
            start = period_start(start - timedelta(days=1), period)
    start = period_start(start, period)
    if start >= end:
        raise Invalid("start must be before end")
    span, cursor = 0, start
    while cursor < end:
        cursor, span = next_start(cursor, period), span + 1
        if span > MAX_PERIODS[period]:
            raise Invalid(f"at most {MAX_PERIODS[period]} periods of one {period} per request")
    return Scope(level, period, start, end)


def compute(session: Session, kpi: KpiDefinition, scope: Scope) -> list[KpiRow]:
    """The KPI's rows, computed now (no cache)."""
    if kpi.aggregation == "ratio":
        assert kpi.numerator is not None and kpi.denominator is not None
        top = compute(session, get_kpi(session, kpi.numerator), scope)
        bottom = compute(session, get_kpi(session, kpi.denominator), scope)
        return ratio(kpi, top, bottom)
    assert kpi.dataset is not None
    return compute_simple(session, get_dataset(session, kpi.dataset), kpi, scope)


@dataclass(frozen=True)
class KpiResult:
    """Rows and where they came from."""

    rows: list[KpiRow]
    computed_at: datetime
    cached: bool
    seconds: float


def _key(kpi: KpiDefinition, scope: Scope) -> str:
    """Cache key of a KPI and its parameters."""
    blob = orjson.dumps(
        [kpi.model_dump(mode="json"), scope.level, scope.period, str(scope.start), str(scope.end)]
    )
    return hashlib.sha256(blob).hexdigest()


def _rows_json(rows: list[KpiRow]) -> list[list[object]]:
    """Rows as compact JSON for the cache."""
    return [[r.area_code, r.period.isoformat(), r.value, r.contributors] for r in rows]


def _rows_of(blob: list[list[object]]) -> list[KpiRow]:
    """Rows back from the cache."""
    return [KpiRow(str(a), date.fromisoformat(str(p)), v, int(str(n))) for a, p, v, n in blob]  # type: ignore[arg-type]


def kpi_rows(ctx: Context, kpi: KpiDefinition, scope: Scope, guard: MissGuard | None = None) -> KpiResult:
    """Rows from the cache while the source data is unchanged; computed and cached otherwise.

    `guard` wraps the computation on a cache miss (the API's per-caller limit and statement timeout).
    """
    key = _key(kpi, scope)
    with ctx.session() as session:
        version = data_version(session, kpi)
        hit = session.get(KpiCache, key)
        if hit is not None and hit.version == version:
            return KpiResult(_rows_of(hit.rows), hit.computed_at, True, hit.seconds)
        began = time.perf_counter()
        with guard(session) if guard is not None else nullcontext():
            rows = compute(session, kpi, scope)
        seconds = time.perf_counter() - began
    now = datetime.now(UTC)
    with ctx.session(write=True) as session:
        entry = session.get(KpiCache, key) or KpiCache(key=key, kpi_code=kpi.code)
        entry.version, entry.rows, entry.seconds, entry.computed_at = version, _rows_json(rows), seconds, now
        session.add(entry)
    return KpiResult(rows, now, False, seconds)


def create_kpi(session: Session, principal: Principal, kpi: KpiDefinition) -> KpiDefinitionRow:
    """Store a user-defined KPI after checking its sources exist and the author may read them."""
    policy.require_capability(principal, Capability.ANALYSE, "define KPIs", target=f"kpi:{kpi.code}")
    if kpi.code in registry(session):
        raise Conflict(f"a KPI '{kpi.code}' already exists: choose another code")
    if kpi.aggregation == "ratio":
        for code in (kpi.numerator, kpi.denominator):
            get_kpi(session, str(code))
    if kpi.provider is not None:
        providers.provider(kpi.provider)  # refused when no domain registered it
    require_kpi(session, principal, kpi)
    for ds, metric in sources(session, kpi):
        if metric and metric not in {m.name for m in ds.metrics}:
            raise Invalid(f"dataset '{ds.slug}' has no metric '{metric}'")
    row = KpiDefinitionRow(
        code=kpi.code,
        definition=kpi.model_dump(mode="json"),
        organisation_id=principal.organisation_id,
        created_by=principal.actor,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=principal.actor,
        action="kpi.create",
        target=f"kpi:{kpi.code}",
        organisation_id=principal.organisation_id,
        details={"sources": kpi.sources(), "aggregation": kpi.aggregation},
    )
    return row


# Coverage of each dataset, keyed by (dataset id, batches, last batch): computed again after a batch.
_COVERAGE: dict[tuple[int, int, str], Coverage | None] = {}


def dataset_coverage(session: Session, dataset_id: int) -> Coverage | None:
    """The first and last UTC days with data of a dataset (from its daily rollups), None if empty."""
    count, last = session.execute(
        select(func.count(), func.max(Batch.created_at)).where(Batch.dataset_id == dataset_id)
    ).one()
    key = (dataset_id, int(count), last.isoformat() if last else "-")
    if key in _COVERAGE:
        return _COVERAGE[key]
    series = select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == dataset_id)
    low, high = session.execute(
        select(func.min(rollup_day.c.bucket), func.max(rollup_day.c.bucket)).where(
            rollup_day.c.series_id.in_(series)
        )
    ).one()
    found = None if low is None else Coverage(as_date(low), as_date(high))
    if len(_COVERAGE) > 1000:
        _COVERAGE.clear()
    _COVERAGE[key] = found
    return found


def coverage(session: Session, kpi: KpiDefinition) -> Coverage | None:
    """The days a KPI's sources all cover (a ratio needs both of its KPIs' data), None without data."""
    spans = [dataset_coverage(session, ds.id) for ds, _ in sources(session, kpi)]
    if not spans or any(s is None for s in spans):
        return None
    first = max(s.first for s in spans if s is not None)
    last = min(s.last for s in spans if s is not None)
    return Coverage(first, last) if first <= last else None
