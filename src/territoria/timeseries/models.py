"""Measurement and rollup tables; measurement is range-partitioned by month on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, Table

from territoria.db.base import Base, UTCTimestamp

# Core tables (no ORM class): the hot path writes them in bulk and never loads them as objects.
# No foreign key to series: a per-row FK check would cost a third of the ingest rate, series ids
# come from the catalog lookup of the same transaction, and deletions go through the service.
measurement = Table(
    "measurement",
    Base.metadata,
    Column("series_id", Integer, primary_key=True),
    Column("ts", UTCTimestamp, primary_key=True),
    Column("value", Float, nullable=False),
    postgresql_partition_by="RANGE (ts)",
    sqlite_with_rowid=False,  # the primary key is the storage order: one B-tree instead of two
)
# BRIN on time is tiny and fits append-mostly data; SQLite gets no extra index (the primary key serves).
Index("ix_measurement_ts_brin", measurement.c.ts, postgresql_using="brin").ddl_if(dialect="postgresql")


def _rollup(name: str) -> Table:
    """A rollup table: n, sum, min, max and last value per series and bucket."""
    return Table(
        name,
        Base.metadata,
        Column("series_id", Integer, primary_key=True),
        Column("bucket", UTCTimestamp, primary_key=True),
        Column("n", BigInteger, nullable=False),
        Column("sum", Float, nullable=False),
        Column("min", Float, nullable=False),
        Column("max", Float, nullable=False),
        Column("last", Float, nullable=False),
        Column("last_ts", UTCTimestamp, nullable=False),
        sqlite_with_rowid=False,
    )


rollup_hour = _rollup("rollup_hour")
rollup_day = _rollup("rollup_day")

__all__ = ["measurement", "rollup_day", "rollup_hour"]
