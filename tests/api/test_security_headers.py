"""Every answer carries the security headers; pages keep their own CSP; HSTS only behind TLS."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import World


def test_headers_on_api_pages_errors_and_static(world: World) -> None:
    c = world.client
    for path in ("/healthz", "/api/v1/datasets", "/api/v1/datasets/nope", "/", "/static/territoria.css"):
        r = c.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert "strict-transport-security" not in r.headers, path
    assert "script-src 'self'" in c.get("/").headers["content-security-policy"]  # the page's own CSP
    assert c.get("/api/v1/datasets").headers["content-security-policy"].startswith("default-src 'none'")
    # X-Forwarded-Proto is believed from a trusted proxy only (forged by anyone else, it is ignored).
    assert (
        "strict-transport-security" not in c.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    )
    world.ctx.settings.trusted_proxies = "10.0.0.5"
    proxy = TestClient(world.client.app, client=("10.0.0.5", 50000))
    r = proxy.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert c.get("/api/docs").status_code == 200
