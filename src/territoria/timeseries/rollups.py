"""Hourly and daily rollups (n, sum, min, max, last) merged inside the ingest transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Table, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session

from territoria.timeseries.models import rollup_day, rollup_hour

WIDTHS = ((rollup_hour, 3600, "hour"), (rollup_day, 86400, "day"))


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


def apply_from_stage(session: Session, stage: Table) -> None:
    """PostgreSQL: aggregate the staged (newly inserted) points into both rollups on the server."""
    for table, _width, unit in WIDTHS:
        # Buckets are UTC whatever the session time zone (date_trunc with a zone, PostgreSQL 14+).
        bucket = func.date_trunc(literal(unit), stage.c.ts, literal("UTC")).label("bucket")
        last = func.array_agg(aggregate_order_by(stage.c.value, stage.c.ts.desc()), type_=ARRAY(Float))[1]
        agg = select(
            stage.c.series_id,
            bucket,
            func.count().label("n"),
            func.sum(stage.c.value),
            func.min(stage.c.value),
            func.max(stage.c.value),
            last,
            func.max(stage.c.ts),
        ).group_by(stage.c.series_id, bucket)
        ins = postgresql.insert(table).from_select(
            ["series_id", "bucket", "n", "sum", "min", "max", "last", "last_ts"], agg
        )
        session.execute(_merge(ins, table, func.least, func.greatest))


def _deltas(points: list[tuple[int, datetime, float]], width: int) -> dict[tuple[int, int], list[Any]]:
    """(series, bucket epoch) → [n, sum, min, max, last, last_ts]."""
    acc: dict[tuple[int, int], list[Any]] = {}
    for sid, ts, value in points:
        key = (sid, int(ts.timestamp()) // width * width)
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


def apply_points(
    session: Session, points: list[tuple[int, datetime, float]], texts: dict[datetime, str]
) -> None:
    """SQLite: aggregate in Python and merge with one executemany per rollup table."""
    if not points:
        return
    from territoria.timeseries.store import sqlite_ts

    conn = session.connection()
    buckets: dict[int, str] = {}
    for table, width, _unit in WIDTHS:
        ins = sqlite.insert(table)
        sql = str(_merge(ins, table, func.min, func.max).compile(dialect=conn.dialect))
        params = []
        for (sid, b), v in _deltas(points, width).items():
            if (bucket := buckets.get(b)) is None:
                bucket = buckets[b] = sqlite_ts(datetime.fromtimestamp(b, UTC))
            params.append((sid, bucket, v[0], v[1], v[2], v[3], v[4], sqlite_ts(v[5], texts)))
        conn.exec_driver_sql(sql, params)


__all__ = ["apply_from_stage", "apply_points"]
