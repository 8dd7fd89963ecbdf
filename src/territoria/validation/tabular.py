"""The one tabular (CSV) reader: one encoding policy, one delimiter sniffer, columnar chunks.

Every CSV path goes through `open_csv`: HTTP bodies of records and measurements, `territoria import`, the
quarantine's re-reading of a CSV line, and the domains' file imports. The encoding is found once, the same
way everywhere (a BOM, else UTF-8, else Windows-1252 with Latin-1 for the five bytes it leaves undefined)
unless the sender declared one; the delimiter is the most frequent of `,` `;` tab `|` in the header line.
Rows are read by Arrow (pyarrow.csv) as text columns, so that leading zeros and codes survive and the Table
Schema engine does the typing; a block holding anything unusual (ragged rows, bad bytes, NUL, an over-long
field) is read again by the csv module, row by row, so that each such row keeps its number, its raw text and
why.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from territoria.errors import Invalid, Unparseable, UnsupportedMediaType
from territoria.validation.limits import UNSAFE_TEXT, printable
from territoria.validation.rules import encoding as encoding_rule
from territoria.validation.tabular_blocks import KEEP_BYTES, csv_error_reasons, read_blocks
from territoria.validation.tabular_chunk import BadRow, Chunk, Row, concat, rechunk

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024  # the encoding is found from this head (the whole of most HTTP bodies)
READ_BYTES = 1 << 20  # pieces read from a file
UTF8_BOM = codecs.BOM_UTF8
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (UTF8_BOM, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
UTF8 = ("utf-8", "utf-8-sig")


def _latin1_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: a byte Windows-1252 leaves undefined (0x81, 0x8D…) read as Latin-1."""
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


LATIN1_REST = "territoria.latin-1-rest"
codecs.register_error(LATIN1_REST, _latin1_bytes)


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type (None when not declared); 415 for one that is not text."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return text_encoding(value.strip().strip('"'))
    return None


def text_encoding(name: str) -> str:
    """The codec name of a text encoding, or UnsupportedMediaType naming what is accepted."""
    shown = printable(name, 60)
    try:
        info = codecs.lookup(name)
        # rot13, base64, zlib… are codecs but not text encodings; 'undefined' refuses everything.
        usable = getattr(info, "_is_text_encoding", True) and info.name != "undefined"
        if usable:
            codecs.getincrementaldecoder(info.name)(KEEP_BYTES).decode(b"a", final=True)
    except (LookupError, UnicodeError, TypeError, ValueError):
        usable = False
    if not usable:
        raise UnsupportedMediaType(
            f"unsupported charset '{shown}': send UTF-8 or declare a text encoding such as "
            f"utf-16, iso-8859-1 or windows-1252 / jeu de caractères « {shown} » non pris en charge"
        )
    return info.name


def detect_encoding(head: bytes, *, complete: bool = False) -> str:
    """The encoding of a text from its first bytes: its BOM, else UTF-8, else Windows-1252.

    The head may end inside a multi-byte character unless `complete`: only an invalid sequence, not a
    cut one, says Windows-1252 (whose undefined bytes are then read as Latin-1, see `decode`).
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """A whole text (without its BOM) and its encoding, found by `detect_encoding` unless given."""
    found = encoding or detect_encoding(data, complete=True)
    errors = LATIN1_REST if encoding is None and found == "cp1252" else KEEP_BYTES
    if found in UTF8:
        data, found = (data[len(UTF8_BOM) :], "utf-8-sig") if data.startswith(UTF8_BOM) else (data, found)
        return data.decode("utf-8", errors), found
    return data.decode(found, errors).lstrip("\ufeff"), found


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of `,` `;` tab `|` in a header line (`,` when none is there or on a tie)."""
    best, most = ",", header_line.count(",")
    for sep in DELIMITERS[1:]:
        if (count := header_line.count(sep)) > most:
            best, most = sep, count
    return best


def split_line(line: str, delimiter: str | None = None) -> list[str] | BadRow:
    """One CSV line (a header, a quarantined row) split into cells with the sniffed delimiter."""
    try:
        return next(csv.reader([line], delimiter=delimiter or sniff_delimiter(line)), [])
    except csv.Error as exc:  # a field past the csv module's limit, a stray quote
        return BadRow.coded(line, "PARSE", *csv_error_reasons(exc))


