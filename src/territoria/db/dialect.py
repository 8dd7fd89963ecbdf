"""Dialect helpers: the few places where SQLite and PostgreSQL need different SQL constructs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_name(session: Session) -> str:
    """'sqlite' or 'postgresql'."""
    return session.get_bind().dialect.name


def upsert(session: Session, table: Table) -> Any:
    """The dialect's INSERT … ON CONFLICT construct for `table`."""
    return postgresql.insert(table) if dialect_name(session) == "postgresql" else sqlite.insert(table)


def least(session: Session, a: Any, b: Any) -> ColumnElement[Any]:
    """Smaller of two values (LEAST on PostgreSQL, scalar MIN on SQLite)."""
    return func.least(a, b) if dialect_name(session) == "postgresql" else func.min(a, b)


def greatest(session: Session, a: Any, b: Any) -> ColumnElement[Any]:
    """Larger of two values (GREATEST on PostgreSQL, scalar MAX on SQLite)."""
    return func.greatest(a, b) if dialect_name(session) == "postgresql" else func.max(a, b)
