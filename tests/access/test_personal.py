"""Personal data: pseudonymised for everyone but the owner on every read path, agreement field limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import World

from territoria.access.agreement_models import Agreement
from territoria.access.personal import View, key_in_clear, mask_asset, mask_record, pseudonym
from territoria.catalog.service import get_dataset, get_organisation

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T0 = NOW - timedelta(days=2)

METERS = {
    "slug": "meters",
    "title": "Smart meters",
    "domain": "electricity",
    "kind": "timeseries",
    "access": "private",
    "metrics": [{"name": "power", "unit": "W"}, {"name": "energy", "unit": "kWh"}],
    "personal_fields": ["asset", "asset.name", "asset.location", "asset.properties.contract"],
    "retention_days": 365,
}
METER_ASSETS = [
    {
        "id": "PDL-CLEAR-0001",
        "kind": "meter",
        "name": "Jean Dupont",
        "lon": 7.27013,
        "lat": 43.69871,
        "properties": {"contract": "CT-998877", "tariff": "base"},
    },
    {
        "id": "PDL-CLEAR-0002",
        "kind": "meter",
        "name": "Marie Curie",
        "lon": 7.26411,
        "lat": 43.70123,
        "properties": {"contract": "CT-554433", "tariff": "peak"},
    },
]
RESIDENTS_SCHEMA = {
    "fields": [
        {"name": "email", "type": "string"},
        {"name": "holder", "type": "string", "personal": True},
        {"name": "commune", "type": "string"},
        {"name": "kwh", "type": "number"},
    ],
    "primaryKey": ["email"],
}
RESIDENTS = {
    "slug": "residents",
    "title": "Subscribers",
    "domain": "electricity",
    "kind": "records",
    "access": "private",
    "schema": RESIDENTS_SCHEMA,
    "personal_fields": ["email"],
}
ROWS = [
    {"email": "alice@example.org", "holder": "Alice Martin", "commune": "Nice", "kwh": 120.5},
    {"email": "bob@example.org", "holder": "Robert Durand", "commune": "Antibes", "kwh": 80},
    {"email": "carol@example.org", "holder": "Carole Petit", "commune": "Grasse", "kwh": 42},
]
CLEAR = [
    "PDL-CLEAR-0001",
    "PDL-CLEAR-0002",
    "Jean Dupont",
    "Marie Curie",
    "CT-998877",
    "CT-554433",
    "7.27013",
    "43.69871",
    "7.26411",
    "alice@example.org",
    "bob@example.org",
    "carol@example.org",
    "Alice Martin",
    "Robert Durand",
    "Carole Petit",
]
PATHS = [
    "/api/v1/datasets/meters",
    "/api/v1/datasets/meters/assets",
    "/datasets/meters/assets.geojson",
    "/api/v1/datasets/meters/measurements",
    "/api/v1/datasets/meters/measurements?resolution=hour&agg=sum",
    "/api/v1/datasets/meters/measurements?resolution=day",
    "/api/v1/datasets/meters/measurements?resolution=month",
    "/api/v1/datasets/meters/quality",
    "/datasets/meters",
    "/api/v1/datasets/residents",
    "/api/v1/datasets/residents/records",
    "/api/v1/datasets/residents/quality",
    "/datasets/residents",
    "/api/v1/datasets",
    "/",
    "/map",
    "/quality",
    "/api/v1/quality",
]
PZ = re.compile(r"^pz_[0-9a-f]{20}$")


def agree(world: World, slug: str, org: str, fields: list[str] | None) -> None:
    """A live agreement sharing `slug` with `org` (inserted directly: the agreements API is elsewhere)."""
    with world.ctx.session(write=True) as s:
        s.add(
            Agreement(
                dataset_id=get_dataset(s, slug).id,
                organisation_id=get_organisation(s, org).id,
                purpose="energy poverty study",
                fields=fields,
                starts_at=NOW - timedelta(days=1),
                expires_at=NOW + timedelta(days=30),
            )
        )


@pytest.fixture
def shared(world: World) -> World:
    """Meters and subscribers of lightco, shared with waterco (energy only; no holder name)."""
    c, op = world.client, world.operator
    for body in (METERS, RESIDENTS):
        r = c.post("/api/v1/datasets", json=body, headers=op)
        assert r.status_code == 201, r.text
    assert c.post("/api/v1/datasets/meters/assets", json=METER_ASSETS, headers=op).status_code == 200
    points = [
        {"asset": a["id"], "metric": m, "ts": (T0 + timedelta(minutes=15 * k)).isoformat(), "value": 1.0 + k}
        for a in METER_ASSETS
        for m in ("power", "energy")
        for k in range(8)
    ]
    r = c.post("/api/v1/datasets/meters/measurements", json=points, headers=op)
    assert r.json()["accepted"] == len(points), r.text
    r = c.post("/api/v1/datasets/residents/records", json=ROWS, headers=op)
    assert r.json()["accepted"] == 3, r.text
    agree(world, "meters", "waterco", ["energy"])
    agree(world, "residents", "waterco", ["email", "commune", "kwh"])
    return world


def bodies(world: World, headers: dict[str, str]) -> dict[str, str]:
    """Every read path's answer, which must all succeed."""
    out = {}
    for path in PATHS:
        r = world.client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        out[path] = r.text
    return out


