"""The French national IRVE schemas (EV charging points, v2.3.0), packaged as they are published.

Source: etalab/schema-irve (schema.data.gouv.fr), Licence Ouverte 2.0.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

IrveKind = Literal["statique", "dynamique"]


def _read(name: str) -> str:
    """A packaged IRVE file as text."""
    return resources.files("territoria.domains.ev").joinpath("data", name).read_text(encoding="utf-8")


def irve_schema(kind: IrveKind = "statique") -> dict[str, Any]:
    """The IRVE static or dynamic Table Schema, unchanged, ready to attach to a records dataset."""
    schema: dict[str, Any] = json.loads(_read(f"schema-{kind}.json"))
    return schema


def irve_static_schema() -> dict[str, Any]:
    """The IRVE static schema (one row per charge point)."""
    return irve_schema("statique")


def irve_dynamic_schema() -> dict[str, Any]:
    """The IRVE dynamic schema (live status of each charge point)."""
    return irve_schema("dynamique")


def irve_example(kind: IrveKind = "statique") -> str:
    """The schema's official valid example CSV."""
    return _read(f"exemple-valide-{kind}.csv")
