"""An ingest-only token handles the rejected rows of the batches it sent, not those of its organisation's
other feeds; people and tokens that may read the dataset see every batch (issue 13, item 14)."""

from __future__ import annotations

from typing import Any

import orjson
from tests.conftest import World, bearer

from territoria.access.service import create_token
from territoria.catalog.service import get_organisation

Q = "/api/v1/datasets/lights/quarantine"
ROWS: list[Any] = [
    {"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10},
    {"asset": "GHOST", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10},
]


def feed(world: World, headers: dict[str, str], asset: str) -> str:
    """Send one good row and one bad one (unknown `asset`); the batch id."""
    rows = [ROWS[0], {**ROWS[1], "asset": asset}]
    r = world.client.post(
        "/api/v1/datasets/lights/measurements",
        content=orjson.dumps(rows),
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["rejected"] == 1, r.text
    return str(r.json()["batch_id"])


def test_an_ingest_token_sees_only_the_rejections_of_its_own_batches(world: World) -> None:
    with world.ctx.session(write=True) as s:
        lightco = get_organisation(s, "lightco")
        _, mine = create_token(s, lightco, ["ingest"])
        _, theirs = create_token(s, lightco, ["ingest"])
    me, them = bearer(mine), bearer(theirs)
    own_batch = feed(world, me, "GHOST-A")
    other_batch = feed(world, them, "GHOST-B")
    c = world.client

    def raws(headers: dict[str, str]) -> set[str]:
        r = c.get(Q, headers=headers)
        assert r.status_code == 200, r.text
        return {orjson.loads(row["raw"])["asset"] for row in r.json()}

    assert raws(me) == {"GHOST-A"} and raws(them) == {"GHOST-B"}
    assert raws(world.operator) == {"GHOST-A", "GHOST-B"}  # the organisation's admin sees every feed
    assert c.get(Q, headers=me).headers["X-Total-Count"] == "1"
    assert c.get(Q + "/totals", headers=me).json()["total"] == 1
    assert "GHOST-B" not in c.get(Q + ".csv", headers=me).text
    ids = {orjson.loads(r["raw"])["asset"]: r["id"] for r in c.get(Q, headers=world.operator).json()}
    # Acting on another feed's row: as if it did not exist.
    r = c.post(Q + "/discard", json={"ids": [ids["GHOST-B"]], "reason": "x"}, headers=me)
    assert r.status_code == 404
    r = c.post(Q + "/discard", json={"ids": [ids["GHOST-A"]], "reason": "x"}, headers=me)
    assert r.status_code == 200, r.text
    for url in (f"/api/v1/batches/{other_batch}", f"/api/v1/batches/{other_batch}/report"):
        unknown = c.get(url.replace(other_batch, "no-such-batch"), headers=me)
        r = c.get(url, headers=me)
        assert (r.status_code, r.json()["detail"].replace(other_batch, "?")) == (
            unknown.status_code,
            unknown.json()["detail"].replace("no-such-batch", "?"),
        )
        assert c.get(url.replace(other_batch, own_batch), headers=me).status_code == 200
        assert c.get(url, headers=world.operator).status_code == 200
    assert c.get("/api/v1/datasets/lights/report", headers=me).status_code == 403
    assert c.get("/api/v1/datasets/lights/report", headers=world.operator).status_code == 200
