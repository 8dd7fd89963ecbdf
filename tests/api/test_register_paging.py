"""The registers' lists page like every other list: `limit`, an opaque cursor, `Link: <…>; rel="next"`."""

from __future__ import annotations

from tests.api.test_paging import walk
from tests.conftest import World

from territoria import paging


def open_dataset(world: World, slug: str) -> None:
    """An open time-series dataset of the operator."""
    body = {"slug": slug, "title": slug, "domain": "water", "kind": "timeseries", "access": "open"}
    body["metrics"] = [{"name": "flow", "unit": "m3", "min": 0, "max": 100}]
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code == 201, r.text


def test_datasets_page_by_slug_without_loss_or_repeat(world: World) -> None:
    for n in range(7):
        open_dataset(world, f"water-{n}")
    whole = world.client.get("/api/v1/datasets", headers=world.operator).json()
    assert "link" not in world.client.get("/api/v1/datasets", headers=world.operator).headers
    pages = walk(world.client, "/api/v1/datasets?limit=3", world.operator)
    assert [len(p) for p in pages] == [3, 3, 2]  # 7 open datasets and the operator's "lights"
    assert [d["slug"] for p in pages for d in p] == [d["slug"] for d in whole]
    # An anonymous caller pages through what it may read only: the open ones.
    anonymous = [d["slug"] for p in walk(world.client, "/api/v1/datasets?limit=2") for d in p]
    assert anonymous == [f"water-{n}" for n in range(7)]


def test_a_page_after_a_deleted_row_continues_after_its_key(world: World) -> None:
    rows = [{"slug": s} for s in ("a", "b", "d")]
    page, following = paging.page_in_memory(rows, lambda r: r["slug"], paging.encode("c"), 5)
    assert page == [{"slug": "d"}] and following is None
    page, following = paging.page_in_memory(rows, lambda r: r["slug"], None, 2)
    assert page == rows[:2] and following == paging.encode("b")


def test_organisations_and_tokens_page_too(world: World) -> None:
    for url, headers in (
        ("/api/v1/organisations?limit=1", None),
        ("/api/v1/tokens?limit=1", world.operator),
    ):
        whole = world.client.get(url.split("?")[0], headers=headers or {}).json()
        assert len(whole) >= 1, url
        pages = walk(world.client, url, headers)
        assert [len(p) for p in pages] == [1] * len(whole)
        assert [item for p in pages for item in p] == whole


def test_a_foreign_cursor_is_a_clear_422(world: World) -> None:
    r = world.client.get("/api/v1/datasets?cursor=not-a-cursor", headers=world.operator)
    assert r.status_code == 422 and "cursor" in r.text
    assert world.client.get("/api/v1/organisations?limit=0").status_code == 422
