"""Who is on the other end of a request: the peer's address, or the one a trusted proxy forwarded.

X-Forwarded-For is written by whoever sends the request: believed from anyone, it lets a client pick
the address a rate limit counts. Only the proxies named in `TERRITORIA_TRUSTED_PROXIES` are believed,
and only for the hops they appended (the rightmost address that is not itself a trusted proxy).
`serve` and `demo` start uvicorn without its own proxy-header handling, so that this is the one place
that decides.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from fastapi import Request

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


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    """True when the address belongs to one of the trusted networks."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def forwarded_client(peer: str, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy that forwarded another."""
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    # Read from the right: each trusted proxy appended the address it received the request from, and
    # the first one that is not a trusted proxy is the client. What lies left of it is the client's word.
    for hop in reversed(forwarded_for.split(",")):
        address = hop.strip()
        if _trusted(address, networks):
            continue
        try:
            return str(ip_address(address))
        except ValueError:
            return peer  # a trusted proxy never writes this: count the proxy rather than a made-up key
    return peer


def client_address(request: Request) -> str:
    """The client's address for rate limits, lockout records and per-caller limits."""
    peer = request.client.host if request.client is not None else UNKNOWN
    context = getattr(request.app.state, "context", None)
    setting = context.settings.trusted_proxies if context is not None else ""
    return forwarded_client(peer, request.headers.get("x-forwarded-for"), trusted_networks(setting))
