"""Row checks for measurements: types, known asset and metric, range, future and too old timestamps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from territoria.catalog.models import Metric
from territoria.db.base import to_us
from territoria.validation.model import RowError, row_error
from territoria.validation.rules import future_ts, past_ts, unknown_asset, unknown_metric

__all__ = ["GoodPoint", "MeasurementChecker", "RowError", "row_error"]


@dataclass(frozen=True, slots=True)
class GoodPoint:
    """A measurement row that passed the row checks."""

    row: int
    asset_id: int
    metric_id: int
    us: int  # microseconds since the epoch, UTC: cheap to hash, compare and bucket
    value: float


def _unit(unit: str) -> str:
    """A unit to print after a number (none for dimensionless '1')."""
    return "" if unit in ("", "1") else f" {unit}"


def _span(lo: float | None, hi: float | None) -> str:
    """A valid range as [lo, hi], open ends shown as -∞ / +∞."""
    low = "-∞" if lo is None else f"{lo:g}"
    high = "+∞" if hi is None else f"{hi:g}"
    return f"[{low}, {high}]"


class Unreadable(ValueError):
    """A cell that cannot be read as its type: a catalog message code and its parameters (never Python's
    own English text, which would end up inside French messages)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# A JSON value that is not a number, by type: the message saying what was sent instead.
_KINDS = {
    "str": "finding.TYPE.value_text",
    "list": "finding.TYPE.value_list",
    "dict": "finding.TYPE.value_object",
    "NoneType": "finding.TYPE.value_null",
}
# Rows rejected before these codes keep Python's reason as a parameter of these messages.
LEGACY_CODES = ("finding.TYPE.ts", "finding.TYPE.value")


def _shown(raw: Any) -> str:
    """A rejected value as quoted in a message (cut short)."""
    text = str(raw)
    return text if len(text) <= 60 else text[:59] + "…"


def parse_ts(raw: Any) -> datetime:
    """An ISO-8601 timestamp with an explicit offset (Z or ±hh:mm); in-process callers may pass datetimes."""
    if isinstance(raw, datetime) and raw.tzinfo is not None:
        return raw
    if not isinstance(raw, str):
        raise Unreadable("finding.TYPE.ts_not_text", value=_shown(raw))
    try:
        ts = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Unreadable("finding.TYPE.ts_format", value=_shown(raw)) from None
    if ts.tzinfo is None:
        raise Unreadable("finding.TYPE.ts_no_zone", value=_shown(raw))
    return ts


def parse_value(raw: Any, from_text: bool) -> float:
    """A finite number; text only from CSV (JSON true/false/strings are refused)."""
    if isinstance(raw, bool):
        raise Unreadable("finding.TYPE.value_boolean", value=_shown(raw).lower())
    if isinstance(raw, int | float):
        value = float(raw)
    elif from_text and isinstance(raw, str):
        if not raw.strip():
            raise Unreadable("finding.TYPE.value_empty")
        try:
            value = float(raw.strip().replace(",", "."))
        except ValueError:
            raise Unreadable("finding.TYPE.value_text", value=_shown(raw)) from None
    else:
        raise Unreadable(_KINDS.get(type(raw).__name__, "finding.TYPE.value_other"), value=_shown(raw))
    if not math.isfinite(value):
        raise Unreadable("finding.TYPE.value_infinite", value=_shown(raw))
    return value


class MeasurementChecker:
    """Checks measurement rows of one dataset against its assets and metric definitions."""

    def __init__(self, metrics: dict[str, Metric], now: datetime, future_tolerance_s: int) -> None:
        self.metrics = metrics
        self.latest_allowed = now + timedelta(seconds=future_tolerance_s)
        self.ts_cache: dict[Any, int] = {}

    def parse_ts_cached(self, text: Any) -> int | None:
        """Parse a valid, not-future timestamp once per distinct string (batches share timestamps)."""
        try:
            ts = parse_ts(text)
        except (ValueError, TypeError):
            return None
        if ts > self.latest_allowed or ts < past_ts.EARLIEST:
            return None
        if len(self.ts_cache) > 200_000:
            self.ts_cache.clear()
        us = self.ts_cache[text] = to_us(ts)
        return us

    def explain(
        self, n: int, raw: dict[str, Any], from_text: bool, assets: dict[str, int]
    ) -> GoodPoint | list[RowError]:
        """The slow path: every reason a row is rejected, or a good point for text values (CSV)."""
        errors: list[RowError] = []
        asset_key, metric_key = raw.get("asset"), raw.get("metric")
        asset_id = metric = None
        if asset_key is None or asset_key == "":
            errors.append(row_error(n, "asset", "REQUIRED", "finding.REQUIRED.asset", {}))
        elif (unknown := unknown_asset.check(n, asset_key, assets)) is not None:
            errors.append(unknown.as_error())
        else:
            asset_id = assets[str(asset_key)]
        if metric_key is None or metric_key == "":
            errors.append(row_error(n, "metric", "REQUIRED", "finding.REQUIRED.metric", {}))
        elif (unknown := unknown_metric.check(n, metric_key, self.metrics)) is not None:
            errors.append(unknown.as_error())
        else:
            metric = self.metrics[str(metric_key)]
        ts = value = None
        try:
            ts = parse_ts(raw.get("ts"))
            if (future := future_ts.check(n, ts, self.latest_allowed)) is not None:
                errors.append(future.as_error())
            if (past := past_ts.check(n, ts)) is not None:
                errors.append(past.as_error())
        except Unreadable as exc:
            if raw.get("ts") in (None, ""):
                errors.append(row_error(n, "ts", "REQUIRED", "finding.REQUIRED.ts", {}))
            else:
                errors.append(row_error(n, "ts", "TYPE", exc.code, exc.params))
        try:
            if raw.get("value") is None:
                raise LookupError
            value = parse_value(raw["value"], from_text)
        except LookupError:
            errors.append(row_error(n, "value", "REQUIRED", "finding.REQUIRED.value", {}))
        except Unreadable as exc:
            errors.append(row_error(n, "value", "TYPE", exc.code, exc.params))
        if value is not None and metric is not None:
            lo, hi = metric.min_value, metric.max_value
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                shown, span, name = f"{value:g}{_unit(metric.unit)}", _span(lo, hi), metric.name
                params = {"value": shown, "span": span, "metric": name}
                errors.append(row_error(n, "value", "RANGE", "finding.RANGE.metric", params))
        if errors:
            return errors
        assert asset_id is not None and metric is not None and ts is not None and value is not None
        return GoodPoint(n, asset_id, metric.id, to_us(ts), value)
