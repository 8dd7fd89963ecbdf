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

from territoria.errors import Invalid, Unparseable
from territoria.quality.rules import encoding as encoding_rule


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


def charset_of(content_type: str | None) -> str:
    """Charset parameter of a Content-Type, UTF-8 by default."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                return codecs.lookup(value.strip('"')).name
            except LookupError as exc:
                raise Invalid(f"unknown charset '{value}'") from exc
    return "utf-8"


def _position(body: bytes, pos: int) -> tuple[int, int]:
    """1-based line and column of a byte offset."""
    line = body.count(b"\n", 0, pos) + 1
    col = pos - (body.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def parse_json_array(body: bytes) -> Iterator[Row]:
    """A JSON array of objects (the whole body is parsed first: it is bounded by the size limit)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        line, col = _position(body, exc.pos)
        raise Unparseable(f"invalid JSON at line {line}, column {col}: {exc.msg}") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        raise Invalid("a GeoJSON FeatureCollection goes to the assets or records path, not measurements")
    if not isinstance(doc, list):
        raise Unparseable("expected a JSON array of objects at line 1, column 1")
    for n, item in enumerate(doc, start=1):
        yield (
            n,
            item
            if isinstance(item, dict)
            else BadRow(orjson.dumps(item).decode(), "TYPE", NOT_OBJECT, NOT_OBJECT_FR),
        )


def iter_ndjson(lines: Iterable[bytes]) -> Iterator[Row]:
    """One JSON object per line; a bad line is a bad row, not a failed batch."""
    n = 0
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        n += 1
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raw = line.decode("utf-8", "backslashreplace").rstrip("\r\n")
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
        yield (
            n,
            item
            if isinstance(item, dict)
            else BadRow(line.decode(errors="replace"), "TYPE", NOT_OBJECT, NOT_OBJECT_FR),
        )


def _decoded(lines: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Decode line by line; undecodable bytes survive as surrogates so that the row can be quarantined."""
    for line in lines:
        yield line.decode(encoding, "surrogateescape")


def iter_csv(lines: Iterable[bytes], required: Sequence[str], *, encoding: str = "utf-8") -> Iterator[Row]:
    """CSV with a header row; the header must name every required column."""
    text = _decoded(lines, encoding)
    sample = next(text, "")
    if sample.startswith("\ufeff"):
        sample = sample[1:]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    header = next(csv.reader([sample], delimiter=delimiter), [])
    header = [h.strip() for h in header]
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
    reader = csv.reader(text, delimiter=delimiter)
    for n, fields in enumerate(reader, start=1):
        if not fields:
            continue
        joined = delimiter.join(fields)
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            raw = joined.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            bad_bytes = encoding_rule.check(n, encoding)
            yield (
                n,
                BadRow(raw, "ENCODING", bad_bytes.message_en, bad_bytes.message_fr),
            )
            continue
        if len(fields) != width:
            yield (
                n,
                BadRow(
                    joined,
                    "PARSE",
                    f"{len(fields)} fields where the header has {width}",
                    f"{len(fields)} champs alors que l'en-tête en a {width}",
                ),
            )
            continue
        yield n, dict(zip(header, fields, strict=True))


def iter_json_stream(fh: io.BufferedReader | io.BytesIO) -> Iterator[Row]:
    """Stream the objects of a top-level JSON array, or the features of a GeoJSON file, in constant memory."""
    # Look without consuming: the parser must read from the start.
    head = (fh.getvalue()[:4096] if isinstance(fh, io.BytesIO) else fh.peek(4096)).lstrip()[:1]
    prefix = "item" if head == b"[" else "features.item"
    try:
        for n, item in enumerate(ijson.items(fh, prefix, use_float=True), start=1):
            yield n, item if isinstance(item, dict) else BadRow(str(item), "TYPE", NOT_OBJECT, NOT_OBJECT_FR)
    except ijson.JSONError as exc:
        raise Unparseable(f"invalid JSON: {exc}") from exc


def feature_to_row(feature: dict[str, Any]) -> dict[str, Any]:
    """Flatten a GeoJSON feature into a row: its properties plus lon/lat of a point."""
    row = dict(feature.get("properties") or {})
    geom = feature.get("geometry") or {}
    if feature.get("id") is not None:
        row.setdefault("id", feature["id"])
    if geom.get("type") == "Point" and len(geom.get("coordinates") or []) >= 2:
        row["lon"], row["lat"] = geom["coordinates"][0], geom["coordinates"][1]
    elif geom:
        row["geometry"] = geom
    return row


def parse_body(body: bytes, content_type: str | None, required: Sequence[str]) -> Iterator[Row]:
    """Rows of an HTTP body in any accepted format."""
    fmt = format_of(content_type)
    if fmt == "json":
        return parse_json_array(body)
    if fmt == "ndjson":
        return iter_ndjson(body.splitlines())
    if fmt == "csv":
        return iter_csv(body.splitlines(keepends=True), required, encoding=charset_of(content_type))
    return (
        (n, feature_to_row(r) if isinstance(r, dict) else r) for n, r in iter_json_stream(io.BytesIO(body))
    )
