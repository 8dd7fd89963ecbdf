"""CSV cells a spreadsheet will not run as formulas (CSV or formula injection).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(…)` sends the
reader's data away, DDE formulas run commands), and a leading tab or carriage return can hide such a
start. A CSV written for spreadsheets puts a quote before such a text cell, the mitigation OWASP
recommends; plain numbers (`-3.5`, `-3,5`, `+33`) are no formula and stay as they are. Every CSV writer of
the platform uses this one definition: the quarantine and audit exports, the KPI CSV, the open-data
CSV export (vectorised there with the two patterns below).
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The same rule as regular expressions (RE2- and Python-compatible), for column-wise writers.
FORMULA_PATTERN = "^[" + "".join(re.escape(c) for c in FORMULA_START) + "]"
NUMBER_PATTERN = r"^[+-]?(\d+[.,]?\d*|[.,]\d+)([eE][+-]?\d+)?$"  # a decimal comma too (French CSVs)
_FORMULA = re.compile(FORMULA_PATTERN)
_NUMBER = re.compile(NUMBER_PATTERN)


def safe_cell(text: str) -> str:
    """`text` with a leading quote when a spreadsheet would run it as a formula; numbers left intact."""
    if _FORMULA.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
