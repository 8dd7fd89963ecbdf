"""Charging sessions: rejection codes, success thresholds, daily and area figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from territoria.domains.ev.sessions import (
    ChargingSession,
    area_sessions,
    check_sessions,
    daily_sessions,
    is_successful,
)

T0 = datetime.fromisoformat("2024-03-01T10:00:00+00:00")


def sess(pdc: str, minutes: float, kwh: float, start: datetime = T0) -> ChargingSession:
    return ChargingSession(pdc, start, start + timedelta(minutes=minutes), kwh)


@pytest.mark.parametrize(
    ("minutes", "kwh", "ok"),
    [
        (3, 10.0, False),  # exactly 3 minutes: not more than 3 minutes
        (3 + 1 / 60, 10.0, True),  # 3 min 1 s
        (30, 0.5, False),  # exactly 0.5 kWh: not more than 0.5 kWh
        (30, 0.51, True),
        (2, 0.2, False),
    ],
)
def test_success_threshold_edges(minutes: float, kwh: float, ok: bool) -> None:
    assert is_successful(sess("A", minutes, kwh)) is ok


def test_success_thresholds_are_configurable() -> None:
    s = sess("A", 3, 0.5)
    assert is_successful(s, min_energy_kwh=0.4, min_duration=timedelta(minutes=2))
    assert not is_successful(s, min_energy_kwh=0.5, min_duration=timedelta(minutes=2))


def test_rejection_codes() -> None:
    good = sess("A", 60, 24.2)  # 22 kW x 1 h x 1.1 = 24.2 kWh: at the limit, accepted
    too_much = sess("A", 60, 24.3)
    unknown_power = sess("B", 60, 500.0)  # no power known for B: not checked
    backwards = ChargingSession("A", T0, T0 - timedelta(minutes=1), 1.0)
    negative = sess("A", 60, -1.0)
    naive = ChargingSession("A", datetime(2024, 3, 1, 10), datetime(2024, 3, 1, 11), 1.0)
    accepted, rejected = check_sessions(
        [good, too_much, unknown_power, backwards, negative, naive], power_kw={"A": 22.0, "B": None}
    )
    assert accepted == [good, unknown_power]
    assert [(r.session, r.code) for r in rejected] == [
        (too_much, "IMPLAUSIBLE_ENERGY"),
        (backwards, "END_BEFORE_START"),
        (negative, "NEGATIVE_ENERGY"),
        (naive, "NAIVE_TS"),
    ]


def test_daily_and_area_figures() -> None:
    day2 = datetime.fromisoformat("2024-03-02T23:30:00+00:00")
    sessions = [
        sess("A", 30, 10.0),  # success
        sess("A", 2, 0.1),  # failure
        sess("A", 60, 20.0, start=day2),  # success, counted on its start day 03-02
        sess("C", 45, 0.5),  # failure (exactly 0.5 kWh)
        sess("X", 30, 5.0),  # charge point not in the territory: ignored by area figures
    ]
    daily = daily_sessions(sessions)
    assert [(d.id_pdc, d.day, d.sessions, d.successful, d.energy_kwh) for d in daily] == [
        ("A", date(2024, 3, 1), 2, 1, 10.1),
        ("A", date(2024, 3, 2), 1, 1, 20.0),
        ("C", date(2024, 3, 1), 1, 0, 0.5),
        ("X", date(2024, 3, 1), 1, 1, 5.0),
    ]
    # Area 01001: A and B (B without sessions), 2 days -> 3 sessions / (2 x 2) = 0.75, success 2/3.
    # Area 01002: C, 1 session / (1 x 2) = 0.5, success 0.
    areas = area_sessions(
        daily, {"A": "01001", "B": "01001", "C": "01002"}, date(2024, 3, 1), date(2024, 3, 2)
    )
    a1, a2 = areas
    assert (a1.area_code, a1.charge_points, a1.days, a1.sessions, a1.successful) == ("01001", 2, 2, 3, 2)
    assert a1.energy_kwh == pytest.approx(30.1)
    assert a1.sessions_per_pdc_per_day == pytest.approx(0.75)
    assert a1.success_share == pytest.approx(2 / 3)
    assert (a2.sessions_per_pdc_per_day, a2.success_share) == (0.5, 0.0)
    # Only 03-02: A has one session there.
    (only_a, _c) = area_sessions(daily, {"A": "01001", "C": "01002"}, date(2024, 3, 2), date(2024, 3, 2))
    assert (only_a.sessions, only_a.sessions_per_pdc_per_day) == (1, 1.0)
    assert _c.success_share is None
