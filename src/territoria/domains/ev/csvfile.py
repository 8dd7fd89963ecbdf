"""Operator CSV files as they really come: encoding and separator sniffed, rows numbered for quarantine.

Operators export IRVE and session files from spreadsheets: UTF-8 with or without a BOM, Excel's
Windows-1252 ("ANSI"), Latin-1, sometimes UTF-16 ("Unicode text"), with `;` (French Excel) or `,`.
The encoding found is always reported, never silently assumed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from territoria.errors import Invalid
from territoria.ingest.parsers import BadRow, Row, csv_error_reasons
from territoria.validation.limits import NUL_EN, NUL_FR, printable

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SEPARATORS = (";", ",", "\t")


class UnreadableFile(Invalid):
    """A file that is not a CSV table at all (binary, empty, no header)."""


@dataclass
class CsvTable:
    """A decoded CSV file: how it was read, its stripped header and its numbered rows."""

    encoding: str
    separator: str
    header: list[str]
    rows: list[Row] = field(default_factory=list)  # (row number from 1, dict or BadRow)


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252, else Latin-1."""
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith(UTF16_BOMS):
        return data.decode("utf-16", "replace"), "utf-16"
    if b"\x00" in data[:4096]:
        raise UnreadableFile(
            "the file holds NUL bytes: it is binary (a spreadsheet .xlsx/.ods, an archive?), not CSV; "
            "export it as CSV (UTF-8, ';' or ',' separated) and try again"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Excel "CSV (séparateur: point-virgule)" writes Windows-1252, a superset of Latin-1 for € and œ.
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def separator_of(header_line: str) -> str:
    """The most frequent of `;`, `,` and tab in the header line (`,` when none is there)."""
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def read_table(data: bytes, *, what: str = "CSV") -> CsvTable:
    """Decode and split a CSV file; ragged rows become BadRows (code PARSE) so they can be quarantined."""
    text, encoding = decode(data)
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        raise UnreadableFile(
            f"the {what} file is empty or starts with an empty line: a header row is expected"
        )
    sep = separator_of(first)
    read: list[str] = []  # the lines of the row being read, for the quarantine when it cannot be

    def lines() -> Iterator[str]:
        for text_line in io.StringIO(text, newline=""):
            read.append(text_line)
            yield text_line

    reader = csv.reader(lines(), delimiter=sep)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except csv.Error as exc:
        raise UnreadableFile(f"the {what} header cannot be read: {exc}") from exc
    table = CsvTable(encoding, sep, header)
    width = len(header)
    n = 0
    while True:
        read.clear()
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # A field past the csv module's limit (131,072 characters): this row only, not a 500.
            n += 1
            en, fr = csv_error_reasons(exc)
            table.rows.append((n, BadRow(printable("".join(read).rstrip("\r\n")), "PARSE", en, fr)))
            continue
        if not cells or all(not c.strip() for c in cells):
            continue  # blank lines (a trailing one is common) are not rows
        n += 1
        if any("\x00" in c for c in cells):  # PostgreSQL stores no NUL in text or JSON
            table.rows.append((n, BadRow(printable(sep.join(cells)), "ENCODING", NUL_EN, NUL_FR)))
            continue
        if len(cells) != width:
            table.rows.append(
                (
                    n,
                    BadRow(
                        sep.join(cells),
                        "PARSE",
                        f"{len(cells)} fields where the header has {width}",
                        f"{len(cells)} champs alors que l'en-tête en a {width}",
                    ),
                )
            )
            continue
        table.rows.append((n, dict(zip(header, cells, strict=True))))
    return table
