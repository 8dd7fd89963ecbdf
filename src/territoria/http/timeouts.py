"""The statement timeout of API reads on PostgreSQL, and how a cancelled statement is recognised."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from territoria.db.dialect import dialect_name

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout
TIMEOUT_RETRY_AFTER_S = 30
QUERY_TIMEOUT = (
    "the query ran past the time limit of API reads: narrow it (a shorter start–end window, fewer assets "
    "or a coarser resolution) and retry / la requête a dépassé le temps maximal des lectures de l'API : "
    "réduisez-la (fenêtre start–end plus courte, moins d'objets ou résolution plus grossière) et réessayez"
)


def is_query_timeout(exc: BaseException) -> bool:
    """True for a database error raised because the statement timeout cancelled the statement."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == QUERY_CANCELED


def set_statement_timeout(session: Session, milliseconds: int) -> None:
    """Bound every statement of the session's transaction on PostgreSQL (SET LOCAL; 0: no bound)."""
    if milliseconds > 0 and dialect_name(session) == "postgresql":
        session.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(milliseconds)})
