"""Tampering with the audit table as an attacker holding the database would: past its append-only triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from territoria.context import Context

SQLITE_TRIGGERS = {
    "audit_event_no_update": "UPDATE",
    "audit_event_no_delete": "DELETE",
}


@contextmanager
def tampering(ctx: Context) -> Iterator[Session]:
    """A write transaction in which UPDATE, DELETE and TRUNCATE of audit_event are not refused.

    PostgreSQL: a superuser's `session_replication_role = replica` (triggers do not fire);
    SQLite: the triggers are dropped, then put back.
    """
    postgres = ctx.engine.dialect.name == "postgresql"
    with ctx.session(write=True) as session:
        if postgres:
            session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for name in SQLITE_TRIGGERS:
                session.execute(text(f"DROP TRIGGER {name}"))
        yield session
        session.flush()  # ORM changes too, before the triggers are back
        if not postgres:
            for name, verb in SQLITE_TRIGGERS.items():
                session.execute(
                    text(
                        f"CREATE TRIGGER {name} BEFORE {verb} ON audit_event BEGIN "
                        f"SELECT RAISE(ABORT, 'audit_event is append-only: {verb} refused'); END"
                    )
                )
