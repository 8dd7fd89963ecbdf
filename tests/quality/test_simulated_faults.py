"""Every fault the simulator injects is found with the right code; clean data is hardly flagged."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from territoria.catalog.models import Asset, Metric, Series
from territoria.context import Context
from territoria.ingest.models import FindingRow, QuarantinedRow
from territoria.quality.models import QualityRun
from territoria.quality.series import run_after_ingest, run_quality
from territoria.simulate import FaultPlan, build_city
from territoria.simulate.service import install_city, load_history

START = datetime(2024, 2, 5, tzinfo=UTC)
END = START + timedelta(days=3)
SEED = 21
N_ASSETS = 150


def _load(ctx: Context, plan: FaultPlan) -> None:
    """Install the city (coordinates swapped as planned) and load its history with the plan's faults."""
    city = plan.apply_to_city(build_city(N_ASSETS, SEED))
    install_city(ctx, city)
    load_history(ctx, city, START, END, seed=SEED, faults=plan)


def _findings(ctx: Context) -> dict[tuple[str, str | None], list[FindingRow]]:
    """Findings by (asset external id, metric name)."""
    with ctx.session() as s:
        rows = s.execute(
            select(FindingRow, Asset.external_id, Metric.name)
            .join(Asset, Asset.id == FindingRow.asset_id, isouter=True)
            .join(Series, Series.id == FindingRow.series_id, isouter=True)
            .join(Metric, Metric.id == Series.metric_id, isouter=True)
        ).all()
    out: dict[tuple[str, str | None], list[FindingRow]] = defaultdict(list)
    for f, asset, metric in rows:
        out[asset, metric].append(f)
    return out


def _quarantined(ctx: Context) -> dict[tuple[str, str], list[tuple[datetime, set[str]]]]:
    """Quarantined rows by (asset, metric): their timestamp and error codes."""
    with ctx.session() as s:
        rows = s.scalars(select(QuarantinedRow)).all()
    out: dict[tuple[str, str], list[tuple[datetime, set[str]]]] = defaultdict(list)
    for q in rows:
        raw = json.loads(q.raw)
        out[raw["asset"], raw["metric"]].append(
            (datetime.fromisoformat(raw["ts"]), {e["code"] for e in q.errors})
        )
    return out


@pytest.fixture(scope="module")
def plan() -> FaultPlan:
    return FaultPlan.build(build_city(N_ASSETS, SEED), START, END, SEED)


def test_every_injected_fault_is_found(ctx: Context, plan: FaultPlan) -> None:
    _load(ctx, plan)
    report = run_quality(ctx, now=END)
    assert report.series > 0 and report.points > 0
    found = _findings(ctx)
    quarantined = _quarantined(ctx)
    codes = {"gap": "GAP", "stuck": "STUCK_VALUE", "spike": "SPIKE"}
    kinds = set()
    for fault in plan.injected:
        kinds.add(fault.kind)
        if fault.kind in codes:
            hits = [
                f
                for f in found[fault.asset, fault.metric]
                if f.code == codes[fault.kind]
                and f.start_ts is not None
                and f.start_ts <= fault.end
                and (f.end_ts or f.start_ts) >= fault.start
            ]
            assert hits, (
                f"{fault} not found; findings: {[(f.code, f.start_ts) for f in found[fault.asset, fault.metric]]}"
            )
        elif fault.kind == "swapped_coordinates":
            got = [f for f in found[fault.asset, None] if f.code == "LATLON_SWAPPED"]
            assert got, f"{fault} not found"
            assert {"lon", "lat"} <= set(got[0].details["proposed"])
        else:
            code = {"out_of_range": "RANGE", "future_timestamp": "FUTURE_TS"}[fault.kind]
            rows = quarantined[fault.asset, fault.metric]
            assert rows and all(code in codes_ for _, codes_ in rows), fault
    assert kinds == {"gap", "stuck", "spike", "out_of_range", "swapped_coordinates", "future_timestamp"}
    # Swapped assets are not also reported as outside the territory.
    for asset in plan.swapped_assets:
        assert not [f for f in found[asset, None] if f.code == "OUT_OF_TERRITORY"]
    with ctx.session() as s:
        assert all(r.checked_until is not None for r in s.scalars(select(QualityRun)))
    # A re-run stores nothing new: incremental reads nothing past the watermark, full finds the same.
    first = report
    again = run_quality(ctx, now=END)
    assert sum(again.new.values()) == 0
    assert again.points == 0 and again.series == 0  # nothing after the watermark
    full = run_quality(ctx, now=END, full=True)
    assert sum(full.new.values()) == 0
    assert full.found == first.found
    assert run_after_ingest(ctx, "street-lights").points == 0


def test_clean_data_is_hardly_flagged(ctx: Context) -> None:
    _load(ctx, FaultPlan.none())
    run_quality(ctx, now=END)
    found = _findings(ctx)
    series = {key for key in found if key[1] is not None}
    with ctx.session() as s:
        n_series = len(s.scalars(select(Series.id)).all())
    for code in ("SPIKE", "STUCK_VALUE", "GAP"):
        flagged = {key for key in series if any(f.code == code for f in found[key])}
        assert len(flagged) < 0.05 * n_series, (code, sorted(flagged))
    assert not [
        f for rows in found.values() for f in rows if f.code in ("LATLON_SWAPPED", "OUT_OF_TERRITORY")
    ]
