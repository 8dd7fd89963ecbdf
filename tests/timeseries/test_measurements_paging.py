"""The measurements API pages past its default 10,000 points like every list of the platform.

RFC 8288 (Web Linking), section 3: the next page is announced as `Link: <URI-Reference>; rel="next"`;
the answer's `next` field holds the same URL and `cursor` its opaque key, and the last page has neither.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import World

T0 = datetime(2026, 6, 1, tzinfo=UTC)
Q = "/api/v1/datasets/lights/measurements"
ASSETS, HOURS = 3, 3_340  # 10,020 points: just past the default page of 10,000


def _load(world: World) -> None:
    for a in range(ASSETS):
        body = [
            {
                "asset": f"L{a:03d}",
                "metric": "power",
                "ts": (T0 + timedelta(hours=h)).isoformat(),
                "value": h % 400,
            }
            for h in range(HOURS)
        ]
        r = world.client.post(Q, json=body, headers=world.operator)
        assert r.status_code == 200 and r.json()["rejected"] == 0, r.text


def test_the_default_page_stops_at_10000_points_with_a_cursor_a_next_link_and_a_link_header(
    world: World,
) -> None:
    _load(world)
    r = world.client.get(Q, headers=world.operator)
    assert r.status_code == 200, r.text
    first: dict[str, Any] = r.json()
    # The fields callers already read are kept: count, truncated, data.
    assert first["count"] == 10_000 and first["truncated"] is True and len(first["data"]) == 10_000
    assert (
        first["cursor"] and first["next"].startswith(Q + "?") and f"cursor={first['cursor']}" in first["next"]
    )
    assert r.headers["link"] == f'<{first["next"]}>; rel="next"'  # RFC 8288, section 3
    r2 = world.client.get(first["next"], headers=world.operator)
    second: dict[str, Any] = r2.json()
    assert second["count"] == ASSETS * HOURS - 10_000 and second["truncated"] is False
    assert second["next"] is None and second["cursor"] is None and "link" not in r2.headers
    seen = {(p["asset"], p["ts"]) for p in first["data"] + second["data"]}
    assert len(seen) == ASSETS * HOURS  # every point once, none twice


def test_the_next_link_keeps_the_query_and_a_foreign_cursor_is_refused(world: World) -> None:
    _load(world)
    r = world.client.get(f"{Q}?asset=L001&metric=power&limit=3000", headers=world.operator)
    body = r.json()
    assert body["count"] == 3000 and "asset=L001" in body["next"] and "limit=3000" in body["next"]
    rest = world.client.get(body["next"], headers=world.operator).json()
    assert rest["count"] == HOURS - 3000 and {p["asset"] for p in rest["data"]} == {"L001"}
    bad = world.client.get(f"{Q}?cursor=not-a-cursor", headers=world.operator)
    assert bad.status_code == 422
