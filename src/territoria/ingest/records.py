"""Records ingestion: rows of a Table Schema dataset, upserted on their primary key.

The checks here are the first, essential ones (required, type, enum, range, pattern); the quality
stage adds the full Frictionless rule set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.errors import Invalid
from territoria.ingest.batches import Origin, close_batch, find_replay, open_batch
from territoria.ingest.models import Record
from territoria.ingest.parsers import BadRow, Row
from territoria.ingest.schemas import BatchResult
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


def _record_key(row: dict[str, Any], pk: list[str]) -> str:
    """The primary key of a row, or a digest of the whole row when the schema has none."""
    if pk:
        return "|".join(str(row.get(k)) for k in pk)
    return hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _existing(session: Session, ds: Dataset, keys: list[str]) -> dict[str, Record]:
    """Stored records with these keys (in chunks: every backend bounds the number of parameters)."""
    found: dict[str, Record] = {}
    for i in range(0, len(keys), 900):
        stmt = select(Record).where(Record.dataset_id == ds.id, Record.key.in_(keys[i : i + 900]))
        found.update({r.key: r for r in session.scalars(stmt)})
    return found


def ingest_records(
    session: Session, ds: Dataset, rows: Iterable[Row], origin: Origin, *, checksum: str, locator: AreaLocator
) -> BatchResult:
    """Check and upsert record rows; rejected rows go to quarantine with their reasons."""
    if ds.kind != "records":
        raise Invalid(f"dataset '{ds.slug}' holds time series: send rows to /measurements instead")
    if replay := find_replay(session, ds, origin.idempotency_key):
        return replay
    fields = _fields(ds)
    schema = ds.table_schema or {}
    pk = schema.get("primaryKey") or []
    pk = [pk] if isinstance(pk, str) else list(pk)
    missing = set(schema.get("missingValues") or [""])
    batch = open_batch(session, ds, origin, checksum=checksum, target="records")
    good: dict[str, dict[str, Any]] = {}
    rejected: list[tuple[int, dict[str, Any] | BadRow, list[RowError]]] = []
    received = 0
    for n, raw in rows:
        received += 1
        if isinstance(raw, BadRow):
            rejected.append((n, raw, [row_error(n, None, raw.code, raw.message)]))
            continue
        verdict = _check_row(n, raw, fields, missing) if fields else dict(raw)
        if isinstance(verdict, list):
            rejected.append((n, raw, verdict))
        else:
            good[_record_key(verdict, pk)] = verdict  # a later row with the same key wins
    existing = _existing(session, ds, list(good))
    coords = {k: _lonlat(v) for k, v in good.items()}
    codes = iter(locator.locate_many([c for c in coords.values() if c is not None]))
    for key, data in good.items():
        rec = existing.get(key) or Record(dataset_id=ds.id, key=key)
        rec.data, rec.batch_id = data, batch.id
        c = coords[key]
        rec.lon, rec.lat = c if c else (None, None)
        rec.area_code = next(codes) if c else None
        session.add(rec)
    session.flush()
    return close_batch(session, batch, ds, received=received, rejected=rejected)
