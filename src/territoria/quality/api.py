"""HTTP routes of the quality scores: one dataset's history, and the overview of readable datasets."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from territoria.access.policy import can_read, require_read
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_dataset, list_datasets
from territoria.dates import QueryDay, check_day
from territoria.db.base import utcnow
from territoria.errors import Invalid
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.quality import scores
from territoria.quality.models import QualityScore

router = APIRouter(prefix="/api/v1", tags=["quality"])
DEFAULT_DAYS = 30


class ScorePublic(BaseModel):
    """The quality figures of one day (of a dataset, or aggregated over an operator's datasets)."""

    model_config = ConfigDict(strict=True)

    day: date
    expected: int
    received: int
    accepted: int
    rejected: int
    warnings: int
    delay_s: float | None
    completeness: float | None
    validity: float | None
    freshness: float | None
    consistency: float | None
    overall: float | None
    computed_at: datetime | None = None


class FindingCount(BaseModel):
    """Findings of one code: how many touch the period, how many are still open."""

    code: str
    severity: str
    count: int
    open: int


class DatasetQuality(BaseModel):
    """Quality of one dataset: latest day, daily history and each component's trend."""

    dataset: str
    title: str
    organisation: str
    start: date
    end: date
    weights: dict[str, float]
    latest: ScorePublic | None
    history: list[ScorePublic]
    components: dict[str, list[float | None]]
    quarantine_open: int
    findings: list[FindingCount]


class DatasetLatest(BaseModel):
    """A dataset's latest scores in the overview."""

    dataset: str
    title: str
    organisation: str
    latest: ScorePublic | None
    quarantine_open: int


class OperatorLatest(BaseModel):
    """An operator's aggregate over the datasets it owns that the caller may read."""

    organisation: str
    name: str
    datasets: list[str]
    latest: ScorePublic | None


class QualityOverview(BaseModel):
    """Latest scores of every readable dataset and per operator."""

    weights: dict[str, float]
    datasets: list[DatasetLatest]
    operators: list[OperatorLatest]


def score_public(
    row: QualityScore | scores.ScoreValues, day: datetime, at: datetime | None = None
) -> ScorePublic:
    """API view of a stored row or an aggregate."""
    return ScorePublic(
        day=day.date(),
        expected=row.expected,
        received=row.received,
        accepted=row.accepted,
        rejected=row.rejected,
        warnings=row.warnings,
        delay_s=row.delay_s,
        completeness=row.completeness,
        validity=row.validity,
        freshness=row.freshness,
        consistency=row.consistency,
        overall=row.overall,
        computed_at=row.computed_at if isinstance(row, QualityScore) else at,
    )


def operator_latest(session: Session, datasets: list[Dataset]) -> list[OperatorLatest]:
    """Per owner organisation, the aggregate of its datasets' rows of the most recent day."""
    latest = scores.latest_scores(session, [ds.id for ds in datasets])
    owned: dict[int, list[Dataset]] = defaultdict(list)
    for ds in datasets:
        owned[ds.owner_id].append(ds)
    out = []
    for group in owned.values():
        rows = [latest[ds.id] for ds in group if ds.id in latest]
        newest = max((r.day for r in rows), default=None)
        current = [r for r in rows if r.day == newest]
        agg = score_public(scores.combine(current), newest) if newest is not None else None
        owner = group[0].owner
        out.append(
            OperatorLatest(
                organisation=owner.slug, name=owner.name, datasets=[d.slug for d in group], latest=agg
            )
        )
    return sorted(out, key=lambda o: o.name.lower())


def _window(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """[start, end) as UTC midnights from inclusive dates (default: the last 30 days)."""
    last = scores.day_start(check_day(end, "end") if end else utcnow())
    first = scores.day_start(check_day(start, "start")) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise Invalid("start must not be after end")
    if (last - first).days >= scores.MAX_DAYS:
        raise Invalid(f"ask for at most {scores.MAX_DAYS} days at a time")
    return first, last + scores.DAY


@router.get("/datasets/{slug}/quality", response_model=DatasetQuality)
def dataset_quality(
    slug: str,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    start: Annotated[QueryDay | None, Query(description="first UTC day (inclusive)")] = None,
    end: Annotated[QueryDay | None, Query(description="last UTC day (inclusive), default today")] = None,
) -> DatasetQuality:
    """Daily quality scores of a dataset: latest, history, per component, open quarantine, findings."""
    ds = get_dataset(session, slug)
    require_read(principal, ds)
    first, stop = _window(start, end)
    scores.ensure_fresh(ctx, session, [ds])
    rows = scores.history(session, [ds.id], first, stop)
    latest = scores.latest_scores(session, [ds.id]).get(ds.id)
    history = [score_public(r, r.day) for r in rows]
    components: dict[str, list[float | None]] = {c: [] for c in (*scores.COMPONENTS, "overall")}
    for r in rows:
        for c, values in components.items():
            values.append(getattr(r, c))
    found: list[dict[str, Any]] = scores.findings_by_code(session, ds.id, first, stop)
    return DatasetQuality(
        dataset=ds.slug,
        title=ds.title,
        organisation=ds.owner.slug,
        start=first.date(),
        end=(stop - scores.DAY).date(),
        weights=scores.WEIGHTS,
        latest=score_public(latest, latest.day) if latest else None,
        history=history,
        components=components,
        quarantine_open=scores.open_quarantine(session, [ds.id]).get(ds.id, 0),
        findings=[FindingCount(**f) for f in found],
    )


@router.get("/quality", response_model=QualityOverview)
def quality_overview(ctx: ContextDep, session: SessionDep, principal: PrincipalDep) -> QualityOverview:
    """Latest scores of the datasets the caller may read, and per operator over those datasets."""
    datasets = [ds for ds in list_datasets(session) if can_read(principal, ds)]
    scores.ensure_fresh(ctx, session, datasets)
    ids = [ds.id for ds in datasets]
    latest = scores.latest_scores(session, ids)
    quarantine = scores.open_quarantine(session, ids)
    items = [
        DatasetLatest(
            dataset=ds.slug,
            title=ds.title,
            organisation=ds.owner.slug,
            latest=score_public(latest[ds.id], latest[ds.id].day) if ds.id in latest else None,
            quarantine_open=quarantine.get(ds.id, 0),
        )
        for ds in datasets
    ]
    return QualityOverview(
        weights=scores.WEIGHTS, datasets=items, operators=operator_latest(session, datasets)
    )
