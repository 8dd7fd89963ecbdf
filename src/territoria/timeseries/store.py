"""Measurement writes: COPY on PostgreSQL, executemany on SQLite, rollups in the same transaction.

Writes are optimistic: new data (the common case) goes straight into `measurement` inside a
savepoint; only when some (series, ts) is already stored does the slower path run, which finds the
stored values, keeps them untouched and inserts the rest. Rollups are built from exactly the rows
inserted, so a duplicate never counts twice and a crash leaves neither rows nor rollups half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, Table, and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from territoria.db.dialect import dialect_name
from territoria.timeseries import rollups
from territoria.timeseries.models import measurement
from territoria.timeseries.partitions import ensure_partitions

Point = tuple[int, datetime, float]

_stage_meta = MetaData()
# Per-connection temporary table; emptied at every commit on PostgreSQL, by hand on SQLite.
stage = Table(
    "measurement_stage",
    _stage_meta,
    Column("series_id", Integer, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("value", Float, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)


class ConcurrentWrite(RuntimeError):
    """Another writer stored the same points at the same moment; retry the batch."""


@dataclass
class WriteResult:
    """Rows inserted, and the stored value of every (series, ts) that was already there."""

    inserted: int = 0
    existing: dict[tuple[int, datetime], float] = field(default_factory=dict)


def sqlite_ts(ts: datetime, cache: dict[datetime, str] | None = None) -> str:
    """The text form SQLAlchemy's SQLite DateTime uses, for naive UTC (one format, or keys would differ)."""
    if cache is not None and (text := cache.get(ts)) is not None:
        return text
    text = ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if cache is not None:
        cache[ts] = text
    return text


def _existing(session: Session, lo: datetime, hi: datetime) -> dict[tuple[int, datetime], float]:
    """Stored values colliding with staged points (the time bounds let PostgreSQL prune partitions)."""
    m = measurement
    stmt = (
        select(stage.c.series_id, stage.c.ts, m.c.value)
        .join(m, and_(m.c.series_id == stage.c.series_id, m.c.ts == stage.c.ts))
        .where(m.c.ts >= lo, m.c.ts <= hi)
    )
    out: dict[tuple[int, datetime], float] = {}
    for sid, ts, value in session.execute(stmt):
        out[(sid, ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC))] = value
    return out


def _copy(session: Session, table: str, points: list[Point]) -> None:
    """COPY points into `table` (binary protocol); the statement names only our own tables."""
    raw: Any = session.connection().connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)") as cp,
    ):
        cp.set_types(["int4", "timestamptz", "float8"])
        for row in points:
            cp.write_row(row)


def _write_postgresql(session: Session, points: list[Point]) -> WriteResult:
    """Stage with COPY, insert in one statement, roll up from the stage on the server."""
    ensure_partitions(session.get_bind(), {(ts.year, ts.month) for _, ts, _ in points})  # type: ignore[arg-type]
    conn = session.connection()
    stage.create(conn, checkfirst=True)
    conn.execute(stage.delete())  # a second write in the same transaction starts clean
    _copy(session, "measurement_stage", points)
    move = insert(measurement).from_select(["series_id", "ts", "value"], select(stage))
    try:
        with session.begin_nested():
            session.execute(move)
        existing: dict[tuple[int, datetime], float] = {}
    except IntegrityError:
        existing = _existing(session, min(p[1] for p in points), max(p[1] for p in points))
        m = measurement
        session.execute(stage.delete().where(m.c.series_id == stage.c.series_id, m.c.ts == stage.c.ts))
        result = session.execute(move, execution_options={"preserve_rowcount": True})
        if int(result.rowcount or 0) != len(points) - len(existing):  # type: ignore[attr-defined]
            raise ConcurrentWrite("concurrent write on the same series; retry the batch") from None
    rollups.apply_from_stage(session, stage)
    return WriteResult(inserted=len(points) - len(existing), existing=existing)


def _write_sqlite(session: Session, points: list[Point]) -> WriteResult:
    """Single writer (BEGIN IMMEDIATE): executemany straight in, or the staged path on a collision."""
    conn = session.connection()
    texts: dict[datetime, str] = {}  # a batch has few distinct timestamps: format each once
    rows = [(sid, sqlite_ts(ts, texts), value) for sid, ts, value in points]
    sql = str(insert(measurement).compile(dialect=conn.dialect))
    existing: dict[tuple[int, datetime], float] = {}
    try:
        with session.begin_nested():
            conn.exec_driver_sql(sql, rows)
    except IntegrityError:
        stage.create(conn, checkfirst=True)
        conn.execute(stage.delete())
        conn.exec_driver_sql(str(insert(stage).compile(dialect=conn.dialect)), rows)
        existing = _existing(session, min(p[1] for p in points), max(p[1] for p in points))
        conn.execute(stage.delete())
        keep = [i for i, p in enumerate(points) if (p[0], p[1]) not in existing]
        points, rows = [points[i] for i in keep], [rows[i] for i in keep]
        if rows:
            conn.exec_driver_sql(sql, rows)
    rollups.apply_points(session, points, texts)
    return WriteResult(inserted=len(points), existing=existing)


def write_points(session: Session, points: list[Point]) -> WriteResult:
    """Store new points (existing (series, ts) are left untouched) and update the rollups."""
    if not points:
        return WriteResult()
    if dialect_name(session) == "postgresql":
        return _write_postgresql(session, points)
    return _write_sqlite(session, points)
