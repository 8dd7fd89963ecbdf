"""Observers of stored records: domain modules keep derived history in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.ingest.models import Batch

# (session, dataset, batch, stored rows by record key) -> None; called once per batch, after the upsert
RecordsObserver = Callable[[Session, Dataset, Batch, Mapping[str, dict[str, Any]]], None]
_OBSERVERS: list[RecordsObserver] = []


def observe_records(observer: RecordsObserver) -> RecordsObserver:
    """Register an observer of every records batch (a decorator; registering twice has no effect)."""
    if observer not in _OBSERVERS:
        _OBSERVERS.append(observer)
    return observer


def notify_records(session: Session, ds: Dataset, batch: Batch, rows: Mapping[str, dict[str, Any]]) -> None:
    """Tell every observer what a batch stored; an observer's error aborts the whole batch."""
    for observer in _OBSERVERS:
        observer(session, ds, batch, rows)
