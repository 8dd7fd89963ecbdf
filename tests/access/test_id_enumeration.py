"""Anonymous callers cannot tell which agreement or contract ids exist: they are asked to log in whether
the id exists or not (issue 13, item 14: the same answer for what exists and what does not)."""

from __future__ import annotations

from tests.analytics.steering_world import steering  # noqa: F401 - fixture
from tests.analytics.test_contracts import contract_body
from tests.conftest import World


def test_anonymous_callers_cannot_tell_which_ids_exist(steering: World) -> None:  # noqa: F811
    c = steering.client
    r = c.post("/api/v1/contracts", json=contract_body(), headers=steering.admin)
    assert r.status_code == 201, r.text
    contract = r.json()["id"]
    [agreement] = [a["id"] for a in c.get("/api/v1/agreements", headers=steering.operator).json()]
    pairs = [
        (f"/api/v1/contracts/{contract}", "/api/v1/contracts/99999"),
        (f"/api/v1/contracts/{contract}/compliance", "/api/v1/contracts/99999/compliance"),
        (f"/contracts/{contract}", "/contracts/99999"),
        (f"/contracts/{contract}/report", "/contracts/99999/report"),
        (f"/api/v1/agreements/{agreement}", "/api/v1/agreements/99999"),
    ]
    for existing, unknown in pairs:
        assert c.get(existing).status_code == c.get(unknown).status_code == 401, existing
    r = c.post(f"/api/v1/agreements/{agreement}/revoke")
    assert r.status_code == c.post("/api/v1/agreements/99999/revoke").status_code == 401
    # parties still see them
    assert c.get(f"/api/v1/contracts/{contract}", headers=steering.operator).status_code == 200
    assert c.get(f"/api/v1/agreements/{agreement}", headers=steering.admin).status_code == 200
