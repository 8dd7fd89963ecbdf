"""The session cookie and the checks a browser's form post needs: same origin, safe redirect, client."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from territoria.access.websessions import COOKIE
from territoria.settings import Settings

MAX_NEXT = 2000


def is_https(request: Request) -> bool:
    """The browser reached us over TLS (directly, or through a trusted proxy that says so: the proxy
    headers middleware set the scheme, see territoria.access.clients)."""
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, value: str, settings: Settings) -> None:
    """Hand the browser its session: unreadable by scripts, not sent by cross-site posts."""
    response.set_cookie(
        COOKIE,
        value,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def delete_session_cookie(response: Response, request: Request) -> None:
    """Make the browser forget its session cookie (same attributes, or browsers keep it)."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


def same_origin(request: Request) -> bool:
    """A form post from one of our own pages (browsers send Origin on POST, or Sec-Fetch-Site)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return request.headers.get("sec-fetch-site") in (None, "same-origin", "none")
    return urlsplit(origin).netloc == request.url.netloc


def safe_next(value: str | None) -> str:
    """A path of this site to go to after login; anything else (other sites, schemes, tricks) goes home."""
    if not value or len(value) > MAX_NEXT or not value.startswith("/") or value.startswith("//"):
        return "/"
    # Browsers read a backslash as a slash and drop tabs and newlines: "/\evil" or "/\t/evil" leave the site.
    if any(c == "\\" or ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    return "/" if parts.scheme or parts.netloc else value
