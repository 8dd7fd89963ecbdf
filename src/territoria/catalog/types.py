"""Domain value types: Annotated aliases over small pure validators that raise ValueError."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


def check_slug(value: str) -> str:
    """Lower-case letters, digits, '-' and '_', 1 to 63 characters, starting with a letter or digit."""
    if not _SLUG.match(value):
        raise ValueError("use 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")
    return value


def check_insee(value: str) -> str:
    """A French INSEE commune code: five digits, or 2A/2B and three digits for Corsica."""
    if not _INSEE.match(value):
        raise ValueError("an INSEE code has five characters, e.g. 06088")
    return value


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check_siren(value: str) -> str:
    """A SIREN: nine digits with a valid Luhn checksum."""
    if not (len(value) == 9 and value.isdigit() and luhn_ok(value)):
        raise ValueError("a SIREN has nine digits and a valid Luhn checksum")
    return value


def check_lon(value: float) -> float:
    """Longitude in degrees, WGS84."""
    if not -180.0 <= value <= 180.0:
        raise ValueError("longitude must be between -180 and 180")
    return value


def check_lat(value: float) -> float:
    """Latitude in degrees, WGS84."""
    if not -90.0 <= value <= 90.0:
        raise ValueError("latitude must be between -90 and 90")
    return value


Slug = Annotated[str, AfterValidator(check_slug)]
InseeCode = Annotated[str, AfterValidator(check_insee)]
Siren = Annotated[str, AfterValidator(check_siren)]
Longitude = Annotated[float, AfterValidator(check_lon)]
Latitude = Annotated[float, AfterValidator(check_lat)]


def check_row_id(value: int) -> int:
    """A database row id: a positive 64-bit integer."""
    if not 1 <= value <= 2**63 - 1:
        raise ValueError("an id is a positive integer below 2^63")
    return value


RowId = Annotated[int, AfterValidator(check_row_id)]
