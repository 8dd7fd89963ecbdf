"""The one batch service behind HTTP, MQTT and file ingestion.

Every received row ends in exactly one place: stored (or recognised as already stored) or
quarantined with its reasons, in the same transaction as the batch record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Series
from territoria.db.base import from_us
from territoria.errors import Invalid
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.ingest.parsers import BadRow, Row
from territoria.ingest.schemas import BatchResult
from territoria.ingest.validation import GoodPoint, MeasurementChecker, RowError, row_error
from territoria.timeseries.store import write_points

MAX_ERRORS_IN_ANSWER = 1000
MEASUREMENT_COLUMNS = ("asset", "metric", "ts", "value")


@dataclass(frozen=True)
class Origin:
    """Who sends a batch and how."""

    source: str
    organisation_id: int | None = None
    token_id: int | None = None
    content_type: str = ""
    idempotency_key: str | None = None
    from_text: bool = False


def _chunks(items: list[str], size: int = 900) -> Iterable[list[str]]:
    """Slices small enough for any backend's bound-parameter limit."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _asset_ids(session: Session, ds: Dataset, keys: set[str]) -> dict[str, int]:
    """Asset ids of the external ids named in a batch."""
    out: dict[str, int] = {}
    for part in _chunks(sorted(keys)):
        stmt = select(Asset.external_id, Asset.id).where(
            Asset.dataset_id == ds.id, Asset.external_id.in_(part)
        )
        out.update({str(k): int(v) for k, v in session.execute(stmt)})
    return out


def _series_ids(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Series id of each (asset, metric) pair, creating the missing series."""
    asset_ids = sorted({a for a, _ in pairs})
    found: dict[tuple[int, int], int] = {}
    for i in range(0, len(asset_ids), 900):
        stmt = select(Series.asset_id, Series.metric_id, Series.id).where(
            Series.asset_id.in_(asset_ids[i : i + 900])
        )
        found.update({(a, m): s for a, m, s in session.execute(stmt)})
    missing = [{"asset_id": a, "metric_id": m} for a, m in pairs if (a, m) not in found]
    if missing:
        session.execute(insert(Series), missing)
        return _series_ids(session, pairs)
    return found


def find_replay(session: Session, ds: Dataset, key: str) -> BatchResult | None:
    """The stored answer of a batch already received with this idempotency key."""
    batch = session.scalar(select(Batch).where(Batch.dataset_id == ds.id, Batch.idempotency_key == key))
    return None if batch is None else batch_result(session, batch, ds.slug, replayed=True)


def batch_result(session: Session, batch: Batch, slug: str, *, replayed: bool = False) -> BatchResult:
    """A batch's answer rebuilt from its record and its quarantined rows."""
    rows = session.scalars(
        select(QuarantinedRow)
        .where(QuarantinedRow.batch_id == batch.id)
        .order_by(QuarantinedRow.row_number)
        .limit(MAX_ERRORS_IN_ANSWER + 1)
    ).all()
    errors = [e for r in rows for e in r.errors]
    return BatchResult(
        batch_id=batch.id,
        dataset=slug,
        source=batch.source,
        received=batch.received,
        accepted=batch.accepted,
        rejected=batch.rejected,
        duplicates=batch.duplicates,
        errors=errors[:MAX_ERRORS_IN_ANSWER],
        errors_truncated=len(errors) > MAX_ERRORS_IN_ANSWER or batch.rejected > len(rows),
        replayed=replayed,
        created_at=batch.created_at,
    )


def _raw_text(raw: dict[str, Any] | BadRow) -> str:
    """The row as received, for the quarantine."""
    return raw.raw if isinstance(raw, BadRow) else orjson.dumps(raw, default=str).decode()


def _dedupe(
    points: list[GoodPoint], series: dict[tuple[int, int], int]
) -> tuple[dict[tuple[int, int], GoodPoint], list[GoodPoint], list[GoodPoint]]:
    """Unique points of the batch, same-value repeats, and conflicting repeats."""
    unique: dict[tuple[int, int], GoodPoint] = {}
    repeats: list[GoodPoint] = []
    conflicts: list[GoodPoint] = []
    for p in points:
        key = (series[(p.asset_id, p.metric_id)], p.us)
        first = unique.get(key)
        if first is None:
            unique[key] = p
        elif first.value == p.value:
            repeats.append(p)
        else:
            conflicts.append(p)
    return unique, repeats, conflicts


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
    if origin.idempotency_key and (replay := find_replay(session, ds, origin.idempotency_key)):
        return replay
    batch = Batch(
        id=str(uuid.uuid4()),
        dataset_id=ds.id,
        organisation_id=origin.organisation_id,
        token_id=origin.token_id,
        source=origin.source,
        target="measurements",
        content_type=origin.content_type[:64],
        checksum=checksum,
        idempotency_key=origin.idempotency_key,
        created_at=datetime.now(UTC),
    )
    session.add(batch)
    session.flush()  # the unique (dataset, idempotency key) guards concurrent retries from here on

    materialised = list(rows)
    keys = {
        str(r["asset"]) for _, r in materialised if isinstance(r, dict) and r.get("asset") not in (None, "")
    }
    checker = MeasurementChecker(
        _asset_ids(session, ds, keys), {m.name: m for m in ds.metrics}, batch.created_at, future_tolerance_s
    )
    good: list[GoodPoint] = []
    rejected: list[tuple[int, dict[str, Any] | BadRow, list[RowError]]] = []
    for n, raw in materialised:
        if isinstance(raw, BadRow):
            rejected.append((n, raw, [row_error(n, None, raw.code, raw.message)]))
            continue
        verdict = checker.check(n, raw, origin.from_text)
        if isinstance(verdict, GoodPoint):
            good.append(verdict)
        else:
            rejected.append((n, raw, verdict))
    raw_by_row = dict(materialised)
    del materialised

    series = _series_ids(session, {(p.asset_id, p.metric_id) for p in good}) if good else {}
    unique, repeats, conflicts = _dedupe(good, series)
    written = write_points(session, [(sid, us, p.value) for (sid, us), p in unique.items()])
    duplicates = len(repeats)
    for key, stored in written.existing.items():
        p = unique[key]
        if stored == p.value:
            duplicates += 1
        else:
            conflicts.append(p)
    for p in conflicts:
        msg = (
            f"another value is already recorded for this asset, metric and time ({from_us(p.us).isoformat()})"
        )
        rejected.append((p.row, raw_by_row[p.row], [row_error(p.row, "value", "DUPLICATE_CONFLICT", msg)]))

    rejected.sort(key=lambda r: r[0])
    if rejected:
        session.execute(
            insert(QuarantinedRow),
            [
                {
                    "batch_id": batch.id,
                    "dataset_id": ds.id,
                    "row_number": n,
                    "raw": _raw_text(raw),
                    "errors": errs,
                }
                for n, raw, errs in rejected
            ],
        )
    batch.received = len(raw_by_row)
    batch.rejected = len(rejected)
    batch.accepted = batch.received - batch.rejected
    batch.duplicates = duplicates
    session.flush()
    errors = [e for _, _, errs in rejected for e in errs]
    return BatchResult(
        batch_id=batch.id,
        dataset=ds.slug,
        source=batch.source,
        received=batch.received,
        accepted=batch.accepted,
        rejected=batch.rejected,
        duplicates=duplicates,
        errors=errors[:MAX_ERRORS_IN_ANSWER],
        errors_truncated=len(errors) > MAX_ERRORS_IN_ANSWER,
        created_at=batch.created_at,
    )
