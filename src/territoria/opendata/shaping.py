"""Turning extracts into public tables: aggregated cells under disclosure control, or generalised rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from territoria.catalog.models import Dataset
from territoria.opendata.location import grid_cells
from territoria.opendata.policy import PolicyBody
from territoria.opendata.sources import Extract, Window
from territoria.opendata.tables import ColumnType, ReleaseColumn

if TYPE_CHECKING:
    from territoria.opendata.disclosure import Contributions
    from territoria.opendata.disclosure_history import Previous

# The period column's title per time step, and the measure columns' titles per suffix (catalog keys).
MEASURE_TITLE = {"_sum": "od.column.measure.sum", "_mean": "od.column.measure.mean", "": ""}


@dataclass
class Shaped:
    """A public table, its column descriptions, its geometry kind and what the checks found."""

    table: pa.Table
    columns: list[ReleaseColumn]
    geometry: str
    report: dict[str, Any]
    # What an aggregated table was built from: kept privately so that later releases are checked against it.
    contributions: Contributions | None = None


def area_dim(body: PolicyBody) -> str:
    """The name of the location dimension: a commune code, or an INSPIRE grid cell."""
    return "grid_cell" if body.location is not None and body.location.to == "grid" else "area_code"


def locate(extract: Extract, body: PolicyBody) -> None:
    """Generalise the extract's location in place (commune code kept, or grid cell and its centre)."""
    if body.location is None or body.location.to != "grid":
        return
    size = body.location.grid_m or 1000
    lon = np.array([np.nan if v is None else v for v in extract.attributes["lon"]], dtype=np.float64)
    lat = np.array([np.nan if v is None else v for v in extract.attributes["lat"]], dtype=np.float64)
    codes, centre_lon, centre_lat = grid_cells(lon, lat, size)
    extract.attributes["grid_cell"] = codes
    extract.attributes["lon"] = centre_lon.astype(object)
    extract.attributes["lat"] = centre_lat.astype(object)


def keep_mask(extract: Extract, body: PolicyBody) -> np.ndarray:
    """Rows whose categories are among the kept values."""
    mask = np.ones(len(extract), bool)
    for name, allowed in body.keep.items():
        mask &= np.isin(extract.attributes[name].astype(str), allowed)
    return mask


def thresholds(extract: Extract, body: PolicyBody, window: Window | None) -> tuple[np.ndarray, np.ndarray]:
    """Per contribution, the k and dominance limit that apply (a category rule replaces the defaults)."""
    k = np.full(len(extract), body.k, np.int64)
    p = np.full(len(extract), body.dominance_p, np.float64)
    for rule in body.rules:
        match = extract.attributes[rule.field].astype(str) == rule.value
        if rule.k is not None:
            k[match] = rule.k
        if rule.dominance_p is not None:
            p[match] = rule.dominance_p
    if body.k_by_span and window is not None:
        k = np.maximum(k, body.span_k(window.days))
    return k, p


def measure_columns(body: PolicyBody, suffixes: tuple[str, ...]) -> list[ReleaseColumn]:
    """Descriptions of the measure columns (sum and mean of each measure, or the value itself)."""
    out = []
    for m in body.measures:
        for suffix in suffixes:
            # The measure's title comes from the policy file (data, by language).
            texts = {"en": m.title.en or m.name, "fr": m.title.fr or m.name}
            name, title = m.name + suffix, MEASURE_TITLE[suffix]
            out.append(ReleaseColumn(name, "number", "measure", title, m.unit, texts=texts))
    return out


def aggregated(
    extract: Extract,
    body: PolicyBody,
    window: Window | None,
    period: str | None,
    previous: Sequence[Previous] = (),
) -> Shaped:
    """Cells by area, period and categories under k, dominance, secondary suppression and noise, never
    differenceable with the `previous` published releases."""
    from territoria.opendata.disclosure import Contributions, ControlSpec, NoiseSpec, control

    assert body.aggregate is not None
    where = area_dim(body)
    inside = (
        np.array([v is not None for v in extract.attributes[where]], bool)
        if len(extract)
        else np.zeros(0, bool)
    )
    kept = keep_mask(extract, body)
    # Contributors with no area (outside the territory, or no point for an IRIS or grid) are left out.
    outside = len(np.unique(extract.contributor[~inside & kept]))
    extract = extract.take(inside & kept)
    k, p = thresholds(extract, body, window)
    dims = [where, *(["period"] if period else []), *body.aggregate.categories]
    keys: dict[str, np.ndarray] = {where: extract.attributes[where].astype(str).astype(object)}
    if period:
        keys["period"] = extract.period
    for name in body.aggregate.categories:
        keys[name] = np.array(["unknown" if v is None else v for v in extract.attributes[name]], dtype=object)
    values = {m.name: np.nan_to_num(extract.values[m.name], nan=0.0) for m in body.measures}
    totals = tuple(where if t == "area_code" else t for t in body.aggregate.totals)
    noise = (
        NoiseSpec(epsilon=body.noise.epsilon, clip={m: float(c) for m, c in body.noise.clip.items()})
        if body.noise
        else None
    )
    contributions = Contributions(
        dims=tuple(dims), keys=keys, contributor=extract.contributor, values=values, k=k, p=p
    )
    controlled = control(contributions, ControlSpec(totals=totals, noise=noise), previous)
    report = dict(controlled.report)
    report["excluded_outside_territory"] = outside
    columns = [
        ReleaseColumn(where, "string", "dimension", "od.column.area_code")
        if where == "area_code"
        else ReleaseColumn(where, "string", "dimension", "od.column.grid_cell")
    ]
    if period:
        columns.append(ReleaseColumn("period", "datetime", "dimension", f"od.column.period.{period}"))
    columns += [ReleaseColumn(c, "string", "dimension") for c in body.aggregate.categories]
    columns += [
        ReleaseColumn("total", "string", "attribute", "od.column.total"),
        ReleaseColumn("contributors", "integer", "measure", "od.column.contributors"),
        *measure_columns(body, ("_sum", "_mean")),
        ReleaseColumn("secret", "boolean", "flag", "od.column.secret"),
    ]
    table = _rounded(
        controlled.table, [f"{m.name}{suffix}" for m in body.measures for suffix in ("_sum", "_mean")]
    )
    geometry = "area"
    if where == "grid_cell":
        table, geometry = _grid_centres(table, extract), "point"
        columns += [
            ReleaseColumn("lon", "number", "location", "od.column.cell_lon"),
            ReleaseColumn("lat", "number", "location", "od.column.cell_lat"),
        ]
    return Shaped(table, columns, geometry, report, contributions)


