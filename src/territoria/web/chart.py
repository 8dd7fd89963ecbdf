"""A small line chart drawn as inline SVG on the server (no script, works without JavaScript)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from territoria.i18n import number, short_date

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28


def local_zone() -> tzinfo:
    """The territory's time zone for labels (UTC if the system has no time-zone database)."""
    try:
        return ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:  # pragma: no cover - minimal containers without tzdata
        return UTC


@dataclass(frozen=True)
class Tick:
    """An axis graduation: position in the SVG and its label."""

    pos: float
    label: str


@dataclass(frozen=True)
class LineChart:
    """Everything the template needs to draw the chart and describe it in words."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    path: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    start: str
    end: str
    low: float
    high: float
    last: float
    hours: int
    rows: list[tuple[str, str]]


def nice_step(span: float, target: int = 5) -> float:
    """A round graduation step (1, 2 or 5 × 10^k) giving about `target` intervals over `span`."""
    if span <= 0:
        return 1.0
    raw = span / target
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)


def _moment(value: datetime, lang: str) -> str:
    """A day and hour label, e.g. 24/11 14:00."""
    return f"{short_date(value, lang)} {value:%H:%M}"


def _y_scale(low: float, high: float) -> tuple[float, float, float]:
    """Axis bounds and step enclosing [low, high] on round values."""
    if high == low:
        low, high = low - 1, high + 1
    step = nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def line_chart(points: Sequence[tuple[datetime, float]], lang: str) -> LineChart | None:
    """Geometry of the chart of hourly points (a gap over one hour breaks the line); None without data."""
    if not points:
        return None
    zone = local_zone()
    start, end = points[0][0], points[-1][0]
    values = [v for _, v in points]
    y0, y1, step = _y_scale(min(values), max(values))
    span_s = max((end - start).total_seconds(), 3600.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(ts: datetime) -> float:
        return LEFT + (ts - start).total_seconds() / span_s * plot_w

    def y(value: float) -> float:
        return TOP + (y1 - value) / (y1 - y0) * plot_h

    commands: list[str] = []
    previous: datetime | None = None
    for ts, value in points:
        move = previous is None or ts - previous > timedelta(hours=1)
        commands.append(f"{'M' if move else 'L'}{x(ts):.1f},{y(value):.1f}")
        previous = ts
    decimals = 0 if step >= 1 else max(1, -math.floor(math.log10(step)))
    y_ticks = [
        Tick(y(y0 + i * step), number(y0 + i * step, lang, decimals))
        for i in range(round((y1 - y0) / step) + 1)
    ]
    x_ticks: list[Tick] = []
    day = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day.astimezone(UTC) <= end:
        x_ticks.append(Tick(x(day.astimezone(UTC)), short_date(day, lang)))
        day += timedelta(days=1)  # wall-clock arithmetic: stays on local midnight across DST changes
    rows = [(ts.astimezone(zone).strftime("%Y-%m-%d %H:%M"), number(v, lang, 2)) for ts, v in points]
    return LineChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        path=" ".join(commands),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        start=_moment(start.astimezone(zone), lang),
        end=_moment(end.astimezone(zone), lang),
        low=min(values),
        high=max(values),
        last=values[-1],
        hours=len(points),
        rows=rows,
    )
