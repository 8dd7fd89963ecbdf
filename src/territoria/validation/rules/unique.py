"""UNIQUE: a value (or primary key) already seen in an earlier row of the same table."""

from __future__ import annotations

from typing import Any

import numpy as np

from territoria.validation.model import Rule

RULE = Rule("UNIQUE", "error", "row")


def failing(keys: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rows in `mask` whose key (1-D, or one row of a 2-D array) repeats an earlier row's: not the first."""
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return rows
    picked = keys[rows]
    _, first = np.unique(picked, axis=0 if picked.ndim > 1 else None, return_index=True)
    repeated = np.ones(len(rows), dtype=bool)
    repeated[first] = False
    return rows[repeated]


def messages(fields: str, value: str, first_row: int | None = None) -> tuple[str, dict[str, Any]]:
    """The message code and parameters naming the field(s), the repeated value and its first row."""
    if first_row is None:
        return "finding.UNIQUE", {"field": fields, "value": value}
    return "finding.UNIQUE.first", {"field": fields, "value": value, "first": first_row}


def first_rows(keys: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For each row in `mask`, the position of the first row with the same key (-1 outside `mask`)."""
    out = np.full(len(mask), -1, dtype=np.int64)
    rows = np.flatnonzero(mask)
    if len(rows):
        picked = keys[rows]
        _, first, inverse = np.unique(
            picked, axis=0 if picked.ndim > 1 else None, return_index=True, return_inverse=True
        )
        out[rows] = rows[first[np.ravel(inverse)]]
    return out
