"""ENUM: a value outside the field's list of allowed values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from territoria.validation.model import Rule

RULE = Rule(
    "ENUM",
    "error",
    "row",
    "Value is not one of the allowed values",
    "Valeur hors de la liste des valeurs autorisées",
)


def failing(values: Any, mask: np.ndarray, allowed: Sequence[Any]) -> np.ndarray:
    """Rows in `mask` whose value is not in `allowed` (numpy keys, or an Arrow text column)."""
    if isinstance(values, np.ndarray):
        inside = np.isin(values, np.asarray(allowed, dtype=values.dtype))
    else:
        member = pc.is_in(values, value_set=pa.array(list(allowed), pa.string()))
        inside = np.asarray(pc.fill_null(member, False).to_numpy(zero_copy_only=False), dtype=bool)
    return np.flatnonzero(mask & ~inside)


def messages(field: str, value: str, allowed: Sequence[Any]) -> tuple[str, str]:
    """English and French messages naming the field, the value and the allowed values."""
    listed = ", ".join(repr(a) for a in allowed)
    return (
        f"{field}: {value} is not one of the allowed values [{listed}]",
        f"{field} : {value} ne fait pas partie des valeurs autorisées [{listed}]",
    )
