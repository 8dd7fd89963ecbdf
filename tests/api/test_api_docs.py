"""The API documentation pages load only our own files: no CDN, scripts by origin or by nonce."""

from __future__ import annotations

import re

from tests.conftest import World


def test_swagger_ui_and_redoc_pages_use_the_vendored_files_and_a_strict_script_policy(world: World) -> None:
    c = world.client
    for path, files in (
        ("/api/docs", ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css")),
        ("/api/redoc", ("redoc/redoc.standalone.js",)),
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        html, csp = r.text, r.headers["content-security-policy"]
        assert "cdn." not in html and "fonts.googleapis" not in html and "fastapi.tiangolo" not in html, path
        for file in files:
            assert f'"/static/vendor/{file}"' in html, (path, file)
            assert c.get(f"/static/vendor/{file}").status_code == 200, file
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert (
            nonce is not None
            and "script-src 'self' 'nonce-" in csp
            and "'unsafe-inline'" not in csp.split("style-src")[0]
        ), csp
        # Every inline script carries this answer's nonce; another answer gets another one.
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert all(f'nonce="{nonce.group(1)}"' in attrs for attrs in inline), inline
        assert nonce.group(1) not in c.get(path).headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert '"/api/v1/openapi.json"' in c.get("/api/redoc").text.replace("spec-url=", "")
    assert c.get("/api/v1/openapi.json").status_code == 200
