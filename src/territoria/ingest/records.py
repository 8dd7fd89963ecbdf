"""Records ingestion: rows of a Table Schema dataset, checked by the compiled schema, upserted on their
primary key; rejected rows go to quarantine with every finding."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.errors import Invalid
from territoria.ingest.batches import Origin, claim_batch, close_batch
from territoria.ingest.models import Record
from territoria.ingest.observers import notify_records
from territoria.ingest.parsers import BadRow, Row, format_of
from territoria.ingest.records_columns import check_chunk
from territoria.ingest.schemas import BatchResult
from territoria.ingest.validation import RowError
from territoria.territory.index import AreaLocator
from territoria.validation.tableschema import CompiledSchema, HeaderMismatch, check_header
from territoria.validation.tableschema.engine import Resolver
from territoria.validation.tabular import Chunk


def required_columns(ds: Dataset) -> list[str]:
    """Columns the CSV parser must insist on: none for a schema'd dataset, whose header is checked whole
    (missing and unexpected columns in one error) by `ingest_records`."""
    return []


def _is_csv(origin: Origin) -> bool:
    """Whether a batch came as CSV (file imports say 'csv', HTTP says its content type)."""
    if origin.content_type == "csv":
        return True
    try:
        return format_of(origin.content_type) == "csv"
    except Invalid:
        return False


def _resolver(session: Session) -> Resolver:
    """Foreign keys to another dataset: the key tuples (as text) its stored records hold."""

    def known(resource: str, fields: Sequence[str]) -> set[tuple[Any, ...]]:
        target = session.scalar(select(Dataset.id).where(Dataset.slug == resource))
        if target is None:
            raise Invalid(f"the schema refers to dataset '{resource}', which does not exist")
        datas = session.scalars(select(Record.data).where(Record.dataset_id == target))
        return {tuple(str(d.get(f)) for f in fields) for d in datas}

    return known


def _check(
    session: Session, ds: Dataset, good_rows: list[tuple[int, dict[str, Any]]], origin: Origin
) -> tuple[list[dict[str, Any]], dict[int, list[RowError]]]:
    """Typed rows and, per rejected position, all its findings, from the compiled schema."""
    schema = ds.table_schema or {}
    if not schema.get("fields"):
        return [dict(r) for _, r in good_rows], {}
    if good_rows and _is_csv(origin):
        try:
            check_header(list(good_rows[0][1]), schema)
        except HeaderMismatch as exc:
            raise Invalid(f"{exc.message_en} / {exc.message_fr}", errors=exc.errors()) from exc
    compiled = CompiledSchema(schema)
    names = compiled.field_names
    columns = {name: [r.get(name) for _, r in good_rows] for name in names}
    numbers = [n for n, _ in good_rows]
    report = compiled.validate(columns, row_numbers=numbers, resolver=_resolver(session))
    position = {n: i for i, (n, _) in enumerate(good_rows)}
    errors: dict[int, list[RowError]] = {}
    for f in report.findings:
        if f.severity == "error" and f.row is not None:
            errors.setdefault(position[f.row], []).append(f.as_error())
    return report.typed_rows(), errors


def geopoint_fields(ds: Dataset) -> list[str]:
    """The fields of the dataset's Table Schema typed `geopoint` (where a record may carry its position)."""
    fields = (ds.table_schema or {}).get("fields") or []
    return [f["name"] for f in fields if isinstance(f, dict) and f.get("type") == "geopoint" and "name" in f]


def _geopoint(value: Any) -> tuple[float, float] | None:
    """(lon, lat) of a Table Schema geopoint in any of its formats: "lon, lat", [lon, lat] or an object."""
    if isinstance(value, str):
        text = value.strip()
        value = orjson.loads(text) if text.startswith(("[", "{")) else text.split(",")
    if isinstance(value, dict):
        value = [value.get("lon"), value.get("lat")]
    if isinstance(value, list | tuple) and len(value) == 2:
        return float(value[0]), float(value[1])
    return None


def _lonlat(row: dict[str, Any], geopoints: list[str]) -> tuple[float, float] | None:
    """Coordinates of a record: its lon/lat fields, else its first non-empty geopoint field."""
    try:
        if row.get("lon") is not None and row.get("lat") is not None:
            return float(row["lon"]), float(row["lat"])
        for name in geopoints:
            if row.get(name) not in (None, ""):
                return _geopoint(row[name])
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


def _json_text(data: dict[str, Any]) -> str:
    """A record's data as JSON text, by orjson (what it refuses, a lone surrogate…: by the json module)."""
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return json.dumps(data)


