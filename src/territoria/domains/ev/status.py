"""The status history of charge points, kept as measurements of a time-series dataset.

One asset per consolidated charge point (external id = `id_pdc_itinerance`) and two metrics holding
integer codes, `etat_pdc` and `occupation_pdc`: the history then uses the partitioned store, the
rollups, the quarantine and the access control of every other time series.

Every IRVE dynamic row ends in exactly one place: its two measurements are stored, or the row is
quarantined in the same batch with its reasons. An import streams: rows are checked and stored
`CHUNK_ROWS` at a time, all in one batch, so ten million rows need no more memory than fifty thousand.

Rows failing `validation.check_dynamic_row` go through the batch service's sorting as `BadRow`s
(raw = the IRVE row as JSON, code = its first finding), so they are kept in the quarantine with the
project's batch bookkeeping; rows the ingest checks themselves refuse (e.g. FUTURE_TS against the
server clock, conflicting duplicates) are quarantined there too.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Metric, Organisation, Series
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate
from territoria.catalog.service import create_dataset, upsert_assets
from territoria.db.base import from_us
from territoria.domains.ev.availability import (
    DEFAULT_MAX_GAP,
    DailyAvailability,
    StatusEvent,
    total,
)
from territoria.domains.ev.model import ChargePoint
from territoria.domains.ev.validation import check_dynamic_row, parse_horodatage
from territoria.errors import Invalid

# The batch service's own steps, run chunk by chunk: its public entry point takes a whole batch.
from territoria.ingest import resolver
from territoria.ingest.batches import Origin, claim_batch, find_replay, raw_text
from territoria.ingest.fastpath import clean_points
from territoria.ingest.findings import store_batch_finding
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.ingest.parsers import BadRow, Row
from territoria.ingest.service import _sort, _Sorted
from territoria.ingest.validation import MeasurementChecker, RowError
from territoria.territory.groups import group_of
from territoria.territory.index import AreaLocator
from territoria.timeseries.models import measurement
from territoria.timeseries.store import write_points
from territoria.validation.limits import safe_strings
from territoria.validation.model import Finding, stored_error
from territoria.validation.rules import duplicate, duplicate_conflict

STATUS_DATASET = "ev-status"
ETAT_METRIC, OCCUPATION_METRIC = "etat_pdc", "occupation_pdc"
ETAT_CODES: dict[str, int] = {"en_service": 0, "hors_service": 1, "inconnu": 2}
OCCUPATION_CODES: dict[str, int] = {"libre": 0, "occupe": 1, "reserve": 2, "inconnu": 3}
ETAT_NAMES = {v: k for k, v in ETAT_CODES.items()}
OCCUPATION_NAMES = {v: k for k, v in OCCUPATION_CODES.items()}
CHARGE_POINT_KIND = "charge_point"
LEVELS = ("commune", "epci", "territory")
TERRITORY_CODE = "*"
SYNC_SLICE = 5_000
CHUNK_ROWS = 50_000  # IRVE rows checked and stored at a time (100,000 measurements)


@dataclass
class DynamicImportReport:
    """What became of the IRVE dynamic rows of one import: received = accepted + rejected."""

    batch_id: str
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)  # rows, by their first reason
    already_stored: int = 0  # measurements recognised as stored before (same value)


@dataclass(frozen=True)
class AreaAvailability:
    """Time-weighted availability of the charge points of one area over a period."""

    level: str
    area_code: str  # commune code, or "*" for the whole territory
    points: int
    totals: DailyAvailability

    @property
    def availability_rate(self) -> float | None:
        """Time en service over observed time."""
        return self.totals.availability_rate

    @property
    def occupancy_rate(self) -> float | None:
        """Time occupied over time en service with a known occupation."""
        return self.totals.occupancy_rate


# Human texts (the codes of etat_pdc / occupation_pdc are explained by the metrics and the EV pages).
STATUS_TEXTS: dict[str, dict[str, str]] = {
    "title": {"fr": "État des points de recharge", "en": "Charge point status"},
    "description": {
        "fr": "L'état de chaque point de recharge au fil du temps, tel que l'opérateur le signale : "
        "en service, hors service ou inconnu, et libre, occupé ou réservé. Sert au calcul de la "
        "disponibilité du réseau (contrat de concession, observatoire de la recharge).",
        "en": "The status of each charge point over time, as the operator reports it: in service, out "
        "of service or unknown, and free, occupied or reserved. Used to compute the network's "
        "availability (concession contract, charging observatory).",
    },
}


def status_dataset_body(slug: str = STATUS_DATASET) -> DatasetCreate:
    """The definition of the status history dataset (irregular reports: no reporting interval)."""
    return DatasetCreate(
        slug=slug,
        title=STATUS_TEXTS["title"]["fr"],
        description=STATUS_TEXTS["description"]["fr"],
        titles=STATUS_TEXTS["title"],
        descriptions=STATUS_TEXTS["description"],
        domain="ev",
        kind="timeseries",
        reporting_interval_s=None,
        metrics=[
            MetricCreate(name=ETAT_METRIC, unit="1", min=0, max=max(ETAT_CODES.values())),
            MetricCreate(name=OCCUPATION_METRIC, unit="1", min=0, max=max(OCCUPATION_CODES.values())),
        ],
        keywords=["irve", "recharge", "statut"],
    )


def ensure_status_dataset(session: Session, owner: Organisation, slug: str = STATUS_DATASET) -> Dataset:
    """The status history dataset, created with its two metrics when missing."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        ds = create_dataset(session, status_dataset_body(slug), owner)
        session.flush()
    elif ds.kind != "timeseries" or not {ETAT_METRIC, OCCUPATION_METRIC} <= {m.name for m in ds.metrics}:
        raise Invalid(f"dataset '{slug}' exists but is not an EV status time series")
    elif not ds.titles and ds.description.startswith("etat_pdc:"):
        # Created before per-language texts, with a code legend for a description: human texts instead.
        ds.title, ds.description = STATUS_TEXTS["title"]["fr"], STATUS_TEXTS["description"]["fr"]
        ds.titles, ds.descriptions = dict(STATUS_TEXTS["title"]), dict(STATUS_TEXTS["description"])
    return ds


