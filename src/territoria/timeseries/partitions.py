"""Monthly range partitions of `measurement` on PostgreSQL, created on demand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

_known: dict[str, set[tuple[int, int]]] = {}
# One engine without a pool per database, for the DDL of new partitions: it must not draw from the
# application's pool, where every connection may be held by an ingest waiting for this very DDL
# (20 concurrent ingests into a new month exhausted the pool and waited for its 30 s timeout).
_ddl_engines: dict[str, Engine] = {}


def _ddl_engine(engine: Engine) -> Engine:
    """An engine on the same database whose connections never come from the application's pool."""
    key = engine.url.render_as_string(hide_password=False)
    ddl = _ddl_engines.get(key)
    if ddl is None:
        ddl = _ddl_engines[key] = create_engine(engine.url, poolclass=NullPool)
    return ddl


def month_start(year: int, month: int) -> datetime:
    """First instant of a month, UTC."""
    return datetime(year, month, 1, tzinfo=UTC)


def next_month(year: int, month: int) -> tuple[int, int]:
    """The month after (year, month)."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def partition_name(year: int, month: int) -> str:
    """Name of the partition of one month, e.g. measurement_y2026m11."""
    return f"measurement_y{year:04d}m{month:02d}"


def ensure_partitions(engine: Engine, months: Iterable[tuple[int, int]]) -> int:
    """Create the missing monthly partitions; returns how many were created."""
    key = str(engine.url)
    known = _known.setdefault(key, set())
    wanted = sorted(set(months) - known)
    if not wanted:
        return 0
    created = 0
    # Own short transaction: CREATE … PARTITION OF locks the parent, so never inside an ingest.
    with _ddl_engine(engine).begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        existing = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'measurement'::regclass"
                )
            ).scalars()
        )
        for year, month in wanted:
            name = partition_name(year, month)
            if name not in existing:
                ny, nm = next_month(year, month)
                # DDL cannot take bound parameters; every piece here is an integer we formatted.
                conn.execute(
                    text(
                        f"CREATE TABLE {name} PARTITION OF measurement "  # noqa: S608
                        f"FOR VALUES FROM ('{month_start(year, month).isoformat()}') "
                        f"TO ('{month_start(ny, nm).isoformat()}')"
                    )
                )
                created += 1
    known.update(wanted)
    return created


def forget_partitions() -> None:
    """Drop the in-process cache (tests that recreate the schema call it)."""
    _known.clear()
    for ddl in _ddl_engines.values():
        ddl.dispose()
    _ddl_engines.clear()
