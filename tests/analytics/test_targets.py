"""Plan targets: progress and status hand-computed on a small fixture, both directions, trajectories,
partial years, no data, validation, the API and its access rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from tests.analytics.steering_world import ingest, steering  # noqa: F401 - the fixture
from tests.conftest import World

from territoria.access.audit_models import AuditEvent
from territoria.analytics.models import PlanTarget
from territoria.analytics.targets import Progress, expected_value, milestones, progress

TODAY = date(2026, 6, 15)


def make(
    world: World, kpi: str, baseline: tuple[int, float], target: tuple[int, float], **extra: Any
) -> PlanTarget:
    """Store a target directly (validation is tested through the API)."""
    with world.ctx.session(write=True) as s:
        row = PlanTarget(
            kpi_code=kpi,
            plan="PCAET",
            area_level=extra.pop("area_level", "territory"),
            area_code=extra.pop("area_code", ""),
            baseline_year=baseline[0],
            baseline_value=baseline[1],
            target_year=target[0],
            target_value=target[1],
            trajectory=extra.pop("trajectory", None),
        )
        s.add(row)
    return row


def status_of(world: World, target: PlanTarget, today: date = TODAY) -> Progress:
    """The target's progress on a fixed day."""
    return progress(world.ctx, target, today=today)


def test_reduction_on_track_uses_the_latest_complete_year(steering: World) -> None:  # noqa: F811
    # Mean power: 2024 (100 + 100) / 2 = 100, 2025 (70 + 90) / 2 = 80; nothing yet in 2026.
    p = status_of(steering, make(steering, "t_power_avg", (2024, 100.0), (2030, 50.0)))
    assert (p.year, p.current, p.partial, p.extrapolated) == (2025, 80.0, False, False)
    assert p.goal == "reduce"
    assert p.expected == pytest.approx(91.7)  # 100 − 50 × 1/6, shown with the KPI's one decimal
    assert p.status == "on_track"
    assert p.percent == 40.0  # (100 − 80) / (100 − 50)
    assert [(y.year, y.value, y.partial) for y in p.years] == [
        (2024, 100.0, False),
        (2025, 80.0, False),
        (2026, None, True),
    ]
    assert p.years[2].expected == pytest.approx(100 - 50 * 2 / 6)


def test_milestones_make_it_off_track_and_reaching_the_target_achieves_it(steering: World) -> None:  # noqa: F811
    steep = make(steering, "t_power_avg", (2024, 100.0), (2030, 40.0), trajectory=[[2025, 75.0]])
    p = status_of(steering, steep)
    assert (p.expected, p.status) == (75.0, "off_track")  # 80 is above the 2025 milestone of 75
    assert p.percent == pytest.approx(33.3)  # (100 − 80) / (100 − 40)
    done = status_of(steering, make(steering, "t_power_avg", (2024, 100.0), (2030, 85.0)))
    assert (done.status, done.percent) == ("achieved", 100.0)  # 80 ≤ 85: clipped from 133 %


def test_trajectory_interpolation() -> None:
    target = PlanTarget(
        baseline_year=2020,
        baseline_value=100.0,
        target_year=2030,
        target_value=0.0,
        trajectory=[[2022, 90.0], [2026, 30.0]],
    )
    points = milestones(target)
    assert points == [(2020, 100.0), (2022, 90.0), (2026, 30.0), (2030, 0.0)]
    assert expected_value(points, 2018) == 100.0  # flat before the baseline
    assert expected_value(points, 2021) == 95.0
    assert expected_value(points, 2024) == 60.0  # half-way between 90 (2022) and 30 (2026)
    assert expected_value(points, 2028) == 15.0
    assert expected_value(points, 2035) == 0.0  # flat after the target year


def test_higher_is_better_increase_and_floor(steering: World) -> None:  # noqa: F811
    # Lights lit at least once: 2024 1 of 2 (50 %), 2025 2 of 3 (66.7 %).
    up = status_of(steering, make(steering, "t_lit_share", (2024, 50.0), (2028, 90.0)))
    assert (up.goal, up.current, up.expected, up.status) == (
        "increase",
        pytest.approx(200 / 3),
        60.0,
        "on_track",
    )
    assert up.percent == pytest.approx(41.7, abs=0.1)  # (50 − 66.7) / (50 − 90)
    floor = status_of(steering, make(steering, "t_lit_share", (2024, 99.0), (2027, 95.0)))
    assert (floor.goal, floor.status, floor.percent) == ("floor", "off_track", 0.0)  # 66.7 < 95


