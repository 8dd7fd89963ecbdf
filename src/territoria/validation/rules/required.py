"""REQUIRED: a required field (or a primary-key field) left empty."""

from __future__ import annotations

from typing import Any

import numpy as np

from territoria.validation.model import Rule

RULE = Rule("REQUIRED", "error", "row")


def failing(present: np.ndarray) -> np.ndarray:
    """Rows where the value is missing (absent, null or one of the schema's missingValues)."""
    return np.flatnonzero(~present)


def messages(field: str) -> tuple[str, dict[str, Any]]:
    """The message code and parameters naming the field."""
    return "finding.REQUIRED", {"field": field}
