"""FOREIGN_KEY: a value that names no row of the referenced dataset's field(s)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from territoria.validation.model import Rule

RULE = Rule(
    "FOREIGN_KEY",
    "error",
    "row",
    "Value does not exist in the referenced dataset",
    "Valeur absente du jeu de données référencé",
)


def failing(values: Sequence[tuple[Any, ...]], mask: np.ndarray, known: set[tuple[Any, ...]]) -> np.ndarray:
    """Rows in `mask` whose key tuple is not among the referenced dataset's `known` key tuples."""
    rows = np.flatnonzero(mask)
    found = np.array([values[i] in known for i in rows.tolist()], dtype=bool)
    missing: np.ndarray = rows[np.logical_not(found)]
    return missing


def messages(fields: str, value: str, resource: str, ref_fields: str) -> tuple[str, str]:
    """English and French messages naming the field(s), the value and the reference."""
    target = resource or "this dataset"
    cible = resource or "ce jeu de données"
    return (
        f"{fields}: {value} not found in {target} ({ref_fields})",
        f"{fields} : {value} introuvable dans {cible} ({ref_fields})",
    )
