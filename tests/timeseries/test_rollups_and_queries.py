"""Rollups kept in the ingest transaction equal the raw data; queries at hour+ read rollups."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from tests.conftest import World

T0 = datetime(2026, 10, 30, 20, tzinfo=UTC)  # spans a month boundary


def test_rollups_match_raw_over_several_batches(world: World) -> None:
    rng = random.Random(7)
    points = [
        (f"L{a:03d}", T0 + timedelta(minutes=10 * k), round(rng.uniform(0, 400), 3))
        for a in range(3)
        for k in range(600)
    ]
    rng.shuffle(points)
    body = [{"asset": a, "metric": "power", "ts": t.isoformat(), "value": v} for a, t, v in points]
    for i in range(0, len(body), 700):  # several batches, out of order, with overlap
        r = world.client.post(
            "/api/v1/datasets/lights/measurements", json=body[i : i + 900], headers=world.operator
        )
        assert r.status_code == 200 and r.json()["rejected"] == 0
    by_day: dict[tuple[str, datetime], list[tuple[datetime, float]]] = defaultdict(list)
    for a, t, v in points:
        by_day[(a, t.replace(hour=0, minute=0))].append((t, v))
    for agg in ("avg", "sum", "min", "max", "count", "last"):
        r = world.client.get(
            f"/api/v1/datasets/lights/measurements?resolution=day&agg={agg}&metric=power",
            headers=world.operator,
        )
        got = {(p["asset"], datetime.fromisoformat(p["ts"])): p["value"] for p in r.json()["data"]}
        assert r.json()["source"] == "rollup_day"
        assert len(got) == len(by_day)
        for key, vals in by_day.items():
            values = [v for _, v in vals]
            expected = {
                "avg": sum(values) / len(values),
                "sum": sum(values),
                "min": min(values),
                "max": max(values),
                "count": len(values),
                "last": max(vals)[1],
            }[agg]
            assert abs(got[key] - expected) < 1e-6, (agg, key)
    r = world.client.get(
        "/api/v1/datasets/lights/measurements?resolution=month&agg=count&asset=L000", headers=world.operator
    )
    months = {p["ts"][:7]: p["value"] for p in r.json()["data"]}
    assert months == {"2026-10": 28 * 6, "2026-11": 600 - 28 * 6}  # 30 Oct 20:00 to 1 Nov: 28 h
    r = world.client.get(
        "/api/v1/datasets/lights/measurements?resolution=hour&agg=count&asset=L001"
        "&start=2026-10-31T00:00:00Z&end=2026-10-31T03:00:00Z",
        headers=world.operator,
    )
    assert [p["value"] for p in r.json()["data"]] == [6, 6, 6]


def test_raw_query_filters_and_bounds(world: World) -> None:
    body = [
        {"asset": f"L{a:03d}", "metric": m, "ts": (T0 + timedelta(hours=h)).isoformat(), "value": 1.0}
        for a in range(4)
        for m in ("power", "on")
        for h in range(10)
    ]
    world.client.post("/api/v1/datasets/lights/measurements", json=body, headers=world.operator)
    c = world.client
    q = "/api/v1/datasets/lights/measurements"
    assert c.get(f"{q}?asset=L000,L001&metric=on", headers=world.operator).json()["count"] == 20
    assert c.get(f"{q}?area=06088", headers=world.operator).json()["count"] == 80
    assert c.get(f"{q}?area=06029", headers=world.operator).json()["count"] == 0
    r = c.get(f"{q}?limit=5", headers=world.operator).json()
    assert r["count"] == 5 and r["truncated"]
    assert c.get(f"{q}?start=2026-10-30T25:00", headers=world.operator).status_code == 422
    assert c.get(f"{q}?start=2026-11-02&end=2026-11-01", headers=world.operator).status_code == 422
    assert c.get(f"{q}?resolution=week", headers=world.operator).status_code == 422
    assert c.get(f"{q}?limit=0", headers=world.operator).status_code == 422
    assert c.get(q, headers=world.other).status_code == 404
