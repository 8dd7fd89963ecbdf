"""The pure parts of the EV releases: station rows from per-point daily figures, and the occupancy check."""

from __future__ import annotations

from datetime import UTC, date, datetime

from territoria.domains.ev.availability import DailyAvailability
from territoria.domains.ev.irve_schema import irve_static_schema
from territoria.domains.ev.model import ChargePoint, Provenance
from territoria.domains.ev.opendata import irve_columns, irve_row, occupancy_check, station_rows

DAY = date(2026, 3, 2)
H = 3600.0


def point(id_pdc: str, station: str, lon: float | None, area: str | None = "06088") -> ChargePoint:
    """A consolidated charge point with only what the station rows read."""
    return ChargePoint(
        id_pdc, station, f"Station {station}", "Op", "Owner", None, lon, 43.7 if lon else None, area, area,
        22.0, None, None,
    )  # fmt: skip


def figures(id_pdc: str, en: float, hs: float, occupied: float, known: float) -> DailyAvailability:
    """One point's day, in hours."""
    return DailyAvailability(id_pdc, DAY, 24 * H, en * H, hs * H, occupied * H, known * H, (24 - en - hs) * H)


MEMBERS = {
    "S3": [point("P1", "S3", 7.0), point("P2", "S3", 7.2), point("P3", "S3", None, None)],
    "S1": [point("Q1", "S1", 7.1, "06029")],
}
DAILY = [
    figures("P1", 10, 2, 5, 10),
    figures("P2", 4, 0, 0, 0),  # in service, occupation never known: not a contributor
    figures("P3", 0, 0, 0, 0),  # never reported
    figures("Q1", 0, 0, 0, 0),  # never reported: nothing to hide, nothing published
]


def test_station_rows_sum_points_and_withhold_occupancy_below_k() -> None:
    rows = {r["id_station_itinerance"]: r for r in station_rows(DAILY, MEMBERS, k=2)}
    s3 = rows["S3"]
    assert s3["period"] == datetime(2026, 3, 2, tzinfo=UTC) and s3["charge_points"] == 3
    assert (s3["hours_observed"], s3["hours_out_of_service"], s3["availability_rate"]) == (16.0, 2.0, 0.875)
    # three points, but one only had a known occupation: withheld, null and flagged, never 0
    assert (s3["occupancy_rate"], s3["secret"]) == (None, True)
    assert (s3["lon"], s3["lat"], s3["area_code"], s3["nom_station"]) == (7.1, 43.7, "06088", "Station S3")
    s1 = rows["S1"]  # undefined, not secret
    assert (s1["availability_rate"], s1["occupancy_rate"], s1["secret"], s1["hours_observed"]) == (
        None,
        None,
        False,
        0.0,
    )
    with_two = [*DAILY[:1], figures("P2", 4, 0, 1, 4), *DAILY[2:]]
    s3 = next(r for r in station_rows(with_two, MEMBERS, k=2) if r["id_station_itinerance"] == "S3")
    assert (s3["occupancy_rate"], s3["secret"]) == (round(6 / 14, 4), False)
    s3 = next(r for r in station_rows(with_two, MEMBERS, k=3) if r["id_station_itinerance"] == "S3")
    assert (s3["occupancy_rate"], s3["secret"]) == (None, True)


def test_the_occupancy_check_catches_a_published_lone_point() -> None:
    station_of = {p.id_pdc: sid for sid, pts in MEMBERS.items() for p in pts}
    rows = station_rows(DAILY, MEMBERS, k=2)
    assert occupancy_check(rows, DAILY, station_of, 2)["passed"]
    leaked = [
        dict(r, occupancy_rate=0.5, secret=False) if r["id_station_itinerance"] == "S3" else r for r in rows
    ]
    check = occupancy_check(leaked, DAILY, station_of, 2)
    assert (check["passed"], check["failures"], check["examples"]) == (False, 1, ["S3 2026-03-02"])


def test_irve_row_takes_the_latest_non_null_value_of_each_field() -> None:
    columns = irve_columns()
    assert [c.name for c in columns] == [f["name"] for f in irve_static_schema()["fields"]]
    cp = point("P1", "S3", 7.25)
    cp.sources = [Provenance("a", "k1", None), Provenance("b", "k2", None)]
    old = {"nom_station": "Ancienne", "observations": "sous-sol", "nbre_pdc": 2, "date_maj": "2024-01-05"}
    new = {"nom_station": "Nouvelle", "observations": None, "nbre_pdc": 3, "date_maj": "2025-02-01"}
    row = irve_row(cp, [old, new], columns)
    assert (row["nom_station"], row["observations"], row["nbre_pdc"]) == ("Nouvelle", "sous-sol", 3)
    assert row["date_maj"] == date(2025, 2, 1) and row["id_pdc_itinerance"] == "P1"
    assert row["coordonneesXY"] == "[7.25, 43.7]" and row["gratuit"] is None
