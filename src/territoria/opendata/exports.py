"""Streamed exports of a release: CSV, JSON, GeoJSON and (Geo)Parquet, with the explore filters.

Every format is written record batch by record batch as DuckDB produces them, so memory stays flat
whatever the size of the release and there is no row cap. Geometry: a "point" release places rows at
their lon/lat; an "area" release places them on their commune's polygon (looked up once per export);
rows without a location (totals across areas) have a null geometry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely
import shapely.geometry
import sqlalchemy as sa
from sqlalchemy.orm import Session

from territoria.opendata.explore import ExploreRequest
from territoria.opendata.query import BATCH_ROWS, BatchStream, json_rows, open_stream, with_iso_times
from territoria.opendata.tables import ReleaseTable
from territoria.spreadsheet import FORMULA_PATTERN, NUMBER_PATTERN
from territoria.territory.models import Area

FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}
BOM = b"\xef\xbb\xbf"
GEOPARQUET_VERSION = "1.1.0"
Geometry = dict[str, Any]


@dataclass(frozen=True)
class Export:
    """A streamed export: media type, attachment file name and the bytes, chunk by chunk."""

    media_type: str
    filename: str
    chunks: Iterator[bytes]

    @property
    def disposition(self) -> str:
        """The Content-Disposition header value."""
        return f'attachment; filename="{self.filename}"'


def area_geometries(session: Session, level: str = "commune") -> dict[str, Geometry]:
    """GeoJSON geometry of every area of a level, by code (read once per export)."""
    rows = session.execute(sa.select(Area.code, Area.geometry).where(Area.level == level))
    return {row.code: row.geometry for row in rows}


def export_release(
    table: ReleaseTable,
    request: ExploreRequest,
    fmt: str,
    *,
    areas: Mapping[str, Geometry] | None = None,
    bom: bool = False,
    limit: int | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Export:
    """Start an export (query errors raise now, before any byte is sent); iterate `chunks` to stream it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    stream = open_stream(table, request, limit=limit, batch_rows=batch_rows)
    if fmt == "csv":
        chunks = _csv(stream, bom=bom)
    elif fmt == "json":
        chunks = _json(stream)
    elif fmt == "geojson":
        chunks = _geojson(stream, _Locator.of(table, stream.schema, areas))
    else:
        chunks = _parquet(stream, _Locator.of(table, stream.schema, areas))
    return Export(FORMATS[fmt], f"{table.dataset}-v{table.version}.{fmt}", _closing(stream, chunks))


def _closing(stream: BatchStream, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks; the query ends when they do, or when the client goes away."""
    try:
        yield from chunks
    finally:
        stream.close()


class _Drain:
    """A write-only file that hands back what was written since the last `take`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _json_default(value: Any) -> Any:
    """JSON values orjson does not know natively."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON of a value (NaN as null)."""
    return orjson.dumps(value, default=_json_default)


# -- CSV and JSON -------------------------------------------------------------------------------------


def spreadsheet_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with every text cell a spreadsheet would run as a formula quoted (numbers untouched)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            # The rule of `territoria.spreadsheet.safe_cell`, vectorised: formula start, not a plain number.
            risky = pc.and_(
                pc.match_substring_regex(column, FORMULA_PATTERN),
                pc.invert(pc.match_substring_regex(column, NUMBER_PATTERN)),
            )
            quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, "")
            columns.append(pc.if_else(pc.fill_null(risky, False), quoted, column))
        else:
            columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _csv(stream: BatchStream, *, bom: bool) -> Iterator[bytes]:
    """UTF-8 CSV with a header; timestamps as ISO 8601 UTC; null is an empty field.

    `bom` makes a CSV for spreadsheets: a BOM, and no text cell can run as a formula.
    """
    schema = pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f for f in stream.schema]
    )
    sink = _Drain()
    writer = pacsv.CSVWriter(pa.PythonFile(sink, mode="w"), schema)
    yield (BOM if bom else b"") + sink.take()
    for batch in stream:
        rows = with_iso_times(batch)
        writer.write_batch(spreadsheet_safe(rows) if bom else rows)
        yield sink.take()
    writer.close()


def _json(stream: BatchStream) -> Iterator[bytes]:
    """A JSON array of row objects."""
    yield b"["
    first = True
    for batch in stream:
        if batch.num_rows:
            body = json_bytes(json_rows(batch))[1:-1]
            yield body if first else b"," + body
            first = False
    yield b"]"


# -- geometry -----------------------------------------------------------------------------------------


