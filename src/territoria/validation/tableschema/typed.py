"""Typed cells of a checked column, JSON-friendly, converted by whole columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from territoria.validation.tableschema.columns import Column
from territoria.validation.tableschema.readers import reader_for


def typed_values(col: Column) -> list[Any]:
    """The column's values as stored: numbers, booleans, ISO dates, text; None when missing or invalid."""
    valid = col.present & col.ok
    kind = col.kind
    if kind in ("integer", "year"):
        return list(pa.array(col.keys, mask=~valid).cast(pa.int64()).to_pylist())
    if kind == "number":
        return list(pa.array(col.keys, mask=~valid).to_pylist())
    if kind == "boolean":
        return list(pa.array(col.keys == 1.0, mask=~valid).to_pylist())
    if kind == "date":
        days = pa.array(np.nan_to_num(col.keys), mask=~valid).cast(pa.int32())
        return list(days.cast(pa.date32()).cast(pa.string()).to_pylist())
    if kind in ("array", "object"):
        read = reader_for(col.field)
        return [read(v) if ok else None for v, ok in zip(col.cells(), valid.tolist(), strict=True)]
    return [v if ok else None for v, ok in zip(col.cells(), valid.tolist(), strict=True)]