def _pieces(source: bytes | BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """Byte pieces of a body, an open binary file or an iterable of pieces."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    read = getattr(source, "read", None)
    if read is not None:
        yield from iter(lambda: read(READ_BYTES), b"")
        return
    yield from source


def _head(pieces: Iterator[bytes]) -> tuple[bytes, bool]:
    """The first SNIFF_BYTES (or more) bytes, and whether they are the whole stream."""
    parts: list[bytes] = []
    size = 0
    for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size >= SNIFF_BYTES:
            return (parts[0] if len(parts) == 1 else b"".join(parts)), False
    return b"".join(parts), True


def _utf8(head: bytes, pieces: Iterator[bytes], encoding: str, declared: bool) -> Iterator[bytes]:
    """The stream as UTF-8 bytes (bytes that are not text in `encoding` stay invalid UTF-8)."""
    if encoding in UTF8:
        yield head.removeprefix(UTF8_BOM)
        yield from pieces
        return
    errors = LATIN1_REST if not declared and encoding == "cp1252" else KEEP_BYTES
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    try:
        yield decoder.decode(head).lstrip("\ufeff").encode("utf-8", "surrogatepass")
        for piece in pieces:
            yield decoder.decode(piece).encode("utf-8", "surrogatepass")
        yield decoder.decode(b"", final=True).encode("utf-8", "surrogatepass")
    except UnicodeError as exc:  # not a byte error the handler keeps: utf-16/utf-32 without their BOM
        raise Unparseable(
            f"the body cannot be read as {encoding} ({exc}): declare the byte order (e.g. utf-16-le) or send "
            f"UTF-8 / le corps ne peut être lu en {encoding} : précisez l'ordre des octets "
            "(p. ex. utf-16-le) ou envoyez de l'UTF-8"
        ) from exc


def _bad_header(header: list[str], encoding: str) -> Invalid:
    """The error for a header holding bytes that are not text in the file's encoding."""
    shown = printable(", ".join(header), 500)
    found = encoding_rule.check(0, encoding)
    return Invalid(
        f"the CSV header is not valid {encoding} text ({shown}); {found.message_en}",
        errors=[{"row": 0, "field": None, "code": "ENCODING", "message": found.message_en}],
    )


@dataclass
class Tabular:
    """An open CSV stream: how it is read, its header, and its rows as columnar chunks."""

    encoding: str
    delimiter: str
    header: list[str]
    body: Iterator[bytes]  # UTF-8 bytes after the header line
    skip_blank: bool = False

    def chunks(self, rows: int | None = None) -> Iterator[Chunk]:
        """The rows in chunks of exactly `rows` rows (the last may be shorter), or as they are read."""
        blocks = read_blocks(self)
        return blocks if rows is None else rechunk(blocks, rows)

    def all(self) -> Chunk:
        """Every row in one chunk (a body already in memory)."""
        parts = list(self.chunks())
        return concat(parts) if parts else Chunk.empty(self)

    def rows(self) -> Iterator[Row]:
        """Every row in order, as a dict of text cells or a BadRow (for the row-by-row consumers)."""
        for chunk in self.chunks():
            yield from chunk


def open_csv(
    source: bytes | BinaryIO | Iterable[bytes], *, encoding: str | None = None, skip_blank: bool = False
) -> Tabular:
    """Open a CSV body, file or stream: encoding (declared, else found), delimiter and header read now.

    `skip_blank` leaves out rows whose cells are all blank (spreadsheet exports end with `;;;` lines).
    """
    pieces = _pieces(source)
    head, complete = _head(pieces)
    declared = encoding is not None
    sniffed = head[:SNIFF_BYTES]  # the same head whatever the size of the pieces read
    complete = complete and len(sniffed) == len(head)
    found = text_encoding(encoding) if encoding is not None else detect_encoding(sniffed, complete=complete)
    stream = _utf8(head, pieces, found, declared)
    first, rest = b"", b""
    for piece in stream:
        first = first + piece if first else piece
        if (end := first.find(b"\n")) >= 0:
            first, rest = first[: end + 1], first[end + 1 :]
            break
    line = first.decode("utf-8", KEEP_BYTES).lstrip("\ufeff").rstrip("\r\n")
    delimiter = sniff_delimiter(line)
    cells = split_line(line, delimiter) if line else []
    if isinstance(cells, BadRow):
        raise Invalid(f"the CSV header cannot be read: {cells.message}")
    header = [h.strip() for h in cells]
    if any(UNSAFE_TEXT.search(h) for h in header):
        raise _bad_header(header, found)

    def body() -> Iterator[bytes]:
        if rest:
            yield rest
        yield from stream

    return Tabular(found, delimiter, header, body(), skip_blank)


__all__ = [
    "KEEP_BYTES",
    "BadRow",
    "Chunk",
    "Row",
    "Tabular",
    "charset_of",
    "csv_error_reasons",
    "decode",
    "detect_encoding",
    "open_csv",
    "sniff_delimiter",
    "text_encoding",
]
