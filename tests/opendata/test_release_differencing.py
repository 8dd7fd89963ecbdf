"""Disclosure control across releases: v2 − v1 of a cell never shows fewer than k contributors.

The scenario of issue 13: a late meter's readings arrive after v1; each release passes k = 10 alone,
but v2 − v1 of its residential cell gave +1 contributor and that meter's energy, and the change log
named the cell. (In this small world the Nice residential cells are complementary secrets already,
so the late meter is in Cannes, whose residential cells v1 publishes.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.conftest import World
from tests.opendata.energy_world import CANNES, DAY0, DAYS, NOW, PLACES, add_meters

from territoria.catalog.schemas import AssetIn
from territoria.catalog.service import get_dataset, upsert_assets
from territoria.ingest.batches import Origin
from territoria.ingest.service import ingest_measurements
from territoria.opendata.disclosure_history import contributions_path
from territoria.opendata.models import Release
from territoria.opendata.pages_view import check_title
from territoria.opendata.policies import set_policy
from territoria.opendata.service import publish

LATE_KW = 2.068750  # 2.06875 kW × 12 half-hours = 24.825 kWh over the three days


def _publish(world: World, policy: dict[str, Any] | None = None) -> Release:
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "meters")
        if policy is not None:
            set_policy(s, ds, policy, None)
        outcome = publish(s, world.ctx.settings, ds, None, now=NOW)
        assert outcome.published, outcome.release.report
        s.expunge(outcome.release)
        return outcome.release


def _late_meter(world: World, ext: str = "LATE", kw: float = LATE_KW, commune: str = CANNES) -> None:
    """A residential meter whose readings of the published days arrive only now."""
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "meters")
        lon, lat = PLACES[commune]
        upsert_assets(
            s,
            ds,
            [AssetIn(id=ext, kind="meter", lon=lon + 0.0031, lat=lat, properties={"segment": "residential"})],
            world.ctx.locator(),
        )
        rows = [
            (
                i,
                {
                    "asset": ext,
                    "metric": "active_power",
                    "ts": (DAY0 + timedelta(hours=6 * i)).isoformat(),
                    "value": kw,
                },
            )
            for i in range(DAYS * 4)
        ]
        result = ingest_measurements(s, ds, rows, Origin(source="file"), checksum=ext, future_tolerance_s=300)
        assert result.rejected == 0


def _cells(world: World, release: Release) -> dict[tuple[Any, ...], dict[str, Any]]:
    table = pq.read_table(world.ctx.settings.releases_root() / release.path).to_pylist()
    return {(r["total"], r["area_code"], r["period"], r["segment"]): r for r in table}


def test_a_late_meter_cannot_be_read_by_differencing_two_releases(world: World) -> None:
    add_meters(world)
    v1 = _publish(world, {"preset": "fr-energy-by-commune"})
    _late_meter(world)
    v2 = _publish(world)
    one, two = _cells(world, v1), _cells(world, v2)
    cannes_residential = [key for key in one if key[0] == "" and key[1] == CANNES and key[3] == "residential"]
    assert cannes_residential and all(
        not one[key]["secret"] for key in cannes_residential
    )  # v1 published them
    for key, before in one.items():
        after = two[key]
        if before["secret"] or after["secret"]:
            continue
        moved = after["contributors"] - before["contributors"]
        # Published in both: the same figures, or a change of at least k contributors.
        assert moved == 0 or abs(moved) >= 10, (key, before, after)
        if moved == 0:
            assert after["energy_kwh_sum"] == pytest.approx(before["energy_kwh_sum"]), key
    assert all(two[key]["secret"] for key in cannes_residential)  # the late meter's cells are withheld
    assert all(two[key]["contributors"] is None for key in cannes_residential)  # null, never a stale value
    report = v2.report
    assert report["passed"] and report["suppressed"]["differencing"] >= len(cannes_residential)
    check = next(c for c in report["checks"] if c["code"] == "RELEASE_DIFFERENCES")
    assert check["passed"] and check["compared_with"] == [1]
    # The stored report names the title's catalog key; each reader reads it in its language.
    assert check_title(check, "fr").startswith("Aucune différence")
    assert check_title(check, "en").startswith("No difference")
    # The change log names no cell whose change is withheld (the late meter's residential cells and
    # totals); the Cannes total, secret in v1, may appear: it is published now and v1 gave no value.
    assert v2.changelog["examples"]["changed"]
    assert not [key for key in v2.changelog["examples"]["changed"] if "residential" in key]
    assert contributions_path(world.ctx.settings.releases_root() / v2.path).exists()


def test_a_change_of_k_contributors_is_published_and_secrets_stay_secret(world: World) -> None:
    add_meters(world)
    v1 = _publish(world, {"preset": "fr-energy-by-commune"})
    for i in range(10):  # ten late meters: a change of k contributors may be published
        _late_meter(world, f"LATE{i}", kw=1.0 + i / 10)
    v2 = _publish(world)
    v3 = _publish(world)  # nothing changed since v2
    one, two, three = _cells(world, v1), _cells(world, v2), _cells(world, v3)
    day = next(key for key in one if key[0] == "" and key[1] == CANNES and key[3] == "residential")
    assert not two[day]["secret"] and two[day]["contributors"] == one[day]["contributors"] + 10
    for key, before in one.items():
        if before["secret"]:  # a secret of v1 is never published unchanged later
            assert two[key]["secret"] or two[key]["contributors"] != before.get("contributors"), key
    assert {k: r["secret"] for k, r in three.items()} == {k: r["secret"] for k, r in two.items()}
    check = next(c for c in v3.report["checks"] if c["code"] == "RELEASE_DIFFERENCES")
    assert check["passed"] and check["compared_with"] == [1, 2]
