"""Body and file parsers: JSON array, NDJSON, CSV, GeoJSON, streamed row by row.

Each parser yields (row number, row) where the row is a dict, or a BadRow kept for quarantine.
A body that cannot be parsed at all raises Unparseable with the line and column.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ijson
import orjson

from territoria.errors import Invalid, Unparseable, UnsupportedMediaType
from territoria.validation.limits import (
    MAX_DEPTH,
    MAX_RAW_CHARS,
    UNSAFE_TEXT,
    DepthGuard,
    bytes_text,
    printable,
    row_problem,
    safe_text,
    strip_bom,
)
from territoria.validation.rules import encoding as encoding_rule


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not even be read (bad JSON line, wrong encoding, wrong column count)."""

    raw: str
    code: str
    message: str
    message_fr: str = ""


Row = tuple[int, "dict[str, Any] | BadRow"]

NOT_OBJECT = "not an object: each row must be a JSON object"
NOT_OBJECT_FR = "pas un objet : chaque ligne doit être un objet JSON"

FORMATS = ("json", "ndjson", "csv", "geojson")


def format_of(content_type: str | None, filename: str | None = None) -> str:
    """Input format from a Content-Type header or a file name."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("application/json", "text/json"):
        return "json"
    if ct in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"):
        return "ndjson"
    if ct in ("text/csv", "application/csv"):
        return "csv"
    if ct in ("application/geo+json", "application/vnd.geo+json"):
        return "geojson"
    if filename:
        name = filename.lower()
        for suffix, fmt in (
            (".ndjson", "ndjson"),
            (".jsonl", "ndjson"),
            (".csv", "csv"),
            (".geojson", "geojson"),
        ):
            if name.endswith(suffix):
                return fmt
        if name.endswith(".json"):
            return "json"
    raise Invalid(
        f"unsupported content type '{ct or 'none'}': send application/json, application/x-ndjson or text/csv"
    )


def _keep_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: each undecodable byte survives as U+DC00 + byte, for any codec."""
    assert isinstance(exc, UnicodeDecodeError)
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


KEEP_BYTES = "territoria.keep-bytes"
codecs.register_error(KEEP_BYTES, _keep_bytes)


def charset_of(content_type: str | None) -> str:
    """Charset parameter of a Content-Type, UTF-8 by default; 415 for one that cannot decode text."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return text_encoding(value.strip().strip('"'))
    return "utf-8"


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


def _position(body: bytes, pos: int) -> tuple[int, int]:
    """1-based line and column of a byte offset."""
    line = body.count(b"\n", 0, pos) + 1
    col = pos - (body.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def _checked(n: int, item: Any, check: bool) -> Row:
    """A parsed item as a row, or a bad row when it is not an object or (if `check`) nests too deep."""
    if not isinstance(item, dict):
        return n, BadRow(safe_text(item), "TYPE", NOT_OBJECT, NOT_OBJECT_FR)
    if check and (problem := row_problem(item)) is not None:
        return n, BadRow(safe_text(item), *problem)
    return n, item


def _json_doc(body: bytes) -> Any:
    """A whole JSON body (a leading BOM is skipped); Unparseable with the line and column."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        line, col = _position(body, exc.pos)
        raise Unparseable(f"invalid JSON at line {line}, column {col}: {exc.msg}") from exc


def _needs_row_check(body: bytes, doc: list[Any]) -> bool:
    """Whether rows must be walked for depth and NUL, decided at C speed on the text.

    Each object row has at least its own '{', the array its '['; when the text has no other
    bracket (brackets in strings only err towards walking), no row nests anything.
    """
    if b"\\u0000" in body:
        return True
    brackets = body.count(b"{") + body.count(b"[")
    return brackets > 1 + sum(1 for item in doc if type(item) is dict)


def parse_json_array(body: bytes) -> Iterator[Row]:
    """A JSON array of objects (the whole body is parsed first: it is bounded by the size limit)."""
    body = strip_bom(body)
    doc = _json_doc(body)
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        raise Invalid("a GeoJSON FeatureCollection goes to the assets or records path, not measurements")
    if not isinstance(doc, list):
        raise Unparseable("expected a JSON array of objects at line 1, column 1")
    check = _needs_row_check(body, doc)
    for n, item in enumerate(doc, start=1):
        yield _checked(n, item, check)


