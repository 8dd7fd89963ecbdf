"""Checks on IRVE dynamic rows: codes for future, too old, unknown charge point, bad enums."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from territoria.domains.ev.validation import check_dynamic_row, split_dynamic_rows

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
KNOWN = {"FRA68P68021001", "FRA68P68021002"}
EXAMPLE = Path(__file__).parents[3] / "src/territoria/domains/ev/data/exemple-valide-dynamique.csv"


def row(
    when: str, pdc: str = "FRA68P68021001", etat: str = "en_service", occ: str = "libre"
) -> dict[str, str]:
    return {"id_pdc_itinerance": pdc, "etat_pdc": etat, "occupation_pdc": occ, "horodatage": when}


def codes(r: dict[str, str], **kw: object) -> list[str]:
    return [f.code for f in check_dynamic_row(r, 1, KNOWN, NOW, **kw)]  # type: ignore[arg-type]


def test_clean_row_has_no_finding() -> None:
    assert codes(row("2024-03-01T12:00:00+0000")) == []


def test_future_tolerance_edges() -> None:
    assert codes(row("2024-03-01T12:05:00+00:00")) == []  # exactly 5 min ahead: tolerated
    assert codes(row("2024-03-01T12:05:01+00:00")) == ["FUTURE_TS"]
    assert codes(row("2024-03-01T13:06:00+01:00")) == ["FUTURE_TS"]  # 12:06Z
    assert codes(row("2024-03-01T12:10:00+00:00"), future_tolerance=timedelta(minutes=15)) == []


def test_too_old_horizon_edges() -> None:
    assert codes(row("2023-12-02T12:00:00+00:00")) == []  # exactly 90 days
    assert codes(row("2023-12-02T11:59:59+00:00")) == ["TOO_OLD"]
    assert codes(row("2024-02-20T00:00:00+00:00"), horizon=timedelta(days=7)) == ["TOO_OLD"]


def test_unknown_pdc_enum_and_bad_timestamp() -> None:
    assert codes(row("2024-03-01T11:00:00Z", pdc="FRXXXE1")) == ["UNKNOWN_PDC"]
    assert codes(row("2024-03-01T11:00:00Z", etat="ouvert", occ="busy")) == ["ENUM", "ENUM"]
    assert codes(row("2024-03-01T11:00:00")) == ["BAD_TS"]  # no offset
    assert codes(row("hier")) == ["BAD_TS"]
    found = check_dynamic_row(row("2024-03-01T11:00:00Z", etat="ouvert"), 7, KNOWN, NOW)
    assert (found[0].row, found[0].field, found[0].severity) == (7, "etat_pdc", "error")
    assert found[0].message_fr


def test_split_rows_into_events_and_findings() -> None:
    rows = [
        row("2024-03-01T10:00:00+00:00"),
        row("2024-03-01T10:00:00+00:00", pdc="FRUNKNOWN1"),
        row("2024-03-02T10:00:00+00:00", etat="hors_service"),
        row("2024-03-01T11:00:00+01:00", pdc="FRA68P68021002", occ="occupe"),
    ]
    events, findings = split_dynamic_rows(rows, KNOWN, NOW)
    assert [(e.id_pdc, e.at, e.occupation) for e in events] == [
        ("FRA68P68021001", datetime(2024, 3, 1, 10, tzinfo=UTC), "libre"),
        ("FRA68P68021002", datetime(2024, 3, 1, 10, tzinfo=UTC), "occupe"),
    ]
    assert [(f.row, f.code) for f in findings] == [(2, "UNKNOWN_PDC"), (3, "FUTURE_TS")]


def test_official_example_rows_pass_with_their_own_clock() -> None:
    with EXAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    known = {r["id_pdc_itinerance"] for r in rows}
    events, findings = split_dynamic_rows(rows, known, datetime(2022, 10, 19, tzinfo=UTC))
    assert findings == []
    assert len(events) == len(rows)
