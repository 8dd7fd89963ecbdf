"""What the open-data portal shows of a release file: preview rows, a time series, map values, communes.

Release files are immutable (their name carries their hash), so what is read from one is cached per path.
Only the needed columns are read, filtered and grouped by pyarrow: a big release stays fast to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from territoria.opendata.tables import ReleaseTable

PREVIEW_ROWS = 20
MAX_MARKERS = 2000
# What names a marker when no column is marked `label` by its source, first found: a name column
# (English or French: name, nom, nom_…, …_name), else an identifier or the area.
NAME_COLUMNS = ("name", "nom")
FALLBACK_LABELS = ("asset", "area_name", "grid_cell", "key")


def label_column(names: tuple[str, ...]) -> str | None:
    """The column that names a marker on the map, if any."""
    named = [n for n in names if n in NAME_COLUMNS]
    named += [n for n in names if n.startswith("nom_") or (n.endswith("_name") and n != "area_name")]
    return next(iter(named), None) or next((n for n in FALLBACK_LABELS if n in names), None)


@dataclass(frozen=True)
class Layout:
    """Which columns of a release play which part on the page (hashable: it keys the cache)."""

    path: str
    geometry: str
    time: str | None  # the period column, or the first date/datetime column
    measure: str | None  # the first measure (the `_sum` column of an aggregated release)
    location: str | None  # the location dimension of an aggregated release (area_code or grid_cell)
    aggregated: bool  # cells with `total` and `secret` columns
    label: str | None  # what names a marker
    names: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    """The first measure over time; `source` says which rows were summed ("totals", "detail", "rows")."""

    measure: str
    periods: list[str]
    values: list[float | None]
    source: str


@dataclass(frozen=True)
class AreaValues:
    """The first measure per commune at the latest period; secret communes have no value."""

    measure: str | None  # None: the values are row counts
    period: str | None
    values: dict[str, float]
    secret: list[str]
    mean: bool  # values are the mean of rows (row-level releases), not sums of cells


@dataclass(frozen=True)
class Markers:
    """Located rows at the latest period: [lon, lat, label, value, secret], at most MAX_MARKERS."""

    measure: str | None
    period: str | None
    points: list[list[Any]]
    total: int


@dataclass(frozen=True)
class Figures:
    """Everything the dataset page reads from the release file."""

    preview: list[dict[str, Any]]
    series: Series | None
    areas: AreaValues | None
    markers: Markers | None


def layout_of(table: ReleaseTable) -> Layout:
    """The part each column plays, from the release's column descriptions."""
    names = tuple(c.name for c in table.columns)
    aggregated = "total" in names and "secret" in names
    time = "period" if "period" in names else None
    if time is None:
        time = next((c.name for c in table.columns if c.type in ("datetime", "date")), None)
    measures = [c.name for c in table.columns if c.role == "measure" and c.name != "contributors"]
    measure = next((m for m in measures if m.endswith("_sum")), None) if aggregated else None
    measure = measure or next(iter(measures), None)
    location: str | None = None
    if aggregated:
        dims = [c.name for c in table.columns if c.role == "dimension"]
        location = next((d for d in ("area_code", "grid_cell") if d in dims), None)
    elif table.geometry == "point" and not {"lon", "lat"} <= set(names):
        # a row-level release located by a "[lon, lat]" text column (Table Schema geopoint, array format)
        location = next((c.name for c in table.columns if c.role == "location" and c.type == "string"), None)
    label = next((c.name for c in table.columns if c.label), None) or label_column(names)
    return Layout(str(table.path), table.geometry, time, measure, location, aggregated, label, names)


def period_labels(values: list[Any]) -> list[str]:
    """Periods as text: a month (2026-10), a day (2026-10-01) or a time (2026-10-01 10:00)."""
    instants = [v for v in values if isinstance(v, datetime)]
    if instants and all(v.hour == v.minute == v.second == 0 for v in instants):
        fmt = "%Y-%m" if all(v.day == 1 for v in instants) and len(instants) > 1 else "%Y-%m-%d"
    else:
        fmt = "%Y-%m-%d %H:%M"
    out = []
    for v in values:
        if isinstance(v, datetime):
            out.append(v.strftime(fmt))
        elif isinstance(v, date):
            out.append(v.isoformat())
        else:
            out.append("" if v is None else str(v))
    return out


