"""Hourly and daily rollups (n, sum, min, max, last) merged inside the ingest transaction.

Deltas are aggregated in Python from exactly the rows inserted, then merged: on PostgreSQL with one
binary COPY into a temporary table and one INSERT … ON CONFLICT per rollup table, on SQLite with one
executemany per table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, SmallInteger, Table, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from territoria.db.base import UTCTimestamp, from_us
from territoria.db.dialect import dialect_name
from territoria.timeseries.models import rollup_day, rollup_hour

Point = tuple[int, int, float]  # series id, microseconds since the epoch, value
WIDTHS = ((rollup_hour, 3_600_000_000), (rollup_day, 86_400_000_000))

_meta = MetaData()
rollup_stage = Table(
    "rollup_stage",
    _meta,
    Column("width", SmallInteger, nullable=False),
    Column("series_id", Integer, nullable=False),
    Column("bucket", UTCTimestamp, nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("sum", Float, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("last", Float, nullable=False),
    Column("last_ts", UTCTimestamp, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_COLUMNS = ["series_id", "bucket", "n", "sum", "min", "max", "last", "last_ts"]


def _merge(ins: Any, table: Table, least: Any, greatest: Any) -> Any:
    """ON CONFLICT clause adding a delta to an existing bucket."""
    exc = ins.excluded
    return ins.on_conflict_do_update(
        index_elements=["series_id", "bucket"],
        set_={
            "n": table.c.n + exc.n,
            "sum": table.c.sum + exc.sum,
            "min": least(table.c.min, exc.min),
            "max": greatest(table.c.max, exc.max),
            "last": case((exc.last_ts >= table.c.last_ts, exc.last), else_=table.c.last),
            "last_ts": greatest(table.c.last_ts, exc.last_ts),
        },
    )


def deltas(points: list[Point], width: int) -> dict[tuple[int, int], list[Any]]:
    """(series, bucket start) → [n, sum, min, max, last, last_ts], times in epoch microseconds."""
    acc: dict[tuple[int, int], list[Any]] = {}
    for sid, ts, value in points:
        key = (sid, ts - ts % width)
        cur = acc.get(key)
        if cur is None:
            acc[key] = [1, value, value, value, value, ts]
            continue
        cur[0] += 1
        cur[1] += value
        if value < cur[2]:
            cur[2] = value
        elif value > cur[3]:
            cur[3] = value
        if ts >= cur[5]:
            cur[4], cur[5] = value, ts
    return acc


def _apply_postgresql(session: Session, points: list[Point]) -> None:
    """COPY both tables' deltas into the stage, then one merge statement per rollup table."""
    conn = session.connection()
    if not conn.connection.info.get("rollup_stage"):
        rollup_stage.create(conn, checkfirst=True)
        conn.connection.info["rollup_stage"] = True
    raw: Any = conn.connection.driver_connection
    buckets: dict[int, datetime] = {}  # few distinct times per batch: convert each once
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY rollup_stage (width, series_id, bucket, n, sum, min, max, last, last_ts) "
            "FROM STDIN (FORMAT BINARY)"
        ) as cp,
    ):
        cp.set_types(
            ["int2", "int4", "timestamptz", "int8", "float8", "float8", "float8", "float8", "timestamptz"]
        )
        for index, (_table, width) in enumerate(WIDTHS):
            for (sid, b), v in deltas(points, width).items():
                if (bucket := buckets.get(b)) is None:
                    bucket = buckets[b] = from_us(b)
                if (last_ts := buckets.get(v[5])) is None:
                    last_ts = buckets[v[5]] = from_us(v[5])
                cp.write_row((index, sid, bucket, v[0], v[1], v[2], v[3], v[4], last_ts))
    s = rollup_stage.c
    for index, (table, _width) in enumerate(WIDTHS):
        source = select(s.series_id, s.bucket, s.n, s.sum, s.min, s.max, s.last, s.last_ts).where(
            s.width == index
        )
        ins = postgresql.insert(table).from_select(_COLUMNS, source)
        session.execute(_merge(ins, table, func.least, func.greatest))
    session.execute(rollup_stage.delete())


def _apply_sqlite(session: Session, points: list[Point]) -> None:
    """Merge with one executemany per rollup table (SQLite stores epoch microseconds)."""
    conn = session.connection()
    for table, width in WIDTHS:
        sql = str(_merge(sqlite.insert(table), table, func.min, func.max).compile(dialect=conn.dialect))
        params = [(sid, b, *v) for (sid, b), v in deltas(points, width).items()]
        conn.exec_driver_sql(sql, params)


def apply(session: Session, points: list[Point]) -> None:
    """Add the rollup deltas of newly inserted points."""
    if not points:
        return
    if dialect_name(session) == "postgresql":
        _apply_postgresql(session, points)
    else:
        _apply_sqlite(session, points)
