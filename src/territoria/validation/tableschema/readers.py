"""Reference readers: one Table Schema cell to its typed value, with the semantics of Frictionless.

These run only on the *distinct* values a vectorised fast path could not decide (non-canonical text,
JSON-typed cells), so that the engine agrees with `frictionless validate` without being cell-by-cell.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import validators


class _Invalid:
    """Marker of a cell that does not fit its type."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
Reader = Callable[[Any], Any]

TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$")
_NOT_BARE = re.compile(r"((^[^-\d]*)|(\D*$))")


def _number(field: dict[str, Any]) -> Reader:
    """Decimal numbers, with decimalChar, groupChar and bareNumber."""
    group, dec = field.get("groupChar"), field.get("decimalChar", ".")
    bare = field.get("bareNumber", True)

    def read(cell: Any) -> Any:
        if isinstance(cell, bool):
            return INVALID
        if isinstance(cell, int | float | Decimal):
            return float(cell)
        if not isinstance(cell, str):
            return INVALID
        text = cell.strip()
        if not bare:
            text = _NOT_BARE.sub("", text)
        if group:
            text = text.replace(group, "")
        if dec != ".":
            if "." in text:
                return INVALID
            text = text.replace(dec, ".")
        try:
            return float(Decimal(text))
        except (InvalidOperation, ValueError):
            return INVALID

    return read


def _integer(field: dict[str, Any]) -> Reader:
    """Integers (bareNumber honoured); floats only when whole."""
    bare = field.get("bareNumber", True)

    def read(cell: Any) -> Any:
        if isinstance(cell, bool):
            return INVALID
        if isinstance(cell, int):
            return cell
        if isinstance(cell, float | Decimal):
            return int(cell) if cell % 1 == 0 else INVALID
        if not isinstance(cell, str):
            return INVALID
        text = cell.strip() if bare else _NOT_BARE.sub("", cell.strip())
        try:
            return int(text)
        except ValueError:
            return INVALID

    return read


def _boolean(field: dict[str, Any]) -> Reader:
    """Booleans from the field's trueValues / falseValues (exact, case-sensitive)."""
    mapping = dict.fromkeys(field.get("trueValues", TRUE_VALUES), True)
    mapping.update(dict.fromkeys(field.get("falseValues", FALSE_VALUES), False))

    def read(cell: Any) -> Any:
        if isinstance(cell, bool):
            return cell
        return mapping.get(cell, INVALID) if isinstance(cell, str) else INVALID

    return read


def _strptime(fmt: str, default: str, kind: str) -> Reader:
    """Dates, times and datetimes from a strptime format (or ISO 8601 by default)."""
    pattern = default if fmt == "default" else fmt

    def read(cell: Any) -> Any:
        if kind == "date" and isinstance(cell, datetime):
            return cell.date() if cell.time() == time(0) else INVALID
        if isinstance(cell, datetime | date | time):
            return cell
        if not isinstance(cell, str):
            return INVALID
        try:
            if fmt == "any" or (kind == "datetime" and fmt == "default"):
                if fmt == "default" and (len(cell) < 19 or cell[16] != ":"):
                    return INVALID
                parsed = datetime.fromisoformat(cell)
            else:
                parsed = datetime.strptime(cell, pattern)
        except (ValueError, IndexError):
            return INVALID
        if kind == "date":
            return parsed.date()
        return parsed.timetz() if kind == "time" else parsed

    return read


def _year(_: dict[str, Any]) -> Reader:
    """A four-digit year."""

    def read(cell: Any) -> Any:
        if isinstance(cell, bool):
            return INVALID
        if isinstance(cell, int):
            return cell
        if not isinstance(cell, str) or len(cell) != 4:
            return INVALID
        try:
            return int(cell)
        except ValueError:
            return INVALID

    return read


def _geopoint(field: dict[str, Any]) -> Reader:
    """Geopoints 'lon, lat', [lon, lat] or {"lon", "lat"} within the WGS84 bounds."""
    fmt = field.get("format", "default")

    def read(cell: Any) -> Any:
        try:
            if isinstance(cell, str):
                if fmt == "array":
                    lon, lat = json.loads(cell)
                elif fmt == "object":
                    obj = json.loads(cell)
                    if len(obj) != 2:
                        return INVALID
                    lon, lat = obj["lon"], obj["lat"]
                else:
                    lon, lat = (p.strip() for p in cell.split(","))
            elif isinstance(cell, dict) and len(cell) == 2:
                lon, lat = cell["lon"], cell["lat"]
            else:
                lon, lat = cell
            x, y = Decimal(lon), Decimal(lat)
            if not (-180 <= x <= 180 and -90 <= y <= 90):
                return INVALID
        except (ValueError, TypeError, KeyError, InvalidOperation, ArithmeticError):
            return INVALID
        return (float(x), float(y))

    return read


def _json(kind: type) -> Reader:
    """Arrays and objects, from JSON text or already decoded."""

    def read(cell: Any) -> Any:
        if isinstance(cell, str):
            try:
                cell = json.loads(cell)
            except ValueError:
                return INVALID
        if kind is list and isinstance(cell, tuple):
            cell = list(cell)
        return cell if isinstance(cell, kind) else INVALID

    return read


def _uuid(cell: str) -> bool:
    """A UUID in its canonical text form (or a 32-hex-digit one)."""
    try:
        uuid.UUID(cell)
    except ValueError:
        return False
    return True


def _binary(cell: str) -> bool:
    """Base64 text."""
    try:
        base64.b64decode(cell)
    except ValueError:
        return False
    return True


def _string(field: dict[str, Any]) -> Reader:
    """Strings, checked against their format (email, uri, uuid, binary)."""
    check: Callable[[str], bool] = {
        "email": lambda c: bool(validators.email(c)),
        "uri": lambda c: bool(_URI.match(c)),
        "uuid": _uuid,
        "binary": _binary,
    }.get(field.get("format", "default"), lambda c: True)

    def read(cell: Any) -> Any:
        return cell if isinstance(cell, str) and check(cell) else INVALID

    return read


def reader_for(field: dict[str, Any]) -> Reader:
    """The reference reader of a field, from its type and format."""
    kind, fmt = field.get("type", "string"), field.get("format", "default")
    if kind == "date":
        return _strptime(fmt, "%Y-%m-%d", "date")
    if kind == "datetime":
        return _strptime(fmt, "%Y-%m-%dT%H:%M:%S%z", "datetime")
    if kind == "time":
        return _strptime(fmt, "%H:%M:%S", "time")
    if kind == "array":
        return _json(list)
    if kind == "object":
        return _json(dict)
    if kind == "any":
        return lambda cell: cell
    makers: dict[str, Callable[[dict[str, Any]], Reader]] = {
        "number": _number,
        "integer": _integer,
        "boolean": _boolean,
        "year": _year,
        "geopoint": _geopoint,
    }
    return makers.get(kind, _string)(field)
