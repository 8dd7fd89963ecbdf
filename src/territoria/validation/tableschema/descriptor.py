"""Validation of a Table Schema descriptor itself, with messages that say what to fix."""

from __future__ import annotations

import re
from typing import Any

from territoria.validation.tableschema.readers import INVALID, reader_for

TYPES = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "time",
    "year",
    "geopoint",
    "array",
    "object",
    "any",
)
_STRING_FORMATS = ("default", "email", "uri", "uuid", "binary")
_GEO_FORMATS = ("default", "array", "object")
_ORDERED = ("integer", "number", "date", "datetime", "time", "year")
_LENGTHY = ("string", "array", "object")
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _names(value: Any, what: str) -> list[str]:
    """A field name or a list of field names."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{what} must be a field name or a non-empty list of field names")
    return names


def _supported(kind: str) -> set[str]:
    """Constraints that apply to a type."""
    allowed = {"required", "unique", "enum"}
    if kind in _ORDERED:
        allowed |= set(_BOUNDS)
    if kind in _LENGTHY:
        allowed |= {"minLength", "maxLength"}
    if kind == "string":
        allowed.add("pattern")
    return allowed


def _check_format(where: str, kind: str, fmt: Any) -> None:
    """The field's format exists for its type."""
    if not isinstance(fmt, str):
        raise ValueError(f"{where}: format must be a string")
    if kind == "string" and fmt not in _STRING_FORMATS:
        raise ValueError(
            f"{where}: unknown string format '{fmt}' (expected one of {', '.join(_STRING_FORMATS)})"
        )
    if kind == "geopoint" and fmt not in _GEO_FORMATS:
        raise ValueError(
            f"{where}: unknown geopoint format '{fmt}' (expected one of {', '.join(_GEO_FORMATS)})"
        )


def _check_constraints(where: str, field: dict[str, Any]) -> None:
    """Every constraint is known, applies to the type and has a value of the right kind."""
    kind, cons = field.get("type", "string"), field.get("constraints", {})
    if not isinstance(cons, dict):
        raise ValueError(f"{where}: constraints must be an object")
    read = reader_for(field)
    for name, value in cons.items():
        if name not in _supported(kind):
            allowed = ", ".join(sorted(_supported(kind)))
            raise ValueError(
                f"{where}: constraint '{name}' does not apply to type {kind} (allowed: {allowed})"
            )
        if name in ("required", "unique") and not isinstance(value, bool):
            raise ValueError(f"{where}: constraint '{name}' must be true or false")
        if name in ("minLength", "maxLength") and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ValueError(f"{where}: constraint '{name}' must be a non-negative integer")
        if name == "pattern":
            if not isinstance(value, str):
                raise ValueError(f"{where}: constraint 'pattern' must be a string")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(
                    f"{where}: constraint 'pattern' is not a valid regular expression: {exc}"
                ) from exc
        if name in _BOUNDS and read(value) is INVALID:
            raise ValueError(f"{where}: constraint '{name}' value {value!r} is not a valid {kind}")
        if name == "enum":
            if not isinstance(value, list) or not value:
                raise ValueError(f"{where}: constraint 'enum' must be a non-empty list")
            bad = [v for v in value if read(v) is INVALID]
            if bad:
                raise ValueError(f"{where}: enum value(s) {bad!r} are not valid {kind} values")


def _check_strings(where: str, field: dict[str, Any], key: str) -> None:
    """A list-of-strings property (trueValues, falseValues, missingValues)."""
    value = field.get(key)
    if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise ValueError(f"{where}: '{key}' must be a list of strings")


def _check_field(index: int, field: Any) -> str:
    """One field descriptor; returns its name."""
    if not isinstance(field, dict):
        raise ValueError(f"schema: fields[{index}] must be an object")
    name = field.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"schema: fields[{index}] needs a non-empty 'name'")
    where = f"schema: field '{name}'"
    kind = field.get("type", "string")
    if kind not in TYPES:
        raise ValueError(f"{where}: unknown type '{kind}' (expected one of {', '.join(TYPES)})")
    _check_format(where, kind, field.get("format", "default"))
    for key in ("trueValues", "falseValues", "missingValues"):
        _check_strings(where, field, key)
    for key in ("decimalChar", "groupChar"):
        if key in field and not (isinstance(field[key], str) and field[key]):
            raise ValueError(f"{where}: '{key}' must be a non-empty string")
    if "bareNumber" in field and not isinstance(field["bareNumber"], bool):
        raise ValueError(f"{where}: 'bareNumber' must be true or false")
    _check_constraints(where, field)
    return name


def _check_foreign_keys(fks: Any, names: set[str]) -> None:
    """foreignKeys: local fields exist; reference names a resource and as many fields."""
    if not isinstance(fks, list):
        raise ValueError("schema: foreignKeys must be a list")
    for i, fk in enumerate(fks):
        where = f"schema: foreignKeys[{i}]"
        if not isinstance(fk, dict) or not isinstance(fk.get("reference"), dict):
            raise ValueError(f"{where} must be an object with 'fields' and 'reference'")
        local = _names(fk.get("fields"), f"{where}.fields")
        ref = fk["reference"]
        remote = _names(ref.get("fields"), f"{where}.reference.fields")
        if not isinstance(ref.get("resource", ""), str):
            raise ValueError(f"{where}.reference.resource must be a string ('' for this dataset)")
        unknown = [n for n in local if n not in names]
        if unknown:
            raise ValueError(f"{where} names unknown field(s) {', '.join(unknown)}")
        if len(local) != len(remote):
            raise ValueError(f"{where}: 'fields' and 'reference.fields' must have the same length")
        if not ref.get("resource") and any(n not in names for n in remote):
            raise ValueError(f"{where}: reference.fields must name fields of this schema")


def validate_table_schema(d: Any) -> None:
    """Raise ValueError with a clear message when `d` is not a valid Table Schema descriptor."""
    if not isinstance(d, dict):
        raise ValueError("schema: a Table Schema must be a JSON object")
    fields = d.get("fields")
    if not isinstance(fields, list) or not fields:
        raise ValueError("schema: 'fields' must be a non-empty list of field descriptors")
    seen: list[str] = [_check_field(i, f) for i, f in enumerate(fields)]
    dupes = sorted({n for n in seen if seen.count(n) > 1})
    if dupes:
        raise ValueError(f"schema: duplicate field name(s) {', '.join(dupes)}")
    _check_strings("schema", d, "missingValues")
    names = set(seen)
    if "primaryKey" in d:
        pk = _names(d["primaryKey"], "schema: primaryKey")
        unknown = [n for n in pk if n not in names]
        if unknown:
            raise ValueError(f"schema: primaryKey names unknown field(s) {', '.join(unknown)}")
    if "foreignKeys" in d:
        _check_foreign_keys(d["foreignKeys"], names)
