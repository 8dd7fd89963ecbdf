"""FOREIGN_KEY: a value that names no row of the referenced dataset's field(s)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from territoria.validation.model import Rule

RULE = Rule("FOREIGN_KEY", "error", "row")


def failing(values: Sequence[tuple[Any, ...]], mask: np.ndarray, known: set[tuple[Any, ...]]) -> np.ndarray:
    """Rows in `mask` whose key tuple is not among the referenced dataset's `known` key tuples."""
    rows = np.flatnonzero(mask)
    found = np.array([values[i] in known for i in rows.tolist()], dtype=bool)
    missing: np.ndarray = rows[np.logical_not(found)]
    return missing


def messages(fields: str, value: str, resource: str, ref_fields: str) -> tuple[str, dict[str, Any]]:
    """The message code and parameters naming the field(s), the value and the reference."""
    params = {"field": fields, "value": value, "ref": ref_fields}
    if resource:
        return "finding.FOREIGN_KEY", params | {"resource": resource}
    return "finding.FOREIGN_KEY.self", params