def test_a_target_against_the_kpi_direction_is_a_cap(steering: World) -> None:  # noqa: F811
    # Lower power is better: letting it rise from 70 to at most 90 is a cap, met at 80.
    cap = status_of(steering, make(steering, "t_power_avg", (2024, 70.0), (2030, 90.0)))
    assert (cap.goal, cap.status, cap.percent) == ("cap", "achieved", 100.0)
    over = status_of(steering, make(steering, "t_power_avg", (2024, 60.0), (2030, 75.0)))
    assert (over.goal, over.status, over.percent) == ("cap", "off_track", 0.0)  # 80 > expected 62.5


def test_neutral_kpi_follows_the_target_direction(steering: World) -> None:  # noqa: F811
    # Max power: 2025 90. A target going up on a KPI without direction is judged upwards.
    p = status_of(steering, make(steering, "t_power_max", (2024, 100.0), (2030, 160.0)))
    assert (p.goal, p.current, p.status) == ("increase", 90.0, "off_track")


def test_current_year_to_date_is_partial_and_totals_are_extrapolated(steering: World) -> None:  # noqa: F811
    ingest(
        steering.ctx,
        [("L000", "power", "2026-03-01T12:00:00Z", 60.0), ("L000", "power", "2026-03-02T12:00:00Z", 60.0)],
    )
    mean = status_of(steering, make(steering, "t_power_avg", (2026, 100.0), (2030, 50.0)))
    assert (mean.year, mean.current, mean.partial, mean.extrapolated) == (2026, 60.0, True, False)
    assert (mean.expected, mean.status) == (100.0, "on_track")
    total = status_of(steering, make(steering, "t_power_sum", (2026, 30000.0), (2030, 20000.0)))
    # 120 Wh over the two days with data, scaled to 365 days.
    assert (total.year, total.partial, total.extrapolated) == (2026, True, True)
    assert total.current == pytest.approx(120 * 365 / 2)
    assert total.status == "on_track" and total.percent == pytest.approx(81.0)
    # Once 2026 is over, 2025 is no longer the latest complete year: 2026 is, not extrapolated.
    later = status_of(steering, make(steering, "t_power_sum", (2024, 300.0), (2030, 100.0)), date(2027, 2, 1))
    assert (later.year, later.current, later.partial, later.extrapolated) == (2026, 120.0, False, False)


def test_no_data(steering: World) -> None:  # noqa: F811
    cannes = make(
        steering, "t_power_avg", (2024, 100.0), (2030, 50.0), area_level="commune", area_code="06029"
    )
    p = status_of(steering, cannes)
    assert (p.status, p.current, p.expected, p.percent) == ("no_data", None, None, None)
    assert all(y.value is None for y in p.years)


BODY: dict[str, Any] = {
    "kpi_code": "t_power_avg",
    "plan": "PCAET 2024-2030",
    "baseline_year": 2024,
    "baseline_value": 100,
    "target_year": 2030,
    "target_value": 50,
    "trajectory": [[2027, 70]],
}


