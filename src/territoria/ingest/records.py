"""Records ingestion: rows of a Table Schema dataset, upserted on their primary key.

The checks here are the first, essential ones (required, type, enum, range, pattern); the quality
stage adds the full Frictionless rule set.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.errors import Invalid
from territoria.ingest.models import Batch, QuarantinedRow, Record
from territoria.ingest.parsers import BadRow, Row
from territoria.ingest.schemas import BatchResult
from territoria.ingest.service import MAX_ERRORS_IN_ANSWER, Origin, find_replay
from territoria.ingest.validation import RowError, row_error
from territoria.territory.index import AreaLocator

_TRUE = {"true", "1", "yes", "oui", "vrai"}
_FALSE = {"false", "0", "no", "non", "faux"}


def _fields(ds: Dataset) -> list[dict[str, Any]]:
    """The Table Schema fields of a records dataset."""
    schema = ds.table_schema or {}
    return list(schema.get("fields") or [])


def required_columns(ds: Dataset) -> list[str]:
    """Columns a CSV header must name: the required fields."""
    return [f["name"] for f in _fields(ds) if (f.get("constraints") or {}).get("required")]


def _cast(kind: str, raw: Any) -> Any:
    """Cast one cell to its Table Schema type; ValueError when it does not fit."""
    if kind == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueError("expected an integer")
        return int(raw)
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError("expected a number")
        return float(raw.replace(",", ".") if isinstance(raw, str) else raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError("expected true or false")
    if kind == "date":
        return date.fromisoformat(str(raw)).isoformat()
    if kind == "datetime":
        return datetime.fromisoformat(str(raw)).isoformat()
    return raw if isinstance(raw, str) else orjson.dumps(raw).decode() if kind == "string" else raw


def _check_row(
    n: int, raw: dict[str, Any], fields: list[dict[str, Any]], missing: set[str]
) -> dict[str, Any] | list[RowError]:
    """The typed row, or every reason it is rejected."""
    errors: list[RowError] = []
    out: dict[str, Any] = {}
    for f in fields:
        name, cons = f["name"], f.get("constraints") or {}
        value = raw.get(name)
        if value is None or (isinstance(value, str) and value.strip() in missing):
            if cons.get("required"):
                errors.append(row_error(n, name, "REQUIRED", f"'{name}' is required"))
            out[name] = None
            continue
        try:
            value = _cast(f.get("type", "string"), value)
        except (ValueError, TypeError) as exc:
            errors.append(row_error(n, name, "TYPE", f"'{name}': {exc} (type {f.get('type', 'string')})"))
            continue
        if "enum" in cons and value not in cons["enum"]:
            errors.append(row_error(n, name, "ENUM", f"'{name}' must be one of {cons['enum']}"))
        if "pattern" in cons and isinstance(value, str) and not re.fullmatch(cons["pattern"], value):
            errors.append(row_error(n, name, "PATTERN", f"'{name}' does not match {cons['pattern']}"))
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in cons and value < cons["minimum"]:
                errors.append(row_error(n, name, "RANGE", f"'{name}' is below the minimum {cons['minimum']}"))
            if "maximum" in cons and value > cons["maximum"]:
                errors.append(row_error(n, name, "RANGE", f"'{name}' is above the maximum {cons['maximum']}"))
        out[name] = value
    return errors or out


def _lonlat(row: dict[str, Any]) -> tuple[float, float] | None:
    """Coordinates of a record, from lon/lat fields or an IRVE-style `coordonneesXY` '[lon, lat]'."""
    try:
        if row.get("lon") is not None and row.get("lat") is not None:
            return float(row["lon"]), float(row["lat"])
        xy = row.get("coordonneesXY")
        if isinstance(xy, str):
            lon, lat = orjson.loads(xy)
            return float(lon), float(lat)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        return None
    return None


def ingest_records(
    session: Session, ds: Dataset, rows: Iterable[Row], origin: Origin, *, checksum: str, locator: AreaLocator
) -> BatchResult:
    """Check and upsert record rows; rejected rows go to quarantine with their reasons."""
    if ds.kind != "records":
        raise Invalid(f"dataset '{ds.slug}' holds time series: send rows to /measurements instead")
    if origin.idempotency_key and (replay := find_replay(session, ds, origin.idempotency_key)):
        return replay
    fields = _fields(ds)
    schema = ds.table_schema or {}
    pk = schema.get("primaryKey") or []
    pk = [pk] if isinstance(pk, str) else list(pk)
    missing = set(schema.get("missingValues") or [""])
    batch = Batch(
        id=str(uuid.uuid4()),
        dataset_id=ds.id,
        organisation_id=origin.organisation_id,
        token_id=origin.token_id,
        source=origin.source,
        target="records",
        content_type=origin.content_type[:64],
        checksum=checksum,
        idempotency_key=origin.idempotency_key,
        created_at=datetime.now(UTC),
    )
    session.add(batch)
    session.flush()
    good: dict[str, dict[str, Any]] = {}
    rejected: list[dict[str, Any]] = []
    errors: list[RowError] = []
    received = 0
    for n, raw in rows:
        received += 1
        verdict: dict[str, Any] | list[RowError]
        verdict = (
            [row_error(n, None, raw.code, raw.message)]
            if isinstance(raw, BadRow)
            else (_check_row(n, raw, fields, missing) if fields else dict(raw))
        )
        if isinstance(verdict, list):
            text = raw.raw if isinstance(raw, BadRow) else orjson.dumps(raw, default=str).decode()
            rejected.append(
                {"batch_id": batch.id, "dataset_id": ds.id, "row_number": n, "raw": text, "errors": verdict}
            )
            errors.extend(verdict)
            continue
        key = (
            "|".join(str(verdict.get(k)) for k in pk)
            if pk
            else hashlib.sha256(orjson.dumps(verdict, option=orjson.OPT_SORT_KEYS)).hexdigest()
        )
        good[key] = verdict
    existing = (
        {
            r.key: r
            for r in session.scalars(
                select(Record).where(Record.dataset_id == ds.id, Record.key.in_(list(good)))
            )
        }
        if good
        else {}
    )
    coords = {k: _lonlat(v) for k, v in good.items()}
    located = [c for c in coords.values() if c is not None]
    codes = iter(locator.locate_many(located))
    for key, data in good.items():
        rec = existing.get(key) or Record(dataset_id=ds.id, key=key)
        rec.data, rec.batch_id = data, batch.id
        c = coords[key]
        rec.lon, rec.lat = c if c else (None, None)
        rec.area_code = next(codes) if c else None
        session.add(rec)
    if rejected:
        session.execute(insert(QuarantinedRow), rejected)
    batch.received, batch.rejected = received, len(rejected)
    batch.accepted = received - len(rejected)
    session.flush()
    return BatchResult(
        batch_id=batch.id,
        dataset=ds.slug,
        source=batch.source,
        received=batch.received,
        accepted=batch.accepted,
        rejected=batch.rejected,
        errors=errors[:MAX_ERRORS_IN_ANSWER],
        errors_truncated=len(errors) > MAX_ERRORS_IN_ANSWER,
        created_at=batch.created_at,
    )
