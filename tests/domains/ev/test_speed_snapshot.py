"""The stored consolidation snapshot: reused while the IRVE records are unchanged, never stale after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select
from tests.conftest import World
from tests.domains.ev.irve_factory import irve_rows, pdc_id
from tests.domains.ev.test_consolidation import load, set_received

from territoria.catalog.models import Dataset
from territoria.domains.ev import consolidation, snapshot
from territoria.domains.ev.consolidation import Consolidation, compute, consolidate, irve_datasets
from territoria.domains.ev.samples import to_csv
from territoria.ingest.models import Record
from territoria.territory.service import build_locator


def fresh(world: World, datasets: list[str] | None = None) -> Consolidation:
    """The consolidation computed from the records, bypassing any snapshot."""
    with world.ctx.session() as s:
        return compute(s, irve_datasets(s, datasets), build_locator(s).locate)


def no_compute(*_args: Any, **_kwargs: Any) -> Consolidation:
    """Stands for `compute` where the snapshot must answer."""
    raise AssertionError("computed again although the records did not change")


def two_sources(world: World) -> list[dict[str, str]]:
    """Two IRVE datasets disagreeing on a power and on coordinates, with a few defects."""
    rows = irve_rows(stations=4, per_station=2, defects={"LONLAT_SWAPPED": 1, "SIREN_INVALID": 2})
    load(world, "irve-a", to_csv(rows))
    rows[4]["puissance_nominale"] = "50"
    rows[5]["coordonneesXY"] = "[7.0051,43.5520]"
    load(world, "irve-b", to_csv(rows))
    return rows


def test_snapshot_answers_exactly_what_the_records_give(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_sources(world)
    with world.ctx.session() as s:
        first = consolidate(s)
    expected = fresh(world)
    assert first == expected
    assert {c.field for c in first.conflicts} == {"puissance_nominale", "coordonneesXY"}
    assert {f.code for f in first.findings} >= {"LONLAT_SWAPPED", "SIREN_INVALID"}
    with world.ctx.session() as s:
        stored = snapshot.folder_for(s)
        if stored is None:  # PostgreSQL: always computed
            assert world.ctx.settings.database_url.startswith("postgresql")
            return
        monkeypatch.setattr(consolidation, "compute", no_compute)
        again = consolidate(s)
    assert again == expected  # points with their sources, conflicts, findings, stations
    [where] = [c for c in again.conflicts if c.field == "coordonneesXY"]
    assert all(type(v.value) is tuple for v in where.values) and type(where.chosen) is tuple
    times = [v.source.received_at for c in again.conflicts for v in c.values]
    assert times and all(t is not None and t.tzinfo is UTC for t in times)
    assert len(list(stored.glob("consolidation-*"))) == 1


def test_every_change_of_the_records_is_seen(world: World) -> None:
    rows = irve_rows(stations=2, per_station=2)
    load(world, "irve", to_csv(rows))
    target = pdc_id(0, 0)

    def power() -> float | None:
        with world.ctx.session() as s:
            return next(p.power_kw for p in consolidate(s).points if p.id_pdc == target)

    def installed() -> float:
        body = world.client.get("/api/v1/ev/indicators").json()
        return float(sum(r["installed_kw"] for r in body["rows"]))

    assert power() == 22.0 and installed() == 4 * 22.0
    rows[0]["puissance_nominale"] = "50"
    load(world, "irve", to_csv(rows[:1]))  # an upsert of one record, same key, new batch
    assert power() == 50.0 and installed() == 3 * 22.0 + 50.0
    # another source, received earlier, then later
    rows[0]["puissance_nominale"] = "150"
    load(world, "irve-late", to_csv(rows[:1]))
    set_received(world, "irve-late", datetime(2000, 1, 1, tzinfo=UTC))
    assert power() == 50.0
    set_received(world, "irve-late", datetime(2100, 1, 1, tzinfo=UTC))
    assert power() == 150.0
    # records gone
    with world.ctx.session(write=True) as s:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.slug == "irve-late"))
        s.execute(delete(Record).where(Record.dataset_id == ds_id))
    assert power() == 50.0
    assert consolidate_all(world) == fresh(world)


def consolidate_all(world: World) -> Consolidation:
    """`consolidate` of every dataset, findings read."""
    with world.ctx.session() as s:
        out = consolidate(s)
    assert isinstance(out.findings, list)
    return out


def test_damaged_or_foreign_snapshots_are_ignored(world: World) -> None:
    two_sources(world)
    expected = fresh(world)
    with world.ctx.session() as s:
        assert consolidate(s) == expected
        folder = snapshot.folder_for(s)
    if folder is None:
        pytest.skip("snapshots are kept on SQLite only")
    [kept] = folder.glob("consolidation-*")
    (kept / "points.parquet").write_bytes(b"not parquet")
    with world.ctx.session() as s:
        assert consolidate(s) == expected  # unreadable: computed again (and stored again)
        assert consolidate(s, ["irve-a"]) == fresh(world, ["irve-a"])  # a selection has its own
    assert len(list(folder.glob("consolidation-*"))) == 2


def test_findings_can_be_given_later() -> None:
    assert Consolidation().findings == [] and Consolidation().findings is not Consolidation().findings
    made: list[int] = []

    def later() -> list[Any]:
        made.append(1)
        return ["a finding"]

    out = Consolidation(findings=later)  # type: ignore[arg-type]
    assert made == []
    assert out.findings == ["a finding"] and out.findings == ["a finding"] and made == [1]
    assert out == Consolidation(findings=["a finding"])  # type: ignore[list-item]


def test_values_a_snapshot_cannot_hold_are_consolidated_without_one(world: World) -> None:
    load(world, "irve", to_csv(irve_rows(stations=1, per_station=2)))
    with world.ctx.session(write=True) as s:  # a number where the schema says text
        rec = s.scalars(select(Record).order_by(Record.id)).first()
        assert rec is not None
        rec.data = {**rec.data, "code_insee_commune": 6088}
    with world.ctx.session() as s:
        out = consolidate(s)
        folder = snapshot.folder_for(s)
    assert out == fresh(world) and 6088 in {p.insee_declared for p in out.points}
    if folder is not None:
        assert not any(folder.iterdir())  # nothing stored, nothing half-written left behind
