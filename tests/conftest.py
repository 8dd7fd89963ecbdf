"""Shared fixtures: a fresh database per test on SQLite and, for integration tests, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from territoria import plugins
from territoria.access.service import create_token
from territoria.app import create_app
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, upsert_assets
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.settings import Settings
from territoria.territory.service import DEFAULT_GEOJSON, DEFAULT_POPULATION, load_areas

plugins.load()  # the registered domains and the stores' hooks, as the app and the CLI load them
# No territoria.toml of a demo run in this clone (or the user's) reaches the tests; they name their databases.
os.environ["TERRITORIA_CONFIG"] = "none"

PG_URL = os.environ.get("TERRITORIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def sqlite_context(tmp_path: Path) -> Context:
    """A context on a fresh SQLite file."""
    ctx = Context(Settings(database_url=f"sqlite:///{tmp_path}/t.db", demo=True))
    upgrade(ctx.engine)
    return ctx


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards; yields a URL bound to it."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        context = sqlite_context(tmp_path)
    else:
        url = request.getfixturevalue("pg_schema")
        context = Context(Settings(database_url=url, demo=True, release_dir=tmp_path / "releases"))
        upgrade(context.engine)
    yield context
    context.engine.dispose()


@dataclass
class World:
    """A loaded territory, two organisations with tokens, and a street-light dataset with assets."""

    ctx: Context
    client: TestClient
    admin: dict[str, str]
    operator: dict[str, str]
    other: dict[str, str]
    reader: dict[str, str]


LIGHTS = DatasetCreate(
    slug="lights",
    title="Street lights",
    domain="lighting",
    kind="timeseries",
    access="private",
    reporting_interval_s=900,
    metrics=[
        MetricCreate(name="power", unit="W", min=0, max=400),
        MetricCreate(name="on", unit="1", min=0, max=1),
    ],
)


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def build_world(ctx: Context, assets: int = 20) -> World:
    """Territory, organisations, tokens and the lights dataset owned by the operator."""
    with ctx.session(write=True) as s:
        load_areas(s, DEFAULT_GEOJSON, population=DEFAULT_POPULATION)
    ctx.forget_locator()
    with ctx.session(write=True) as s:
        city = create_organisation(s, OrganisationCreate(slug="city", name="City", kind="authority"))
        op = create_organisation(s, OrganisationCreate(slug="lightco", name="LightCo", kind="operator"))
        other = create_organisation(s, OrganisationCreate(slug="waterco", name="WaterCo", kind="operator"))
        _, admin = create_token(s, city, ["admin", "read", "ingest"])
        _, operator = create_token(s, op, ["ingest", "read", "admin"])
        _, other_tok = create_token(s, other, ["ingest", "read", "admin"])
        _, reader = create_token(s, op, ["read"])
        ds = create_dataset(s, LIGHTS, op)
        # Nice (06088) around Place Masséna, plus one asset in Paris (outside the territory).
        items = [
            AssetIn(id=f"L{i:03d}", kind="light", lon=7.2700 + i * 0.0005, lat=43.6980) for i in range(assets)
        ]
        items.append(AssetIn(id="PARIS", kind="light", lon=2.3522, lat=48.8566))
        upsert_assets(s, ds, items, ctx.locator())
    client = TestClient(create_app(context=ctx))
    return World(ctx, client, bearer(admin), bearer(operator), bearer(other_tok), bearer(reader))


@pytest.fixture
def world(ctx: Context) -> World:
    """The standard small world on each backend."""
    return build_world(ctx)


def web_login(
    ctx: Context,
    client: TestClient,
    *,
    org: str,
    role: str,
    email: str | None = None,
    platform_admin: bool = False,
) -> str:
    """Create a user with that role in `org`, open a web session on the client; returns its CSRF token."""
    from territoria.access.users import create_user, find_user, set_membership
    from territoria.access.websessions import COOKIE, LoginResult, login
    from territoria.catalog.service import get_organisation

    address = email or f"{role}@{org}.example.org"
    password = "correct horse battery staple"  # noqa: S105 - a test password
    with ctx.session(write=True) as s:
        user = find_user(s, address) or create_user(
            s, address, password=password, platform_admin=platform_admin
        )
        set_membership(s, user, get_organisation(s, org), role, actor="test")
    with ctx.session(write=True) as s:
        result = login(s, ctx.settings, address, password, "testclient")
        assert isinstance(result, LoginResult), result
        csrf = result.session.csrf_token
    client.cookies.set(COOKIE, result.cookie)
    return csrf


@pytest.fixture(autouse=True)
def _english_command_line(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command line speaks English unless a test asks otherwise, whatever the machine's locale is."""
    from territoria.cli import lang as cli_lang

    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    before = {k: v for k, v in os.environ.items() if k.startswith("TERRITORIA_")}
    yield
    cli_lang._chosen.clear()  # a `--lang` run must not leak into the next test's direct calls
    # A command run in-process (`serve --workers`, `demo`) may export its settings for its workers:
    # they must not become the next test's settings (public URL, database).
    for name in [k for k in os.environ if k.startswith("TERRITORIA_") and k not in before]:
        del os.environ[name]
    os.environ.update(before)
