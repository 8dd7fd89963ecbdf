"""Daily quality scores: hand-computed components, history, operator aggregate and API access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from tests.conftest import World

from territoria.catalog.models import Dataset
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate
from territoria.catalog.service import (
    create_dataset,
    get_dataset,
    get_organisation,
    series_map,
    upsert_assets,
)
from territoria.context import Context
from territoria.ingest.batches import Origin
from territoria.ingest.models import Batch, FindingRow
from territoria.ingest.service import ingest_measurements
from territoria.quality import scores
from territoria.quality.api import router as quality_api
from territoria.quality.models import QualityScore
from territoria.quality.pages import router as quality_pages

TODAY = scores.day_start(datetime.now(UTC))
D = TODAY - timedelta(days=3)  # the main day: 48 of 96 points, 50 rows received, 48 accepted
E = D - timedelta(days=1)  # the day before: 8 points from midnight, 10 rows received, 8 accepted


@pytest.fixture(autouse=True)
def current_days() -> None:
    """Date the test days from when each test starts, not from import (a run may cross midnight)."""
    global TODAY, D, E
    TODAY = scores.day_start(datetime.now(UTC))
    D = TODAY - timedelta(days=3)
    E = D - timedelta(days=1)


def mount(world: World) -> None:
    """Add the quality routers to the test app (until the lead wires them in create_app)."""
    app: Any = world.client.app
    if not any(getattr(r, "path", "") == "/quality" for r in app.routes):
        app.include_router(quality_api)
        app.include_router(quality_pages)


def send(
    ctx: Context, slug: str, points: list[tuple[datetime, float]], day: datetime, asset: str = "L000"
) -> None:
    """One batch of power readings, dated as if it had been received on `day` (noon)."""
    rows = [
        (n, {"asset": asset, "metric": "power", "ts": ts.isoformat(), "value": value})
        for n, (ts, value) in enumerate(points, start=1)
    ]
    with ctx.session(write=True) as s:
        ds = get_dataset(s, slug)
        result = ingest_measurements(s, ds, rows, Origin(source="file"), checksum="t", future_tolerance_s=300)
        s.execute(
            update(Batch).where(Batch.id == result.batch_id).values(created_at=day + timedelta(hours=12))
        )


def load_days(ctx: Context) -> None:
    """Day E: 8 good + 2 out-of-range rows; day D: 40 good, then 8 good + 2 out-of-range; one warning on D."""
    half_hours = [(D + timedelta(minutes=30 * k), 100.0 + k) for k in range(48)]
    send(ctx, "lights", half_hours[:40], D)
    send(ctx, "lights", [*half_hours[40:], (D + timedelta(hours=5, minutes=1), 999.0), (D, 500.0)], D)
    quarters = [(E + timedelta(minutes=15 * k), 50.0 + k) for k in range(8)]
    send(ctx, "lights", [*quarters, (E + timedelta(hours=3), 401.0), (E + timedelta(hours=4), 402.0)], E)
    with ctx.session(write=True) as s:
        ds = get_dataset(s, "lights")
        s.execute(delete(FindingRow).where(FindingRow.dataset_id == ds.id))  # only the warning below counts
        series_id = next(iter(series_map(s, ds).values()))
        s.add(
            FindingRow(
                dataset_id=ds.id,
                series_id=series_id,
                code="STUCK_VALUE",
                severity="warning",
                start_ts=D + timedelta(hours=10),
                end_ts=D + timedelta(hours=12),
                message_code="finding.text",
                message_params={"en": "stuck", "fr": "figée"},
                details={},
                fingerprint="test-stuck",
            )
        )


FRESH_D = 1 - (1800 - 900) / (23 * 900)  # latest point 23:30, interval 15 min
OVERALL_D = 0.35 * 0.5 + 0.30 * 48 / 50 + 0.20 * FRESH_D + 0.15 * (1 - 9 / 48)


def stored(ctx: Context) -> dict[datetime, QualityScore]:
    """Stored rows of the lights dataset by day."""
    with ctx.session() as s:
        ds = get_dataset(s, "lights")
        return {r.day: r for r in s.scalars(select(QualityScore).where(QualityScore.dataset_id == ds.id))}


def test_scores_are_computed_by_hand(world: World) -> None:
    ctx = world.ctx
    load_days(ctx)
    with ctx.session(write=True) as s:
        rows = scores.compute_scores(s, get_dataset(s, "lights"), [E, D])
    assert {r.day for r in rows} == {E, D}
    d, e = stored(ctx)[D], stored(ctx)[E]
    assert (d.expected, d.received, d.accepted, d.rejected, d.warnings) == (96, 50, 48, 2, 1)
    assert d.completeness == pytest.approx(0.5)
    assert d.validity == pytest.approx(0.96)
    assert d.delay_s == pytest.approx(1800)
    assert d.freshness == pytest.approx(FRESH_D)
    assert d.consistency == pytest.approx(1 - 9 / 48)  # 10:00–12:00 at 15 min covers 9 points
    assert d.overall == pytest.approx(OVERALL_D)
    assert d.organisation_id == get_org_id(ctx, "lightco")
    # Day E: the series starts at midnight, 8 of 96 points; 10 rows received, 8 accepted.
    assert (e.expected, e.received, e.accepted, e.rejected, e.warnings) == (96, 10, 8, 2, 0)
    assert e.completeness == pytest.approx(8 / 96)
    assert e.validity == pytest.approx(0.8)
    assert e.freshness == 0.0  # latest point 01:45, 22 h 15 min before the day's end
    assert e.consistency == 1.0


def get_org_id(ctx: Context, slug: str) -> int:
    """Id of an organisation."""
    with ctx.session() as s:
        return get_organisation(s, slug).id


def test_history_is_kept_and_a_recomputed_day_replaced(world: World) -> None:
    ctx = world.ctx
    load_days(ctx)
    with ctx.session(write=True) as s:
        scores.compute_scores(s, None, [E, D])
    first = stored(ctx)[D].computed_at
    # The other half of day D arrives late: recomputing D replaces its row, E stays as it was.
    send(ctx, "lights", [(D + timedelta(minutes=15 + 30 * k), 1.0 + k) for k in range(48)], D)
    with ctx.session(write=True) as s:
        scores.compute_scores(s, None, [D], now=datetime.now(UTC) + timedelta(seconds=1))
    rows = stored(ctx)
    assert set(rows) >= {E, D}
    assert rows[D].completeness == pytest.approx(1.0)
    assert rows[D].received == 98 and rows[D].computed_at > first
    assert rows[E].completeness == pytest.approx(8 / 96)
    with ctx.session() as s:
        n = s.scalar(select(QualityScore.day).where(QualityScore.day == D).limit(1))
        assert n == D
        assert len(list(s.scalars(select(QualityScore).where(QualityScore.day == D)))) == 1


def test_refresh_keeps_a_silent_source_visible(world: World) -> None:
    ctx = world.ctx
    load_days(ctx)
    with ctx.session(write=True) as s:
        rows = scores.refresh_scores(s, 2)
    today = {r.day: r for r in rows if r.day == TODAY}[TODAY]
    assert today.completeness == 0.0 and today.freshness == 0.0 and today.validity is None
    assert today.delay_s is not None and today.delay_s > 2 * 86_400


def test_operator_aggregate() -> None:
    a = scores.ScoreValues(expected=96, received=50, accepted=48, rejected=2, completeness=0.5, delay_s=60)
    b = scores.ScoreValues(expected=288, received=10, accepted=8, rejected=2, completeness=1.0, delay_s=600)
    a.freshness, b.freshness = 1.0, 0.5
    agg = scores.combine([a.finish(), b.finish()])
    assert agg.completeness == pytest.approx((48 + 288) / 384)
    assert agg.validity == pytest.approx(56 / 60)
    assert agg.freshness == pytest.approx(0.75)
    assert agg.delay_s == 600 and agg.rejected == 4
    expected = (0.35 * agg.completeness + 0.30 * agg.validity + 0.20 * 0.75) / 0.85
    assert agg.overall == pytest.approx(expected)


def add_open_dataset(ctx: Context) -> None:
    """An open dataset of the same operator, 96 of 96 points on day D, all valid."""
    with ctx.session(write=True) as s:
        owner = get_organisation(s, "lightco")
        body = DatasetCreate(
            slug="meters",
            title="Meters",
            domain="electricity",
            kind="timeseries",
            access="open",
            reporting_interval_s=900,
            metrics=[MetricCreate(name="power", unit="W", min=0, max=400)],
        )
        ds = create_dataset(s, body, owner)
        upsert_assets(s, ds, [AssetIn(id="M1", kind="meter", lon=7.27, lat=43.698)], ctx.locator())
    send(ctx, "meters", [(D + timedelta(minutes=15 * k), 10.0) for k in range(96)], D, asset="M1")


def test_api_dataset_quality_and_access(world: World) -> None:
    mount(world)
    load_days(world.ctx)
    with world.ctx.session(write=True) as s:
        scores.compute_scores(s, None, [E, D])
    url = f"/api/v1/datasets/lights/quality?start={E.date()}&end={D.date()}"
    r = world.client.get(url, headers=world.operator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [h["day"] for h in body["history"]] == [str(E.date()), str(D.date())]
    assert body["components"]["completeness"] == pytest.approx([8 / 96, 0.5])
    assert body["components"]["validity"] == pytest.approx([0.8, 0.96])
    assert body["quarantine_open"] == 4
    assert {"code": "STUCK_VALUE", "severity": "warning", "count": 1, "open": 1} in body["findings"]
    # The latest row is today's, computed on read because it was missing.
    assert body["latest"]["day"] == str(TODAY.date())
    assert world.client.get(url, headers=world.admin).status_code == 404  # no agreement: unseen
    assert world.client.get(url, headers=world.other).status_code == 404
    assert world.client.get(url).status_code == 404
    assert world.client.get("/api/v1/datasets/nope/quality", headers=world.operator).status_code == 404
    bad = world.client.get(
        "/api/v1/datasets/lights/quality?start=2030-01-02&end=2030-01-01", headers=world.operator
    )
    assert bad.status_code in (400, 422)


def test_api_overview_per_operator_and_visibility(world: World) -> None:
    mount(world)
    load_days(world.ctx)
    add_open_dataset(world.ctx)
    with world.ctx.session(write=True) as s:
        scores.compute_scores(s, None, [E, D])
        scores.refresh_scores(s, 2)
    anonymous = world.client.get("/api/v1/quality").json()
    assert [d["dataset"] for d in anonymous["datasets"]] == ["meters"]
    assert [o["datasets"] for o in anonymous["operators"]] == [["meters"]]
    body = world.client.get("/api/v1/quality", headers=world.operator).json()
    assert sorted(d["dataset"] for d in body["datasets"]) == ["lights", "meters"]
    (op,) = body["operators"]
    assert op["organisation"] == "lightco" and sorted(op["datasets"]) == ["lights", "meters"]
    latest = {d["dataset"]: d["latest"] for d in body["datasets"]}
    rows = [
        scores.ScoreValues(**{k: v for k, v in latest[k].items() if k not in ("day", "computed_at")})
        for k in ("lights", "meters")
    ]
    assert op["latest"]["overall"] == pytest.approx(scores.combine(rows).overall)
    other = world.client.get("/api/v1/quality", headers=world.other).json()
    assert [d["dataset"] for d in other["datasets"]] == ["meters"]


def test_records_completeness_counts_missing_required_cells(world: World) -> None:
    ctx = world.ctx
    with ctx.session(write=True) as s:
        owner = get_organisation(s, "lightco")
        schema = {
            "fields": [
                {"name": "id", "type": "string", "constraints": {"required": True}},
                {"name": "power", "type": "number", "constraints": {"required": True}},
                {"name": "note", "type": "string"},
            ],
            "primaryKey": ["id"],
        }
        body = DatasetCreate(
            slug="stations",
            title="Stations",
            domain="ev_charging",
            kind="records",
            access="private",
            table_schema=schema,
        )
        ds = create_dataset(s, body, owner)
        assert scores.required_fields(ds) == ["id", "power"]
    world.client.post(
        "/api/v1/datasets/stations/records",
        json=[{"id": "a", "power": 3}, {"id": "b", "power": 4}, {"id": "c"}, {"id": "d", "power": 5}],
        headers=world.operator,
    )
    with ctx.session(write=True) as s:
        ds = s.scalar(select(Dataset).where(Dataset.slug == "stations"))
        assert ds is not None
        (row,) = scores.compute_scores(s, ds, [TODAY])
        assert (row.received, row.accepted, row.rejected) == (4, 3, 1)
        assert row.completeness == pytest.approx(1 - 1 / 8)  # one empty required cell among 4 × 2
        assert row.validity == pytest.approx(0.75)
