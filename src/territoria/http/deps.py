"""FastAPI dependencies: context, session, principal (token or web session, CSRF) and bounded bodies."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from territoria import paging
from territoria.access.audit import record
from territoria.access.audit_refusals import SUMMARY_ACTION, SUMMARY_TARGET, counter_for
from territoria.access.clients import client_address
from territoria.access.principal import Principal
from territoria.access.service import authenticate
from territoria.access.websessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    csrf_ok,
    find_session,
    principal_of_session,
)
from territoria.context import Context
from territoria.errors import Forbidden, TooLarge, Unauthenticated
from territoria.http.timeouts import set_statement_timeout

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_context(request: Request) -> Context:
    """The app's context."""
    ctx: Context = request.app.state.context
    return ctx


def get_session(ctx: Annotated[Context, Depends(get_context)]) -> Iterator[Session]:
    """A read transaction for the request, its statements bounded in time on PostgreSQL."""
    with ctx.session() as session:
        set_statement_timeout(session, ctx.settings.statement_timeout_ms)
        yield session


def write_journal(ctx: Context, principal: Principal, request: Request) -> None:
    """Append the request's security events to the audit trail in their own transaction.

    Refusals of anonymous callers are counted, not written one by one (see audit_refusals).
    """
    refusals = counter_for(ctx, ctx.settings.audit_refusal_interval_s)
    events = principal.journal.events
    if events and principal.anonymous:
        route = getattr(request.scope.get("route"), "path", None) or request.url.path
        address = client_address(request)  # the peer, or what a trusted proxy forwarded
        events = refusals.absorb(events, method=request.method, route=route, address=address)
    summary = refusals.take_summary()
    if events or summary:
        write_events(ctx, principal, events, {"method": request.method, "path": request.url.path}, summary)
    principal.journal.events.clear()


def write_events(
    ctx: Context,
    principal: Principal,
    events: list[dict[str, Any]],
    where: dict[str, str],
    summary: dict[str, Any] | None = None,
) -> None:
    """One write transaction: the events, then a summary of counted anonymous refusals if one is due."""
    try:
        with ctx.session(write=True) as session:
            for event in events:
                record(
                    session,
                    actor=principal.actor,
                    action=event["action"],
                    target=event["target"],
                    organisation_id=principal.organisation_id,
                    details={**event["details"], **where},
                )
            if summary is not None:
                record(
                    session, actor="anonymous", action=SUMMARY_ACTION, target=SUMMARY_TARGET, details=summary
                )
    except Exception:  # the answer must not fail because its audit note could not be written
        log.exception("could not write %d audit event(s)", len(events) + (summary is not None))


def flush_refusals(ctx: Context) -> None:
    """Write the counted anonymous refusals now (when the server stops)."""
    summary = counter_for(ctx, ctx.settings.audit_refusal_interval_s).take_summary(force=True)
    if summary is not None:
        write_events(ctx, Principal(), [], {}, summary)


async def _csrf_presented(request: Request) -> str | None:
    """The CSRF token sent with an unsafe request: header for scripts, form field for forms."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _resolve(ctx: Context, request: Request, authorization: str | None) -> Principal:
    """Bearer token first (machines), else the session cookie (browsers), else anonymous."""
    cookie = request.cookies.get(COOKIE)
    with ctx.session() as session:
        if authorization or not cookie:
            return authenticate(session, authorization)
        return principal_of_session(session, find_session(session, cookie))


async def get_principal(
    request: Request,
    ctx: Annotated[Context, Depends(get_context)],
    authorization: Annotated[str | None, Header()] = None,
) -> AsyncIterator[Principal]:
    """The caller; its security events reach the audit trail whatever the request's outcome."""
    try:
        principal = await run_in_threadpool(_resolve, ctx, request, authorization)
    except Unauthenticated as exc:
        # A presented credential that does not hold (tampered, expired, revoked) is worth a trace.
        failed = Principal()
        failed.journal.add("auth.invalid_credential", "request", reason=exc.message)
        await run_in_threadpool(write_journal, ctx, failed, request)
        raise
    request.state.principal = principal
    try:
        unsafe = principal.session_id is not None and request.method not in SAFE_METHODS
        if unsafe and not csrf_ok(principal, await _csrf_presented(request)):
            principal.journal.add("access.denied", "request", reason="missing or wrong CSRF token")
            raise Forbidden(
                "missing or wrong CSRF token: reload the page and try again "
                f"(scripts send the '{CSRF_HEADER}' header)"
            )
        yield principal
    finally:
        await run_in_threadpool(write_journal, ctx, principal, request)


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past the configured limit (without reading it all first)."""
    ctx: Context = request.app.state.context
    limit = ctx.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes; split it into batches")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body exceeds the limit of {limit} bytes; split it into batches")
        chunks.append(chunk)
    return b"".join(chunks)


SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ContextDep = Annotated[Context, Depends(get_context)]


# The paging parameters of every register list (territoria/paging.py): rows per page, and the cursor
# the previous page's `Link: <…>; rel="next"` carries.
PageLimit = Annotated[int, Query(ge=1, le=paging.MAX_LIMIT, description="rows per page")]
PageCursor = Annotated[str | None, Query(max_length=paging.MAX_CURSOR, description="from the previous page")]


def link_next_page(request: Request, response: Response, cursor: str | None) -> str | None:
    """Announce the next page of a list (the same query, this cursor) in the `Link` header, if any;
    returns its URL (for the answer's `next` field) or None on the last page."""
    if cursor is None:
        return None
    url = paging.next_url(request.url.path, request.query_params.multi_items(), cursor)
    return paging.link_next(response.headers, url)
