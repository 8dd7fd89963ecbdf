"""REQUIRED: a required field (or a primary-key field) left empty."""

from __future__ import annotations

import numpy as np

from territoria.validation.model import Rule

RULE = Rule(
    "REQUIRED",
    "error",
    "row",
    "Required value is missing",
    "Valeur obligatoire manquante",
)


def failing(present: np.ndarray) -> np.ndarray:
    """Rows where the value is missing (absent, null or one of the schema's missingValues)."""
    return np.flatnonzero(~present)


def messages(field: str) -> tuple[str, str]:
    """English and French messages naming the field."""
    return f"{field}: a value is required", f"{field} : une valeur est obligatoire"