def sync_assets(session: Session, locator: AreaLocator, ds: Dataset, points: list[ChargePoint]) -> int:
    """Create or update one asset per consolidated charge point (id = id_pdc_itinerance); how many."""
    items = [
        AssetIn(
            id=p.id_pdc,
            kind=CHARGE_POINT_KIND,
            network=p.operator[:64],
            name=p.station_name[:300],
            lon=p.lon if p.lat is not None else None,
            lat=p.lat if p.lon is not None else None,
            properties={
                "station": p.id_station,
                "power_kw": p.power_kw,
                "operator": p.operator,
                "implantation": p.implantation,
                "access": p.access,
            },
        )
        for p in points
    ]
    # In slices: the upsert looks existing ids up with one IN list, and SQLite caps bound parameters.
    changed = 0
    for start in range(0, len(items), SYNC_SLICE):
        result = upsert_assets(session, ds, items[start : start + SYNC_SLICE], locator)
        changed += result.created + result.updated
    return changed


def _known_points(session: Session, ds: Dataset) -> set[str]:
    return set(session.scalars(select(Asset.external_id).where(Asset.dataset_id == ds.id)))


def _bad_row(row: Mapping[str, str], findings: list[Finding]) -> BadRow:
    """A rejected IRVE row as the batch service quarantines it: the row itself, every reason."""
    first = findings[0]
    return BadRow(
        raw=orjson.dumps(dict(row)).decode(),
        code=first.code,
        message="; ".join(f"{f.code}: {f.message_en}" for f in findings),
        message_fr="; ".join(f"{f.code} : {f.message_fr}" for f in findings),
        reasons=tuple((f.field, f.code, f.message_code, f.params) for f in findings),
    )


