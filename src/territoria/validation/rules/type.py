"""TYPE: a present cell that does not fit its field's type and format."""

from __future__ import annotations

import numpy as np

from territoria.validation.model import Rule

RULE = Rule(
    "TYPE",
    "error",
    "row",
    "Value does not fit the field's type",
    "Valeur non conforme au type du champ",
)


def failing(ok: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Rows whose present value could not be read as the field's type."""
    return np.flatnonzero(present & ~ok)


def messages(field: str, value: str, kind: str, fmt: str) -> tuple[str, str]:
    """English and French messages naming the field, the value and the expected type."""
    expected = kind if fmt == "default" else f"{kind} ({fmt})"
    return (
        f"{field}: {value} is not a valid {expected}",
        f"{field} : {value} n'est pas une valeur valide de type {expected}",
    )
