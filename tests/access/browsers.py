"""Helpers of the web-login tests: people in the world, browsers that log in, audit lookups."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import World

from territoria.access.audit_models import AuditEvent
from territoria.access.users import create_user, set_membership
from territoria.catalog.service import get_organisation

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_person(
    world: World,
    email: str = "ana@lightco.example",
    *,
    roles: dict[str, str] | None = None,
    password: str | None = PASSWORD,
    platform_admin: bool = False,
) -> None:
    """A user with roles in organisations (by slug); producer of lightco by default."""
    with world.ctx.session(write=True) as s:
        user = create_user(
            s, email, name="Ana", password=password, platform_admin=platform_admin, actor="test"
        )
        for slug, role in (roles or {"lightco": "producer"}).items():
            set_membership(s, user, get_organisation(s, slug), role, actor="test")


def browser(world: World, address: str = "testclient") -> TestClient:
    """A new browser (its own cookie jar) on the world's app, from some client address."""
    return TestClient(world.client.app, client=(address, 50000))


def login(
    client: TestClient,
    email: str = "ana@lightco.example",
    password: str = PASSWORD,
    next_url: str = "/",
    **headers: str,
) -> httpx.Response:
    """Post the login form (no redirect followed)."""
    return client.post(
        "/login",
        data={"email": email, "password": password, "next": next_url},
        headers=headers,
        follow_redirects=False,
    )


def csrf_token(client: TestClient) -> str:
    """The CSRF token of the logged-in browser, read from its account page."""
    found = CSRF.search(client.get("/account").text)
    assert found is not None
    return found.group(1)


def events(world: World, action: str) -> list[AuditEvent]:
    """Audit events of one action, oldest first."""
    with world.ctx.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
