"""The quality page: which operator sends what quality, trends over 30 days and the worst offenders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from territoria.access.policy import may_handle_quarantine, readable
from territoria.catalog.models import Dataset
from territoria.catalog.service import list_datasets
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.quality import scores
from territoria.quality.models import QualityScore
from territoria.web.render import page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
TREND_DAYS = 30
OFFENDERS = 5
SPARK_W, SPARK_H, SPARK_PAD = 120, 28, 3
# Bands shared by the colour and the words next to it (the colour is never the only cue).
BANDS = ((0.9, "good", "#1e7b34"), (0.7, "fair", "#a15c00"), (0.0, "poor", "#b3261e"))
NO_BAND = ("none", "#6b7280")


@dataclass(frozen=True)
class Spark:
    """A trend line of daily values in [0, 1], drawn as inline SVG (a missing day breaks the line)."""

    width: int
    height: int
    path: str
    dot: tuple[float, float] | None
    first: float | None
    last: float | None
    days: int


def band(value: float | None) -> tuple[str, str]:
    """The band name and colour of a score."""
    if value is None:
        return NO_BAND
    return next((name, colour) for low, name, colour in BANDS if value >= low)


def sparkline(days: Sequence[datetime], values: dict[datetime, float | None]) -> Spark:
    """Geometry of a sparkline over `days` (one x step per day), values in [0, 1]."""
    step = (SPARK_W - 2 * SPARK_PAD) / max(1, len(days) - 1)
    commands: list[str] = []
    dot: tuple[float, float] | None = None
    known: list[float] = []
    drawing = False
    for i, d in enumerate(days):
        value = values.get(d)
        if value is None:
            drawing = False
            continue
        x, y = SPARK_PAD + i * step, SPARK_PAD + (1.0 - value) * (SPARK_H - 2 * SPARK_PAD)
        commands.append(f"{'L' if drawing else 'M'}{x:.1f},{y:.1f}")
        drawing, dot = True, (round(x, 1), round(y, 1))
        known.append(value)
    return Spark(
        SPARK_W,
        SPARK_H,
        " ".join(commands),
        dot,
        known[0] if known else None,
        known[-1] if known else None,
        len(known),
    )


@dataclass
class DatasetLine:
    """One dataset's row of the table."""

    ds: Dataset
    latest: QualityScore | None
    spark: Spark
    received: int
    rejected: int
    quarantine: int


@dataclass
class OperatorBlock:
    """An operator's aggregate row and its datasets' rows."""

    slug: str
    name: str
    latest: scores.ScoreValues | None
    day: datetime | None
    spark: Spark
    lines: list[DatasetLine] = field(default_factory=list)


def _operator(
    group: list[DatasetLine], rows: dict[int, list[QualityScore]], days: list[datetime]
) -> OperatorBlock:
    """The aggregate block of one owner's datasets (latest common day, and the daily trend)."""
    owner = group[0].ds.owner
    per_day: dict[datetime, list[QualityScore]] = defaultdict(list)
    for line in group:
        for r in rows.get(line.ds.id, []):
            per_day[r.day].append(r)
    latest_rows = [line.latest for line in group if line.latest is not None]
    newest = max((r.day for r in latest_rows), default=None)
    current = scores.combine([r for r in latest_rows if r.day == newest]) if newest else None
    trend = {d: scores.combine(rs).overall for d, rs in per_day.items()}
    return OperatorBlock(owner.slug, owner.name, current, newest, sparkline(days, trend), group)


def overview(session: Session, datasets: list[Dataset], days: list[datetime]) -> list[OperatorBlock]:
    """Operators (by name) with their datasets, latest scores and 30-day trends."""
    ids = [ds.id for ds in datasets]
    rows: dict[int, list[QualityScore]] = defaultdict(list)
    for r in scores.history(session, ids, days[0], days[-1] + scores.DAY):
        rows[r.dataset_id].append(r)
    latest = scores.latest_scores(session, ids)
    quarantine = scores.open_quarantine(session, ids)
    by_owner: dict[int, list[DatasetLine]] = defaultdict(list)
    for ds in datasets:
        own = rows.get(ds.id, [])
        line = DatasetLine(
            ds,
            latest.get(ds.id),
            sparkline(days, {r.day: r.overall for r in own}),
            sum(r.received for r in own),
            sum(r.rejected for r in own),
            quarantine.get(ds.id, 0),
        )
        by_owner[ds.owner_id].append(line)
    blocks = [_operator(group, rows, days) for group in by_owner.values()]
    return sorted(blocks, key=lambda b: b.name.lower())


def offenders(blocks: list[OperatorBlock]) -> dict[str, list[DatasetLine]]:
    """The lowest overall scores, the most rejected rows (30 days) and the stalest sources."""
    lines = [line for b in blocks for line in b.lines]
    scored = [ln for ln in lines if ln.latest is not None and ln.latest.overall is not None]
    lowest = sorted(scored, key=lambda ln: (ln.latest.overall if ln.latest else 0.0, ln.ds.slug))
    rejecting = sorted((ln for ln in lines if ln.rejected), key=lambda ln: (-ln.rejected, ln.ds.slug))
    dated = [ln for ln in lines if ln.latest is not None and ln.latest.delay_s]
    stalest = sorted(dated, key=lambda ln: (-(ln.latest.delay_s or 0.0) if ln.latest else 0.0, ln.ds.slug))
    return {
        "lowest": lowest[:OFFENDERS],
        "rejections": rejecting[:OFFENDERS],
        "stalest": stalest[:OFFENDERS],
    }


def duration(seconds: float | None) -> tuple[str, int]:
    """A delay as (unit key, amount): minutes under 2 h, hours under 2 days, then days."""
    if seconds is None:
        return "none", 0
    if seconds < 7200:
        return "min", round(seconds / 60)
    if seconds < 172_800:
        return "h", round(seconds / 3600)
    return "d", round(seconds / 86_400)


@router.get("/quality", response_class=HTMLResponse)
def quality_page(
    request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """Quality at a glance: operators and datasets with their latest scores, trends and offenders."""
    datasets = readable(principal, list_datasets(session))
    scores.ensure_fresh(ctx, session, datasets)
    days = scores.last_days(TREND_DAYS)
    blocks = overview(session, datasets, days)
    values = {
        "blocks": blocks,
        "offenders": offenders(blocks),
        "handles": {ds.slug for ds in datasets if may_handle_quarantine(principal, ds)},
        "components": scores.COMPONENTS,
        "weights": scores.WEIGHTS,
        "band": band,
        "duration": duration,
        "trend_days": TREND_DAYS,
        "page_lang": page_lang(request),
        "nav": "quality",
    }
    return render(request, ctx, "quality.html", values)
