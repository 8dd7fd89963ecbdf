"""Measurement writes: COPY through a staging table on PostgreSQL, executemany on SQLite.

Rollups are updated in the same transaction from exactly the rows that were inserted, so that a
duplicate never counts twice and a crash leaves neither rows nor rollups half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, Table, and_, case, insert, select
from sqlalchemy.orm import Session

from territoria.db.dialect import dialect_name, greatest, least, upsert
from territoria.timeseries.models import measurement, rollup_day, rollup_hour
from territoria.timeseries.partitions import ensure_partitions

Point = tuple[int, datetime, float]

_stage_meta = MetaData()
# Per-connection temporary table; emptied at every commit.
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


def _sqlite_ts(ts: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime uses, for naive UTC."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _copy_stage(session: Session, points: list[Point]) -> None:
    """COPY points into the staging table (binary protocol)."""
    conn = session.connection()
    stage.create(conn, checkfirst=True)
    conn.execute(stage.delete())  # a second write in the same transaction starts clean
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:  # type: ignore[union-attr]
        with cur.copy("COPY measurement_stage (series_id, ts, value) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "timestamptz", "float8"])
            for row in points:
                cp.write_row(row)


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


def _write_postgresql(session: Session, points: list[Point]) -> tuple[list[Point], WriteResult]:
    """COPY to staging, report collisions, INSERT … SELECT the rest; returns inserted points."""
    engine = session.get_bind()
    ensure_partitions(engine, {(ts.year, ts.month) for _, ts, _ in points})  # type: ignore[arg-type]
    _copy_stage(session, points)
    lo = min(p[1] for p in points)
    hi = max(p[1] for p in points)
    existing = _existing(session, lo, hi)
    stmt = (
        upsert(session, measurement)
        .from_select(["series_id", "ts", "value"], select(stage.c.series_id, stage.c.ts, stage.c.value))
        .on_conflict_do_nothing(index_elements=["series_id", "ts"])
    )
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    inserted = [p for p in points if (p[0], p[1]) not in existing] if existing else points
    if int(result.rowcount or 0) != len(inserted):  # type: ignore[attr-defined]
        # Another transaction stored some of these points between our check and our insert:
        # rollups would be wrong, so the caller retries the whole batch.
        raise ConcurrentWrite("concurrent write on the same series; retry the batch")
    return inserted, WriteResult(inserted=len(inserted), existing=existing)


def _write_sqlite(session: Session, points: list[Point]) -> tuple[list[Point], WriteResult]:
    """Single writer (BEGIN IMMEDIATE): find collisions, then insert the new points in one executemany."""
    conn = session.connection()
    stage.create(conn, checkfirst=True)
    conn.execute(stage.delete())
    rows = [(sid, _sqlite_ts(ts), value) for sid, ts, value in points]
    stage_sql = str(insert(stage).compile(dialect=conn.dialect))
    conn.exec_driver_sql(stage_sql, rows)  # type: ignore[arg-type]
    existing = _existing(session, min(p[1] for p in points), max(p[1] for p in points))
    conn.execute(stage.delete())
    if existing:
        keep = [(p, r) for p, r in zip(points, rows, strict=True) if (p[0], p[1]) not in existing]
        points, rows = [p for p, _ in keep], [r for _, r in keep]
    if rows:
        sql = str(insert(measurement).compile(dialect=conn.dialect))
        conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
    return points, WriteResult(inserted=len(points), existing=existing)


def _bucket_deltas(points: list[Point], width: int) -> list[dict[str, Any]]:
    """Aggregate points into (series, bucket) deltas: n, sum, min, max, last, last_ts."""
    acc: dict[tuple[int, int], list[Any]] = {}
    for sid, ts, value in points:
        key = (sid, int(ts.timestamp()) // width * width)
        cur = acc.get(key)
        if cur is None:
            acc[key] = [1, value, value, value, value, ts]
        else:
            cur[0] += 1
            cur[1] += value
            if value < cur[2]:
                cur[2] = value
            if value > cur[3]:
                cur[3] = value
            if ts >= cur[5]:
                cur[4], cur[5] = value, ts
    return [
        {
            "series_id": sid,
            "bucket": datetime.fromtimestamp(b, UTC),
            "n": v[0],
            "sum": v[1],
            "min": v[2],
            "max": v[3],
            "last": v[4],
            "last_ts": v[5],
        }
        for (sid, b), v in acc.items()
    ]


def _apply_rollup(session: Session, table: Table, deltas: list[dict[str, Any]]) -> None:
    """Merge deltas into a rollup table with one INSERT … ON CONFLICT DO UPDATE."""
    if not deltas:
        return
    ins = upsert(session, table)
    exc = ins.excluded
    stmt = ins.on_conflict_do_update(
        index_elements=["series_id", "bucket"],
        set_={
            "n": table.c.n + exc.n,
            "sum": table.c.sum + exc.sum,
            "min": least(session, table.c.min, exc.min),
            "max": greatest(session, table.c.max, exc.max),
            "last": case((exc.last_ts >= table.c.last_ts, exc.last), else_=table.c.last),
            "last_ts": greatest(session, table.c.last_ts, exc.last_ts),
        },
    )
    session.execute(stmt, deltas)


def write_points(session: Session, points: list[Point]) -> WriteResult:
    """Store new points (existing (series, ts) are left untouched) and update rollups."""
    if not points:
        return WriteResult()
    if dialect_name(session) == "postgresql":
        inserted, result = _write_postgresql(session, points)
    else:
        inserted, result = _write_sqlite(session, points)
    _apply_rollup(session, rollup_hour, _bucket_deltas(inserted, 3600))
    _apply_rollup(session, rollup_day, _bucket_deltas(inserted, 86400))
    return result
