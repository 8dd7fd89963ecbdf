"""Seeded pseudo-random generators of the simulator (reproducible noise, never security)."""

from __future__ import annotations

import random

_MASK64 = 0xFFFF_FFFF_FFFF_FFFF


def seeded(key: int | str) -> random.Random:
    """A generator seeded with key: the same key always gives the same sequence."""
    return random.Random(key)  # noqa: S311 - simulation noise, reproducible by design


def mix(seed: int, salt: int, index: int) -> int:
    """One integer seed from the run seed, a purpose (salt) and an index (an epoch, an hour, a day)."""
    return (seed << 80) ^ (salt << 64) ^ (index & _MASK64)
