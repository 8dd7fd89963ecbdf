"""Domain errors shared by all packages; they know nothing of HTTP (api/errors.py maps them)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can cause; the message says what to do."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class NotFound(DomainError):
    """The named thing does not exist (or is not visible to the caller)."""


class Conflict(DomainError):
    """The request conflicts with the current state (e.g. the slug is taken)."""


class Invalid(DomainError):
    """The input is well-formed but not acceptable."""


class UnsupportedMediaType(Invalid):
    """The body's declared type or charset is not one the route can read."""


class Unparseable(DomainError):
    """The body cannot be parsed at all (position in the message)."""


class Unauthenticated(DomainError):
    """No valid credential was given."""


class Forbidden(DomainError):
    """The credential is valid but does not allow this."""


class TooLarge(DomainError):
    """The body exceeds the configured limit."""


class TooManyRequests(DomainError):
    """Too many attempts in a short time (failed logins): wait and try again."""


class Busy(TooManyRequests):
    """Too many expensive queries of one caller at once, or a query past its time: retry later."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