def test_api_create_read_filter_delete(steering: World) -> None:  # noqa: F811
    c = steering.client
    r = c.post("/api/v1/targets", json=BODY, headers=steering.admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["area_name"] == "Territoire" and created["trajectory"] == [[2027, 70.0]]
    assert created["unit"] == "W" and created["direction"] == "lower_is_better"
    nice = {**BODY, "area_level": "commune", "area_code": "06088", "kpi_code": "t_lit_share"}
    nice |= {"baseline_value": 50, "target_value": 90, "trajectory": None}
    assert c.post("/api/v1/targets", json=nice, headers=steering.admin).status_code == 201
    one = c.get(f"/api/v1/targets/{created['id']}", params={"lang": "en"}, headers=steering.admin).json()
    assert one["area_name"] == "Territory" and one["kpi_title"] == "Indicator t_power_avg"
    progress_ = one["progress"]
    assert (progress_["year"], progress_["current"], progress_["status"]) == (2025, 80.0, "on_track")
    assert progress_["expected"] == 90.0  # 100 − 30 × 1/3 on the way to the 2027 milestone of 70
    listed = c.get("/api/v1/targets", params={"kpi": "t_lit_share"}, headers=steering.admin).json()
    assert [t["area_code"] for t in listed] == ["06088"] and listed[0]["progress"]["status"] == "on_track"
    bare = c.get("/api/v1/targets", params={"progress": "false"}, headers=steering.admin).json()
    assert len(bare) == 2 and all(t["progress"] is None for t in bare)
    assert c.delete(f"/api/v1/targets/{created['id']}", headers=steering.admin).status_code == 204
    assert c.get(f"/api/v1/targets/{created['id']}", headers=steering.admin).status_code == 404
    with steering.ctx.session() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.target.like("target:%"))))
    assert actions.count("target.create") == 2 and actions.count("target.delete") == 1


def test_api_access(steering: World) -> None:  # noqa: F811
    c = steering.client
    assert c.post("/api/v1/targets", json=BODY).status_code == 401
    assert (
        c.post("/api/v1/targets", json=BODY, headers=steering.operator).status_code == 403
    )  # not the authority
    tid = c.post("/api/v1/targets", json=BODY, headers=steering.admin).json()["id"]
    # Over data they may not even see: answered like an unknown target (ids cannot be enumerated).
    unknown = c.get("/api/v1/targets/999999").json()["detail"].replace("target 999999", "target ?")
    for headers in ({}, steering.other):
        r = c.get(f"/api/v1/targets/{tid}", headers=headers)
        assert (r.status_code, r.json()["detail"].replace(f"target {tid}", "target ?")) == (404, unknown)
    assert c.get(f"/api/v1/targets/{tid}", headers=steering.operator).status_code == 200  # owns the data
    assert c.get("/api/v1/targets", headers=steering.other).json() == []
    assert c.get("/api/v1/targets").json() == []
    assert c.delete(f"/api/v1/targets/{tid}", headers=steering.operator).status_code == 403
    assert c.delete(f"/api/v1/targets/{tid}").status_code == 401
    for bad in (0, 2**31, 10**30):
        assert c.get(f"/api/v1/targets/{bad}", headers=steering.admin).status_code == 422
    assert c.get("/api/v1/targets/999999", headers=steering.admin).status_code == 404
    assert c.delete("/api/v1/targets/999999", headers=steering.admin).status_code == 404


def test_api_validation_lists_every_problem(steering: World) -> None:  # noqa: F811
    c = steering.client
    bad = {
        **BODY,
        "kpi_code": "nope",
        "area_level": "commune",
        "area_code": "99999",
        "baseline_year": 2030,
        "target_year": 2025,
        "trajectory": [[2040, 1]],
    }
    r = c.post("/api/v1/targets", json=bad, headers=steering.admin)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"kpi_code", "area_code", "target_year", "trajectory.0"}
    order = {**BODY, "target_year": 2030, "trajectory": [[2027, 70], [2026, 80]]}
    r = c.post("/api/v1/targets", json=order, headers=steering.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "YEAR_ORDER"
    r = c.post("/api/v1/targets", json={**BODY, "trajectory": [[2026.5, 80]]}, headers=steering.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "YEAR"
    flat = {**BODY, "kpi_code": "t_power_max", "target_value": 100, "trajectory": None}
    r = c.post("/api/v1/targets", json=flat, headers=steering.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "NO_DIRECTION"
    r = c.post("/api/v1/targets", json={**BODY, "area_code": "06088"}, headers=steering.admin)
    assert r.status_code == 422 and "territory" in r.text
    for strict in ({"baseline_value": True}, {"baseline_year": "2024"}, {"extra": 1}, {"target_value": "50"}):
        assert c.post("/api/v1/targets", json={**BODY, **strict}, headers=steering.admin).status_code == 422
