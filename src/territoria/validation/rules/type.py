"""TYPE: a present cell that does not fit its field's type and format."""

from __future__ import annotations

from typing import Any

import numpy as np

from territoria.validation.model import Rule

RULE = Rule("TYPE", "error", "row")


def failing(ok: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Rows whose present value could not be read as the field's type."""
    return np.flatnonzero(present & ~ok)


def messages(field: str, value: str, kind: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The message code and parameters naming the field, the value and the expected type."""
    expected = kind if fmt == "default" else f"{kind} ({fmt})"
    return "finding.TYPE", {"field": field, "value": value, "expected": expected}
