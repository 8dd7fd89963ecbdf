"""Sparklines drawn as inline SVG on the server: a few dozen cards cost no script and no request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 120, 32, 3


@dataclass(frozen=True)
class Spark:
    """A small trend line (a missing value breaks it), with its range for the text alternative."""

    width: int
    height: int
    path: str
    dot: tuple[float, float] | None
    low: float | None
    high: float | None
    known: int


def sparkline(values: Sequence[float | None], width: int = WIDTH, height: int = HEIGHT) -> Spark:
    """Geometry of a sparkline over `values` (one x step each), scaled to their own min..max."""
    known = [v for v in values if v is not None]
    if not known:
        return Spark(width, height, "", None, None, None, 0)
    low, high = min(known), max(known)
    # A flat series sits in the middle rather than on an edge.
    span = high - low
    step = (width - 2 * PAD) / max(1, len(values) - 1)
    commands: list[str] = []
    dot: tuple[float, float] | None = None
    drawing = False
    for i, value in enumerate(values):
        if value is None:
            drawing = False
            continue
        ratio = (value - low) / span if span else 0.5
        x, y = PAD + i * step, PAD + (1.0 - ratio) * (height - 2 * PAD)
        commands.append(f"{'L' if drawing else 'M'}{x:.1f},{y:.1f}")
        drawing, dot = True, (round(x, 1), round(y, 1))
    if len(known) == 1 and dot is not None:
        # A lone point draws no line: the dot alone shows it.
        commands = []
    return Spark(width, height, " ".join(commands), dot, low, high, len(known))
