"""Alembic environment: one migration history for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from territoria.db.base import Base

# The tables that exist in this process: the composition (territoria.plugins.load) imports every
# generic and domain model module before it compares or autogenerates; migrations themselves are explicit.
metadata = Base.metadata


def _run(connection: Connection) -> None:
    """Run migrations on an open connection (batch mode lets SQLite alter tables)."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through territoria.db.migrate.upgrade(), which passes a connection")
_run(connection)
