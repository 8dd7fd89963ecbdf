"""Frictionless Table Schema, compiled into vectorised column checks (no cell-by-cell Python)."""

from __future__ import annotations

from territoria.quality.tableschema.descriptor import validate_table_schema
from territoria.quality.tableschema.engine import CompiledSchema, Report, Resolver
from territoria.quality.tableschema.header import HeaderMismatch, check_header
from territoria.quality.tableschema.irve import (
    irve_dynamic_schema,
    irve_example,
    irve_schema,
    irve_static_schema,
)

__all__ = [
    "CompiledSchema",
    "HeaderMismatch",
    "Report",
    "Resolver",
    "check_header",
    "irve_dynamic_schema",
    "irve_example",
    "irve_schema",
    "irve_static_schema",
    "validate_table_schema",
]
