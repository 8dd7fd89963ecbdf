"""Calendar periods (UTC) in SQL for both backends, and their Python counterparts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Integer, cast, func, literal_column
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from territoria.db.dialect import dialect_name

PERIODS = ("day", "week", "month", "year")
SQLITE_FORMAT = {"day": "%Y-%m-%d", "month": "%Y-%m-01", "year": "%Y-01-01"}


def period_start_sql(session: Session, bucket: Any, period: str) -> ColumnElement[Any]:
    """SQL for the first day of the period holding a rollup bucket (UTC), as a date or an ISO string."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    # Literals, not bound parameters: PostgreSQL only matches a GROUP BY expression to the selected one
    # when they are textually identical, and two bound copies of the same value are not.
    if dialect_name(session) == "postgresql":
        return func.date(
            func.date_trunc(literal_column(f"'{period}'"), func.timezone(literal_column("'UTC'"), bucket))
        )
    # SQLite keeps instants as integer microseconds (UTCTimestamp): seconds for its date functions.
    seconds = cast(bucket, Integer) / literal_column("1000000")
    epoch: ColumnElement[Any] = literal_column("'unixepoch'")
    if period == "week":  # to the next Sunday (or stay), then back six days: the Monday of that week
        return func.date(seconds, epoch, literal_column("'weekday 0'"), literal_column("'-6 days'"))
    return func.strftime(literal_column(f"'{SQLITE_FORMAT[period]}'"), seconds, epoch)


def as_date(value: Any) -> date:
    """A period start as the backends return it (date, datetime or ISO text) as a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def period_start(day: date, period: str) -> date:
    """The first day of the period holding `day` (weeks start on Monday)."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_start(start: date, period: str) -> date:
    """The first day of the following period."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def midnight(day: date) -> datetime:
    """00:00 UTC of a day."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class Coverage:
    """The UTC days a KPI's data spans: its first and its last day with data (both included)."""

    first: date
    last: date


PeriodState = Literal["complete", "partial", "empty"]


def period_state(start: date, period: str, coverage: Coverage | None, today: date) -> PeriodState:
    """How far the data covers a period.

    A period is complete when it has ended (its last day is before today) and the data span covers
    it from its first day to its last; partial when the data covers part of it (or it is still running);
    empty when no data falls in it.
    """
    end = next_start(start, period)
    if coverage is None or coverage.last < start or coverage.first >= end:
        return "empty"
    ended = end <= today
    if ended and coverage.first <= start and coverage.last >= end - timedelta(days=1):
        return "complete"
    return "partial"