def leaks(texts: dict[str, str]) -> list[tuple[str, str]]:
    """(path, clear value) for every clear personal value found in an answer."""
    return [(path, value) for path, text in texts.items() for value in CLEAR if value in text]


def test_owner_sees_clear_values(shared: World) -> None:
    texts = bodies(shared, shared.operator)
    everything = "".join(texts.values())
    assert all(value in everything for value in CLEAR)
    ds = shared.client.get("/api/v1/datasets/residents", headers=shared.operator).json()
    assert ds["personal_fields"] == ["email", "holder"]  # declared, and marked in the schema
    meters = shared.client.get("/api/v1/datasets/meters", headers=shared.operator).json()
    assert meters["retention_days"] == 365 and "asset" in meters["personal_fields"]
    page = texts["/datasets/meters"]
    assert "(W)</title>" in page  # the owner's chart shows the first metric


def test_recipient_never_sees_a_clear_personal_value(shared: World) -> None:
    texts = bodies(shared, shared.other)
    assert leaks(texts) == []
    assets = shared.client.get("/api/v1/datasets/meters/assets", headers=shared.other).json()
    assert all(PZ.match(a["id"]) and PZ.match(a["name"]) for a in assets)
    assert all(a["lon"] is None and a["lat"] is None and a["area_code"] == "06088" for a in assets)
    assert all(PZ.match(a["properties"]["contract"]) for a in assets)
    assert {a["properties"]["tariff"] for a in assets} == {"base", "peak"}  # not personal: in clear
    geo = shared.client.get("/datasets/meters/assets.geojson", headers=shared.other).json()
    assert {f["id"] for f in geo["features"]} == {a["id"] for a in assets}
    assert all(f["geometry"] is None and f["properties"]["commune"] for f in geo["features"])
    # The chart shows the first metric the agreement includes.
    page = texts["/datasets/meters"]
    assert "(kWh)</title>" in page and "(W)</title>" not in page


def test_agreement_fields_limit_metrics_and_fields(shared: World) -> None:
    c, other = shared.client, shared.other
    for query in ("metric=power", "metric=energy,power", "metric=power&resolution=day"):
        r = c.get(f"/api/v1/datasets/meters/measurements?{query}", headers=other)
        assert r.status_code == 403 and "power" in r.json()["detail"], r.text
    r = c.get("/api/v1/datasets/meters/measurements", headers=other)
    assert {p["metric"] for p in r.json()["data"]} == {"energy"} and r.json()["count"] == 16
    r = c.get("/api/v1/datasets/meters/measurements?metric=energy&resolution=hour", headers=other)
    assert r.status_code == 200 and {p["metric"] for p in r.json()["data"]} == {"energy"}
    records = c.get("/api/v1/datasets/residents/records", headers=other).json()["records"]
    assert len(records) == 3
    for rec in records:
        assert set(rec["data"]) == {"email", "commune", "kwh"}  # no holder at all
        assert PZ.match(rec["data"]["email"]) and rec["key"] == rec["data"]["email"]
    assert sorted(r["data"]["commune"] for r in records) == ["Antibes", "Grasse", "Nice"]
    # The owner's own view is complete.
    owner = c.get("/api/v1/datasets/residents/records", headers=shared.operator).json()["records"]
    assert [r["key"] for r in owner] == sorted(row["email"] for row in ROWS)
    assert owner[0]["data"]["holder"] == "Alice Martin"
    # Without an agreement, nothing is readable.
    assert c.get("/api/v1/datasets/meters/measurements", headers=shared.admin).status_code == 404
    assert c.get("/api/v1/datasets/residents/records").status_code == 404