def _measurements(n: int, row: Mapping[str, str], at: datetime) -> list[Row]:
    pdc, ts = row["id_pdc_itinerance"].strip(), at.isoformat()
    etat = ETAT_CODES[row["etat_pdc"].strip()]
    occupation = OCCUPATION_CODES[row["occupation_pdc"].strip()]
    return [
        (n, {"asset": pdc, "metric": ETAT_METRIC, "ts": ts, "value": etat}),
        (n, {"asset": pdc, "metric": OCCUPATION_METRIC, "ts": ts, "value": occupation}),
    ]


@dataclass
class _Tally:
    """What the chunks of one import added up to, for the batch and for the report."""

    received: int = 0  # IRVE rows
    measurement_rows: int = 0  # rows the batch service saw: two per good IRVE row, one per bad one
    quarantined: int = 0  # quarantine entries (a row may have two: its etat and its occupation)
    first_code: dict[int, str] = field(default_factory=dict)  # IRVE row -> its first reason
    duplicates: int = 0
    duplicate_rows: list[int] = field(default_factory=list)  # a sample, for the DUPLICATE warning


@dataclass
class _Ids:
    """Asset and series ids met during one import (the resolver only caches committed ones)."""

    assets: dict[str, int] = field(default_factory=dict)
    series: dict[tuple[int, int], int] = field(default_factory=dict)


def _sorted(
    session: Session, ds: Dataset, rows: list[Row], checker: MeasurementChecker, origin: Origin, ids: _Ids
) -> _Sorted:
    """The batch service's sorting of one chunk, vectorised when the chunk is clean.

    The service takes its vectorised path only for series committed before the batch; in a first
    import every chunk would then go row by row. Here the series of a chunk whose rows all passed the
    IRVE checks are made first (two per charge point, which its rows fill), so that it can.
    """
    if all(type(raw) is dict for _, raw in rows):
        names = {raw["asset"] for _, raw in rows if isinstance(raw, dict)}
        if unknown := names - ids.assets.keys():
            ids.assets.update(resolver.asset_ids(session, ds, unknown))
        if names <= ids.assets.keys():
            metrics = [m.id for m in ds.metrics]
            pairs = {(ids.assets[name], m) for name in names for m in metrics}
            if missing := pairs - ids.series.keys():
                ids.series.update(resolver.series_ids(session, ds, missing))
            clean = clean_points(rows, lambda _names: ids.assets, ds.metrics, ids.series, checker)
            if clean is not None:
                return _Sorted(clean=clean, row_numbers=[n for n, _ in rows])
    return _sort(session, ds, rows, checker, origin.from_text)


def _store_chunk(
    session: Session,
    ds: Dataset,
    batch: Batch,
    rows: list[Row],
    checker: MeasurementChecker,
    origin: Origin,
    tally: _Tally,
    ids: _Ids,
) -> None:
    """Check and store one chunk of measurement rows, quarantining its rejected rows, in the batch.

    The same steps as `ingest_measurements` for a whole batch: a (series, time) stored by an earlier
    chunk is met again here as an already stored point, exactly as a repeat within one batch would be
    (same value: a duplicate; another value: DUPLICATE_CONFLICT).
    """
    result = _sorted(session, ds, rows, checker, origin, ids)
    written = write_points(session, result.points)
    tally.duplicates += result.repeats
    tally.duplicate_rows.extend(result.repeat_rows[: 100 - len(tally.duplicate_rows)])
    conflicts = result.conflicts
    if written.existing:
        index = result.index()
        for key, stored in written.existing.items():
            value, n = index[key]
            if stored == value:
                tally.duplicates += 1
                if len(tally.duplicate_rows) < 100:
                    tally.duplicate_rows.append(n)
            else:
                conflicts.append((n, key[1], stored, value))
    rejected: list[tuple[int, list[RowError]]] = list(result.rejected)
    for n, us, stored, value in conflicts:
        found = duplicate_conflict.check(n, from_us(us), stored, value)
        if found is not None:
            rejected.append((n, [found.as_error()]))
    tally.measurement_rows += len(rows)
    if not rejected:
        return
    rejected.sort(key=lambda r: r[0])  # stable: the row's own order of reasons is kept
    raw = dict(rows)
    session.execute(
        insert(QuarantinedRow),
        [
            {
                "batch_id": batch.id,
                "dataset_id": ds.id,
                "row_number": n,
                "raw": raw_text(raw[n]),
                "errors": [stored_error(e) for e in safe_strings(errs)],
            }
            for n, errs in rejected
        ],
    )
    tally.quarantined += len(rejected)
    for n, errs in rejected:
        tally.first_code.setdefault(n, str(errs[0]["code"]) if errs else "UNKNOWN")


