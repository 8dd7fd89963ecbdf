"""AREA_MISMATCH: the INSEE code an asset declares differs from the commune its point lies in."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("AREA_MISMATCH", "warning", "asset")
Locate = Callable[[float, float], "str | None"]
# Property names under which senders declare the commune's INSEE code, in order of preference.
KEYS = ("code_insee", "insee", "commune", "code_commune", "insee_code")
INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


def declared_code(properties: Mapping[str, Any] | None) -> str | None:
    """The INSEE code declared in properties (an int loses its leading zero: it is restored), or None."""
    for key in KEYS:
        raw = (properties or {}).get(key)
        if isinstance(raw, bool) or raw is None:
            continue
        code = f"{raw:05d}" if isinstance(raw, int) else str(raw).strip().upper()
        if INSEE.match(code):
            return code
    return None


def check(
    asset: str, lon: float | None, lat: float | None, properties: Mapping[str, Any] | None, locate: Locate
) -> Finding | None:
    """A finding when the declared INSEE code is not the code of the commune containing the point."""
    declared = declared_code(properties)
    if declared is None or lon is None or lat is None:
        return None
    located = locate(lon, lat)
    if located is None or located == declared:
        return None
    return coded(
        RULE,
        "finding.AREA_MISMATCH",
        {"declared": declared, "lon": f"{lon:g}", "lat": f"{lat:g}", "located": located},
        asset=asset,
        field="properties",
        details={"declared": declared, "located": located},
    )
