"""Hourly and daily rollups (n, sum, min, max, last) merged inside the ingest transaction.

Deltas are aggregated with numpy from exactly the points inserted, then merged: on PostgreSQL with
one binary COPY into a temporary table and one INSERT … ON CONFLICT per rollup table, on SQLite with
one executemany per table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Column, MetaData, SmallInteger, Table, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from territoria.db.dialect import dialect_name
from territoria.timeseries.models import rollup_day, rollup_hour
from territoria.timeseries.points import Buckets, Points, bucketise, copy_binary

WIDTHS = ((rollup_hour, 3_600_000_000), (rollup_day, 86_400_000_000))

_meta = MetaData()
# Same columns as the rollup tables, plus the level they go to; emptied at every commit.
rollup_stage = Table(
    "rollup_stage",
    _meta,
    Column("width", SmallInteger, nullable=False),
    *(Column(c.name, c.type, nullable=False) for c in rollup_hour.columns),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_COLUMNS = [c.name for c in rollup_hour.columns]
_KINDS = ["int4", "timestamptz", "int8", "float8", "float8", "float8", "float8", "timestamptz"]


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


def _stage_stream(levels: list[Buckets]) -> bytes:
    """One binary COPY stream holding the deltas of every level, tagged by level index."""
    width = np.concatenate([np.full(len(b), i, dtype=np.int16) for i, b in enumerate(levels)])
    cols = [np.concatenate([b.columns()[k] for b in levels]) for k in range(len(_COLUMNS))]
    return copy_binary([(width, "int2"), *zip(cols, _KINDS, strict=True)])


def _apply_postgresql(session: Session, levels: list[Buckets]) -> None:
    """COPY both tables' deltas into the stage, then one merge statement per rollup table."""
    conn = session.connection()
    # Never remembered per connection: a rolled-back transaction takes its temporary table with it.
    conn.execute(CreateTable(rollup_stage, if_not_exists=True))
    raw: Any = conn.connection.driver_connection
    columns = "width, series_id, bucket, n, sum, min, max, last, last_ts"
    with raw.cursor() as cur, cur.copy(f"COPY rollup_stage ({columns}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.write(_stage_stream(levels))
    s = rollup_stage.c
    for index, (table, _width) in enumerate(WIDTHS):
        source = select(s.series_id, s.bucket, s.n, s.sum, s.min, s.max, s.last, s.last_ts).where(
            s.width == index
        )
        ins = postgresql.insert(table).from_select(_COLUMNS, source)
        session.execute(_merge(ins, table, func.least, func.greatest))
    session.execute(rollup_stage.delete())


def _apply_sqlite(session: Session, levels: list[Buckets]) -> None:
    """Merge with one executemany per rollup table (SQLite stores epoch microseconds)."""
    conn = session.connection()
    for (table, _width), buckets in zip(WIDTHS, levels, strict=True):
        sql = str(_merge(sqlite.insert(table), table, func.min, func.max).compile(dialect=conn.dialect))
        params = list(zip(*(c.tolist() for c in buckets.columns()), strict=True))
        conn.exec_driver_sql(sql, params)


def apply(session: Session, points: Points) -> None:
    """Add the rollup deltas of newly inserted points."""
    if not len(points):
        return
    levels = [bucketise(points, width) for _table, width in WIDTHS]
    if dialect_name(session) == "postgresql":
        _apply_postgresql(session, levels)
    else:
        _apply_sqlite(session, levels)
