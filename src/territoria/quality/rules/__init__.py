"""Every quality rule, one module each, registered by its stable code."""

from __future__ import annotations

from territoria.quality.model import Rule
from territoria.quality.rules import (
    duplicate_conflict,
    encoding,
    future_ts,
    parse,
    unknown_asset,
    unknown_metric,
)

RULES: dict[str, Rule] = {
    module.RULE.code: module.RULE
    for module in (parse, encoding, unknown_asset, unknown_metric, future_ts, duplicate_conflict)
}
