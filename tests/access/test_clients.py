"""The client's address and scheme: X-Forwarded-For/-Proto are believed from configured proxies only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from tests.access.browsers import add_person, events, login
from tests.conftest import World
from typer.testing import CliRunner

from territoria.access.clients import (
    TrustedProxyHeaders,
    client_address,
    forwarded_allow_ips,
    trusted_networks,
)
from territoria.cli.main import app


def whoami(world: World, proxies: str) -> FastAPI:
    """An app answering the client address and scheme it sees, behind the proxy headers middleware."""
    world.ctx.settings.trusted_proxies = proxies
    inner = FastAPI()

    @inner.get("/whoami")
    def who(request: Request) -> dict[str, str]:
        return {"client": client_address(request), "scheme": request.url.scheme}

    outer = FastAPI()
    outer.mount("/", TrustedProxyHeaders(inner, world.ctx))
    return outer


def seen(app: FastAPI, peer: str, **headers: str) -> tuple[str, str]:
    """The (client, scheme) the app sees for a request from `peer` with these headers."""
    body = TestClient(app, client=(peer, 50000)).get("/whoami", headers=headers).json()
    return body["client"], body["scheme"]


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy(world: World) -> None:
    assert trusted_networks("") == () and forwarded_allow_ips("") == ""
    assert forwarded_allow_ips("10.0.0.5, 10.0.1.7/24, ::1") == "10.0.0.5/32,10.0.1.0/24,::1/128"
    nobody = whoami(world, "")
    assert seen(nobody, "127.0.0.1", **{"X-Forwarded-For": "1.2.3.4"}) == ("127.0.0.1", "http")
    app = whoami(world, "10.0.0.5, 192.168.1.0/24, ::1")
    assert seen(app, "203.0.113.9", **{"X-Forwarded-For": "1.2.3.4"})[0] == "203.0.113.9"
    assert seen(app, "10.0.0.5", **{"X-Forwarded-For": "1.2.3.4"})[0] == "1.2.3.4"
    assert seen(app, "::1", **{"X-Forwarded-For": "2001:db8::7"})[0] == "2001:db8::7"
    # What the client wrote itself stands left of what the proxies appended: it is never believed.
    assert seen(app, "10.0.0.5", **{"X-Forwarded-For": "6.6.6.6, 1.2.3.4"})[0] == "1.2.3.4"
    assert seen(app, "10.0.0.5", **{"X-Forwarded-For": "6.6.6.6, 1.2.3.4, 192.168.1.20"})[0] == "1.2.3.4"
    # Only trusted proxies on the path: the farthest one is the client (uvicorn's rule).
    assert seen(app, "10.0.0.5", **{"X-Forwarded-For": "192.168.1.20"})[0] == "192.168.1.20"
    assert seen(app, "10.0.0.5")[0] == "10.0.0.5"
    with pytest.raises(ValueError, match="TERRITORIA_TRUSTED_PROXIES"):
        trusted_networks("10.0.0.300")


def test_a_forged_forwarded_proto_is_ignored_unless_a_trusted_proxy_sent_it(world: World) -> None:
    app = whoami(world, "10.0.0.5")
    assert seen(app, "203.0.113.9", **{"X-Forwarded-Proto": "https"}) == ("203.0.113.9", "http")
    assert seen(app, "10.0.0.5", **{"X-Forwarded-Proto": "https"}) == ("10.0.0.5", "https")
    assert seen(app, "10.0.0.5", **{"X-Forwarded-Proto": "gopher"})[1] == "http"  # not a scheme
    # The setting is read at each request: no app to rebuild.
    world.ctx.settings.trusted_proxies = ""
    assert seen(app, "10.0.0.5", **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"}) == (
        "10.0.0.5",
        "http",
    )


def _from(world: World, peer: str) -> TestClient:
    """A browser whose connection comes from that address."""
    return TestClient(world.client.app, client=(peer, 50000))


def test_a_forged_forwarded_for_does_not_escape_the_login_rate_limit(world: World) -> None:
    add_person(world)
    world.ctx.settings.login_rate_per_client = 3
    for i in range(3):
        r = login(_from(world, "127.0.0.1"), password="nope nope nope", **{"X-Forwarded-For": f"9.9.9.{i}"})
        assert r.status_code == 401
    limited = login(_from(world, "127.0.0.1"), **{"X-Forwarded-For": "9.9.9.99"})
    assert limited.status_code == 429
    assert {e.actor for e in events(world, "login.failure")} == {"client:127.0.0.1"}


def test_a_trusted_proxy_forwards_the_client_address(world: World) -> None:
    add_person(world)
    world.ctx.settings.login_rate_per_client = 3
    world.ctx.settings.trusted_proxies = "127.0.0.1"
    for _ in range(3):
        login(_from(world, "127.0.0.1"), password="nope nope nope", **{"X-Forwarded-For": "6.6.6.6, 1.2.3.4"})
    assert {e.actor for e in events(world, "login.failure")} == {"client:1.2.3.4"}
    assert login(_from(world, "127.0.0.1"), **{"X-Forwarded-For": "1.2.3.4"}).status_code == 429
    # Another client behind the same proxy is not concerned.
    assert login(_from(world, "127.0.0.1"), **{"X-Forwarded-For": "5.6.7.8"}).status_code == 303


def test_serve_lets_uvicorn_believe_the_trusted_proxies_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", f"sqlite:///{tmp_path}/serve.db")
    monkeypatch.setenv("TERRITORIA_SECRET_KEY", "a real secret key for this test only, long enough")
    monkeypatch.setenv("TERRITORIA_QUALITY_INTERVAL_S", "0")
    monkeypatch.setenv("TERRITORIA_RETENTION_INTERVAL_S", "0")
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **kwargs: seen.append(kwargs))
    for workers in ("1", "2"):
        result = CliRunner().invoke(app, ["serve", "--port", "8997", "--workers", workers])
        assert result.exit_code == 0, result.stderr
    # Not uvicorn's default (127.0.0.1): nobody unless named.
    assert len(seen) == 2 and all(k["proxy_headers"] is True and k["forwarded_allow_ips"] == "" for k in seen)
    monkeypatch.setenv("TERRITORIA_TRUSTED_PROXIES", "10.0.0.7/24, ::1")
    assert CliRunner().invoke(app, ["serve", "--port", "8997"]).exit_code == 0
    assert seen[-1]["forwarded_allow_ips"] == "10.0.0.0/24,::1/128"
    monkeypatch.setenv("TERRITORIA_TRUSTED_PROXIES", "10.0.0.0/33")
    result = CliRunner().invoke(app, ["serve", "--port", "8997"])
    assert result.exit_code == 1 and "TERRITORIA_TRUSTED_PROXIES" in result.stderr
