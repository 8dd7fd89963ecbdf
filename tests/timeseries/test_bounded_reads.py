"""Bounded reads: keyset pages by primary key, a per-caller limit on expensive queries, a statement timeout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text
from tests.conftest import World
from tests.opendata.factories import make_release

from territoria.access.models import ApiToken
from territoria.errors import Busy
from territoria.http.deps import SessionDep
from territoria.http.limits import CallerLimiter, server_limit

T0 = datetime(2026, 10, 30, 20, tzinfo=UTC)  # spans a month boundary
Q = "/api/v1/datasets/lights/measurements"


def _load(world: World) -> None:
    """4 assets × 2 metrics × 30 hourly points."""
    body = [
        {
            "asset": f"L{a:03d}",
            "metric": m,
            "ts": (T0 + timedelta(hours=h)).isoformat(),
            "value": float(h % 2),
        }
        for a in range(4)
        for m in ("power", "on")
        for h in range(30)
    ]
    r = world.client.post(Q, json=body, headers=world.operator)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text


def _all_pages(world: World, query: str) -> Iterator[dict[str, Any]]:
    """Follow `next` from the first page to the last, checking the Link header agrees."""
    url: str | None = query
    while url is not None:
        r = world.client.get(url, headers=world.operator)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["next"] is None:
            assert "link" not in r.headers and body["truncated"] is False
        else:
            assert r.headers["link"] == f'<{body["next"]}>; rel="next"' and body["truncated"] is True
        yield body
        url = body["next"]


@pytest.mark.parametrize("resolution", ["raw", "hour", "day", "month"])
def test_windowless_reads_page_by_primary_key_and_pages_add_up(world: World, resolution: str) -> None:
    _load(world)
    whole = world.client.get(f"{Q}?resolution={resolution}&limit=1000", headers=world.operator).json()
    assert (
        whole["next"] is None
        and whole["count"] == {"raw": 240, "hour": 240, "day": 24, "month": 16}[resolution]
    )
    pages = list(_all_pages(world, f"{Q}?resolution={resolution}&limit=7"))
    assert all(p["count"] == 7 for p in pages[:-1]) and 1 <= pages[-1]["count"] <= 7
    assert [pt for p in pages for pt in p["data"]] == whole["data"]  # same points, same order


def test_a_page_reads_through_the_primary_key_with_a_limit(world: World) -> None:
    """No statement sorts the dataset's points: each reads one series' range with a LIMIT."""
    _load(world)
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(world.ctx.engine, "before_cursor_execute", capture)
    try:
        first = world.client.get(f"{Q}?limit=5", headers=world.operator).json()
        world.client.get(first["next"], headers=world.operator)
    finally:
        event.remove(world.ctx.engine, "before_cursor_execute", capture)
    reads = [s for s in seen if "FROM measurement" in s]
    assert reads, seen
    for statement in reads:
        assert "measurement.series_id =" in statement and "LIMIT" in statement, statement
        assert "JOIN" not in statement, statement


def test_a_cursor_that_is_not_this_querys_is_422(world: World) -> None:
    _load(world)
    nxt = world.client.get(f"{Q}?limit=5", headers=world.operator).json()["next"]
    cursor = nxt.split("cursor=")[1]
    for bad in ("abc", "1.99999999999999999999", "1.-9999999999999999", "999999.0", "1", "1.2.3"):
        r = world.client.get(f"{Q}?cursor={bad}", headers=world.operator)
        assert r.status_code == 422, (bad, r.text)
        assert "next" in r.json()["detail"]
    # A cursor is only good for the series of the query that gave it.
    assert world.client.get(f"{Q}?cursor={cursor}&asset=L003", headers=world.operator).status_code == 422


def _token_ids(world: World) -> list[int]:
    with world.ctx.session() as s:
        return list(s.scalars(select(ApiToken.id)))


def test_the_per_caller_limit_answers_429_with_retry_after(world: World) -> None:
    _load(world)
    app = world.client.app
    assert isinstance(app, FastAPI)
    limiter = CallerLimiter(1)
    app.state.caller_limiter = limiter
    custom = {"code": "lights_power_sum", "dataset": "lights", "metric": "power", "aggregation": "sum"}
    custom |= {"title": {"fr": "P", "en": "P"}, "description": {"fr": "P", "en": "P"}, "unit": "W"}
    assert world.client.post("/api/v1/kpis", json=custom, headers=world.operator).status_code == 201
    kpi = "/api/v1/kpis/lights_power_sum?period=month&start=2026-10-01&end=2026-12-01"
    with ExitStack() as busy:  # every token already runs its one expensive query
        for token_id in _token_ids(world):
            busy.enter_context(limiter.hold(f"token:{token_id}"))
        quarantine = "/api/v1/datasets/lights/quarantine"
        for path in (Q, kpi, quarantine, quarantine.replace("quarantine", "quarantine.csv")):
            r = world.client.get(path, headers=world.operator)
            assert r.status_code == 429, (path, r.text)
            assert r.headers["retry-after"] == "2" and "at most 1" in r.json()["detail"]
        # Another caller is not held back by these.
        assert world.client.get(Q, headers={"Authorization": "Bearer trt_forged"}).status_code == 401
    assert world.client.get(Q, headers=world.operator).status_code == 200
    assert world.client.get(kpi, headers=world.operator).status_code == 200  # computed and cached
    with ExitStack() as busy:
        for token_id in _token_ids(world):
            busy.enter_context(limiter.hold(f"token:{token_id}"))
        r = world.client.get(kpi, headers=world.operator)
        assert r.status_code == 200 and r.json()["cached"] is True  # a cache hit costs nothing: not limited


def test_anonymous_explore_and_exports_are_limited_per_address(world: World) -> None:
    make_release(world.ctx)
    app = world.client.app
    assert isinstance(app, FastAPI)
    limiter = CallerLimiter(1)
    app.state.caller_limiter = limiter
    paths = ("/api/v1/opendata/energy-open/records", "/api/v1/opendata/energy-open/exports/csv")
    with limiter.hold("address:testclient"):
        for path in paths:
            r = world.client.get(path)
            assert r.status_code == 429 and r.headers["retry-after"] == "2", (path, r.text)
    for path in paths:
        assert world.client.get(path).status_code == 200


def test_the_limiter_counts_per_key_and_frees_slots() -> None:
    limiter = CallerLimiter(2)
    with limiter.hold("a"), limiter.hold("a"):
        with pytest.raises(Busy), limiter.hold("a"):
            pass
        with limiter.hold("b"):
            pass
    with limiter.hold("a"), limiter.hold("a"):
        pass
    assert limiter._running == {}


def test_the_server_wide_cap_refuses_callers_who_are_each_within_their_own_limit(world: World) -> None:
    """Twenty callers from twenty addresses starved the server while each stayed within its limit."""
    _load(world)
    app = world.client.app
    assert isinstance(app, FastAPI)
    limiter = CallerLimiter(2, total=3)
    app.state.caller_limiter = limiter
    with ExitStack() as busy:
        for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # one query each: three in flight
            busy.enter_context(limiter.hold(f"address:{address}"))
        r = world.client.get(Q, headers=world.operator)  # this caller runs nothing yet
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert "autant de requêtes coûteuses" in r.json()["detail"]
    assert world.client.get(Q, headers=world.operator).status_code == 200
    assert limiter._in_flight == 0


def test_the_server_wide_cap_defaults_to_two_per_core() -> None:
    assert server_limit(0) == 2 * (os.cpu_count() or 1)
    assert server_limit(7) == 7


@pytest.mark.integration
@pytest.mark.parametrize("ctx", ["postgresql"], indirect=True)
def test_a_statement_past_the_timeout_is_503_with_retry_after(world: World) -> None:
    """On PostgreSQL, API reads are cancelled past statement_timeout_ms: a clean 503, never a 500."""
    world.ctx.settings.statement_timeout_ms = 200
    app = world.client.app
    assert isinstance(app, FastAPI)

    @app.get("/api/v1/test-slow")
    def slow(session: SessionDep) -> dict[str, int]:
        session.execute(text("SELECT pg_sleep(2)"))
        return {"slept": 2}

    @app.get("/api/v1/test-big")
    def big(session: SessionDep) -> dict[str, int]:
        return {"n": int(session.scalar(text("SELECT count(*) FROM generate_series(1, 500000000)")) or 0)}

    client = TestClient(app, raise_server_exceptions=False)
    for path in ("/api/v1/test-slow", "/api/v1/test-big"):
        r = client.get(path)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "30"
        assert "narrow" in r.json()["detail"]
    world.ctx.settings.statement_timeout_ms = 0
    assert client.get("/api/v1/test-slow").status_code == 200
