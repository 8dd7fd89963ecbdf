"""Columns of a batch: raw cells → Arrow text, missing-value mask, type verdict and comparable keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from territoria.validation.tableschema.readers import INVALID, reader_for
from territoria.validation.tableschema.vector import FAST_PATHS, bools

_EPOCH = date(1970, 1, 1)
_FLOAT_KINDS = {"integer", "number", "boolean", "year", "date", "datetime", "time"}


@dataclass
class Column:
    """One field over a batch: what arrived, what is present, what fits the type, and comparable keys.

    `keys` are float64 for ordered scalars (numbers, booleans, days, seconds), complex128 for geopoints,
    int64 dictionary codes for strings and objects for arrays / objects / any.
    """

    name: str
    field: dict[str, Any]
    raw: Any  # the cells as received: a sequence, or an Arrow string array
    strings: Any  # pyarrow StringArray: text cells, null for missing or non-text cells
    present: np.ndarray
    ok: np.ndarray
    scalar_keys: np.ndarray | None  # None for strings: their keys are dictionary codes, made on demand

    @property
    def keys(self) -> np.ndarray:
        """Comparable keys (dictionary codes for strings, computed once on first use)."""
        if self.scalar_keys is None:
            codes = pc.fill_null(self.strings.dictionary_encode().indices, -1)
            self.scalar_keys = np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int64)
        return self.scalar_keys

    def cell(self, i: int) -> Any:
        """Row `i` as received."""
        value = self.raw[i]
        return value.as_py() if isinstance(value, pa.Scalar) else value

    def cells(self) -> list[Any]:
        """Every cell as received, as Python values."""
        return list(self.raw.to_pylist()) if isinstance(self.raw, pa.Array) else list(self.raw)

    @property
    def kind(self) -> str:
        """The field's Table Schema type."""
        return str(self.field.get("type", "string"))


def key_of(kind: str, value: Any) -> Any:
    """The comparable key of a typed value (the same encoding as the fast paths)."""
    if kind in ("date",) and isinstance(value, date):
        return float((value - _EPOCH).days)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.timestamp()
    if isinstance(value, time):
        return value.hour * 3600.0 + value.minute * 60.0 + value.second + value.microsecond / 1e6
    if kind == "geopoint":
        return complex(value[0], value[1])
    if kind in _FLOAT_KINDS:
        return float(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _text(raw: Any) -> tuple[Any, np.ndarray]:
    """Text cells as an Arrow array, and a mask of the non-text (JSON-typed) cells."""
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    if isinstance(raw, pa.Array) and pa.types.is_string(raw.type):
        return raw, np.zeros(len(raw), dtype=bool)
    if isinstance(raw, pa.Array):
        raw = raw.to_pylist()
    try:
        return pa.array(raw, type=pa.string()), np.zeros(len(raw), dtype=bool)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        native = np.fromiter((v is not None and not isinstance(v, str) for v in raw), bool, len(raw))
        return pa.array([v if isinstance(v, str) else None for v in raw], type=pa.string()), native


def _empty_keys(kind: str, n: int) -> np.ndarray:
    """Key storage for a type, filled with 'no value'."""
    if kind in _FLOAT_KINDS:
        return np.full(n, np.nan)
    if kind == "geopoint":
        return np.full(n, np.nan, dtype=np.complex128)
    return np.full(n, None, dtype=object)


def build_column(name: str, field: dict[str, Any], raw: Any, missing: Sequence[str]) -> Column:
    """Cast one column (a sequence of cells or an Arrow array): vectorised fast path first, then
    reference readers on the distinct leftovers."""
    n, kind = len(raw), str(field.get("type", "string"))
    strings, native = _text(raw)
    if isinstance(raw, pa.ChunkedArray):
        raw = strings
    missing_values = list(field.get("missingValues", missing))
    is_text = bools(pc.is_valid(strings))
    present = is_text & ~bools(pc.is_in(strings, value_set=pa.array(missing_values, pa.string())))
    for i in np.flatnonzero(native):
        present[i] = str(raw[i]) not in missing_values
    ok, keys = np.zeros(n, dtype=bool), _empty_keys("number" if kind == "string" else kind, n)
    decided = np.zeros(n, dtype=bool)
    fast = FAST_PATHS.get(kind)
    result = fast(strings, field) if fast and n else None
    if result is not None:
        f_ok, f_keys, f_decided = result
        decided = f_decided & present & is_text
        ok[decided] = f_ok[decided]
        if kind != "string":
            keys[decided] = f_keys[decided]
    read = reader_for(field)
    todo_text = np.flatnonzero(present & is_text & ~decided)
    if len(todo_text):
        encoded = strings.take(pa.array(todo_text)).dictionary_encode()
        verdicts = [read(v) for v in encoded.dictionary.to_pylist()]
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
        good = np.array([v is not INVALID for v in verdicts], dtype=bool)
        dict_keys = np.array([key_of(kind, v) if v is not INVALID else None for v in verdicts], dtype=object)
        ok[todo_text] = good[codes]
        if kind != "string":
            keys[todo_text] = (
                dict_keys[codes] if keys.dtype == object else _fill(dict_keys, keys.dtype)[codes]
            )
    for i in np.flatnonzero(native & present):
        value = read(raw[i])
        ok[i] = value is not INVALID
        if ok[i] and kind != "string":
            keys[i] = key_of(kind, value)
    return Column(name, field, raw, strings, present, ok, None if kind == "string" else keys)


def _fill(values: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """Object keys (None for invalid) as a numeric array (NaN for invalid)."""
    return np.array([np.nan if v is None else v for v in values], dtype=dtype)
