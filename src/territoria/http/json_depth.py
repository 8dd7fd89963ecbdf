"""Bounds on every JSON request body (nesting, NUL), checked before any route parses it.

Python's json, orjson and pydantic each stop somewhere between 255 and 1,000 levels, some with an
error the routes do not expect (a 500), some only when the stored value is read back (a 500 for every
later reader). No body of this API needs more than a few levels: deeper ones are refused with 400.
The ingest routes read and bound their own bodies (per row, rows quarantined) and are left to them.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from territoria.validation.limits import DepthScanner

MAX_BODY_DEPTH = 64  # GeoJSON multipolygons in a feature collection use about 9
METHODS = frozenset({"POST", "PUT", "PATCH"})
DEEP = (
    "JSON nested deeper than {limit} levels / JSON imbriqué sur plus de {limit} niveaux: "
    "no body of this API needs that many"
)
# \u0000 not itself escaped (an even run of backslashes before it): PostgreSQL stores no NUL in text.
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL = "JSON text holds a NUL character (\\u0000), which cannot be stored / caractère NUL refusé"
# Routes that parse their bodies with territoria.ingest.parsers (bounded per row, bad rows quarantined);
# domains name theirs to the composition root, which hands them to the middleware.
SELF_BOUNDED = ("/measurements", "/records")


def _is_json(scope: Scope) -> bool:
    """Whether the request declares a JSON body (application/json, +json, geo+json, ndjson…)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.split(b";")[0].lower()
    return False


class JsonDepthLimit:
    """Pure ASGI middleware: scan a JSON body as it arrives; 400 when it nests too deep."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_DEPTH, self_bounded: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.self_bounded = (*SELF_BOUNDED, *self_bounded)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer and scan the body of a JSON write, then hand it on unchanged."""
        if (
            scope["type"] != "http"
            or scope["method"] not in METHODS
            or str(scope["path"]).endswith(self.self_bounded)
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        scanner, messages, tail = DepthScanner(), [], b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            if scanner.feed(chunk) > self.limit:
                await _refuse(scope, receive, send, DEEP.format(limit=self.limit))
                return
            if NUL_ESCAPE.search(tail + chunk):
                await _refuse(scope, receive, send, NUL)
                return
            tail = (tail + chunk)[-64:]
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
    """The 400 problem answer (the rest of the body is not read)."""
    from territoria.http.errors import problem

    response: Any = problem(400, "Unparseable body", detail)
    await response(scope, receive, send)
