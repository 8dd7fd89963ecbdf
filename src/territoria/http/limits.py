"""Guards on expensive reads: a statement timeout on PostgreSQL and a per-caller concurrency limit.

Twenty callers each running an unbounded read took the server from 66 to 6 requests/s: one caller may
run only a few expensive queries at once (raw measurement reads, explore, exports, KPI computations on
a cache miss; 429 with Retry-After past that), and no API read statement runs longer than the timeout
(503 with Retry-After and a message to narrow the query). The limit is per process: each worker of a
multi-worker server counts its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from territoria.access.clients import client_address
from territoria.access.principal import Principal
from territoria.context import Context
from territoria.errors import Busy
from territoria.http.timeouts import set_statement_timeout

BUSY_RETRY_AFTER_S = 2


def server_limit(setting: int) -> int:
    """The process-wide cap on expensive queries: the setting, or by default two per core."""
    return setting if setting > 0 else 2 * max(1, os.cpu_count() or 1)


class CallerLimiter:
    """At most `limit` expensive queries in flight per caller key, and `total` in all; the next is refused.

    The total matters as much as the per-caller limit: twenty callers from twenty addresses each stay
    within their own limit, yet their page builds hold the interpreter and starve every other request.
    """

    def __init__(self, limit: int, total: int = 0) -> None:
        self.limit = limit
        self.total = total
        self._running: dict[str, int] = {}
        self._in_flight = 0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Take a slot for `key` for the duration of the block, or raise Busy when all are taken."""
        with self._lock:
            running = self._running.get(key, 0)
            if self.limit > 0 and running >= self.limit:
                raise Busy(
                    f"at most {self.limit} expensive queries at a time per caller: wait for one to end / "
                    f"au plus {self.limit} requêtes coûteuses à la fois par appelant : attendez la fin "
                    "de l'une d'elles",
                    retry_after=BUSY_RETRY_AFTER_S,
                )
            if self.total > 0 and self._in_flight >= self.total:
                raise Busy(
                    "the server is running as many expensive queries as it can: retry in a moment / "
                    "le serveur exécute déjà autant de requêtes coûteuses qu'il le peut : réessayez dans "
                    "un instant",
                    retry_after=BUSY_RETRY_AFTER_S,
                )
            self._running[key] = running + 1
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                left = self._running[key] - 1
                if left:
                    self._running[key] = left
                else:
                    del self._running[key]


_LIMITERS_LOCK = threading.Lock()


def limiter_of(request: Request) -> CallerLimiter:
    """The app's limiter, built on first use from the settings."""
    state = request.app.state
    with _LIMITERS_LOCK:
        limiter: CallerLimiter | None = getattr(state, "caller_limiter", None)
        if limiter is None:
            ctx: Context = state.context
            limiter = CallerLimiter(
                ctx.settings.expensive_queries_per_caller, server_limit(ctx.settings.expensive_queries_total)
            )
            state.caller_limiter = limiter
    return limiter


def caller_key(request: Request, principal: Principal) -> str:
    """Who counts as one caller: the token, else the web session's user, else the client address."""
    if principal.token_id is not None:
        return f"token:{principal.token_id}"
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    return f"address:{client_address(request)}"  # the peer, or what a trusted proxy forwarded


Guard = Callable[[Session], AbstractContextManager[None]]


def expensive_guard(request: Request, principal: Principal) -> Guard:
    """A guard for one expensive computation: takes a caller slot and bounds the session's statements."""
    ctx: Context = request.app.state.context
    limiter, key = limiter_of(request), caller_key(request, principal)

    @contextmanager
    def guard(session: Session) -> Iterator[None]:
        with limiter.hold(key):
            set_statement_timeout(session, ctx.settings.statement_timeout_ms)
            yield

    return guard


def expensive(request: Request) -> Iterator[None]:
    """Dependency of an expensive route: holds one of the caller's slots while the route runs.

    Declare it after the principal, if the route has one: the caller is then the token or user, else
    the client address (open-data routes do not authenticate, and must not start to).
    """
    principal = getattr(request.state, "principal", None)
    who = principal if isinstance(principal, Principal) else Principal()
    with limiter_of(request).hold(caller_key(request, who)):
        yield


Expensive = Annotated[None, Depends(expensive)]
