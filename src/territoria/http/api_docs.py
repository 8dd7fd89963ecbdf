"""The interactive API documentation (Swagger UI at /api/docs, ReDoc at /api/redoc), served offline.

Both front-ends are vendored under /static/vendor (scripts/vendor-web.sh): no CDN is reached, so the
documentation renders on a network without internet. Swagger UI's start-up script is FastAPI's own
inline script, allowed by a per-answer nonce; no other inline script runs. Both libraries set inline
styles (ReDoc injects its style sheets at run time), hence `style-src 'unsafe-inline'` on these pages
only; scripts stay restricted to our origin and the nonce.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

DOCS_URL = "/api/docs"
REDOC_URL = "/api/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
VENDOR = "/static/vendor"
SWAGGER_JS = f"{VENDOR}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = f"{VENDOR}/swagger-ui/swagger-ui.css"
FAVICON = f"{VENDOR}/swagger-ui/favicon-32x32.png"
REDOC_JS = f"{VENDOR}/redoc/redoc.standalone.js"
# No validator badge (it would call validator.swagger.io); the rest is FastAPI's default.
SWAGGER_PARAMETERS = {"validatorUrl": None}


def docs_csp(nonce: str) -> str:
    """The documentation pages' policy: our scripts and the one nonce'd start-up script, nothing outside."""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


def with_nonce(page: HTMLResponse) -> HTMLResponse:
    """The same page with a nonce on its inline scripts and the policy that allows exactly them."""
    nonce = secrets.token_urlsafe(18)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(nonce)})


def install(app: FastAPI) -> None:
    """Add the Swagger UI, ReDoc and OAuth2-redirect pages (the app is built with docs_url=None)."""
    title = f"{app.title} API"

    def spec_url(request: Request) -> str:
        return str(request.scope.get("root_path", "")) + str(app.openapi_url)

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI on the vendored bundle."""
        root = str(request.scope.get("root_path", ""))
        return with_nonce(
            get_swagger_ui_html(
                openapi_url=spec_url(request),
                title=title,
                swagger_js_url=root + SWAGGER_JS,
                swagger_css_url=root + SWAGGER_CSS,
                swagger_favicon_url=root + FAVICON,
                oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
                swagger_ui_parameters=SWAGGER_PARAMETERS,
            )
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        """Swagger UI's OAuth2 redirect page."""
        return with_nonce(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        """ReDoc on the vendored standalone bundle."""
        root = str(request.scope.get("root_path", ""))
        return with_nonce(
            get_redoc_html(
                openapi_url=spec_url(request),
                title=title,
                redoc_js_url=root + REDOC_JS,
                redoc_favicon_url=root + FAVICON,
                with_google_fonts=False,
            )
        )
