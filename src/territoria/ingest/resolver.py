"""Asset and series ids per dataset, cached per database between batches.

A batch names assets by external id; resolving thousands of them with a query each time would cost
more than storing the points. Ids never change once given (assets are upserted on their external id,
never renumbered), so the cache only grows. A miss falls back to the database; series that do not
exist yet are created in the same transaction. What a transaction learns joins the shared cache only
after that transaction commits, so a rolled-back batch never leaves ids of rows that do not exist.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Series

CHUNK = 900  # under every backend's bound-parameter limit


@dataclass
class _DatasetIds:
    """Known ids of one dataset."""

    assets: dict[str, int] = field(default_factory=dict)
    series: dict[tuple[int, int], int] = field(default_factory=dict)


_cache: weakref.WeakKeyDictionary[Engine, dict[int, _DatasetIds]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _entry(session: Session, ds: Dataset) -> _DatasetIds:
    """The shared cache entry of a dataset on the session's database."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _lock:
        return _cache.setdefault(engine, {}).setdefault(ds.id, _DatasetIds())


def _share(session: Session) -> None:
    """after_commit: what the transaction learnt joins the shared cache."""
    if session.in_nested_transaction():
        return  # a savepoint was released (after_commit fires for those too): the outer one is open
    learnt_all: dict[int, _DatasetIds] = session.info.pop("resolver_pending", {})
    engine = session.get_bind()
    if not learnt_all or not isinstance(engine, Engine):
        return
    with _lock:
        for dataset_id, learnt in learnt_all.items():
            entry = _cache.setdefault(engine, {}).setdefault(dataset_id, _DatasetIds())
            entry.assets.update(learnt.assets)
            entry.series.update(learnt.series)


def _drop(session: Session, *_args: Any) -> None:
    """after_rollback (a real one, not a savepoint's): forget what the transaction learnt."""
    session.info.pop("resolver_pending", None)


def _pending(session: Session, ds: Dataset) -> _DatasetIds:
    """Ids learnt by the session's transaction, shared once it commits."""
    if not session.info.get("resolver_hooked"):
        event.listen(session, "after_commit", _share)
        event.listen(session, "after_rollback", _drop)
        session.info["resolver_hooked"] = True
    store: dict[int, _DatasetIds] = session.info.setdefault("resolver_pending", {})
    return store.setdefault(ds.id, _DatasetIds())


def asset_ids(session: Session, ds: Dataset, keys: Iterable[object]) -> dict[str, int]:
    """External id → asset id for the assets of a dataset; unknown ids are simply absent."""
    entry = _entry(session, ds)
    missing = sorted({k for k in keys if isinstance(k, str) and k not in entry.assets})
    if not missing:
        return entry.assets
    learnt = _pending(session, ds)
    for i in range(0, len(missing), CHUNK):
        stmt = select(Asset.external_id, Asset.id).where(
            Asset.dataset_id == ds.id, Asset.external_id.in_(missing[i : i + CHUNK])
        )
        learnt.assets.update({str(k): int(v) for k, v in session.execute(stmt)})
    return {**entry.assets, **learnt.assets}


def _series_rows(session: Session, assets: list[int]) -> dict[tuple[int, int], int]:
    """Every series of these assets."""
    found: dict[tuple[int, int], int] = {}
    for i in range(0, len(assets), CHUNK):
        stmt = select(Series.asset_id, Series.metric_id, Series.id).where(
            Series.asset_id.in_(assets[i : i + CHUNK])
        )
        found.update({(a, m): s for a, m, s in session.execute(stmt)})
    return found


def series_ids(session: Session, ds: Dataset, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(asset id, metric id) → series id, creating the series that do not exist yet."""
    entry = _entry(session, ds)
    missing = [p for p in pairs if p not in entry.series]
    if not missing:
        return entry.series
    assets = sorted({a for a, _ in missing})
    found = _series_rows(session, assets)
    new = [{"asset_id": a, "metric_id": m} for a, m in sorted(missing) if (a, m) not in found]
    if new:
        session.execute(insert(Series), new)
        found = _series_rows(session, assets)
    _pending(session, ds).series.update(found)
    return {**entry.series, **found}


def forget(engine: Engine) -> None:
    """Drop every cached id of a database (after deleting assets, or in tests)."""
    with _lock:
        _cache.pop(engine, None)
