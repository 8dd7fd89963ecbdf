"""KPI engine: hand-computed values on a small fixture, levels, periods, normalisation, cache, access."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from tests.conftest import World

from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.engine import Scope
from territoria.analytics.service import compute, default_scope
from territoria.catalog.schemas import AssetIn
from territoria.catalog.service import get_dataset, upsert_assets
from territoria.ingest.batches import Origin
from territoria.ingest.service import ingest_measurements
from territoria.territory.models import Area

NICE, CANNES = "06088", "06029"
POINTS = [
    ("L000", "2026-10-01T00:00:00Z", 100.0),
    ("L000", "2026-10-01T00:15:00Z", 200.0),
    ("L000", "2026-10-02T00:00:00Z", 300.0),
    ("L001", "2026-10-01T00:00:00Z", 0.0),
    ("C1", "2026-10-15T12:00:00Z", 50.0),
    ("C1", "2026-11-03T12:00:00Z", 70.0),
]
OCT_NOV = Scope("commune", "month", date(2026, 10, 1), date(2026, 12, 1))


def kpi(aggregation: str, **extra: object) -> KpiDefinition:
    """A KPI on the lights' power."""
    body: dict[str, object] = {
        "code": f"k_{aggregation}",
        "title": {"fr": "k", "en": "k"},
        "description": {"fr": "k", "en": "k"},
        "dataset": "lights",
        "metric": "power",
        "aggregation": aggregation,
        **extra,
    }
    return KpiDefinition.model_validate(body)


@pytest.fixture
def lit(world: World) -> World:
    """The world with a light in Cannes and the six readings above."""
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "lights")
        upsert_assets(s, ds, [AssetIn(id="C1", kind="light", lon=7.0128, lat=43.5513)], world.ctx.locator())
        rows = [
            (i, {"asset": a, "metric": "power", "ts": ts, "value": v}) for i, (a, ts, v) in enumerate(POINTS)
        ]
        result = ingest_measurements(s, ds, rows, Origin(source="file"), checksum="k", future_tolerance_s=300)
        assert result.rejected == 0, result.errors
    return world


def values(
    world: World, definition: KpiDefinition, scope: Scope = OCT_NOV
) -> dict[tuple[str, str], float | None]:
    """(area, period) → value."""
    with world.ctx.session() as s:
        return {(r.area_code, r.period.isoformat()[:7]): r.value for r in compute(s, definition, scope)}


def test_sum_avg_min_max_count_per_commune_and_month(lit: World) -> None:
    assert values(lit, kpi("sum")) == {
        (NICE, "2026-10"): 600.0,
        (CANNES, "2026-10"): 50.0,
        (CANNES, "2026-11"): 70.0,
    }
    assert values(lit, kpi("avg"))[(NICE, "2026-10")] == 150.0  # (100 + 200 + 300 + 0) / 4
    assert values(lit, kpi("min"))[(NICE, "2026-10")] == 0.0
    assert values(lit, kpi("max"))[(NICE, "2026-10")] == 300.0
    assert values(lit, kpi("count"))[(NICE, "2026-10")] == 4.0


def test_time_weighted_share_and_distinct(lit: World) -> None:
    # Daily means: L000 on 1 Oct (100 + 200) / 2 = 150, L000 on 2 Oct 300, L001 on 1 Oct 0 → 450 / 3.
    assert values(lit, kpi("twa"))[(NICE, "2026-10")] == 150.0
    share = kpi("share", condition={"of": "max", "op": "<", "value": 1})
    assert values(lit, share)[(NICE, "2026-10")] == 50.0  # L001 never lit, L000 did
    assert values(lit, share)[(CANNES, "2026-10")] == 0.0
    assert values(lit, kpi("distinct", metric=None))[(NICE, "2026-10")] == 2.0


def test_territory_level_and_normalisation(lit: World) -> None:
    territory = Scope("territory", "month", date(2026, 10, 1), date(2026, 12, 1))
    assert values(lit, kpi("sum"), territory)[("territory", "2026-10")] == 650.0
    assert values(lit, kpi("avg"), territory)[("territory", "2026-10")] == 130.0  # 650 / 5 readings
    share = kpi("share", condition={"of": "max", "op": "<", "value": 1})
    assert values(lit, share, territory)[("territory", "2026-10")] == pytest.approx(100 / 3)
    with lit.ctx.session() as s:
        nice = s.scalar(select(Area.population).where(Area.code == NICE))
        cannes_km2 = s.scalar(select(Area.area_km2).where(Area.code == CANNES))
    assert nice and cannes_km2
    per_1000 = values(lit, kpi("sum", scale=0.001, normalise="per_1000"))
    assert per_1000[(NICE, "2026-10")] == pytest.approx(600 * 0.001 * 1000 / nice)
    per_km2 = values(lit, kpi("sum", normalise="per_km2"))
    assert per_km2[(CANNES, "2026-11")] == pytest.approx(70 / cannes_km2)


def test_weeks_days_and_years(lit: World) -> None:
    weeks = Scope("commune", "week", date(2026, 9, 28), date(2026, 10, 12))
    with lit.ctx.session() as s:
        rows = {(r.area_code, r.period): r.value for r in compute(s, kpi("sum"), weeks)}
    assert rows == {(NICE, date(2026, 9, 28)): 600.0}  # 1 and 2 Oct 2026 are in the week of Mon 28 Sep
    days = Scope("commune", "day", date(2026, 10, 1), date(2026, 10, 3))
    with lit.ctx.session() as s:
        rows = {(r.area_code, r.period): r.value for r in compute(s, kpi("sum"), days)}
    assert rows == {(NICE, date(2026, 10, 1)): 300.0, (NICE, date(2026, 10, 2)): 300.0}
    year = Scope("territory", "year", date(2026, 1, 1), date(2027, 1, 1))
    with lit.ctx.session() as s:
        assert [r.value for r in compute(s, kpi("sum"), year)] == [720.0]


def test_filters_on_asset_properties(lit: World) -> None:
    with lit.ctx.session(write=True) as s:
        ds = get_dataset(s, "lights")
        upsert_assets(
            s,
            ds,
            [AssetIn(id="L000", kind="light", lon=7.27, lat=43.698, properties={"led": True})],
            lit.ctx.locator(),
        )
    assert values(lit, kpi("count", filter={"led": True})) == {(NICE, "2026-10"): 3.0}  # L000 only


def test_default_scope_aligns_on_periods() -> None:
    scope = default_scope("month", date(2026, 3, 15), date(2026, 6, 2), "commune")
    assert (scope.start, scope.end) == (date(2026, 3, 1), date(2026, 7, 1))
    assert default_scope("year", None, date(2026, 1, 1), "territory").start == date(2021, 1, 1)
