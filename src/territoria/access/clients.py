"""Who is on the other end of a request: the peer, or the client a trusted proxy forwarded.

X-Forwarded-For and X-Forwarded-Proto are written by whoever sends the request: believed from anyone,
they let a client pick the address a rate limit counts, or claim TLS it does not have. uvicorn's
ProxyHeadersMiddleware believes them from the proxies named in `TERRITORIA_TRUSTED_PROXIES` only (the
client is the rightmost forwarded address that is not itself a trusted proxy), and rewrites the
connection's client and scheme: `request.client.host` and `request.url.scheme` are then the truth.
`serve` and `demo` turn it on in uvicorn; the app factory adds it too (`TrustedProxyHeaders`), for tests
and other ASGI servers: applied twice, the second pass sees the real client, untrusted, and does nothing.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

if TYPE_CHECKING:
    from territoria.context import Context


Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """The networks of a `TERRITORIA_TRUSTED_PROXIES` value (comma-separated addresses or CIDRs)."""
    networks = []
    for item in setting.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"TERRITORIA_TRUSTED_PROXIES: '{text}' is not an address or a network (e.g. 10.0.0.5, "
                "10.0.0.0/24, ::1)"
            ) from exc
    return tuple(networks)


def forwarded_allow_ips(setting: str) -> str:
    """The trusted proxies as uvicorn's `forwarded_allow_ips` reads them (empty: none).

    Normalised networks: uvicorn would silently take a network with host bits set (10.0.0.1/24) for
    a literal host name and trust nothing; `trusted_networks` accepts it as 10.0.0.0/24.
    """
    return ",".join(str(network) for network in trusted_networks(setting))


class TrustedProxyHeaders:
    """uvicorn's ProxyHeadersMiddleware with the proxies of the context's settings, read at each request
    (a changed setting applies without rebuilding the app)."""

    def __init__(self, app: ASGIApp, context: Context) -> None:
        self.app = app
        self.context = context
        self._by_setting: dict[str, ProxyHeadersMiddleware] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite client and scheme when the peer is a trusted proxy, then answer."""
        setting = self.context.settings.trusted_proxies
        middleware = self._by_setting.get(setting)
        if middleware is None:
            middleware = ProxyHeadersMiddleware(self.app, trusted_hosts=forwarded_allow_ips(setting))  # type: ignore[arg-type]
            self._by_setting = {setting: middleware}  # one setting at a time in practice
        await middleware(scope, receive, send)  # type: ignore[arg-type]


def client_address(request: Request) -> str:
    """The client's address for rate limits, lockout records and per-caller limits."""
    return request.client.host if request.client is not None else UNKNOWN
