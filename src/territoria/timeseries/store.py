"""Measurement writes: COPY on PostgreSQL, executemany on SQLite, rollups in the same transaction.

Writes are optimistic: new data (the common case) goes straight into `measurement` inside a
savepoint; only when some (series, ts) is already stored does the slower path run, which finds the
stored values, keeps them untouched and inserts the rest. Rollups are built from exactly the points
inserted, so a duplicate never counts twice and a crash leaves neither rows nor rollups half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Column, Float, Integer, MetaData, Table, and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from territoria.db.base import UTCTimestamp, from_us, to_us
from territoria.db.dialect import dialect_name
from territoria.timeseries import rollups
from territoria.timeseries.models import measurement
from territoria.timeseries.partitions import ensure_partitions
from territoria.timeseries.points import Points, copy_binary

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
    """Points inserted, and the stored value of every (series, ts) that was already there."""

    inserted: int = 0
    existing: dict[tuple[int, int], float] = field(default_factory=dict)


def _existing(session: Session, points: Points) -> dict[tuple[int, int], float]:
    """Stored values colliding with staged points (the time bounds let PostgreSQL prune partitions)."""
    m = measurement
    stmt = (
        select(stage.c.series_id, stage.c.ts, m.c.value)
        .join(m, and_(m.c.series_id == stage.c.series_id, m.c.ts == stage.c.ts))
        .where(m.c.ts >= from_us(int(points.us.min())), m.c.ts <= from_us(int(points.us.max())))
    )
    return {(sid, to_us(ts)): value for sid, ts, value in session.execute(stmt)}


def _without(points: Points, existing: dict[tuple[int, int], float]) -> Points:
    """The points whose (series, ts) is not in `existing`."""
    keep = np.fromiter((k not in existing for k in points.pairs()), dtype=bool, count=len(points))
    return points.take(keep)


def _copy(session: Session, table: str, points: Points) -> None:
    """COPY points into `table` in one binary stream; the statement names only our own tables."""
    raw: Any = session.connection().connection.driver_connection
    stream = copy_binary([(points.sid, "int4"), (points.us, "timestamptz"), (points.value, "float8")])
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)") as cp,
    ):
        cp.write(stream)


def _months(points: Points) -> set[tuple[int, int]]:
    """(year, month) of every point, from the distinct days of the batch."""
    days = np.unique(points.us // 86_400_000_000)
    return {(d.year, d.month) for d in (from_us(int(day) * 86_400_000_000) for day in days)}


def _write_postgresql(session: Session, points: Points) -> WriteResult:
    """COPY straight into measurement; on a collision, stage, keep stored values, insert the rest."""
    ensure_partitions(session.get_bind(), _months(points))  # type: ignore[arg-type]
    existing: dict[tuple[int, int], float] = {}
    try:
        with session.begin_nested():
            _copy(session, "measurement", points)
    except psycopg.errors.UniqueViolation:
        conn = session.connection()
        conn.execute(CreateTable(stage, if_not_exists=True))
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
        points = _without(points, existing)
    rollups.apply(session, points)
    return WriteResult(inserted=len(points), existing=existing)


def _write_sqlite(session: Session, points: Points) -> WriteResult:
    """Single writer (BEGIN IMMEDIATE): executemany straight in, or the staged path on a collision."""
    conn = session.connection()
    sql = str(insert(measurement).compile(dialect=conn.dialect))
    rows = points.tuples()
    existing: dict[tuple[int, int], float] = {}
    try:
        with session.begin_nested():
            conn.exec_driver_sql(sql, rows)
    except IntegrityError:
        conn.execute(CreateTable(stage, if_not_exists=True))
        conn.execute(stage.delete())
        conn.exec_driver_sql(str(insert(stage).compile(dialect=conn.dialect)), rows)
        existing = _existing(session, points)
        conn.execute(stage.delete())
        points = _without(points, existing)
        if len(points):
            conn.exec_driver_sql(sql, points.tuples())
    rollups.apply(session, points)
    return WriteResult(inserted=len(points), existing=existing)


def write_points(session: Session, points: Points) -> WriteResult:
    """Store new points (existing (series, ts) are left untouched) and update the rollups."""
    if not len(points):
        return WriteResult()
    if dialect_name(session) == "postgresql":
        return _write_postgresql(session, points)
    return _write_sqlite(session, points)