def _replayed(session: Session, batch_id: str, received: int) -> DynamicImportReport:
    """The report of an import already done with the same idempotency key, from its quarantine."""
    first_code: dict[int, str] = {}
    for number, errors in session.execute(
        select(QuarantinedRow.row_number, QuarantinedRow.errors)
        .where(QuarantinedRow.batch_id == batch_id)
        .order_by(QuarantinedRow.id)
    ):
        first_code.setdefault(number, str(errors[0]["code"]) if errors else "UNKNOWN")
    batch = session.get(Batch, batch_id)
    return DynamicImportReport(
        batch_id=batch_id,
        received=received,
        accepted=received - len(first_code),
        rejected=len(first_code),
        rejected_by_code=dict(sorted(Counter(first_code.values()).items())),
        already_stored=batch.duplicates if batch is not None else 0,
    )


def import_dynamic(
    session: Session,
    ds: Dataset,
    rows: Iterable[Mapping[str, str]],
    *,
    now: datetime,
    future_tolerance_s: int = 300,
    horizon_days: int = 90,
    origin: Origin | None = None,
    checksum: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> DynamicImportReport:
    """Validate IRVE dynamic rows (numbered from 1), store the good ones and quarantine the others.

    Rows are consumed `chunk_rows` at a time, so memory stays flat however many come; all of them go
    into one batch, in the caller's transaction.
    """
    if ds.kind != "timeseries":
        raise Invalid(f"dataset '{ds.slug}' holds records: send rows to /records instead")
    if now.utcoffset() is None:
        raise Invalid("now must be timezone-aware")
    if chunk_rows < 1:
        raise Invalid("chunk_rows must be at least 1")
    origin = origin or Origin(source="file")
    tolerance, horizon = timedelta(seconds=future_tolerance_s), timedelta(days=horizon_days)
    digest = hashlib.sha256()
    numbered = enumerate(rows, start=1)
    if replay := find_replay(session, ds, origin.idempotency_key):
        return _replayed(session, replay.batch_id, sum(1 for _ in numbered))
    known = _known_points(session, ds)
    claimed = claim_batch(session, ds, origin, checksum=checksum or "", target="measurements")
    if not isinstance(claimed, Batch):  # a concurrent retry with the same key won the race
        return _replayed(session, claimed.batch_id, sum(1 for _ in numbered))
    batch = claimed
    checker = MeasurementChecker({m.name: m for m in ds.metrics}, batch.created_at, future_tolerance_s)
    tally, ids = _Tally(), _Ids()
    while chunk := list(itertools.islice(numbered, chunk_rows)):
        measurements: list[Row] = []
        for n, row in chunk:
            digest.update(orjson.dumps(dict(row)))
            findings = check_dynamic_row(row, n, known, now, tolerance, horizon)
            at = parse_horodatage(row.get("horodatage") or "")
            if findings or at is None:
                measurements.append((n, _bad_row(row, findings)))
            else:
                measurements.extend(_measurements(n, row, at))
        tally.received = chunk[-1][0]
        del chunk
        _store_chunk(session, ds, batch, measurements, checker, origin, tally, ids)
    batch.checksum = checksum or digest.hexdigest()
    batch.received, batch.rejected = tally.measurement_rows, tally.quarantined
    batch.accepted = tally.measurement_rows - tally.quarantined
    batch.duplicates = tally.duplicates
    session.flush()
    if (warning := duplicate.summary(tally.duplicates, sorted(tally.duplicate_rows))) is not None:
        store_batch_finding(session, ds, batch.id, warning)
    rejected = len(tally.first_code)
    return DynamicImportReport(
        batch_id=batch.id,
        received=tally.received,
        accepted=tally.received - rejected,
        rejected=rejected,
        rejected_by_code=dict(sorted(Counter(tally.first_code.values()).items())),
        already_stored=tally.duplicates,
    )


def status_events(
    session: Session, ds: Dataset, start: datetime, end: datetime, *, id_pdcs: Iterable[str] | None = None
) -> list[StatusEvent]:
    """The stored status reports in [start, end), etat and occupation of the same instant paired."""
    query = (
        select(Asset.external_id, Metric.name, measurement.c.ts, measurement.c.value)
        .select_from(measurement)
        .join(Series, Series.id == measurement.c.series_id)
        .join(Asset, Asset.id == Series.asset_id)
        .join(Metric, Metric.id == Series.metric_id)
        .where(
            Asset.dataset_id == ds.id,
            Metric.name.in_((ETAT_METRIC, OCCUPATION_METRIC)),
            measurement.c.ts >= start,
            measurement.c.ts < end,
        )
    )
    if id_pdcs is not None:
        query = query.where(Asset.external_id.in_(list(id_pdcs)))
    pairs: dict[tuple[str, datetime], dict[str, str]] = defaultdict(dict)
    for pdc, metric, ts, value in session.execute(query):
        names = ETAT_NAMES if metric == ETAT_METRIC else OCCUPATION_NAMES
        pairs[(pdc, ts)][metric] = names.get(int(value), "inconnu")
    return [
        StatusEvent(pdc, ts, got.get(ETAT_METRIC, "inconnu"), got.get(OCCUPATION_METRIC, "inconnu"))
        for (pdc, ts), got in sorted(pairs.items())
    ]


def availability_by_area(
    session: Session,
    ds: Dataset,
    start: datetime,
    end: datetime,
    level: str = "commune",
    *,
    max_gap: timedelta = DEFAULT_MAX_GAP,
) -> list[AreaAvailability]:
    """Availability and occupancy per commune (the asset's area), per EPCI or for the whole territory.

    The points and times are those of the one measure (`availability_measure.point_days`): active
    points inside the territory; those without any report add unknown time. Reports up to `max_gap`
    before `start` set the state at `start`.
    """
    # The measure reads the status store defined here: imported when called, not at import time.
    from territoria.domains.ev.availability_measure import point_days  # noqa: PLC0415

    if level not in LEVELS:
        raise Invalid(f"level must be one of {', '.join(LEVELS)}")
    found = point_days(session, ds, start, end, max_gap=max_gap)
    area_of, rows = found.area_of, found.rows
    groups: dict[str, list[DailyAvailability]] = defaultdict(list)
    members: dict[str, set[str]] = defaultdict(set)
    owner = group_of(session) if level == "epci" else {}
    for r in rows:
        if level == "territory":
            key = TERRITORY_CODE
        elif level == "epci":
            if (epci := owner.get(area_of[r.id_pdc])) is None:
                continue  # a commune in no EPCI
            key = epci
        else:
            key = area_of[r.id_pdc]
        groups[key].append(r)
        members[key].add(r.id_pdc)
    return [
        AreaAvailability(level, key, len(members[key]), total(groups[key], key)) for key in sorted(groups)
    ]
