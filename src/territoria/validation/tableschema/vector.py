"""Vectorised fast paths: whole text columns cast by Arrow kernels, for the canonical spellings.

Each fast path returns (ok, keys, decided) over the rows: `decided` rows are settled here (valid or
not); the others (unusual spellings that may still be valid, e.g. ' 1_000' for an integer) go to the
reference readers, over their distinct values only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from territoria.validation.tableschema.readers import FALSE_VALUES, TRUE_VALUES

Fast = tuple[np.ndarray, np.ndarray, np.ndarray]
FastPath = Callable[[Any, dict[str, Any]], Fast | None]

_INT = r"^[+-]?[0-9]{1,15}$"
_NUM = r"^[+-]?[0-9]{1,15}(\.[0-9]{1,15})?$"
_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
_JNUM = r"-?(?:0|[1-9][0-9]{0,3})(?:\.[0-9]{1,15})?"
_GEO_ARRAY = rf"^\[ ?(?P<lon>{_JNUM}) ?, ?(?P<lat>{_JNUM}) ?\]$"
_GEO_DEFAULT = rf"^(?P<lon>{_JNUM}), ?(?P<lat>{_JNUM})$"


def bools(arr: Any) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _floats(strings: Any, canonical: np.ndarray) -> np.ndarray:
    """Canonical numeric text cast to float64 in one kernel call (NaN elsewhere)."""
    picked = pc.if_else(pa.array(canonical), strings, pa.scalar(None, pa.string()))
    out = pc.cast(picked, pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(out, dtype=np.float64)


def _numeric(pattern: str) -> FastPath:
    """Integers or plain decimals written canonically (after trimming)."""

    def fast(strings: Any, field: dict[str, Any]) -> Fast | None:
        if {"groupChar", "decimalChar", "bareNumber"} & field.keys():
            return None
        trimmed = pc.utf8_trim_whitespace(strings)
        canonical = bools(pc.match_substring_regex(trimmed, pattern))
        return canonical, _floats(trimmed, canonical), canonical

    return fast


def _boolean(strings: Any, field: dict[str, Any]) -> Fast:
    """Exact match against trueValues / falseValues: fully decided here."""
    true = bools(pc.is_in(strings, value_set=pa.array(field.get("trueValues", TRUE_VALUES), pa.string())))
    false = bools(pc.is_in(strings, value_set=pa.array(field.get("falseValues", FALSE_VALUES), pa.string())))
    keys = np.where(true, 1.0, np.where(false, 0.0, np.nan))
    return true | false, keys, np.ones(len(strings), dtype=bool)


def _ints(strings: Any, start: int, stop: int, canonical: np.ndarray) -> np.ndarray:
    """Digits at [start, stop) of canonical cells as int64 (0 elsewhere)."""
    part = pc.utf8_slice_codeunits(strings, start, stop)
    out: np.ndarray = np.nan_to_num(_floats(part, canonical)).astype(np.int64)
    return out


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates, on whole arrays (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: np.ndarray = era * 146097 + doe - 719468
    return days


def _date(strings: Any, field: dict[str, Any]) -> Fast | None:
    """ISO dates YYYY-MM-DD: digits sliced and checked against the calendar with integer arithmetic."""
    if field.get("format", "default") not in ("default", "%Y-%m-%d"):
        return None
    canonical = bools(pc.match_substring_regex(strings, _DATE))
    y, m, d = (_ints(strings, a, b, canonical) for a, b in ((0, 4), (5, 7), (8, 10)))
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 1, 12) - 1]
    month_days = month_days + ((m == 2) & leap)
    ok = canonical & (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_days)
    return ok, days_from_civil(y, m, d).astype(np.float64), canonical


def _geopoint(strings: Any, field: dict[str, Any]) -> Fast | None:
    """'[lon,lat]' or 'lon,lat' with JSON-style decimals; bounds checked on whole columns."""
    fmt = field.get("format", "default")
    if fmt not in ("default", "array"):
        return None
    parts = pc.extract_regex(strings, _GEO_ARRAY if fmt == "array" else _GEO_DEFAULT)
    canonical = bools(pc.is_valid(parts))
    lon = _floats(pc.struct_field(parts, "lon"), canonical)
    lat = _floats(pc.struct_field(parts, "lat"), canonical)
    with np.errstate(invalid="ignore"):
        inside = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    return canonical & inside, lon + 1j * lat, canonical


def _string(strings: Any, field: dict[str, Any]) -> Fast | None:
    """Plain strings are always valid; formats (email, uri, …) go to the reference readers."""
    if field.get("format", "default") != "default":
        return None
    everything = np.ones(len(strings), dtype=bool)
    return everything, np.zeros(len(strings)), everything


FAST_PATHS: dict[str, FastPath] = {
    "integer": _numeric(_INT),
    "number": _numeric(_NUM),
    "boolean": _boolean,
    "date": _date,
    "geopoint": _geopoint,
    "string": _string,
}
