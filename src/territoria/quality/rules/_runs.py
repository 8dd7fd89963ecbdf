"""Grouping of flagged positions into runs of consecutive ones, shared by the series rules."""

from __future__ import annotations

from collections.abc import Iterable


def consecutive_runs(positions: Iterable[int]) -> list[list[int]]:
    """Sorted positions cut wherever one does not follow the previous: [1, 2, 5] → [[1, 2], [5]]."""
    runs: list[list[int]] = []
    for i in positions:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs
