"""Every JSON request body is bounded in nesting before a route parses it (issue 13)."""

from __future__ import annotations

from tests.conftest import World

from territoria.http.json_depth import MAX_BODY_DEPTH


def deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def test_deep_bodies_are_refused_before_they_are_stored(world: World) -> None:
    """A dataset schema nested 300 levels answered 500 and broke every later list of datasets."""
    headers = {**world.operator, "content-type": "application/json"}
    base = b'{"slug": "deep", "title": "T", "domain": "x", "kind": "records", "schema": {"fields": [{"name": "a", '
    for depth in (300, 900, 5000):
        body = base + b'"type": "string", "x": ' + deep(depth) + b"}]}}"
        r = world.client.post("/api/v1/datasets", content=body, headers=headers)
        assert r.status_code == 400 and f"deeper than {MAX_BODY_DEPTH}" in r.json()["detail"], r.text
        r = world.client.post(
            "/api/v1/datasets/lights/assets",
            content=b'[{"id": "Z1", "properties": ' + deep(depth) + b"}]",
            headers=headers,
        )
        assert r.status_code == 400, r.text
    # Brackets inside strings do not count, and ordinary nesting passes.
    body = base + b'"type": "string", "description": "' + b"[" * 500 + b'", "x": ' + deep(10) + b"}]}}"
    r = world.client.post("/api/v1/datasets", content=body, headers=headers)
    assert r.status_code == 201, r.text
    assert world.client.get("/api/v1/datasets", headers=world.operator).status_code == 200


def test_nul_characters_are_refused_before_they_reach_the_database(world: World) -> None:
    """PostgreSQL stores no NUL in text or JSONB: an asset property holding \\u0000 answered 500 there."""
    headers = {**world.operator, "content-type": "application/json"}
    url = "/api/v1/datasets/lights/assets"
    r = world.client.post(url, content=b'[{"id": "Z1", "properties": {"a": "x\\u0000y"}}]', headers=headers)
    assert r.status_code == 400 and "NUL" in r.json()["detail"], r.text
    r = world.client.post(url, content=b'[{"id": "Z1", "properties": {"a": "x\\\\u0000y"}}]', headers=headers)
    assert r.status_code == 200, r.text  # an escaped backslash then "u0000" is plain text
