"""Security headers on every answer (API, pages, static files, errors)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

# JSON and files are never meant to be framed or to run anything; pages set their own, richer CSP.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders(BaseHTTPMiddleware):
    """Adds nosniff, referrer policy, framing refusal and, behind TLS, HSTS; keeps a page's own CSP."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Answer, then add what is missing."""
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = API_CSP
        # Behind a trusted TLS-terminating proxy the proxy headers middleware set the scheme.
        if request.url.scheme == "https":
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def install(app: FastAPI) -> None:
    """Register the middleware."""
    app.add_middleware(SecurityHeaders)