_NEW_COLUMNS = ("dataset_id", "key", "lon", "lat", "area_code", "batch_id", "schema_version", "updated_at")


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """New records in one DB-API executemany, their data serialised once by orjson.

    The ORM's bulk insert would fetch every new id back (a statement per row on SQLite), SQLAlchemy
    would process every parameter of every row, and the JSON type would serialise each record with the
    json module: together several times the cost of reading and checking the rows.
    """
    conn = session.connection()
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    data_mark = f"{mark}::jsonb" if dialect.name == "postgresql" else mark
    names = ", ".join(quote(c) for c in (*_NEW_COLUMNS, "data"))
    marks = ", ".join([mark] * len(_NEW_COLUMNS) + [data_mark])
    table = dialect.identifier_preparer.format_table(Record.__table__)
    stamp_of = Record.__table__.c.updated_at.type.bind_processor(dialect)
    now = datetime.now(UTC)
    stamp = stamp_of(now) if stamp_of else now
    params = [
        (
            r["dataset_id"],
            r["key"],
            r["lon"],
            r["lat"],
            r["area_code"],
            r["batch_id"],
            r["schema_version"],
            stamp,
            _json_text(r["data"]),
        )
        for r in rows
    ]
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", params)  # noqa: S608 - names only


def ingest_records(
    session: Session, ds: Dataset, rows: Iterable[Row], origin: Origin, *, checksum: str, locator: AreaLocator
) -> BatchResult:
    """Check and upsert record rows; rejected rows go to quarantine with their reasons."""
    if ds.kind != "records":
        raise Invalid(f"dataset '{ds.slug}' holds time series: send rows to /measurements instead")
    schema = ds.table_schema or {}
    pk = schema.get("primaryKey") or []
    pk = [pk] if isinstance(pk, str) else list(pk)
    claimed = claim_batch(session, ds, origin, checksum=checksum, target="records")
    if isinstance(claimed, BatchResult):
        return claimed
    batch = claimed
    rejected: list[tuple[int, dict[str, Any] | BadRow, list[RowError]]] = []
    good: dict[str, dict[str, Any]] = {}
    if isinstance(rows, Chunk):  # a CSV file or body: checked by whole columns, no dict per row read
        received = len(rows)
        rejected.extend((n, raw, raw.errors(n)) for n, raw in rows.bad)
        typed, errors = check_chunk(rows, schema, _resolver(session))
        numbers = rows.numbers.tolist()
        failed = sorted(errors)
        rejected.extend(
            (numbers[i], raw, errors[i]) for i, raw in zip(failed, rows.rows_at(failed), strict=True)
        )
        for i, row in enumerate(typed):
            if i not in errors:
                good[_record_key(row, pk)] = row  # a later row with the same key wins
    else:
        readable: list[tuple[int, dict[str, Any]]] = []
        received = 0
        for n, raw in rows:
            received += 1
            if isinstance(raw, BadRow):
                rejected.append((n, raw, raw.errors(n)))
            else:
                readable.append((n, raw))
        typed, errors = _check(session, ds, readable, origin)
        for i, (n, raw) in enumerate(readable):
            if i in errors:
                rejected.append((n, raw, errors[i]))
            else:
                good[_record_key(typed[i], pk)] = typed[i]  # a later row with the same key wins
    existing = _existing(session, ds, list(good))
    geopoints = geopoint_fields(ds)
    coords = {k: _lonlat(v, geopoints) for k, v in good.items()}
    codes = iter(locator.locate_many([c for c in coords.values() if c is not None]))
    new: list[dict[str, Any]] = []
    for key, data in good.items():
        c = coords[key]
        lon, lat = c if c else (None, None)
        area = next(codes) if c else None
        rec = existing.get(key)
        if rec is None:  # inserted in one executemany below: an ORM object per row costs 10× more
            new.append(
                {
                    "dataset_id": ds.id,
                    "key": key,
                    "data": data,
                    "batch_id": batch.id,
                    "schema_version": ds.schema_version,
                    "lon": lon,
                    "lat": lat,
                    "area_code": area,
                }
            )
            continue
        rec.data, rec.batch_id, rec.schema_version = data, batch.id, ds.schema_version
        rec.lon, rec.lat, rec.area_code = lon, lat, area
    session.flush()
    if new:
        _insert_new(session, new)
    notify_records(session, ds, batch, good)
    return close_batch(session, batch, ds, received=received, rejected=rejected)
