"""Publishing: releases built under the policy, checked cell by cell, immutable, versioned, with a change log."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.conftest import World
from tests.opendata.energy_world import ANTIBES, DAYS, METERS, NICE, NOW, add_meters

from territoria.access.audit_models import AuditEvent
from territoria.catalog.service import get_dataset
from territoria.errors import Invalid, NotFound
from territoria.opendata.policies import set_policy
from territoria.opendata.service import Outcome, publish


def _publish(world: World, policy: dict[str, object] | None = None) -> Outcome:
    """Set the policy (if given) and publish the meters dataset from the console."""
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "meters")
        if policy is not None:
            set_policy(s, ds, policy, None)
        return publish(s, world.ctx.settings, ds, None, now=NOW)


def _expected() -> dict[tuple[str, str], tuple[int, float]]:
    """Per (commune, segment): contributors and kWh per day, by hand."""
    cells: dict[tuple[str, str], tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for commune, segment, count, kw in METERS:
        n, e = cells[(commune, segment)]
        cells[(commune, segment)] = (n + count, e + count * kw * 4 * 0.5)
    return dict(cells)


@pytest.fixture
def metered(world: World) -> World:
    """The world with the meters dataset."""
    add_meters(world)
    return world


def test_energy_release_is_safe_and_matches_hand_computed_cells(metered: World) -> None:
    outcome = _publish(metered, {"preset": "fr-energy-by-commune"})
    release = outcome.release
    assert outcome.published and release.version == 1 and release.report["passed"]
    table = pq.read_table(metered.ctx.settings.releases_root() / release.path).to_pylist()
    detail = {(r["area_code"], r["segment"], r["period"].day): r for r in table if r["total"] == ""}
    assert len(detail) == 5 * DAYS  # five commune × segment cells exist, each day
    expected = _expected()
    for (commune, segment, _day), row in detail.items():
        if row["secret"]:
            assert row["contributors"] is None and row["energy_kwh_sum"] is None  # never 0
        else:
            assert (row["contributors"], row["energy_kwh_sum"]) == pytest.approx(expected[(commune, segment)])
            assert row["contributors"] >= (10 if segment == "residential" else 3)
    assert all(detail[(ANTIBES, "residential", d)]["secret"] for d in (1, 2, 3))  # 3 points < 10
    assert all(detail[(NICE, "tertiary", d)]["secret"] for d in (1, 2, 3))  # one point draws 91 %
    assert any(not r["secret"] for r in detail.values())
    assert release.report["suppressed"]["k"] >= 3 and release.report["suppressed"]["dominance"] >= 3
    assert {r["area_name"] for r in table if r["area_code"]} == {"Nice", "Cannes", "Antibes"}
    assert release.coverage_start == datetime(2026, 10, 1, tzinfo=UTC)
    assert release.changelog["first_release"] is True


def test_republishing_makes_a_new_immutable_version_with_a_change_log(metered: World) -> None:
    first = _publish(metered, {"preset": "fr-energy-by-commune"}).release
    first_file = metered.ctx.settings.releases_root() / first.path
    before = first_file.read_bytes()
    second = _publish(metered, {"preset": "fr-energy-by-commune", "k": 12}).release
    assert second.version == 2 and second.policy_version == 2 and second.path != first.path
    assert first_file.read_bytes() == before
    log = second.changelog
    assert log["first_release"] is False and log["previous_version"] == 1
    assert log["rows_changed"] + log["rows_added"] + log["rows_removed"] >= 0
    assert {"rows_before", "rows_after", "examples"} <= log.keys()
    # The audit head before the release is published with it: a trail cut or rewritten later
    # cannot match it (issue 13, item 5).
    with metered.ctx.session() as s:
        events = s.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id)).all()
    published = [e for e in events if e.id == log["audit_head"]["seq"]]
    assert published and published[0].hash == log["audit_head"]["hash"]
    assert any(e.id > log["audit_head"]["seq"] for e in events)  # the release's own event comes after


def test_publishing_needs_a_policy_and_data_older_than_the_delay(metered: World) -> None:
    with pytest.raises(NotFound, match="no privacy policy"):
        _publish(metered)
    with metered.ctx.session(write=True) as s:
        ds = get_dataset(s, "meters")
        set_policy(s, ds, {"preset": "fr-energy-by-commune", "delay_days": 30}, None)
        with pytest.raises(Invalid, match="nothing to publish"):
            publish(s, metered.ctx.settings, ds, None, now=NOW)


def test_open_per_asset_release_keeps_points(world: World) -> None:
    from tests.analytics.test_engine import POINTS  # noqa: F401 - same lights data shape

    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "lights")
        from territoria.ingest.batches import Origin
        from territoria.ingest.service import ingest_measurements

        rows = [
            (i, {"asset": f"L{i:03d}", "metric": "power", "ts": "2026-10-01T10:00:00Z", "value": 10.0 * i})
            for i in range(5)
        ]
        ingest_measurements(s, ds, rows, Origin(source="file"), checksum="x", future_tolerance_s=300)
        set_policy(s, ds, {"preset": "open-measurements"}, None)
        outcome = publish(s, world.ctx.settings, ds, None, now=NOW)
    release = outcome.release
    assert outcome.published and release.geometry == "point"
    table = pq.read_table(world.ctx.settings.releases_root() / release.path)
    assert {"asset", "lon", "lat", "period", "power", "area_code", "area_name"} <= set(table.column_names)
    assert sorted(table.column("power").to_pylist()) == [0.0, 10.0, 20.0, 30.0, 40.0]


def test_release_api_for_the_owner(metered: World) -> None:
    client = metered.client
    client.put(
        "/api/v1/datasets/meters/privacy-policy",
        json={"preset": "fr-energy-by-commune"},
        headers=metered.operator,
    )
    assert client.post("/api/v1/datasets/meters/releases", headers=metered.other).status_code == 404
    assert client.post("/api/v1/datasets/meters/releases").status_code == 404
    answer = client.post("/api/v1/datasets/meters/releases", headers=metered.operator)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "published" and answer.json()["report"]["passed"] is True
    listed = client.get("/api/v1/datasets/meters/releases", headers=metered.operator).json()
    assert [r["version"] for r in listed] == [1]


def test_location_generalised_to_iris_when_iris_areas_are_loaded(metered: World) -> None:
    from tests.opendata.energy_world import PLACES

    from territoria.territory.models import Area

    lon, lat = PLACES[NICE]
    square = [
        [lon - 0.01, lat - 0.01],
        [lon + 0.01, lat - 0.01],
        [lon + 0.01, lat + 0.01],
        [lon - 0.01, lat + 0.01],
    ]
    with metered.ctx.session(write=True) as s:
        s.add(
            Area(
                code="060880101",
                level="iris",
                name="Nice Centre (test)",
                parent_code=NICE,
                geometry={"type": "Polygon", "coordinates": [[*square, square[0]]]},
                min_lon=lon - 0.01,
                min_lat=lat - 0.01,
                max_lon=lon + 0.01,
                max_lat=lat + 0.01,
            )
        )
    release = _publish(metered, {"preset": "fr-energy-by-commune", "location": {"to": "iris"}}).release
    table = pq.read_table(metered.ctx.settings.releases_root() / release.path).to_pylist()
    codes = {r["area_code"] for r in table if r["area_code"]}
    assert codes == {"060880101"}  # Nice's meters fall in the IRIS; Cannes and Antibes in none
    assert {r["area_name"] for r in table if r["area_code"]} == {"Nice Centre (test)"}
    assert release.report["excluded_outside_territory"] == 19  # the meters of Cannes and Antibes
