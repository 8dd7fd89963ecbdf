"""The simulator's IRVE feeds: valid against the national static and dynamic schemas, consistent ids."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from territoria.domains.ev.feeds import (
    REPORT_EVERY,
    dynamic_rows,
    ev_assets,
    pdc_id,
    session_rows,
    static_rows,
    write_feeds,
)
from territoria.domains.ev.irve_schema import irve_schema
from territoria.domains.ev.samples import to_columns
from territoria.domains.ev.sessions_store import check_row
from territoria.ingest.parsers import BadRow
from territoria.simulate.city import build_city
from territoria.validation.tableschema import CompiledSchema

END = datetime(2026, 11, 1, tzinfo=UTC)


def test_static_rows_follow_the_irve_schema_and_count_points_per_station() -> None:
    city = build_city(400, 6)
    rows = static_rows(city, date(2026, 11, 1))
    assert len(rows) == len(ev_assets(city)) > 0
    report = CompiledSchema(irve_schema("statique")).validate(
        to_columns([{k: str(v) for k, v in r.items()} for r in rows])
    )
    assert report.findings == []
    per_station: dict[str, int] = {}
    for row in rows:
        assert row["id_pdc_itinerance"].startswith("FRRAZE") and row["id_station_itinerance"].startswith(
            "FRRAZP"
        )
        per_station[row["id_station_itinerance"]] = per_station.get(row["id_station_itinerance"], 0) + 1
    assert all(row["nbre_pdc"] == per_station[row["id_station_itinerance"]] for row in rows)
    assert len({r["id_pdc_itinerance"] for r in rows}) == len(rows)


def test_dynamic_rows_are_status_changes_and_repeats_of_known_points(tmp_path: Path) -> None:
    city = build_city(400, 6)
    known = {r["id_pdc_itinerance"] for r in static_rows(city, date(2026, 11, 1))}
    changes = list(dynamic_rows(city, END - timedelta(days=1), END))
    assert changes and {c["id_pdc_itinerance"] for c in changes} <= known
    report = CompiledSchema(irve_schema("dynamique")).validate(to_columns(changes))
    assert report.findings == []
    last: dict[str, tuple[tuple[str, str], datetime]] = {}
    gaps: list[timedelta] = []
    for change in changes:  # a row is a change, or the same state again after REPORT_EVERY (a live feed)
        state, ts = (
            (change["etat_pdc"], change["occupation_pdc"]),
            datetime.fromisoformat(change["horodatage"]),
        )
        before = last.get(change["id_pdc_itinerance"])
        if before is not None:
            assert before[0] != state or ts - before[1] >= REPORT_EVERY
            gaps.append(ts - before[1])
        last[change["id_pdc_itinerance"]] = (state, ts)
    assert max(gaps) <= timedelta(hours=6)  # never silent long enough to count as unknown
    static_path, dynamic_path, n_static, n_dynamic = write_feeds(city, tmp_path, END - timedelta(days=1), END)
    with dynamic_path.open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == n_dynamic == len(changes)
    with static_path.open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == n_static


def test_sessions_follow_the_occupied_stretches_of_the_status_feed(tmp_path: Path) -> None:
    city = build_city(400, 6)
    power = {pdc_id(a): float(a.properties["max_power_kw"]) for a in ev_assets(city)}
    sessions = list(session_rows(city, END - timedelta(days=2), END))
    assert len(sessions) > 20
    failed = 0
    for row in sessions:
        start, end = datetime.fromisoformat(row["start"]), datetime.fromisoformat(row["end"])
        hours, energy = (end - start).total_seconds() / 3600, float(row["energy"])
        assert END - timedelta(days=2) <= start < end <= END
        assert 0 <= energy <= power[row["id_pdc_itinerance"]] * hours  # never more than the point gives
        failed += energy < 0.5 and hours < 0.05
        assert check_row(row, None) is not None and not isinstance(check_row(row, None), BadRow)
    assert 0 < failed < len(sessions) / 5  # a few sessions fail at once, most succeed
    write_feeds(city, tmp_path, END - timedelta(days=2), END)
    with (tmp_path / "irve-sessions.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == len(sessions)
