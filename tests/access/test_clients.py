"""The client's address: X-Forwarded-For is believed from configured proxies only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from tests.access.browsers import add_person, events, login
from tests.conftest import World
from typer.testing import CliRunner

from territoria.access.clients import forwarded_client, trusted_networks
from territoria.cli.main import app

PROXIES = trusted_networks("10.0.0.5, 192.168.1.0/24, ::1")


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert trusted_networks("") == ()
    assert forwarded_client("127.0.0.1", "1.2.3.4", trusted_networks("")) == "127.0.0.1"
    assert forwarded_client("203.0.113.9", "1.2.3.4", PROXIES) == "203.0.113.9"
    assert forwarded_client("10.0.0.5", "1.2.3.4", PROXIES) == "1.2.3.4"
    assert forwarded_client("::1", "2001:db8::7", PROXIES) == "2001:db8::7"
    # What the client wrote itself stands left of what the proxies appended: it is never believed.
    assert forwarded_client("10.0.0.5", "6.6.6.6, 1.2.3.4", PROXIES) == "1.2.3.4"
    assert forwarded_client("10.0.0.5", "6.6.6.6, 1.2.3.4, 192.168.1.20", PROXIES) == "1.2.3.4"
    assert forwarded_client("10.0.0.5", "192.168.1.20", PROXIES) == "10.0.0.5"
    assert forwarded_client("10.0.0.5", "not an address", PROXIES) == "10.0.0.5"
    assert forwarded_client("10.0.0.5", None, PROXIES) == "10.0.0.5"
    with pytest.raises(ValueError, match="TERRITORIA_TRUSTED_PROXIES"):
        trusted_networks("10.0.0.300")


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


def test_serve_does_not_let_uvicorn_believe_forwarded_headers(
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
    assert len(seen) == 2 and all(kwargs["proxy_headers"] is False for kwargs in seen)
    monkeypatch.setenv("TERRITORIA_TRUSTED_PROXIES", "10.0.0.0/33")
    result = CliRunner().invoke(app, ["serve", "--port", "8997"])
    assert result.exit_code == 1 and "TERRITORIA_TRUSTED_PROXIES" in result.stderr
