"""New monthly partitions are created outside the application's pool (PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from territoria.context import Context
from territoria.timeseries.partitions import ensure_partitions, forget_partitions


@pytest.mark.integration
def test_a_new_month_is_partitioned_while_every_pooled_connection_is_busy(ctx: Context) -> None:
    if ctx.settings.is_sqlite:
        pytest.skip("partitions exist on PostgreSQL only")
    forget_partitions()
    # A pool of one connection, held by an "ingest" that needs the partition: before the fix the DDL
    # waited for that same pool and failed after the pool timeout (under load: 500s, a stalled server).
    engine = create_engine(ctx.engine.url, pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        with engine.connect() as held:
            held.execute(text("SELECT 1"))
            assert ensure_partitions(engine, [(2031, 5)]) == 1
            names = held.execute(
                text("SELECT c.relname FROM pg_class c WHERE c.relname = 'measurement_y2031m05'")
            ).scalars()
            assert list(names) == ["measurement_y2031m05"]
    finally:
        engine.dispose()
        forget_partitions()
