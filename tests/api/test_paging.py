"""One pagination style for every list: a keyset cursor, a `Link: <...>; rel="next"` header, `next` in bodies."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from tests.conftest import World
from tests.opendata.factories import make_release
from tests.opendata.test_opendata_api import with_router
from tests.quality.test_quarantine import BAD_BATCH, Q, quality_app, send

from territoria import paging
from territoria.catalog.models import Asset, Dataset
from territoria.errors import Invalid


def walk(client: TestClient, url: str, headers: dict[str, str] | None = None) -> list[Any]:
    """Every page of a list, following the Link header; each page's JSON body in order."""
    pages: list[Any] = []
    next_url: str | None = url
    while next_url is not None:
        r = client.get(next_url, headers=headers or {})
        assert r.status_code == 200, r.text
        pages.append(r.json())
        link = r.headers.get("link")
        if link is None:
            next_url = None
        else:
            assert link.startswith("<") and link.endswith('>; rel="next"')
            next_url = link[1 : link.index(">")]
        assert len(pages) < 1000
    return pages


def test_cursor_round_trip_and_refusals() -> None:
    assert paging.decode(paging.encode("L001", 7), str, int) == ("L001", 7)
    assert paging.decode(paging.encode("é/ü&=?"), str) == ("é/ü&=?",)
    assert paging.decode(None, int) is None and paging.decode("", int) is None
    for bad in ["%%%", "bm90IGpzb24", paging.encode(1, 2), paging.encode("1"), "W3RydWVd", "x" * 601]:
        with pytest.raises(Invalid):
            paging.decode(bad, int)  # garbage, not JSON, wrong length, wrong type, a bool ([true]), too long
    assert paging.split([1, 2, 3], 2) == ([1, 2], True) and paging.split([1, 2], 2) == ([1, 2], False)
    url = paging.next_url(
        "/x", [("a", "1"), ("a", "2"), ("offset", "9"), ("cursor", "old")], "new", drop=["offset"]
    )
    assert url == "/x?a=1&a=2&cursor=new"


def test_assets_page_through_the_link_header(world: World) -> None:
    everything = world.client.get("/api/v1/datasets/lights/assets", headers=world.operator)
    assert "link" not in everything.headers
    ids = [a["id"] for a in everything.json()]
    assert len(ids) == 21
    pages = walk(world.client, "/api/v1/datasets/lights/assets?limit=4", world.operator)
    assert [len(p) for p in pages] == [4, 4, 4, 4, 4, 1]
    assert [a["id"] for p in pages for a in p] == ids
    exact = walk(world.client, "/api/v1/datasets/lights/assets?limit=7", world.operator)
    assert [len(p) for p in exact] == [7, 7, 7]  # no empty page after a full last one
    bad = world.client.get("/api/v1/datasets/lights/assets?cursor=nonsense", headers=world.operator)
    assert bad.status_code == 422 and "cursor" in bad.text


def test_assets_page_past_the_old_cap_of_100000(world: World) -> None:
    with world.ctx.session(write=True) as s:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.slug == "lights"))
        rows = [{"dataset_id": ds_id, "external_id": f"Z{i:06d}", "properties": {}} for i in range(100_005)]
        s.execute(insert(Asset), rows)
    first = world.client.get("/api/v1/datasets/lights/assets?limit=100000", headers=world.operator)
    assert first.status_code == 200 and len(first.json()) == 100_000
    link = first.headers["link"]
    rest = world.client.get(link[1 : link.index(">")], headers=world.operator)
    assert [a["id"] for a in rest.json()] == [f"Z{i:06d}" for i in range(99_979, 100_005)]
    assert "link" not in rest.headers


def test_audit_pages_through_the_link_header(world: World) -> None:
    everything = world.client.get("/api/v1/audit?limit=1000", headers=world.admin).json()
    assert len(everything) == 4  # the tokens the world created
    pages = walk(world.client, "/api/v1/audit?limit=3", world.admin)
    assert [e["id"] for p in pages for e in p] == [e["id"] for e in everything]
    assert [len(p) for p in pages] == [3, 1]


def test_quarantine_pages_through_the_link_header(world: World) -> None:
    world.client = TestClient(quality_app(world.ctx))
    send(world, BAD_BATCH)
    send(world, BAD_BATCH)
    everything = world.client.get(Q, headers=world.operator).json()
    assert len(everything) == 8
    pages = walk(world.client, f"{Q}?limit=3", world.operator)
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [r["id"] for p in pages for r in p] == [r["id"] for r in everything]
    # The older offset still works, and its next page continues after it (the cursor replaces offset).
    from_offset = walk(world.client, f"{Q}?limit=3&offset=4", world.operator)
    assert [r["id"] for p in from_offset for r in p] == [r["id"] for r in everything[4:]]


def test_records_page_through_the_link_header_and_next(world: World) -> None:
    schema = {"fields": [{"name": "id", "type": "string"}], "primaryKey": ["id"]}
    body = {"slug": "bins", "title": "Bins", "domain": "waste", "kind": "records", "schema": schema}
    assert world.client.post("/api/v1/datasets", json=body, headers=world.operator).status_code == 201
    rows = [{"id": f"B{i}"} for i in range(7)]
    assert (
        world.client.post("/api/v1/datasets/bins/records", json=rows, headers=world.operator).status_code
        == 200
    )
    pages = walk(world.client, "/api/v1/datasets/bins/records?limit=3", world.operator)
    assert [[r["key"] for r in p["records"]] for p in pages] == [
        ["B0", "B1", "B2"],
        ["B3", "B4", "B5"],
        ["B6"],
    ]
    assert pages[-1]["next"] is None and pages[0]["next"] == "B2"
    legacy = world.client.get("/api/v1/datasets/bins/records?limit=3&after=B2", headers=world.operator)
    assert legacy.json() == pages[1]  # the older `after` still works


def test_explore_pages_through_next_and_the_link_header(world: World) -> None:
    make_release(world.ctx)
    client = TestClient(with_router(world.client.app))  # type: ignore[arg-type]
    url = "/api/v1/opendata/energy-open/records"
    order = {"order_by": "area_code, period, segment, total"}
    everything = client.get(url, params={**order, "limit": "100"}).json()
    assert everything["total_count"] == 28 and everything["next"] is None
    first = client.get(url, params={**order, "limit": "10"})
    pages = walk(client, str(first.request.url).split("testserver", 1)[1])
    assert [len(p["results"]) for p in pages] == [10, 10, 8]
    assert [r for p in pages for r in p["results"]] == everything["results"]
    assert all(p["next"] is not None for p in pages[:-1]) and pages[-1]["next"] is None
    assert first.headers["link"] == f'<{first.json()["next"]}>; rel="next"'
    legacy = client.get(url, params={**order, "limit": "10", "offset": "10"}).json()
    assert legacy["results"] == pages[1]["results"] and legacy["next"] == pages[1]["next"]
    make_release(world.ctx, version=2)  # a new release: cursors of the old one are stale
    stale = client.get(first.json()["next"])
    assert stale.status_code == 422 and "release" in stale.text
