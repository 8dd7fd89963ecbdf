"""Records of a CSV chunk checked by whole columns: the Table Schema engine reads Arrow text columns."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from territoria.errors import Invalid
from territoria.ingest.validation import RowError
from territoria.validation.tableschema import CompiledSchema, HeaderMismatch, check_header
from territoria.validation.tableschema.engine import Resolver
from territoria.validation.tabular import Chunk

# A French decimal: digits, a comma, digits (no group separator: "1,234" stays ambiguous only with `,`).
_DECIMAL_COMMA = r"^(\s*[+-]?[0-9]+),([0-9]+\s*)$"


def decimal_commas(column: pa.Array, field: dict[str, Any], delimiter: str) -> pa.Array:
    """A number column of a file not separated by commas, with `12,5` read as `12.5`.

    A schema declaring its own decimalChar or groupChar is followed as it is.
    """
    if delimiter == "," or field.get("type") not in ("number", "integer"):
        return column
    if {"decimalChar", "groupChar"} & field.keys():
        return column
    return pc.replace_substring_regex(column, _DECIMAL_COMMA, r"\1.\2")


def check_chunk(
    chunk: Chunk, schema: dict[str, Any], resolver: Resolver
) -> tuple[list[dict[str, Any]], dict[int, list[RowError]]]:
    """Typed rows and, per rejected position, all its findings."""
    if not schema.get("fields"):
        return chunk.dicts(), {}
    if len(chunk.numbers):
        try:
            check_header(chunk.names(), schema)
        except HeaderMismatch as exc:
            raise Invalid(f"{exc.message_en} / {exc.message_fr}", errors=exc.errors()) from exc
    compiled = CompiledSchema(schema)
    by_name = chunk.by_name()
    fields = {str(f["name"]): f for f in schema["fields"]}
    columns = {
        name: decimal_commas(by_name[name], fields[name], chunk.delimiter)
        for name in compiled.field_names
        if name in by_name
    }
    numbers = chunk.numbers.tolist()
    if not numbers:
        return [], {}
    report = compiled.validate(columns, row_numbers=numbers, resolver=resolver)
    position = {n: i for i, n in enumerate(numbers)}
    errors: dict[int, list[RowError]] = {}
    for f in report.findings:
        if f.severity == "error" and f.row is not None:
            errors.setdefault(position[f.row], []).append(f.as_error())
    return report.typed_rows(), errors
