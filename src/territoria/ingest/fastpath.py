"""The vectorised path for clean batches: every row a plain, valid, new point.

Most batches from operators' systems are clean. For them, the row checks run as C-level passes
(map, set, numpy comparisons) over whole columns instead of a Python loop per row. As soon as
anything is unusual — a missing field, a wrong type, an unknown asset, a value out of range, a
series not created yet, a point repeated in the batch — this path steps aside and the row-by-row
path explains every rejected row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from territoria.catalog.models import Metric
from territoria.ingest.parsers import Row
from territoria.ingest.validation import MeasurementChecker
from territoria.timeseries.points import Points

_GETTERS = tuple(itemgetter(name) for name in ("asset", "metric", "ts", "value"))
_NUMBERS = frozenset({int, float})


def clean_points(
    rows: Sequence[Row],
    resolve_assets: Callable[[set[str]], dict[str, int]],
    metrics: Sequence[Metric],
    series: dict[tuple[int, int], int],
    checker: MeasurementChecker,
) -> Points | None:
    """The batch as points when every row is clean, else None (use the row-by-row path)."""
    if not rows:
        return None
    dicts: list[Any] = [raw for _n, raw in rows]
    if set(map(type, dicts)) != {dict}:
        return None
    try:  # one C-level pass per column
        asset_col, metric_col, ts_col, value_col = (tuple(map(getter, dicts)) for getter in _GETTERS)
    except KeyError:
        return None
    if set(map(type, asset_col)) != {str} or set(map(type, metric_col)) != {str}:
        return None
    if not set(map(type, value_col)) <= _NUMBERS:  # no bool, no text, no null
        return None
    assets = resolve_assets(set(asset_col))
    return _columns(asset_col, metric_col, ts_col, value_col, assets, metrics, series, checker)


def _columns(
    asset_col: tuple[Any, ...],
    metric_col: tuple[Any, ...],
    ts_col: tuple[Any, ...],
    value_col: tuple[Any, ...],
    assets: dict[str, int],
    metrics: Sequence[Metric],
    series: dict[tuple[int, int], int],
    checker: MeasurementChecker,
) -> Points | None:
    """Resolve and check whole columns at once."""
    try:
        for ts in set(ts_col) - checker.ts_cache.keys():
            checker.parse_ts_cached(ts)
    except TypeError:  # an unhashable timestamp (a list, an object)
        return None
    us = list(map(checker.ts_cache.get, ts_col))
    aids = list(map(assets.get, asset_col))
    by_name = {m.name: i for i, m in enumerate(metrics)}
    midx = list(map(by_name.get, metric_col))
    if None in us or None in aids or None in midx:
        return None
    idx = np.asarray(midx, dtype=np.int64)
    values = np.asarray(value_col, dtype=np.float64)
    lo = np.array([-np.inf if m.min_value is None else m.min_value for m in metrics])[idx]
    hi = np.array([np.inf if m.max_value is None else m.max_value for m in metrics])[idx]
    if not (np.isfinite(values).all() and (values >= lo).all() and (values <= hi).all()):
        return None
    metric_ids = np.array([m.id for m in metrics], dtype=np.int64)[idx].tolist()
    pairs: list[Any] = list(zip(aids, metric_ids, strict=True))
    sids = list(map(series.get, pairs))
    if None in sids:
        return None
    points = Points.of(sids, us, values)  # type: ignore[arg-type]
    if len(set(points.pairs())) != len(points):  # a point repeated within the batch
        return None
    return points
