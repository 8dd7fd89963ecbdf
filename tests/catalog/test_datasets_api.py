"""Dataset and asset routes: the contract bodies, access rules and bad input."""

from __future__ import annotations

from tests.conftest import World

SMALLEST = {
    "slug": "lights2",
    "title": "Street lights",
    "domain": "lighting",
    "kind": "timeseries",
    "access": "private",
    "metrics": [{"name": "power", "unit": "W", "min": 0, "max": 400}],
}


def test_create_dataset_with_the_smallest_body(world: World) -> None:
    r = world.client.post("/api/v1/datasets", json=SMALLEST, headers=world.operator)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["owner"] == "lightco" and body["metrics"][0]["unit"] == "W"
    assert world.client.post("/api/v1/datasets", json=SMALLEST, headers=world.operator).status_code == 409
    r = world.client.get("/api/v1/datasets/lights2", headers=world.operator)
    assert r.status_code == 200 and r.json()["assets"] == 0


def test_dataset_creation_refuses_bad_input(world: World) -> None:
    c = world.client
    assert c.post("/api/v1/datasets", json=SMALLEST).status_code == 401
    assert c.post("/api/v1/datasets", json=SMALLEST, headers=world.reader).status_code == 403
    for patch in (
        {"slug": "Bad Slug"},
        {"kind": "other"},
        {"metrics": []},
        {"metrics": [{"name": "p", "unit": "W", "min": 5, "max": 1}]},
        {"unknown": 1},
        {"access": True},
    ):
        r = c.post("/api/v1/datasets", json={**SMALLEST, **patch}, headers=world.operator)
        assert r.status_code == 422, (patch, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"]
    r = c.post(
        "/api/v1/datasets", content=b"{oops", headers={**world.operator, "content-type": "application/json"}
    )
    assert r.status_code in (400, 422)


def test_list_and_read_respect_access(world: World) -> None:
    c = world.client
    assert c.get("/api/v1/datasets").json() == []
    assert [d["slug"] for d in c.get("/api/v1/datasets", headers=world.operator).json()] == ["lights"]
    assert c.get("/api/v1/datasets", headers=world.other).json() == []
    # The authority reads an operator's private data only through a data-sharing agreement.
    assert c.get("/api/v1/datasets", headers=world.admin).json() == []
    # Unseen private datasets answer as unknown ones: their slugs cannot be enumerated.
    assert c.get("/api/v1/datasets/lights").status_code == 404
    assert c.get("/api/v1/datasets/lights", headers=world.other).status_code == 404
    assert c.get("/api/v1/datasets/nope", headers=world.operator).status_code == 404
    assert c.get("/api/v1/datasets/lights", headers={"Authorization": "Bearer trt_forged"}).status_code == 401
    r = c.patch("/api/v1/datasets/lights", json={"access": "open"}, headers=world.other)
    assert r.status_code == 404
    r = c.patch("/api/v1/datasets/lights", json={"access": "open", "title": "Lights"}, headers=world.operator)
    assert r.status_code == 200 and r.json()["access"] == "open"
    assert [d["slug"] for d in c.get("/api/v1/datasets").json()] == ["lights"]
    assert c.get("/api/v1/datasets/lights").status_code == 200


def test_assets_upsert_assigns_communes_and_flags_outside(world: World) -> None:
    c = world.client
    r = c.get("/api/v1/datasets/lights/assets", headers=world.operator)
    assets = {a["id"]: a for a in r.json()}
    assert assets["L000"]["area_code"] == "06088" and assets["L000"]["in_territory"]
    assert assets["PARIS"]["area_code"] is None and not assets["PARIS"]["in_territory"]
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "L000",
                "geometry": {"type": "Point", "coordinates": [7.0128, 43.5513]},
                "properties": {"kind": "light", "power_rating_w": 150},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [7.1256, 43.5804]},
                "properties": {"id": "NEW1"},
            },
        ],
    }
    r = c.post("/api/v1/datasets/lights/assets", json=geo, headers=world.operator)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 2, "created": 1, "updated": 1, "outside_territory": []}
    r = c.get("/api/v1/datasets/lights/assets?area=06029", headers=world.operator)
    assert [a["id"] for a in r.json()] == ["L000"] and r.json()[0]["properties"]["power_rating_w"] == 150
    assert (
        c.post("/api/v1/datasets/lights/assets", json=[{"id": "X"}], headers=world.other).status_code == 404
    )


def test_assets_bad_input_stores_nothing(world: World) -> None:
    c = world.client
    r = c.post(
        "/api/v1/datasets/lights/assets",
        json=[
            {"id": "A1", "lon": 7.2, "lat": 43.7},
            {"id": "A2", "lon": 700, "lat": 43.7},
            {"id": "A3", "lon": 7.2},
        ],
        headers=world.operator,
    )
    assert r.status_code == 422
    rows = {e["row"] for e in r.json()["errors"]}
    assert rows == {2, 3}
    ids = [a["id"] for a in c.get("/api/v1/datasets/lights/assets", headers=world.operator).json()]
    assert "A1" not in ids
    r = c.post("/api/v1/datasets/lights/assets", json=[{"id": "D"}, {"id": "D"}], headers=world.operator)
    assert r.status_code == 422 and "repeated" in r.json()["detail"]


def test_schema_changes_are_versioned_and_keep_stored_data(world: World) -> None:
    from sqlalchemy import select

    from territoria.catalog.models import SchemaVersion

    c = world.client
    url = "/api/v1/datasets/lights/measurements"
    body = [{"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 300}]
    assert c.post(url, json=body, headers=world.operator).json()["accepted"] == 1
    patch = {"metrics": [{"name": "power", "unit": "W", "min": 0, "max": 200, "max_rate_per_h": 50}]}
    r = c.patch("/api/v1/datasets/lights", json=patch, headers=world.operator)
    assert r.status_code == 200 and r.json()["schema_version"] == 2
    assert r.json()["metrics"][0]["max_rate_per_h"] == 50
    # The stored 300 W stays; a new 300 W is now out of range.
    assert c.get(f"{url}?asset=L000", headers=world.operator).json()["count"] == 1
    again = [{**body[0], "ts": "2026-11-01T00:15:00Z"}]
    assert c.post(url, json=again, headers=world.operator).json()["errors"][0]["code"] == "RANGE"
    with world.ctx.session() as s:
        versions = s.scalars(select(SchemaVersion.version).order_by(SchemaVersion.version)).all()
    assert versions == [1, 2]
    r = c.patch("/api/v1/datasets/lights", json={"schema": {"fields": []}}, headers=world.operator)
    assert r.status_code == 422
