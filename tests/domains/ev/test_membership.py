"""Station-membership history, kept as IRVE static files move charge points between stations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from tests.conftest import World
from tests.domains.ev.irve_factory import OPEN_IRVE_DATASET, irve_rows, pdc_id
from tests.domains.ev.test_consolidation import load

from territoria.domains.ev.membership import moves, station_history
from territoria.domains.ev.membership_models import StationMembership
from territoria.domains.ev.samples import to_csv


def age_spans(world: World, when: datetime) -> None:
    """Pretend every span so far was first and last seen at `when`."""
    with world.ctx.session(write=True) as s:
        s.execute(update(StationMembership).values(first_seen=when, last_seen=when))


def test_a_point_moved_to_another_station_keeps_its_old_span(world: World) -> None:
    rows = irve_rows(stations=2, per_station=2)
    load(world, "irve", to_csv(rows))
    age_spans(world, datetime(2026, 1, 1, tzinfo=UTC))
    moved = pdc_id(0, 1)
    rows[1]["id_station_itinerance"] = "FRA68P060001"  # point 1 of station 0 now listed under station 1
    load(world, "irve", to_csv(rows))
    with world.ctx.session() as s:
        spans = station_history(s, "FRA68P060000", [pdc_id(0, 0), moved])
        all_rows = s.scalars(select(StationMembership).order_by(StationMembership.id)).all()
    # 4 points first seen, then one new span for the moved point; the other three were extended
    assert len(all_rows) == 5
    assert sum(r.current for r in all_rows) == 4
    mine = [(sp.id_pdc, sp.id_station, sp.current) for sp in spans]
    assert mine == [
        (pdc_id(0, 0), "FRA68P060000", True),
        (moved, "FRA68P060000", False),
        (moved, "FRA68P060001", True),
    ]
    first_point = spans[0]
    assert first_point.first_seen == datetime(2026, 1, 1, tzinfo=UTC) < first_point.last_seen
    [(before, after)] = moves(spans)
    assert (before.id_station, after.id_station, after.id_pdc) == ("FRA68P060000", "FRA68P060001", moved)
    assert before.last_seen <= after.first_seen


def test_each_source_has_its_own_history(world: World) -> None:
    rows = irve_rows(stations=1, per_station=1)
    load(world, "operator-a", to_csv(rows))
    rows[0]["id_station_itinerance"] = "FRA68P069999"
    load(world, "operator-b", to_csv(rows))
    with world.ctx.session() as s:
        spans = station_history(s, "FRA68P060000", [pdc_id(0, 0)])
    assert {(sp.dataset, sp.id_station, sp.current) for sp in spans} == {
        ("operator-a", "FRA68P060000", True),
        ("operator-b", "FRA68P069999", True),
    }
    assert moves(spans) == []  # two sources disagreeing is a conflict, not a move


def test_a_rejected_batch_leaves_no_span(world: World) -> None:
    body = dict(OPEN_IRVE_DATASET)
    world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    bad = to_csv(irve_rows(stations=1, per_station=1)).replace("22,", "not-a-number,", 1)
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/irve/records", content=bad.encode(), headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == 0
    with world.ctx.session() as s:
        assert s.scalars(select(StationMembership)).all() == []
