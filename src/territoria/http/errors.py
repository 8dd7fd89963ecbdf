"""The one place where domain errors become application/problem+json answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from territoria.errors import (
    Busy,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    Unparseable,
    UnsupportedMediaType,
)
from territoria.http.timeouts import QUERY_TIMEOUT, TIMEOUT_RETRY_AFTER_S, is_query_timeout
from territoria.validation.limits import printable, safe_strings

log = logging.getLogger(__name__)

STATUS: list[tuple[type[DomainError], int, str]] = [
    (Unauthenticated, 401, "Unauthenticated"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (TooLarge, 413, "Payload too large"),
    (TooManyRequests, 429, "Too many requests"),
    (Unparseable, 400, "Unparseable body"),
    (UnsupportedMediaType, 415, "Unsupported media type"),
    (Invalid, 422, "Invalid input"),
]


def problem(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    """An RFC 9457 problem document."""
    # Details and row errors may quote what a caller sent: never let a lone surrogate or a NUL
    # make the answer itself fail to encode.
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": printable(detail),
    }
    if errors:
        body["errors"] = safe_strings(errors)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _is_page(request: Request) -> bool:
    """A browser asking for a page (scripts and the API get problem+json)."""
    return not request.url.path.startswith("/api/") and "authorization" not in request.headers


def _domain(request: Request, exc: Exception) -> Response:
    """Map a domain error to its status."""
    assert isinstance(exc, DomainError)
    login_page = getattr(request.app.state, "login_page", None)
    if isinstance(exc, Unauthenticated) and _is_page(request) and login_page is not None:
        return login_page(request)  # type: ignore[no-any-return]
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            answer = problem(status, title, exc.message, exc.errors)
            if isinstance(exc, Busy):
                answer.headers["Retry-After"] = str(exc.retry_after)
            return answer
    return problem(400, "Bad request", exc.message, exc.errors)


def _database(request: Request, exc: Exception) -> Response:
    """A statement cancelled by the read timeout is a 503 asking to narrow the query; anything else a bug."""
    if is_query_timeout(exc):
        answer = problem(503, "Query too long", QUERY_TIMEOUT)
        answer.headers["Retry-After"] = str(TIMEOUT_RETRY_AFTER_S)
        return answer
    return _unexpected(request, exc)


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    """Pydantic / FastAPI request validation errors, one entry per field."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or None,
            "code": str(e.get("type", "invalid")).upper(),
            "message": str(e.get("msg", "")),
        }
        for e in exc.errors()
    ]
    return problem(422, "Invalid input", "the request does not match the expected shape", errors)


def _http(_request: Request, exc: Exception) -> JSONResponse:
    """Framework HTTP errors (404 on unknown paths, 405, …) as problem+json."""
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), str(exc.detail))


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    """Last resort: log the bug, answer without leaking internals."""
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def install(app: FastAPI, login_page: Callable[[Request], Response] | None = None) -> None:
    """Register every handler on the app; `login_page` answers a page that needs a signed-in visitor."""
    app.state.login_page = login_page
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(Exception, _unexpected)
