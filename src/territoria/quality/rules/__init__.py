"""Every quality rule by its stable code: the row and asset rules of `validation`, the series rules here."""

from __future__ import annotations

from territoria.quality.rules import gap, rate_of_change, spike, stale_source, stuck_value
from territoria.validation.model import Rule
from territoria.validation.rules import (
    area_mismatch,
    duplicate,
    duplicate_conflict,
    encoding,
    enum,
    foreign_key,
    future_ts,
    latlon_swapped,
    out_of_territory,
    parse,
    past_ts,
    pattern,
    required,
    unique,
    unknown_asset,
    unknown_metric,
)
from territoria.validation.rules import range as range_rule
from territoria.validation.rules import type as type_rule

_MODULES = (
    # rows: readable, typed, within constraints, referring to known things, not repeated
    parse,
    encoding,
    type_rule,
    required,
    enum,
    pattern,
    range_rule,
    unique,
    foreign_key,
    unknown_asset,
    unknown_metric,
    future_ts,
    past_ts,
    duplicate,
    duplicate_conflict,
    # series
    gap,
    stuck_value,
    spike,
    rate_of_change,
    stale_source,
    # assets
    latlon_swapped,
    out_of_territory,
    area_mismatch,
)
RULES: dict[str, Rule] = {module.RULE.code: module.RULE for module in _MODULES}
