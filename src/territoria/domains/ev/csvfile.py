"""Operator CSV files as they really come, read by the one tabular reader (validation/tabular.py).

Operators export IRVE and session files from spreadsheets: UTF-8 with or without a BOM, Excel's
Windows-1252 ("ANSI"), sometimes UTF-16 ("Unicode text"), with `;` (French Excel), `,` or tab.
The encoding found is always reported, never silently assumed; blank `;;;` lines are not rows.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from territoria.errors import Invalid
from territoria.ingest.parsers import Row
from territoria.validation.tabular import Tabular, open_csv

_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class UnreadableFile(Invalid):
    """A file that is not a CSV table at all (binary, empty, no header)."""


@dataclass
class CsvTable:
    """A decoded CSV file: how it was read, its stripped header and its numbered rows."""

    encoding: str
    separator: str
    header: list[str]
    rows: list[Row] = field(default_factory=list)  # (row number from 1, dict or BadRow)


def open_table(data: bytes, *, what: str = "CSV") -> Tabular:
    """An operator's CSV file opened for reading in columnar chunks; UnreadableFile when it is not one."""
    if b"\x00" in data[:4096] and not data.startswith(_WIDE_BOMS):
        raise UnreadableFile(
            "the file holds NUL bytes: it is binary (a spreadsheet .xlsx/.ods, an archive?), not CSV; "
            "export it as CSV (UTF-8, ';' or ',' separated) and try again"
        )
    tab = open_csv(data, skip_blank=True)
    if not any(tab.header):
        raise UnreadableFile(
            f"the {what} file is empty or starts with an empty line: a header row is expected"
        )
    return tab


def read_table(data: bytes, *, what: str = "CSV") -> CsvTable:
    """Decode and split a CSV file; ragged rows become BadRows (code PARSE) so they can be quarantined."""
    tab = open_table(data, what=what)
    return CsvTable(tab.encoding, tab.delimiter, tab.header, list(tab.rows()))
