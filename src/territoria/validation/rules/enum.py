"""ENUM: a value outside the field's list of allowed values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from territoria.validation.model import Rule

RULE = Rule("ENUM", "error", "row")


def failing(values: Any, mask: np.ndarray, allowed: Sequence[Any]) -> np.ndarray:
    """Rows in `mask` whose value is not in `allowed` (numpy keys, or an Arrow text column)."""
    if isinstance(values, np.ndarray):
        inside = np.isin(values, np.asarray(allowed, dtype=values.dtype))
    else:
        member = pc.is_in(values, value_set=pa.array(list(allowed), pa.string()))
        inside = np.asarray(pc.fill_null(member, False).to_numpy(zero_copy_only=False), dtype=bool)
    return np.flatnonzero(mask & ~inside)


def messages(field: str, value: str, allowed: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """The message code and parameters naming the field, the value and the allowed values."""
    listed = ", ".join(repr(a) for a in allowed)
    return "finding.ENUM", {"field": field, "value": value, "allowed": listed}
