"""The Alembic history builds exactly the tables the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from territoria import plugins
from territoria.context import Context
from territoria.db.base import Base

plugins.load()  # every generic and domain table module
metadata = Base.metadata


def test_migrations_match_the_models(ctx: Context) -> None:
    with ctx.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    # The BRIN index exists on PostgreSQL only (declared with ddl_if); SQLite rightly lacks it.
    diffs = [d for d in diffs if not (isinstance(d, tuple) and "ix_measurement_ts_brin" in str(d))]
    assert diffs == []
