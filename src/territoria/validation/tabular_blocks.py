"""Blocks of CSV rows read by Arrow, or row by row by the csv module when a block holds anything unusual.

A block is cut at a newline outside quotes. Arrow reads it as binary columns; the block is taken as it is
when every row has the header's width, every cell is UTF-8 without NUL and no cell is longer than the csv
module allows. Otherwise the csv module reads the same bytes again, and each unusual row becomes a BadRow
with its number and raw text, exactly as the row-by-row reader always did.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from territoria.validation.limits import MAX_RAW_CHARS, UNSAFE_TEXT, printable
from territoria.validation.rules import encoding as encoding_rule
from territoria.validation.tabular_chunk import BadRow, Chunk, Row

BLOCK_BYTES = 4 << 20  # rows are handed over in blocks of about this size
MAX_BLOCK_BYTES = 16 * BLOCK_BYTES  # past this without a newline outside quotes, cut anyway


def _keep_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: each undecodable byte survives as U+DC00 + byte, for any codec."""
    assert isinstance(exc, UnicodeDecodeError)
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


KEEP_BYTES = "territoria.keep-bytes"
codecs.register_error(KEEP_BYTES, _keep_bytes)


class Source(Protocol):
    """What the block reader needs of an open file (see tabular.Tabular)."""

    encoding: str
    delimiter: str
    header: list[str]
    body: Iterator[bytes]
    skip_blank: bool


def csv_error_reasons(exc: csv.Error) -> tuple[str, dict[str, Any]]:
    """The message code and parameters of a CSV line that cannot be read."""
    text = str(exc)
    if "field larger than field limit" in text:
        return "finding.PARSE.field_too_long", {"limit": csv.field_size_limit()}
    return "finding.PARSE.csv", {"reason": text}


def _cut(data: bytes, start: int, limit: int) -> int:
    """End of the longest run of rows in data[start:limit]: just after a newline outside quotes (0: none).

    Quotes are counted, not parsed: `""` inside a quoted field keeps the count even, so a newline
    after an even number of quotes is outside any field.
    """
    pos = data.rfind(b"\n", start, limit)
    if pos < 0:
        return 0
    quotes = data.count(b'"', start, pos)
    while quotes % 2:
        prev = data.rfind(b"\n", start, pos)
        if prev < 0:
            return 0
        quotes -= data.count(b'"', prev, pos)
        pos = prev
    return pos + 1


def _blocks(body: Iterator[bytes]) -> Iterator[bytes]:
    """The body cut into blocks of whole rows, of about BLOCK_BYTES each (a body in one piece is sliced,
    never copied whole again)."""
    parts: list[bytes] = []
    size = 0
    for piece in body:
        parts.append(piece)
        size += len(piece)
        if size < BLOCK_BYTES:
            continue
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        start = 0
        while len(data) - start >= BLOCK_BYTES:
            cut = _cut(data, start, start + BLOCK_BYTES) or _cut(data, start, len(data))
            if not cut and len(data) - start > MAX_BLOCK_BYTES:
                # No newline outside quotes for this long (a stray quote): cut anyway, the
                # row-by-row reader says which rows are broken.
                cut = data.rfind(b"\n", start) + 1
            if cut <= start:
                break
            yield data[start:cut]
            start = cut
        rest = data[start:]
        parts, size = ([rest], len(rest)) if rest else ([], 0)
    if parts:
        yield b"".join(parts)


def _arrow(data: bytes, width: int, delimiter: str) -> list[pa.Array] | None:
    """Text columns of a block read by Arrow, or None when a row is unusual (see module doc)."""
    unusual = False

    def on_invalid(_row: Any) -> str:
        nonlocal unusual
        unusual = True
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.binary()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if unusual:
        return None
    limit = csv.field_size_limit()
    columns = []
    for col in table.columns:
        binary = col.combine_chunks()
        if len(binary) and (pc.max(pc.binary_length(binary)).as_py() or 0) > limit:
            return None
        try:
            text = binary.cast(pa.string())  # checks UTF-8
        except pa.ArrowInvalid:
            return None
        if len(text) and pc.any(pc.match_substring(text, "\x00")).as_py():
            return None
        columns.append(text)
    return columns


class _Tracked:
    """Text lines, remembering those read since the last row (the raw text of a row that fails)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.taken: list[str] = []
        self.size = 0

    def __iter__(self) -> _Tracked:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        if self.size < MAX_RAW_CHARS:
            self.taken.append(line)
            self.size += len(line)
        return line

    def pop(self) -> str:
        """The text read since the previous call."""
        text = "".join(self.taken).rstrip("\r\n")
        self.taken, self.size = [], 0
        return text


def _row_by_row(data: bytes, src: Source, start: int) -> tuple[list[Row], int]:
    """The rows of a block read by the csv module, numbered after `start`; and the last number."""
    text = data.decode("utf-8", KEEP_BYTES)
    tracked = _Tracked(iter(io.StringIO(text, newline="")))
    reader = csv.reader(tracked, delimiter=src.delimiter)
    width, header, n = len(src.header), src.header, start
    out: list[Row] = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return out, n
        except csv.Error as exc:
            # A field past the csv module's limit, a broken quote…: this row only.
            n += 1
            out.append((n, BadRow.coded(printable(tracked.pop()), "PARSE", *csv_error_reasons(exc))))
            continue
        raw = tracked.pop()
        if not fields or (src.skip_blank and all(not c.strip() for c in fields)):
            continue
        n += 1
        if UNSAFE_TEXT.search(raw):
            found = encoding_rule.check(n, src.encoding)
            reason = (None, found.code, found.message_code, found.params)
            out.append((n, BadRow(printable(raw), "ENCODING", found.message_en, reasons=(reason,))))
        elif len(fields) != width:
            params = {"fields": len(fields), "width": width}
            out.append((n, BadRow.coded(printable(raw), "PARSE", "finding.PARSE.width", params)))
        else:
            out.append((n, dict(zip(header, fields, strict=True))))


def _blank(columns: list[pa.Array]) -> np.ndarray:
    """Rows whose cells are all blank."""
    blank = np.ones(len(columns[0]), dtype=bool)
    for col in columns:
        empty = pc.equal(pc.utf8_trim_whitespace(col), "")
        blank &= np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    return blank


def _chunk_of_rows(rows: list[Row], src: Source) -> Chunk:
    """A chunk from rows read one by one."""
    good = [(n, r) for n, r in rows if isinstance(r, dict)]
    numbers = np.array([n for n, _ in good], dtype=np.int64)
    columns = [pa.array([r[name] for _, r in good], pa.string()) for name in src.header]
    bad = [(n, r) for n, r in rows if isinstance(r, BadRow)]
    return Chunk(list(src.header), src.delimiter, src.encoding, numbers, columns, bad)


def read_blocks(src: Source) -> Iterator[Chunk]:
    """The rows of an open file, block by block."""
    n = 0
    width = len(src.header)
    for data in _blocks(src.body):
        columns = _arrow(data, width, src.delimiter) if width else None
        if columns is None:
            rows, n = _row_by_row(data, src, n)
            if rows:
                yield _chunk_of_rows(rows, src)
            continue
        if src.skip_blank and len(columns[0]):
            keep = ~_blank(columns)
            if not keep.all():
                mask = pa.array(keep)
                columns = [c.filter(mask) for c in columns]
        count = len(columns[0])
        if count:
            numbers = np.arange(n + 1, n + 1 + count, dtype=np.int64)
            yield Chunk(list(src.header), src.delimiter, src.encoding, numbers, columns)
            n += count