@dataclass
class _Locator:
    """How rows of a result are located: points from lon/lat, or areas from area_code; else none."""

    kind: str  # "point" | "area" | ""
    areas: Mapping[str, Geometry] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # area positions met, for the GeoParquet bbox and types
    bbox: list[float] = field(default_factory=lambda: [np.inf, np.inf, -np.inf, -np.inf])
    # A point release without lon/lat columns: a text column holding "[lon, lat]" (Table Schema
    # geopoint, array format, as a national schema's geopoint column), kept as it is in the public table.
    geopoint: str | None = None

    @classmethod
    def of(cls, table: ReleaseTable, schema: pa.Schema, areas: Mapping[str, Geometry] | None) -> _Locator:
        names = set(schema.names)
        if table.geometry == "point" and {"lon", "lat"} <= names:
            return cls("point")
        if table.geometry == "point":
            text = [c.name for c in table.columns if c.role == "location" and c.type == "string"]
            if text and text[0] in names:
                return cls("point", geopoint=text[0])
        if table.geometry == "area" and "area_code" in names and areas:
            return cls("area", areas, sorted(areas))
        return cls("")

    def geojson(self, row: dict[str, Any], fragments: Mapping[str, orjson.Fragment]) -> Any:
        """The GeoJSON geometry of a row (None without a location)."""
        if self.kind == "point":
            if self.geopoint:
                lon, lat = _geopoint(row.get(self.geopoint))
            else:
                lon, lat = row.get("lon"), row.get("lat")
            return None if lon is None or lat is None else {"type": "Point", "coordinates": [lon, lat]}
        if self.kind == "area":
            return fragments.get(row.get("area_code") or "")
        return None

    def fragments(self) -> dict[str, orjson.Fragment]:
        """Each area's GeoJSON geometry, serialised once."""
        return {code: orjson.Fragment(json_bytes(self.areas[code])) for code in self.codes}

    def wkb_type(self) -> pa.DataType:
        """Arrow type of the GeoParquet geometry column."""
        return pa.dictionary(pa.int32(), pa.binary()) if self.kind == "area" else pa.binary()

    def wkb_dictionary(self) -> pa.Array:
        """WKB of each area, in `codes` order."""
        geoms = [shapely.geometry.shape(self.areas[code]) for code in self.codes]
        return pa.array(shapely.to_wkb(np.array(geoms, dtype=object)), type=pa.binary())

    def wkb(self, batch: pa.RecordBatch, dictionary: pa.Array | None) -> pa.Array:
        """The WKB geometry column of a batch, vectorised."""
        if self.kind == "area":
            assert dictionary is not None
            codes = pa.array(self.codes, type=pa.string())
            indices = pc.index_in(batch.column("area_code"), value_set=codes).cast(pa.int32())
            met = indices.drop_null().to_numpy()
            self.used.update(np.unique(met).tolist())
            return pa.DictionaryArray.from_arrays(indices, dictionary)
        if self.geopoint:
            pairs = [_geopoint(v) for v in batch.column(self.geopoint).to_pylist()]
            lon = np.array([np.nan if p[0] is None else p[0] for p in pairs], dtype=np.float64)
            lat = np.array([np.nan if p[1] is None else p[1] for p in pairs], dtype=np.float64)
        else:
            lon = batch.column("lon").cast(pa.float64()).to_numpy(zero_copy_only=False)
            lat = batch.column("lat").cast(pa.float64()).to_numpy(zero_copy_only=False)
        missing = np.isnan(lon) | np.isnan(lat)
        if (~missing).any():
            box = self.bbox
            box[:] = [
                min(box[0], float(lon[~missing].min())),
                min(box[1], float(lat[~missing].min())),
                max(box[2], float(lon[~missing].max())),
                max(box[3], float(lat[~missing].max())),
            ]
        wkb = shapely.to_wkb(shapely.points(lon, lat))
        return pa.array(wkb, type=pa.binary(), mask=missing)

    def geo_metadata(self) -> str:
        """The GeoParquet `geo` file metadata (crs omitted: OGC:CRS84)."""
        column: dict[str, Any] = {"encoding": "WKB", "geometry_types": []}
        if self.kind == "point":
            column["geometry_types"] = ["Point"]
        elif self.used:
            geoms = [shapely.geometry.shape(self.areas[self.codes[i]]) for i in sorted(self.used)]
            column["geometry_types"] = sorted({g.geom_type for g in geoms})
            bounds = shapely.bounds(np.array(geoms, dtype=object))
            self.bbox = [*bounds[:, :2].min(axis=0).tolist(), *bounds[:, 2:].max(axis=0).tolist()]
        if np.isfinite(self.bbox).all():
            column["bbox"] = [float(x) for x in self.bbox]
        meta = {"version": GEOPARQUET_VERSION, "primary_column": "geometry", "columns": {"geometry": column}}
        return json_bytes(meta).decode()


def _geopoint(text: Any) -> tuple[float | None, float | None]:
    """(lon, lat) from a "[lon, lat]" text; (None, None) when absent or unreadable."""
    try:
        lon, lat = (float(part) for part in str(text).strip().strip("[]").split(","))
    except (TypeError, ValueError):
        return None, None
    return (lon, lat) if np.isfinite(lon) and np.isfinite(lat) else (None, None)


def _geojson(stream: BatchStream, locator: _Locator) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection; every column is a property."""
    fragments = locator.fragments() if locator.kind == "area" else {}
    yield b'{"type":"FeatureCollection","features":['
    first = True
    for batch in stream:
        if not batch.num_rows:
            continue
        features = [
            {"type": "Feature", "geometry": locator.geojson(row, fragments), "properties": row}
            for row in json_rows(batch)
        ]
        body = json_bytes(features)[1:-1]
        yield body if first else b"," + body
        first = False
    yield b"]}"


def _parquet(stream: BatchStream, locator: _Locator) -> Iterator[bytes]:
    """Parquet; GeoParquet 1.1 (WKB `geometry` column and `geo` metadata) when rows can be located."""
    schema = stream.schema
    dictionary = locator.wkb_dictionary() if locator.kind == "area" else None
    options: dict[str, Any] = {}
    if locator.kind:
        schema = schema.append(pa.field("geometry", locator.wkb_type()))
        # Readers then see a plain binary column (not an Arrow dictionary), and `geo` is file metadata.
        options["store_schema"] = False
        if dictionary is not None:  # the polygons stay a dictionary page per row group, never repeated
            options["dictionary_pagesize_limit"] = max(1 << 20, 2 * dictionary.nbytes)
    sink = _Drain()
    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema, **options)
    try:
        for batch in stream:
            if locator.kind:
                located = [*batch.columns, locator.wkb(batch, dictionary)]
                writer.write_batch(pa.RecordBatch.from_arrays(located, schema=schema))
            else:
                writer.write_batch(batch)
            yield sink.take()
        if locator.kind:
            writer.add_key_value_metadata({"geo": locator.geo_metadata()})
    finally:
        writer.close()
    yield sink.take()