def _rounded(table: pa.Table, names: list[str], decimals: int = 3) -> pa.Table:
    """Measures rounded for publication: float sums carry noise digits nobody should read as precision."""
    for name in names:
        at = table.column_names.index(name)
        table = table.set_column(at, name, pc.round(table.column(name), decimals))
    return table


def _grid_centres(table: pa.Table, extract: Extract) -> pa.Table:
    """Add the centre of each grid cell (null for totals)."""
    centres = {
        c: (lo, la)
        for c, lo, la in zip(
            extract.attributes["grid_cell"], extract.attributes["lon"], extract.attributes["lat"], strict=True
        )
    }
    cells = table.column("grid_cell").to_pylist()
    lon = [centres.get(c, (None, None))[0] if c else None for c in cells]
    lat = [centres.get(c, (None, None))[1] if c else None for c in cells]
    return table.append_column("lon", pa.array(lon, pa.float64())).append_column(
        "lat", pa.array(lat, pa.float64())
    )


PA_TYPES: dict[ColumnType, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def build_table(columns: list[ReleaseColumn], data: dict[str, list[Any] | np.ndarray]) -> pa.Table:
    """A pyarrow table with each column converted to its declared type."""
    arrays = []
    for col in columns:
        values = data[col.name]
        if col.type == "datetime" and isinstance(values, np.ndarray):
            arrays.append(
                pa.array(values.astype("datetime64[us]"), pa.timestamp("us")).cast(PA_TYPES["datetime"])
            )
        else:
            arrays.append(pa.array(list(values), PA_TYPES[col.type], from_pandas=True))
    return pa.table(arrays, names=[c.name for c in columns])


def per_asset(extract: Extract, body: PolicyBody, ds: Dataset, period: str) -> Shaped:
    """One row per asset and period (datasets with no personal data), location generalised per policy."""
    locate(extract, body)
    extract = extract.take(keep_mask(extract, body))
    to = body.location.to if body.location else None
    columns = [
        ReleaseColumn("asset", "string", "dimension", "od.column.asset"),
        ReleaseColumn("name", "string", "attribute", "od.column.name"),
        ReleaseColumn("kind", "string", "attribute", "od.column.kind"),
        ReleaseColumn("area_code", "string", "attribute", "od.column.area_code"),
    ]
    if to == "grid":
        columns.append(ReleaseColumn("grid_cell", "string", "attribute", "od.column.grid_cell"))
    if to in (None, "grid"):
        columns += [
            ReleaseColumn("lon", "number", "location", "od.column.lon"),
            ReleaseColumn("lat", "number", "location", "od.column.lat"),
        ]
    period_column = ReleaseColumn("period", "datetime", "dimension", f"od.column.period.{period}")
    columns += [period_column, *measure_columns(body, ("",))]
    columns = [c for c in columns if c.name not in body.drop]
    data: dict[str, Any] = {**extract.attributes, "period": extract.period}
    data.update({m.name: extract.values[m.name] for m in body.measures})
    table = build_table(columns, data)
    geometry = (
        "point"
        if any(c.name == "lon" for c in columns)
        else ("area" if any(c.name == "area_code" for c in columns) else "")
    )
    report = _microdata_report(ds, body, [c.name for c in columns], len(table))
    return Shaped(table, columns, geometry, report)


def _microdata_report(ds: Dataset, body: PolicyBody, names: list[str], rows: int) -> dict[str, Any]:
    """Checks of a row-level release: declared free of personal data, dropped fields really absent."""
    leaked = sorted((set(body.drop) | set(ds.personal_fields or [])) & set(names))
    checks = [
        {
            "code": "NO_PERSONAL_DATA",
            "title_key": "od.check.NO_PERSONAL_DATA",
            "checked": rows,
            "failures": 0 if not body.personal_data else rows,
            "passed": not body.personal_data,
            "examples": [],
        },
        {
            "code": "DROPPED_FIELDS_ABSENT",
            "title_key": "od.check.DROPPED_FIELDS_ABSENT",
            "checked": len(names),
            "failures": len(leaked),
            "passed": not leaked,
            "examples": leaked[:5],
        },
    ]
    return {
        "passed": all(c["passed"] for c in checks),
        "cells": rows,
        "published": rows,
        "secret": 0,
        "suppressed": {},
        "checks": checks,
    }
