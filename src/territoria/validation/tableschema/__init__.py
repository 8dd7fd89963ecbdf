"""Frictionless Table Schema, compiled into vectorised column checks (no cell-by-cell Python)."""

from __future__ import annotations

from territoria.validation.tableschema.descriptor import validate_table_schema
from territoria.validation.tableschema.engine import CompiledSchema, Report, Resolver
from territoria.validation.tableschema.header import HeaderMismatch, check_header

__all__ = [
    "CompiledSchema",
    "HeaderMismatch",
    "Report",
    "Resolver",
    "check_header",
    "validate_table_schema",
]
