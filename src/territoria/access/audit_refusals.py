"""Refusals of anonymous callers, counted in memory and summarised instead of one audit row each.

A refused anonymous request used to write one audit row: ten clients wrote 136 rows a second,
each in a write transaction. Now, per interval, the first refusal of each (action, route, client
address) is written in full and the following ones are only counted; the counts are written as
one `access.denied.anonymous` event when the interval is over (at the next request, or when the
server stops). Refusals of authenticated callers are still written one by one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SUMMARY_ACTION = "access.denied.anonymous"
SUMMARY_TARGET = "requests"
# Anonymous journal entries that are counted rather than written one by one.
COUNTED_ACTIONS = frozenset({"access.denied", "auth.invalid_credential"})
MAX_KEYS = 500  # distinct (action, route, address) per interval; beyond, only a total is kept
MAX_REASONS = 10  # distinct reasons kept per key


@dataclass
class _Tally:
    """Refusals of one (action, route, address) in the current interval."""

    count: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


def _stamp(epoch: float) -> str:
    """ISO instant of a wall-clock time."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class RefusalCounter:
    """The refusals of anonymous callers of one process and database, interval by interval."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._started: float | None = None
        self._tallies: dict[tuple[str, str, str], _Tally] = {}
        self._overflow = 0

    def absorb(
        self, events: list[dict[str, Any]], *, method: str, route: str, address: str
    ) -> list[dict[str, Any]]:
        """Count the anonymous refusals among `events`; return those still to be written one by one."""
        kept: list[dict[str, Any]] = []
        with self._lock:
            for event in events:
                if event["action"] not in COUNTED_ACTIONS:
                    kept.append(event)
                    continue
                if self._started is None:
                    self._started = time.time()
                key = (str(event["action"]), route, address)
                tally = self._tallies.get(key)
                if tally is None:
                    if len(self._tallies) >= MAX_KEYS:
                        self._overflow += 1
                        continue
                    tally = self._tallies[key] = _Tally()
                    kept.append(event)  # the first of its kind in the interval: written in full
                tally.count += 1
                tally.methods[method] += 1
                reason = str(event["details"].get("reason", ""))[:200]
                if reason in tally.reasons or len(tally.reasons) < MAX_REASONS:
                    tally.reasons[reason] += 1
        return kept

    def take_summary(self, *, force: bool = False) -> dict[str, Any] | None:
        """The details of the summary event once the interval is over (or now with `force`), else None.

        A summary is only due when some refusal was counted without being written.
        """
        with self._lock:
            now = time.time()
            if self._started is None or (not force and now - self._started < self.interval_s):
                return None
            counts = [
                {
                    "action": action,
                    "route": route,
                    "address": address,
                    "count": tally.count,
                    "methods": dict(tally.methods),
                    "reasons": dict(tally.reasons),
                }
                for (action, route, address), tally in sorted(self._tallies.items())
                if tally.count > 1
            ]
            summary: dict[str, Any] = {
                "since": _stamp(self._started),
                "until": _stamp(now),
                "total": sum(t.count for t in self._tallies.values()) + self._overflow,
                "written_in_full": len(self._tallies),
                "counts": counts,
                "other_keys_count": self._overflow,
            }
            self._started, self._tallies, self._overflow = None, {}, 0
        return summary if counts or summary["other_keys_count"] else None


_COUNTERS: weakref.WeakKeyDictionary[object, RefusalCounter] = weakref.WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def counter_for(owner: object, interval_s: float) -> RefusalCounter:
    """The counter of one context (one database): created on first use, gone with the context."""
    with _COUNTERS_LOCK:
        counter = _COUNTERS.get(owner)
        if counter is None:
            counter = _COUNTERS[owner] = RefusalCounter(interval_s)
        return counter
