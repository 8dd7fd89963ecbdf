"""Time-weighted availability and occupancy, checked against hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from territoria.domains.ev.availability import (
    StatusEvent,
    daily_availability,
    merge_events,
    out_of_service_since,
    total,
)

H = 3600.0


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ev(pdc: str, when: str, etat: str, occupation: str = "libre") -> StatusEvent:
    return StatusEvent(pdc, at(when), etat, occupation)


START = at("2024-03-01T00:00:00+00:00")
END = at("2024-03-03T00:00:00+00:00")

# Two sources report on charge point A; their reports overlap in time and are given out of order.
SOURCE_1 = [
    ev("A", "2024-03-01T02:00:00+00:00", "en_service", "libre"),
    ev("A", "2024-03-01T10:00:00+00:00", "en_service", "occupe"),
]
SOURCE_2 = [
    ev("A", "2024-03-01T08:00:00+00:00", "en_service", "libre"),
    ev("A", "2024-03-01T12:00:00+00:00", "en_service", "libre"),
    ev("A", "2024-03-01T20:00:00+00:00", "en_service", "occupe"),
    ev("A", "2024-03-02T03:00:00+00:00", "inconnu", "inconnu"),
    ev("A", "2024-03-02T05:00:00+00:00", "hors_service", "inconnu"),
    ev("A", "2024-03-02T09:00:00+00:00", "en_service", "libre"),
]
# Received last, at the same instant as source 2's 12:00Z report (13:00+01:00 == 12:00Z): it wins.
LATE = [ev("A", "2024-03-01T13:00:00+01:00", "hors_service", "inconnu")]


def test_time_weighted_availability_with_overlapping_and_missing_intervals() -> None:
    # Hand computation (max_gap 6 h, UTC days), merged timeline of A:
    #   03-01 00:00-02:00  no report yet                                  -> unknown 2 h
    #   02:00-08:00  en_service libre (6 h = max_gap, kept whole)         -> ES 6 h
    #   08:00-10:00  en_service libre                                     -> ES 2 h
    #   10:00-12:00  en_service occupe                                    -> ES 2 h, occupied 2 h
    #   12:00 duplicate: en_service (src 2) vs hors_service (received last) -> hors_service
    #   12:00-18:00  hors_service (capped at 6 h; next report at 20:00)   -> HS 6 h
    #   18:00-20:00  gap beyond max_gap                                   -> unknown 2 h
    #   20:00-24:00  en_service occupe (continues after midnight)         -> ES 4 h, occupied 4 h
    #   day 1: ES 14 h, HS 6 h, unknown 4 h (sum 24 h)
    #          availability 14/20 = 0.7, occupancy 6/14 = 3/7
    #   03-02 00:00-02:00  en_service occupe (20:00 + 6 h cap = 02:00)    -> ES 2 h, occupied 2 h
    #   02:00-03:00  gap                                                  -> unknown 1 h
    #   03:00-05:00  inconnu                                              -> unknown 2 h
    #   05:00-09:00  hors_service                                         -> HS 4 h
    #   09:00-15:00  en_service libre (last report, capped at 6 h)        -> ES 6 h
    #   15:00-24:00  no report                                            -> unknown 9 h
    #   day 2: ES 8 h, HS 4 h, unknown 12 h; availability 8/12 = 2/3, occupancy 2/8 = 0.25
    events = SOURCE_2[:3] + SOURCE_1 + SOURCE_2[3:] + LATE
    day1, day2 = daily_availability(events, START, END)

    assert (day1.id_pdc, day1.day) == ("A", date(2024, 3, 1))
    assert day1.span_s == 24 * H
    assert day1.en_service_s == 14 * H
    assert day1.hors_service_s == 6 * H
    assert day1.unknown_s == 4 * H
    assert day1.occupied_s == 6 * H
    assert day1.availability_rate == pytest.approx(0.7)
    assert day1.occupancy_rate == pytest.approx(3 / 7)

    assert day2.day == date(2024, 3, 2)
    assert (day2.en_service_s, day2.hors_service_s, day2.unknown_s) == (8 * H, 4 * H, 12 * H)
    assert day2.occupied_s == 2 * H
    assert day2.availability_rate == pytest.approx(2 / 3)
    assert day2.occupancy_rate == pytest.approx(0.25)

    # Both days together: time-weighted, ES 22 h over 32 h observed.
    both = total([day1, day2])
    assert both.unknown_s == 16 * H
    assert both.availability_rate == pytest.approx(22 / 32)
    assert both.occupancy_rate == pytest.approx(8 / 22)


def test_duplicate_instant_last_received_wins() -> None:
    merged = merge_events(SOURCE_2[:2] + LATE)["A"]
    assert [e.etat for e in merged] == ["en_service", "hors_service"]
    merged = merge_events(LATE + SOURCE_2[:2])["A"]
    assert [e.etat for e in merged] == ["en_service", "en_service"]


def test_interval_split_at_utc_midnight_and_offsets() -> None:
    # 23:30+01:00 is 22:30Z: occupied 22:30-24:00 on 03-01 (1.5 h) and 00:00-01:00 on 03-02 (1 h);
    # then libre 01:00-07:00 (6 h cap). Day 1 unknown 22.5 h, day 2 unknown 17 h.
    events = [
        ev("B", "2024-03-01T23:30:00+01:00", "en_service", "occupe"),
        ev("B", "2024-03-02T01:00:00+00:00", "en_service", "libre"),
    ]
    day1, day2 = daily_availability(events, START, END)
    assert (day1.occupied_s, day1.en_service_s, day1.unknown_s) == (1.5 * H, 1.5 * H, 22.5 * H)
    assert (day2.occupied_s, day2.en_service_s, day2.unknown_s) == (1 * H, 7 * H, 17 * H)
    assert day1.availability_rate == 1.0
    assert day2.occupancy_rate == pytest.approx(1 / 7)


def test_gap_rule_is_configurable_and_inclusive() -> None:
    # max_gap 1 h: 00:00-01:00 kept whole (gap exactly 1 h); 01:00-02:00 HS then 02:00-03:00 unknown.
    events = [
        ev("C", "2024-03-01T00:00:00+00:00", "en_service"),
        ev("C", "2024-03-01T01:00:00+00:00", "hors_service"),
        ev("C", "2024-03-01T03:00:00+00:00", "en_service"),
    ]
    (day,) = daily_availability(events, START, at("2024-03-01T04:00:00+00:00"), max_gap=timedelta(hours=1))
    assert day.span_s == 4 * H
    assert (day.en_service_s, day.hors_service_s, day.unknown_s) == (2 * H, 1 * H, 1 * H)
    assert day.availability_rate == pytest.approx(2 / 3)


def test_report_before_start_carries_state_and_unknown_occupancy() -> None:
    # Report at 22:00 the day before: en_service with unknown occupation until 04:00 (6 h cap).
    # Counts for availability (4 h ES on 03-01) but not in the occupancy denominator.
    events = [ev("D", "2024-02-29T22:00:00+00:00", "en_service", "inconnu")]
    (day,) = daily_availability(events, START, at("2024-03-02T00:00:00+00:00"))
    assert (day.en_service_s, day.unknown_s, day.occupancy_known_s) == (4 * H, 20 * H, 0.0)
    assert day.availability_rate == 1.0
    assert day.occupancy_rate is None


def test_partial_day_and_points_without_reports() -> None:
    start = at("2024-03-01T12:00:00+00:00")
    end = at("2024-03-02T06:00:00+00:00")
    rows = daily_availability([], start, end, id_pdcs=["E"])
    assert [(r.day, r.span_s, r.unknown_s) for r in rows] == [
        (date(2024, 3, 1), 12 * H, 12 * H),
        (date(2024, 3, 2), 6 * H, 6 * H),
    ]
    assert rows[0].availability_rate is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        daily_availability([StatusEvent("A", datetime(2024, 3, 1), "en_service", "libre")], START, END)


def test_out_of_service_for_more_than_seven_days() -> None:
    now = datetime(2024, 3, 1, tzinfo=UTC)
    events = [
        # P1: out of service since 02-20 (re-reported 02-25, an `inconnu` 02-28 does not end it): 10 days.
        ev("P1", "2024-02-01T00:00:00+00:00", "en_service"),
        ev("P1", "2024-02-20T00:00:00+00:00", "hors_service"),
        ev("P1", "2024-02-25T00:00:00+00:00", "hors_service"),
        ev("P1", "2024-02-28T00:00:00+00:00", "inconnu", "inconnu"),
        # P2: exactly 7 days: not "more than 7 days".
        ev("P2", "2024-02-23T00:00:00+00:00", "hors_service"),
        # P3: 7 days and 1 minute.
        ev("P3", "2024-02-22T23:59:00+00:00", "hors_service"),
        # P4: back in service.
        ev("P4", "2024-02-01T00:00:00+00:00", "hors_service"),
        ev("P4", "2024-02-27T00:00:00+00:00", "en_service"),
        # P5: a report after `now` is ignored.
        ev("P5", "2024-02-01T00:00:00+00:00", "hors_service"),
        ev("P5", "2024-03-02T00:00:00+00:00", "en_service"),
    ]
    found = out_of_service_since(events, now)
    assert [(o.id_pdc, o.since, o.duration) for o in found] == [
        ("P1", at("2024-02-20T00:00:00+00:00"), timedelta(days=10)),
        ("P3", at("2024-02-22T23:59:00+00:00"), timedelta(days=7, minutes=1)),
        ("P5", at("2024-02-01T00:00:00+00:00"), timedelta(days=29)),
    ]
    assert [o.id_pdc for o in out_of_service_since(events, now, days=30)] == []