def _parts(label: str) -> set[str]:
    """The totalled dims named by a `total` label."""
    return {p for p in label.split(",") if p}


def _pick_total(table: pa.Table, must: set[str], never: set[str]) -> str | None:
    """The `total` label totalling every dim of `must`, none of `never`, and the most others."""
    labels = [x for x in pc.unique(table.column("total")).to_pylist() if x is not None]
    fitting = [x for x in labels if must <= _parts(x) and not (_parts(x) & never)]
    return max(fitting, key=lambda x: (len(_parts(x)), x), default=None)


def _read(layout: Layout, columns: list[str | None], where: Any = None) -> pa.Table:
    """The named columns of the release file (None and duplicates skipped), optionally filtered."""
    wanted = list(dict.fromkeys(c for c in columns if c is not None))
    return pq.read_table(layout.path, columns=wanted, filters=where)


def _head(layout: Layout, where: Any, count: int) -> list[dict[str, Any]]:
    """The first `count` rows matching `where`: the scan stops once it has them (never the whole file)."""
    if count <= 0:
        return []
    rows: list[dict[str, Any]] = (
        pads.dataset(layout.path, format="parquet").head(count, filter=where).to_pylist()
    )
    return rows


def preview(layout: Layout) -> list[dict[str, Any]]:
    """The rows a visitor reads first: for cells, the published ones of the latest period, then other
    published ones, then secret ones (a preview of 20 secret cells teaches nothing); else the first rows."""
    if not layout.aggregated:
        return _head(layout, None, PREVIEW_ROWS)
    published = ~pc.field("secret")
    where, latest = _latest(layout, published)
    rows = _head(layout, where, PREVIEW_ROWS)
    if latest is not None:  # then the published cells of the other periods
        rows += _head(layout, published & (pc.field("period") != latest), PREVIEW_ROWS - len(rows))
    rows += _head(layout, pc.field("secret"), PREVIEW_ROWS - len(rows))
    return rows


def series(layout: Layout) -> Series | None:
    """The first measure per period: territory totals, else the sum of published cells, else the row mean."""
    if layout.time is None or layout.measure is None:
        return None
    valid = pc.field(layout.time).is_valid()
    if layout.aggregated:
        table = _read(layout, [layout.time, "total", layout.measure], valid & ~pc.field("secret"))
        must = {layout.location} if layout.location else set()
        chosen = _pick_total(table, must, {layout.time}) if must else None
        source = "totals" if chosen is not None else "detail"
        table = table.filter(pc.field("total") == (chosen if chosen is not None else ""))
    else:
        table, source = _read(layout, [layout.time, layout.measure], valid), "rows"
    # Cells add up; row-level values (a concentration, a count per sensor) do not: they are averaged.
    how = "mean" if source == "rows" else "sum"
    grouped = table.group_by(layout.time).aggregate([(layout.measure, how)]).sort_by(layout.time)
    if grouped.num_rows == 0:
        return None
    periods = grouped.column(layout.time).to_pylist()
    values = grouped.column(f"{layout.measure}_{how}").to_pylist()
    return Series(layout.measure, period_labels(periods), values, source)


def _latest(layout: Layout, located: Any) -> tuple[Any, Any]:
    """The filter keeping the latest period of located rows (and that period); every row of a release
    with no `period` column (record dates are not a release's time step)."""
    if layout.time != "period":
        return located, None
    times = _read(layout, [layout.time], located & pc.field(layout.time).is_valid()).column(layout.time)
    if len(times) == 0:
        return located, None
    latest = pc.max(times)
    return located & (pc.field(layout.time) == latest), latest.as_py()


