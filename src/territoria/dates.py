"""Dates and instants accepted from users: one shared validator for every query bound.

Python's `date` and `datetime` stop at years 1 and 9999, so a bound at those limits overflows as soon as
a period is aligned, a day added or a time zone applied (OverflowError, a 500). Every query bound goes
through here and is held to years 1900–2200, far enough inside the types for any arithmetic on it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator

from territoria.errors import Invalid

MIN_YEAR = 1900
MAX_YEAR = 2200
EXAMPLE = "2026-11-01 or 2026-11-01T00:00:00Z"


def out_of_range(name: str) -> str:
    """The message for a date outside the accepted years (English / French)."""
    return (
        f"'{name}' must lie between the years {MIN_YEAR} and {MAX_YEAR} / "
        f"'{name}' doit être compris entre les années {MIN_YEAR} et {MAX_YEAR}"
    )


def _in_range(day: date) -> bool:
    """True when a day is within the accepted years."""
    return MIN_YEAR <= day.year <= MAX_YEAR


def check_day(value: date, name: str) -> date:
    """A user-given day, refused (Invalid) outside the accepted years."""
    if not _in_range(value):
        raise Invalid(out_of_range(name))
    return value


def check_instant(value: datetime, name: str) -> datetime:
    """A user-given instant as an aware UTC datetime; naive is UTC; refused outside the accepted years."""
    # The year is checked before any zone is applied: astimezone() itself overflows near the limits.
    if not _in_range(value.date()):
        raise Invalid(out_of_range(name))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_instant(raw: str | None, name: str) -> datetime | None:
    """An ISO date or datetime query bound as aware UTC (None when absent); a bound without a zone is UTC."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    # A '+' of an offset arrives as a space when the caller did not encode the query string.
    if "T" in text and " " in text:
        text = text.replace(" ", "+", 1)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(
            f"'{name}' must be an ISO-8601 date or datetime, e.g. {EXAMPLE} / "
            f"'{name}' doit être une date ou un horodatage ISO 8601, p. ex. {EXAMPLE}"
        ) from exc
    return check_instant(value, name)


def _day(value: date) -> date:
    """Pydantic validator form of check_day (a ValueError becomes a 422 on that parameter)."""
    if not _in_range(value):
        raise ValueError(out_of_range("date"))
    return value


def _instant(value: datetime) -> datetime:
    """Pydantic validator form of check_instant."""
    if not _in_range(value.date()):
        raise ValueError(out_of_range("date"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Query parameter types: `start: QueryDay | None = None` refuses 0001-01-01 or 9999-12-31 with a 422.
QueryDay = Annotated[date, AfterValidator(_day)]
QueryInstant = Annotated[datetime, AfterValidator(_instant)]
