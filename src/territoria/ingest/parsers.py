"""Body and file parsers: JSON array, NDJSON, CSV, GeoJSON, streamed row by row.

Each parser yields (row number, row) where the row is a dict, or a BadRow kept for quarantine.
A body that cannot be parsed at all raises Unparseable with the line and column.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import ijson
import orjson

from territoria.errors import Invalid, Unparseable
from territoria.validation.limits import (
    MAX_DEPTH,
    DepthGuard,
    bytes_text,
    printable,
    row_problem,
    safe_text,
    strip_bom,
)
from territoria.validation.tabular import (
    KEEP_BYTES,
    BadRow,
    Chunk,
    Row,
    charset_of,
    csv_error_reasons,
    open_csv,
    text_encoding,
)

__all__ = ["KEEP_BYTES", "BadRow", "Row", "charset_of", "csv_error_reasons", "text_encoding"]


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


def _position(body: bytes, pos: int) -> tuple[int, int]:
    """1-based line and column of a byte offset."""
    line = body.count(b"\n", 0, pos) + 1
    col = pos - (body.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def _checked(n: int, item: Any, check: bool) -> Row:
    """A parsed item as a row, or a bad row when it is not an object or (if `check`) nests too deep."""
    if not isinstance(item, dict):
        return n, BadRow.coded(safe_text(item), "TYPE", "finding.TYPE.not_object", {})
    if check and (problem := row_problem(item)) is not None:
        return n, BadRow.coded(safe_text(item), *problem)
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


def _require(header: list[str], required: Sequence[str]) -> None:
    """Invalid naming the required columns a CSV header lacks."""
    missing = [c for c in required if c not in header]
    if missing:
        raise Invalid(
            f"CSV header is missing column(s) {', '.join(missing)}; found: {', '.join(header) or 'nothing'}",
            errors=[
                {"row": 0, "field": c, "code": "MISSING_COLUMN", "message": f"no column '{c}'"}
                for c in missing
            ],
        )


def iter_csv(
    lines: Iterable[bytes], required: Sequence[str], *, encoding: str | None = None
) -> Iterator[Row]:
    """CSV with a header row naming every required column; the encoding is found unless given."""
    tab = open_csv(lines, encoding=encoding)
    _require(tab.header, required)
    return tab.rows()


def csv_chunks(
    source: Iterable[bytes] | io.BufferedReader, required: Sequence[str], *, encoding: str | None, rows: int
) -> Iterator[Chunk]:
    """A CSV file in columnar chunks of `rows` rows (see validation/tabular.py)."""
    tab = open_csv(source, encoding=encoding)
    _require(tab.header, required)
    return tab.chunks(rows)


def csv_body(body: bytes, content_type: str | None, required: Sequence[str]) -> Chunk:
    """A CSV body as one columnar chunk, in its declared charset (UTF-8 when none is declared).

    The HTTP contract: a body without a charset is UTF-8, so that bytes that are not are quarantined as
    ENCODING rather than guessed (files, whose encoding nobody declares, are sniffed: `open_csv`).
    """
    tab = open_csv(body, encoding=charset_of(content_type) or "utf-8")
    _require(tab.header, required)
    return tab.all()


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


def feature_to_row(feature: dict[str, Any]) -> dict[str, Any] | BadRow:
    """Flatten a GeoJSON feature into a row: its properties plus lon/lat of a point."""
    props, geom = feature.get("properties") or {}, feature.get("geometry") or {}
    if not isinstance(props, dict) or not isinstance(geom, dict):
        return BadRow.coded(safe_text(feature), "TYPE", "finding.TYPE.not_feature", {})
    row = dict(props)
    if feature.get("id") is not None:
        row.setdefault("id", feature["id"])
    coords = geom.get("coordinates")
    if geom.get("type") == "Point" and isinstance(coords, list) and len(coords) >= 2:
        row["lon"], row["lat"] = coords[0], coords[1]
    elif geom:
        row["geometry"] = geom
    return row


def parse_body(body: bytes, content_type: str | None, required: Sequence[str]) -> Iterable[Row]:
    """Rows of an HTTP body in any accepted format (a CSV body: one columnar chunk)."""
    fmt = format_of(content_type)
    if fmt == "csv":
        return csv_body(body, content_type, required)
    body = _as_utf8(body, charset_of(content_type) or "utf-8")
    if fmt == "json":
        return parse_json_array(body)
    if fmt == "ndjson":
        return iter_ndjson(body.splitlines())
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
