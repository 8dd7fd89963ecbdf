"""RANGE: a value (or a length) beyond the field's minimum / maximum constraints."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from territoria.validation.model import Rule

RULE = Rule("RANGE", "error", "row")

Bound = Literal["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"]


def failing(values: np.ndarray, mask: np.ndarray, bound: Bound, limit: float) -> np.ndarray:
    """Rows in `mask` whose value breaks one bound (NaN always breaks it, as in Frictionless)."""
    with np.errstate(invalid="ignore"):
        if bound in ("minimum", "minLength"):
            good = values >= limit
        elif bound in ("maximum", "maxLength"):
            good = values <= limit
        elif bound == "exclusiveMinimum":
            good = values > limit
        else:
            good = values < limit
    return np.flatnonzero(mask & ~good)


def messages(
    field: str, value: str, bound: Bound, limit: str, length: int | None = None
) -> tuple[str, dict[str, Any]]:
    """The message code (one per bound) and parameters naming the field, the value and the constraint."""
    params: dict[str, Any] = {"field": field, "value": value, "limit": limit}
    if length is not None:
        params["length"] = length
    return f"finding.RANGE.{bound}", params
