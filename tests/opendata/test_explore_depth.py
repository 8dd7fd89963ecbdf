"""Explore `where=`: nesting is bounded (400 parentheses were a RecursionError, a 500) and dates at the limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import World
from tests.opendata.factories import MadeRelease, make_release

from territoria.errors import Unparseable
from territoria.opendata.explore import MAX_DEPTH, Not, parse_instant, parse_where

API = "/api/v1/opendata"


def test_nesting_past_the_bound_is_a_syntax_error_and_at_the_bound_parses() -> None:
    for text in (
        "(" * 400 + "a = 1" + ")" * 400,
        "not " * 400 + "a = 1",
        "(not " * 300 + "a = 1" + ")" * 300,
    ):
        with pytest.raises(Unparseable) as info:
            parse_where(text)
        assert info.value.errors[0]["code"] == "SYNTAX"
        assert f"more than {MAX_DEPTH} levels" in info.value.message
    parse_where("(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH)
    assert isinstance(parse_where("not " * MAX_DEPTH + "a = 1"), Not)
    # Depth counts open levels, not their number: many siblings are fine.
    parse_where(" or ".join(["(a = 1)"] * 100))


def test_dates_at_the_type_limits_are_malformed_literals_not_overflows() -> None:
    assert parse_instant("0001-01-01T00:00:00+14:00") is None
    assert parse_instant("9999-12-31T23:59:59-14:00") is None
    assert parse_instant("2024-03") is not None


@pytest.fixture
def rel(world: World) -> MadeRelease:
    """A published area release of 'energy-open'."""
    return make_release(world.ctx)


def test_deep_where_over_http_is_400(world: World, rel: MadeRelease) -> None:
    client = TestClient(world.client.app, raise_server_exceptions=False)
    deep = "(" * 400 + "area_code = '06088'" + ")" * 400
    for path in (f"{API}/energy-open/records", f"{API}/energy-open/exports/csv"):
        r = client.get(path, params={"where": deep})
        assert r.status_code == 400, (path, r.status_code, r.text[:300])
        assert "levels" in r.json()["detail"]
