"""RANGE: a value (or a length) beyond the field's minimum / maximum constraints."""

from __future__ import annotations

from typing import Literal

import numpy as np

from territoria.validation.model import Rule

RULE = Rule(
    "RANGE",
    "error",
    "row",
    "Value is out of the allowed range",
    "Valeur hors de l'intervalle autorisé",
)

Bound = Literal["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"]

_FR = {
    "minimum": "inférieur au minimum",
    "maximum": "supérieur au maximum",
    "exclusiveMinimum": "inférieur ou égal au minimum exclusif",
    "exclusiveMaximum": "supérieur ou égal au maximum exclusif",
}
_EN = {
    "minimum": "is below minimum",
    "maximum": "is above maximum",
    "exclusiveMinimum": "is not above exclusiveMinimum",
    "exclusiveMaximum": "is not below exclusiveMaximum",
}


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


def messages(field: str, value: str, bound: Bound, limit: str, length: int | None = None) -> tuple[str, str]:
    """English and French messages naming the field, the value and the constraint it breaks."""
    if bound == "minLength":
        return (
            f"{field}: length {length} of {value} is below minLength {limit}",
            f"{field} : la longueur {length} de {value} est inférieure à minLength {limit}",
        )
    if bound == "maxLength":
        return (
            f"{field}: length {length} of {value} is above maxLength {limit}",
            f"{field} : la longueur {length} de {value} est supérieure à maxLength {limit}",
        )
    return f"{field}: {value} {_EN[bound]} {limit}", f"{field} : {value} est {_FR[bound]} {limit}"
