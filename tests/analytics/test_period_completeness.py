"""A period is complete only when it has ended and the data covers it from its first to its last day."""

from datetime import date

from territoria.analytics.contract_report import expected_days
from territoria.analytics.periods import Coverage, period_state

TODAY = date(2026, 12, 8)


def test_a_month_covered_from_its_first_day_and_ended_is_complete() -> None:
    data = Coverage(date(2025, 11, 1), date(2026, 12, 8))
    assert period_state(date(2026, 11, 1), "month", data, TODAY) == "complete"
    assert period_state(date(2025, 11, 1), "month", data, TODAY) == "complete"
    assert period_state(date(2025, 1, 1), "year", data, TODAY) == "partial"  # starts in November


def test_history_starting_on_the_7th_leaves_that_month_partial() -> None:
    # The demo of issue 15: 30 days of data from the 7th, so last month is not "the latest complete".
    data = Coverage(date(2026, 11, 7), date(2026, 12, 7))
    assert period_state(date(2026, 11, 1), "month", data, TODAY) == "partial"
    assert period_state(date(2026, 10, 1), "month", data, TODAY) == "empty"


def test_the_running_period_is_partial_and_data_stopping_early_too() -> None:
    data = Coverage(date(2025, 1, 1), date(2026, 12, 8))
    assert period_state(date(2026, 12, 1), "month", data, TODAY) == "partial"
    assert period_state(date(2026, 12, 7), "day", data, TODAY) == "complete"
    assert period_state(date(2026, 12, 8), "day", data, TODAY) == "partial"
    stopped = Coverage(date(2025, 1, 1), date(2026, 11, 20))
    assert period_state(date(2026, 11, 1), "month", stopped, TODAY) == "partial"
    assert period_state(date(2026, 11, 16), "week", stopped, TODAY) == "partial"
    assert period_state(date(2026, 11, 9), "week", stopped, TODAY) == "complete"


def test_no_data_no_period() -> None:
    assert period_state(date(2026, 11, 1), "month", None, TODAY) == "empty"


def test_contract_completeness_expects_every_day_of_the_month() -> None:
    assert expected_days(date(2026, 11, 1), TODAY) == 30
    assert expected_days(date(2026, 12, 1), TODAY) == 7  # the running month: days before today
    assert expected_days(date(2027, 1, 1), TODAY) == 0
