"""FastAPI dependencies: context, session, principal and bounded request bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from territoria.access.service import Principal, authenticate
from territoria.context import Context
from territoria.errors import TooLarge


def get_context(request: Request) -> Context:
    """The app's context."""
    ctx: Context = request.app.state.context
    return ctx


def get_session(ctx: Annotated[Context, Depends(get_context)]) -> Iterator[Session]:
    """A read transaction for the request."""
    with ctx.session() as session:
        yield session


def get_principal(
    session: Annotated[Session, Depends(get_session)],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller, from the bearer token."""
    return authenticate(session, authorization)


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