def test_pseudonyms_are_stable_and_filterable(shared: World) -> None:
    c, other = shared.client, shared.other
    first = c.get("/api/v1/datasets/meters/assets", headers=other).json()
    again = c.get("/api/v1/datasets/meters/assets", headers=other).json()
    assert first == again
    ids = {a["id"] for a in first}
    points = c.get("/api/v1/datasets/meters/measurements", headers=other).json()["data"]
    assert {p["asset"] for p in points} == ids
    one = sorted(ids)[0]
    r = c.get(f"/api/v1/datasets/meters/measurements?asset={one}", headers=other).json()
    assert r["count"] == 8 and {p["asset"] for p in r["data"]} == {one}
    # A clear id a recipient should not know matches nothing (no confirmation of who is who).
    r = c.get("/api/v1/datasets/meters/measurements?asset=PDL-CLEAR-0001", headers=other).json()
    assert r["count"] == 0
    r = c.get("/api/v1/datasets/meters/measurements?asset=PDL-CLEAR-0001", headers=shared.operator)
    assert r.json()["count"] == 16
    secret = shared.ctx.settings.secret_key
    assert pseudonym(secret, "meters", "asset", "PDL-CLEAR-0001") in ids
    records = c.get("/api/v1/datasets/residents/records", headers=other).json()["records"]
    assert pseudonym(secret, "residents", "email", "alice@example.org") in {r["key"] for r in records}


def test_pseudonym_function() -> None:
    p = pseudonym("k1", "meters", "asset", "PDL-1")
    assert PZ.match(p) and p == pseudonym("k1", "meters", "asset", "PDL-1")
    assert p != pseudonym("k2", "meters", "asset", "PDL-1")  # keyed
    assert p != pseudonym("k1", "meters2", "asset", "PDL-1")  # not linkable across datasets
    assert p != pseudonym("k1", "meters", "asset.name", "PDL-1")  # nor across fields
    assert pseudonym("k1", "d", "n", 42) == pseudonym("k1", "d", "n", "42")  # keys are text


def test_masking_helpers() -> None:
    hidden = View("d", clear=False, personal=frozenset({"email", "asset"}), fields=None, secret_key="k")
    clear = View("d", clear=True, personal=frozenset({"email"}), fields=None, secret_key="k")
    shown = mask_asset(hidden, "M1", "Name", 7.0, 43.0, {"x": 1})
    assert PZ.match(shown.id) and shown.name == "Name" and shown.lon == 7.0 and shown.properties == {"x": 1}
    assert mask_asset(clear, "M1", "Name", 7.0, 43.0, None).id == "M1"
    key, data = mask_record(hidden, "k1", {"email": "a@b.c", "n": None, "old": 1}, ["id"], ["email", "n"])
    assert key == "k1" and PZ.match(data["email"]) and data["n"] is None and "old" not in data
    assert mask_record(clear, "k1", {"email": "a@b.c", "old": 1}, ["id"], ["email"])[1]["old"] == 1
    # Without a primary key the key digests the whole row: pseudonymised when the dataset is personal.
    assert not key_in_clear(hidden, [])
    assert key_in_clear(View("d", clear=False, personal=frozenset(), fields=None), [])
    limited = View("d", clear=False, personal=frozenset(), fields=frozenset({"n"}), secret_key="k")
    assert not key_in_clear(limited, ["id"])  # a key made of a field left out of the agreement


def test_records_paging_for_owner_and_recipient(shared: World) -> None:
    c = shared.client
    for headers in (shared.operator, shared.other):
        seen: list[str] = []
        after = None
        for _ in range(5):
            url = "/api/v1/datasets/residents/records?limit=1" + (f"&after={after}" if after else "")
            page = c.get(url, headers=headers).json()
            seen += [r["key"] for r in page["records"]]
            after = page["next"]
            if after is None:
                break
        assert len(seen) == len(set(seen)) == 3
        if headers is shared.other:
            assert all(PZ.match(k) for k in seen)
    r = c.get("/api/v1/datasets/residents/records?after=alice@example.org", headers=shared.other)
    assert r.status_code == 422  # a recipient pages with the opaque cursor it was given
    r = c.get("/api/v1/datasets/residents/records?area=06088", headers=shared.operator)
    assert r.status_code == 200
    assert c.get("/api/v1/datasets/meters/records", headers=shared.operator).status_code == 422
    assert c.get("/api/v1/datasets/residents/records?limit=10001", headers=shared.operator).status_code == 422