def iter_ndjson(lines: Iterable[bytes]) -> Iterator[Row]:
    """One JSON object per line; a bad line is a bad row, not a failed batch."""
    n = 0
    for line_no, received in enumerate(lines, start=1):
        line = strip_bom(received) if line_no == 1 else received
        if not line.strip():
            continue
        n += 1
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raw = bytes_text(line.rstrip(b"\r\n"))
            where = f"line {line_no}, column {exc.colno}"
            yield (
                n,
                BadRow(
                    raw,
                    "PARSE",
                    f"invalid JSON at {where}: {exc.msg}",
                    f"JSON invalide ({where}) : {exc.msg}",
                ),
            )
            continue
        # More opening brackets than levels allowed is the only way to nest too deep: walk only then.
        check = line.count(b"{") + line.count(b"[") > MAX_DEPTH or b"\\u0000" in line
        yield _checked(n, item, check)


def _text_lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Decode a byte stream (lines or any pieces) into text lines ending in a newline.

    The decoder is incremental, so that multi-byte encodings (UTF-16…) whose newline is not the byte
    0x0A are read right; undecodable bytes survive as U+DC00 + byte, so that their row is quarantined.
    """
    decoder = codecs.getincrementaldecoder(encoding)(KEEP_BYTES)
    pending = ""
    try:
        for chunk in chunks:
            pending += decoder.decode(chunk)
            if "\n" in pending:
                *done, pending = pending.split("\n")
                for line in done:
                    yield line + "\n"
        pending += decoder.decode(b"", final=True)
    except UnicodeError as exc:  # not a byte error the handler keeps: utf-16/utf-32 without their BOM
        raise Unparseable(
            f"the body cannot be read as {encoding} ({exc}): declare the byte order (e.g. utf-16-le) or send "
            f"UTF-8 / le corps ne peut être lu en {encoding} : précisez l'ordre des octets "
            "(p. ex. utf-16-le) ou envoyez de l'UTF-8"
        ) from exc
    if pending:
        yield pending


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


def _bad_header(header: list[str], encoding: str) -> Invalid:
    """The error for a header holding bytes that are not text in the declared encoding."""
    shown = printable(", ".join(header), 500)
    found = encoding_rule.check(0, encoding)
    return Invalid(
        f"the CSV header is not valid {encoding} text ({shown}); {found.message_en}",
        errors=[{"row": 0, "field": None, "code": "ENCODING", "message": found.message_en}],
    )


def iter_csv(lines: Iterable[bytes], required: Sequence[str], *, encoding: str = "utf-8") -> Iterator[Row]:
    """CSV with a header row; the header must name every required column."""
    text = _text_lines(lines, encoding)
    sample = next(text, "")
    if sample.startswith("\ufeff"):
        sample = sample[1:]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    try:
        header = next(csv.reader([sample], delimiter=delimiter), [])
    except csv.Error as exc:
        raise Invalid(f"the CSV header cannot be read: {exc}") from exc
    header = [h.strip() for h in header]
    if any(UNSAFE_TEXT.search(h) for h in header):
        raise _bad_header(header, encoding)
    missing = [c for c in required if c not in header]
    if missing:
        raise Invalid(
            f"CSV header is missing column(s) {', '.join(missing)}; found: {', '.join(header) or 'nothing'}",
            errors=[
                {"row": 0, "field": c, "code": "MISSING_COLUMN", "message": f"no column '{c}'"}
                for c in missing
            ],
        )
    width = len(header)
    tracked = _Tracked(text)
    reader = csv.reader(tracked, delimiter=delimiter)
    n = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A field past the csv module's limit (131,072 characters), a broken quote…: this row
            # only; the reader starts afresh on the next line.
            n += 1
            en, fr = csv_error_reasons(exc)
            yield n, BadRow(printable(tracked.pop()), "PARSE", en, fr)
            continue
        raw = tracked.pop()
        if not fields:
            continue
        n += 1
        if UNSAFE_TEXT.search(raw):
            found = encoding_rule.check(n, encoding)
            yield n, BadRow(printable(raw), "ENCODING", found.message_en, found.message_fr)
            continue
        if len(fields) != width:
            en = f"{len(fields)} fields where the header has {width}"
            fr = f"{len(fields)} champs alors que l'en-tête en a {width}"
            yield n, BadRow(printable(raw), "PARSE", en, fr)
            continue
        yield n, dict(zip(header, fields, strict=True))


def csv_error_reasons(exc: csv.Error) -> tuple[str, str]:
    """English and French reasons of a CSV line that cannot be read."""
    text = str(exc)
    if "field larger than field limit" in text:
        limit = csv.field_size_limit()
        return (
            f"a field is longer than {limit} characters",
            f"un champ dépasse {limit} caractères",
        )
    return f"unreadable CSV line: {text}", f"ligne CSV illisible : {text}"


def _geojson_type(fh: Any) -> str:
    """The top-level 'type' of a JSON object, streamed ('FeatureCollection' as soon as 'features' shows)."""
    expect_type = False
    for prefix, event, value in ijson.parse(fh):
        if prefix == "" and event == "map_key":
            if value == "features":
                return "FeatureCollection"
            expect_type = value == "type"
        elif expect_type and prefix == "type":
            return str(value) if event == "string" else ""
    return ""


def iter_json_stream(fh: io.BufferedReader | io.BytesIO) -> Iterator[Row]:
    """Stream the objects of a top-level JSON array, or the features of a GeoJSON file, in constant memory.

    A single GeoJSON Feature is one row; any other object is refused with what was expected.
    """
    # Look without consuming: the parser must read from the start.
    head = fh.getvalue()[:4096] if isinstance(fh, io.BytesIO) else fh.peek(4096)
    start = len(head) - len(strip_bom(head))
    prefix = "item" if head[start:].lstrip()[:1] == b"[" else "features.item"
    try:
        if prefix != "item":
            fh.seek(start)
            kind = _geojson_type(DepthGuard(fh))
            if kind == "Feature":
                prefix = ""
            elif kind != "FeatureCollection":
                got = printable(kind, 60) or "no type"
                raise Invalid(
                    f"expected a GeoJSON FeatureCollection or Feature, got {got} "
                    "/ attendu : une FeatureCollection ou une Feature GeoJSON"
                )
        fh.seek(start)
        guard = DepthGuard(fh)
        for n, item in enumerate(ijson.items(guard, prefix, use_float=True), start=1):
            yield _checked(n, item, guard.deep)
    except ijson.JSONError as exc:
        raise Unparseable(f"invalid JSON: {printable(str(exc), 500)}") from exc


NOT_FEATURE = "not a GeoJSON Feature: 'properties' must be an object and 'geometry' an object or null"
NOT_FEATURE_FR = (
    "pas une Feature GeoJSON : « properties » doit être un objet et « geometry » un objet ou null"
)


def feature_to_row(feature: dict[str, Any]) -> dict[str, Any] | BadRow:
    """Flatten a GeoJSON feature into a row: its properties plus lon/lat of a point."""
    props, geom = feature.get("properties") or {}, feature.get("geometry") or {}
    if not isinstance(props, dict) or not isinstance(geom, dict):
        return BadRow(safe_text(feature), "TYPE", NOT_FEATURE, NOT_FEATURE_FR)
    row = dict(props)
    if feature.get("id") is not None:
        row.setdefault("id", feature["id"])
    coords = geom.get("coordinates")
    if geom.get("type") == "Point" and isinstance(coords, list) and len(coords) >= 2:
        row["lon"], row["lat"] = coords[0], coords[1]
    elif geom:
        row["geometry"] = geom
    return row


def parse_body(body: bytes, content_type: str | None, required: Sequence[str]) -> Iterator[Row]:
    """Rows of an HTTP body in any accepted format."""
    fmt = format_of(content_type)
    if fmt != "csv":
        body = _as_utf8(body, charset_of(content_type))
    if fmt == "json":
        return parse_json_array(body)
    if fmt == "ndjson":
        return iter_ndjson(body.splitlines())
    if fmt == "csv":
        return iter_csv(body.splitlines(keepends=True), required, encoding=charset_of(content_type))
    return geojson_rows(iter_json_stream(io.BytesIO(body)))


def _as_utf8(body: bytes, charset: str) -> bytes:
    """A JSON body in its declared charset re-encoded as UTF-8 (what the JSON parsers read)."""
    if charset == "utf-8":
        return body
    try:
        return body.decode(charset).encode("utf-8", "surrogatepass")
    except UnicodeError as exc:
        raise Unparseable(f"the body is not valid {charset} text: {printable(str(exc), 200)}") from exc


def geojson_rows(features: Iterable[Row]) -> Iterator[Row]:
    """Rows of GeoJSON features (each flattened by `feature_to_row`)."""
    return ((n, feature_to_row(r) if isinstance(r, dict) else r) for n, r in features)
