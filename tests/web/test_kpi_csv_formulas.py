"""The KPI CSV for spreadsheets (bom=1) cannot carry a formula: text cells quoted, numbers intact."""

from __future__ import annotations

import csv
import io

from territoria.dashboard.kpi_pages import _lines


def test_kpi_csv_for_spreadsheets_neutralises_text_cells_only() -> None:
    header = ("kpi", "area", "name", "period", "value", "unit", "contributors")
    rows = [("k", "06088", '=HYPERLINK("http://evil.example","x")', "2026-10-01", -3.5, "@kWh", 12)]
    sheet = list(csv.reader(io.StringIO("".join(_lines(header, rows, True)).lstrip("\ufeff"))))
    assert sheet[1] == [
        "k",
        "06088",
        '\'=HYPERLINK("http://evil.example","x")',
        "2026-10-01",
        "-3.5",
        "'@kWh",
        "12",
    ]
    raw = list(csv.reader(io.StringIO("".join(_lines(header, rows, False)))))
    assert raw[1][2] == '=HYPERLINK("http://evil.example","x")'  # machine CSV: exact data