def test_anonymous_on_open_datasets_sees_pseudonyms_only(shared: World) -> None:
    for slug in ("meters", "residents"):
        r = shared.client.patch(f"/api/v1/datasets/{slug}", json={"access": "open"}, headers=shared.operator)
        assert r.status_code == 200, r.text
    texts = bodies(shared, {})
    assert leaks(texts) == []
    # Open: every metric and field is readable, personal ones as pseudonyms.
    r = shared.client.get("/api/v1/datasets/meters/measurements?metric=power").json()
    assert r["count"] == 16 and all(PZ.match(p["asset"]) for p in r["data"])
    records = shared.client.get("/api/v1/datasets/residents/records").json()["records"]
    assert all(PZ.match(r["data"]["holder"]) and PZ.match(r["data"]["email"]) for r in records)


def test_declarations_are_checked(world: World) -> None:
    c, op = world.client, world.operator

    def create(**changes: object) -> tuple[int, str]:
        body = {**RESIDENTS, "slug": "x", **changes}
        r = c.post("/api/v1/datasets", json=body, headers=op)
        return r.status_code, r.text

    status, text = create(personal_fields=["phone"])
    assert status == 422 and "phone" in text and "Table Schema" in text
    status, text = create(personal_fields=["email"], schema=None)
    assert status == 422 and "Table Schema" in text
    bad = {**RESIDENTS_SCHEMA, "fields": [{"name": "email", "personal": "yes"}]}
    assert create(schema=bad, personal_fields=[])[0] == 422
    assert create(retention_days=0)[0] == 422
    assert create(retention_days=36_501)[0] == 422
    assert create(retention_days=True)[0] == 422  # strict: no booleans as numbers
    meters = {**METERS, "slug": "y", "personal_fields": ["asset.colour"]}
    r = c.post("/api/v1/datasets", json=meters, headers=op)
    assert r.status_code == 422 and "asset.properties.<key>" in r.text
    meters["personal_fields"] = ["asset.properties."]
    assert c.post("/api/v1/datasets", json=meters, headers=op).status_code == 422
    meters["personal_fields"] = ["asset.properties.pdl", "asset"]
    r = c.post("/api/v1/datasets", json=meters, headers=op)
    assert r.status_code == 201 and r.json()["personal_fields"] == ["asset", "asset.properties.pdl"]


def test_declarations_can_be_updated(world: World) -> None:
    c, op = world.client, world.operator
    assert c.post("/api/v1/datasets", json=RESIDENTS, headers=op).status_code == 201
    r = c.patch("/api/v1/datasets/residents", json={"personal_fields": ["nope"]}, headers=op)
    assert r.status_code == 422 and "nope" in r.text
    r = c.patch("/api/v1/datasets/residents", json={"retention_days": 90}, headers=op)
    assert r.json()["retention_days"] == 90 and r.json()["personal_fields"] == ["email", "holder"]
    fields = [*RESIDENTS_SCHEMA["fields"], {"name": "phone", "type": "string", "personal": True}]
    r = c.patch(
        "/api/v1/datasets/residents", json={"schema": {**RESIDENTS_SCHEMA, "fields": fields}}, headers=op
    )
    assert r.status_code == 200 and r.json()["personal_fields"] == ["email", "holder", "phone"]
    r = c.patch(
        "/api/v1/datasets/residents", json={"personal_fields": [], "retention_days": None}, headers=op
    )
    # The schema's own marks stay; the explicit list replaced the declared one.
    assert r.json()["personal_fields"] == ["holder", "phone"] and r.json()["retention_days"] is None
    # Only the owner's managers change declarations.
    r = c.patch("/api/v1/datasets/residents", json={"personal_fields": []}, headers=world.other)
    assert r.status_code == 404  # another organisation does not even see it