def area_values(layout: Layout) -> AreaValues | None:
    """Per commune at the latest period: the first measure (cells summed, a secret part makes the commune
    secret; rows averaged), or the number of rows when there is no measure."""
    if "area_code" not in layout.names:
        return None
    where, latest = _latest(layout, pc.field("area_code").is_valid())
    period = period_labels([latest])[0] if latest is not None else None
    if layout.aggregated and layout.measure is not None:
        table = _read(layout, ["area_code", "total", layout.measure, "secret"], where)
        never = {"area_code", *([layout.time] if layout.time else [])}
        chosen = _pick_total(table, set(), never) or ""
        table = table.filter(pc.field("total") == chosen)
        grouped = table.group_by("area_code").aggregate([(layout.measure, "sum"), ("secret", "any")])
        values, secret = {}, []
        for code, value, hidden in zip(
            grouped.column("area_code").to_pylist(),
            grouped.column(f"{layout.measure}_sum").to_pylist(),
            grouped.column("secret_any").to_pylist(),
            strict=True,
        ):
            if hidden:
                secret.append(code)
            elif value is not None:
                values[code] = value
        return AreaValues(layout.measure, period, values, sorted(secret), mean=False)
    table = _read(layout, ["area_code", layout.measure], where)
    if layout.measure is None:
        grouped = table.group_by("area_code").aggregate([([], "count_all")])
        column = "count_all"
    else:
        grouped = table.group_by("area_code").aggregate([(layout.measure, "mean")])
        column = f"{layout.measure}_mean"
    pairs = zip(grouped.column("area_code").to_pylist(), grouped.column(column).to_pylist(), strict=True)
    values = {c: v for c, v in pairs if v is not None}
    return AreaValues(layout.measure, period, values, [], mean=layout.measure is not None)


def _with_lonlat(table: pa.Table, column: str) -> pa.Table:
    """Rows whose "[lon, lat]" text parses, with lon and lat columns added."""
    lon: list[float] = []
    lat: list[float] = []
    keep: list[bool] = []
    for text in table.column(column).to_pylist():
        try:
            x, y = orjson.loads(text)
            lon.append(float(x))
            lat.append(float(y))
            keep.append(True)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            keep.append(False)
    kept = table.filter(pa.array(keep, pa.bool_()))
    return kept.append_column("lon", pa.array(lon, pa.float64())).append_column(
        "lat", pa.array(lat, pa.float64())
    )


def markers(layout: Layout) -> Markers | None:
    """Located rows at the latest period, as map markers (the first MAX_MARKERS)."""
    geopoint = layout.location if not layout.aggregated and layout.location else None
    if geopoint is None and ("lon" not in layout.names or "lat" not in layout.names):
        return None
    if geopoint is not None:
        where, latest = _latest(layout, pc.field(geopoint).is_valid())
        table = _with_lonlat(_read(layout, [geopoint, layout.label, layout.measure], where), geopoint)
    else:
        located = pc.field("lon").is_valid() & pc.field("lat").is_valid()
        where, latest = _latest(layout, located)
        extra = ["total", "secret"] if layout.aggregated else []
        table = _read(layout, ["lon", "lat", layout.label, layout.measure, *extra], where)
    if layout.aggregated:
        never = {n for n in (layout.location, layout.time) if n}
        chosen = _pick_total(table, set(), never) or ""
        table = table.filter(pc.field("total") == chosen)
    total = table.num_rows
    rows = table.slice(0, MAX_MARKERS).to_pylist()
    points = [
        [
            r["lon"],
            r["lat"],
            "" if layout.label is None or r[layout.label] is None else str(r[layout.label]),
            None if layout.measure is None else r[layout.measure],
            bool(r.get("secret")),
        ]
        for r in rows
    ]
    period = period_labels([latest])[0] if latest is not None else None
    return Markers(layout.measure, period, points, total)


@lru_cache(maxsize=16)
def figures(layout: Layout) -> Figures:
    """Preview, series and map data of a release file (cached: the file never changes)."""
    if layout.geometry == "point":
        return Figures(preview(layout), series(layout), None, markers(layout))
    areas = area_values(layout) if layout.geometry == "area" else None
    return Figures(preview(layout), series(layout), areas, None)


@lru_cache(maxsize=256)
def release_communes(path: str) -> frozenset[str]:
    """The commune codes a release file has rows for (raises OSError when the file is gone)."""
    column = pq.read_table(path, columns=["area_code"]).column("area_code")
    return frozenset(x for x in pc.unique(column).to_pylist() if x)
