"""Row-level releases of records datasets: fields dropped, time and location generalised."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.opendata.location import grid_cells
from territoria.opendata.policy import PolicyBody
from territoria.opendata.shaping import Shaped, _microdata_report, build_table
from territoria.opendata.sources import floor_to, records_rows
from territoria.opendata.tables import ColumnType, ReleaseColumn

SCHEMA_TYPES: dict[str, ColumnType] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "datetime": "datetime",
    "date": "date",
}


def _cell(value: Any, kind: ColumnType) -> Any:
    """A record value in its public column type (objects and arrays as JSON text)."""
    if value is None or value == "":
        return None
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if kind in ("datetime", "date"):
        return str(value)
    return value


def records_table(session: Session, ds: Dataset, body: PolicyBody) -> Shaped:
    """The records of a dataset with no personal data left, as a public table."""
    from datetime import date, datetime

    fields = [f for f in (ds.table_schema or {}).get("fields", []) if f["name"] not in body.drop]
    rows = records_rows(session, ds)
    columns = [ReleaseColumn("key", "string", "dimension", "od.column.key")] if "key" not in body.drop else []
    data: dict[str, list[Any]] = {"key": [r[1] for r in rows]}
    time_field = body.time.field if body.time else None
    for f in fields:
        kind = SCHEMA_TYPES.get(f.get("type", "string"), "string")
        title = f.get("title") or f["name"]
        values = [_cell(r[2].get(f["name"]), kind) for r in rows]
        if kind == "datetime":
            values = [None if v is None else datetime.fromisoformat(v.replace("Z", "+00:00")) for v in values]
            if f["name"] == time_field and body.time is not None:
                values = [None if v is None else floor_to(v, body.time.to) for v in values]
        elif kind == "date":
            values = [None if v is None else date.fromisoformat(v[:10]) for v in values]
        columns.append(ReleaseColumn(f["name"], kind, "attribute", texts={"en": title, "fr": title}))
        data[f["name"]] = values
    to = body.location.to if body.location else None
    data["area_code"] = [r[5] for r in rows]
    if to != "none":
        columns.append(ReleaseColumn("area_code", "string", "attribute", "od.column.area_code"))
    lon = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
    lat = np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=np.float64)
    if to == "grid" and body.location is not None:
        codes, lon, lat = grid_cells(lon, lat, body.location.grid_m or 1000)
        data["grid_cell"] = list(codes)
        columns.append(ReleaseColumn("grid_cell", "string", "attribute", "od.column.grid_cell"))
    if to in (None, "grid") and bool(np.isfinite(lon).any()):
        data["lon"], data["lat"] = list(lon), list(lat)
        columns += [
            ReleaseColumn("lon", "number", "location", "od.column.lon"),
            ReleaseColumn("lat", "number", "location", "od.column.lat"),
        ]
    columns = [c for c in columns if c.name not in body.drop or c.name == "key"]
    table = build_table(
        columns,
        {
            **data,
            **{
                k: [None if (isinstance(x, float) and np.isnan(x)) else x for x in v]
                for k, v in data.items()
                if k in ("lon", "lat")
            },
        },
    )
    names = [c.name for c in columns]
    geometry = "point" if "lon" in names else ("area" if "area_code" in names else "")
    return Shaped(table, columns, geometry, _microdata_report(ds, body, names, len(table)))
