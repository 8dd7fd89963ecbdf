"""Measurement writes: COPY on PostgreSQL, executemany on SQLite, rollups in the same transaction.

Writes are optimistic: new data (the common case) goes straight into `measurement` inside a
savepoint; only when some (series, ts) is already stored does the slower path run, which finds the
stored values, keeps them untouched and inserts the rest. Rollups are built from exactly the rows
inserted, so a duplicate never counts twice and a crash leaves neither rows nor rollups half-written.
Points travel as (series id, microseconds since the epoch, value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Column, Float, Integer, MetaData, Table, and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from territoria.db.base import UTCTimestamp, from_us, to_us
from territoria.db.dialect import dialect_name
from territoria.timeseries import rollups
from territoria.timeseries.models import measurement
from territoria.timeseries.partitions import ensure_partitions

Point = tuple[int, int, float]

_stage_meta = MetaData()
# Per-connection temporary table; emptied at every commit on PostgreSQL, by hand on SQLite.
stage = Table(
    "measurement_stage",
    _stage_meta,
    Column("series_id", Integer, nullable=False),
    Column("ts", UTCTimestamp, nullable=False),
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
    existing: dict[tuple[int, int], float] = field(default_factory=dict)


def datetimes(points: list[Point]) -> dict[int, datetime]:
    """Aware datetime of each distinct timestamp (a batch has few: convert each once)."""
    return {us: from_us(us) for us in {p[1] for p in points}}


def _existing(session: Session, points: list[Point]) -> dict[tuple[int, int], float]:
    """Stored values colliding with staged points (the time bounds let PostgreSQL prune partitions)."""
    m = measurement
    lo, hi = min(p[1] for p in points), max(p[1] for p in points)
    stmt = (
        select(stage.c.series_id, stage.c.ts, m.c.value)
        .join(m, and_(m.c.series_id == stage.c.series_id, m.c.ts == stage.c.ts))
        .where(m.c.ts >= from_us(lo), m.c.ts <= from_us(hi))
    )
    return {(sid, to_us(ts)): value for sid, ts, value in session.execute(stmt)}


def _copy(session: Session, table: str, points: list[Point]) -> None:
    """COPY points into `table` (binary protocol); the statement names only our own tables."""
    raw: Any = session.connection().connection.driver_connection
    dts = datetimes(points)
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)") as cp,
    ):
        cp.set_types(["int4", "timestamptz", "float8"])
        for sid, us, value in points:
            cp.write_row((sid, dts[us], value))


def _write_postgresql(session: Session, points: list[Point]) -> WriteResult:
    """COPY straight into measurement; on a collision, stage, keep stored values, insert the rest."""
    months = {(dt.year, dt.month) for dt in datetimes(points).values()}
    ensure_partitions(session.get_bind(), months)  # type: ignore[arg-type]
    existing: dict[tuple[int, int], float] = {}
    try:
        with session.begin_nested():
            _copy(session, "measurement", points)
    except psycopg.errors.UniqueViolation:
        conn = session.connection()
        stage.create(conn, checkfirst=True)
        conn.execute(stage.delete())
        _copy(session, "measurement_stage", points)
        existing = _existing(session, points)
        m = measurement
        session.execute(stage.delete().where(m.c.series_id == stage.c.series_id, m.c.ts == stage.c.ts))
        try:
            with session.begin_nested():
                session.execute(insert(measurement).from_select(["series_id", "ts", "value"], select(stage)))
        except IntegrityError as exc:
            # Another transaction stored some of these points since our check: retry the batch.
            raise ConcurrentWrite("concurrent write on the same series; retry the batch") from exc
        points = [p for p in points if (p[0], p[1]) not in existing]
    rollups.apply(session, points)
    return WriteResult(inserted=len(points), existing=existing)


def _write_sqlite(session: Session, points: list[Point]) -> WriteResult:
    """Single writer (BEGIN IMMEDIATE): executemany straight in, or the staged path on a collision."""
    conn = session.connection()
    sql = str(insert(measurement).compile(dialect=conn.dialect))
    existing: dict[tuple[int, int], float] = {}
    try:
        with session.begin_nested():
            conn.exec_driver_sql(sql, points)
    except IntegrityError:
        stage.create(conn, checkfirst=True)
        conn.execute(stage.delete())
        conn.exec_driver_sql(str(insert(stage).compile(dialect=conn.dialect)), points)
        existing = _existing(session, points)
        conn.execute(stage.delete())
        points = [p for p in points if (p[0], p[1]) not in existing]
        if points:
            conn.exec_driver_sql(sql, points)
    rollups.apply(session, points)
    return WriteResult(inserted=len(points), existing=existing)


def write_points(session: Session, points: list[Point]) -> WriteResult:
    """Store new points (existing (series, ts) are left untouched) and update the rollups."""
    if not points:
        return WriteResult()
    if dialect_name(session) == "postgresql":
        return _write_postgresql(session, points)
    return _write_sqlite(session, points)
