"""HTTP routes of the quarantine workflow and of the quality reports (owner or platform admin only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from territoria import paging
from territoria.access.policy import quarantine_token, require_batch, require_owner
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_dataset
from territoria.catalog.types import RowId
from territoria.dates import QueryInstant
from territoria.errors import Forbidden, NotFound
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.http.limits import Expensive
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.ingest.schemas import BatchResult
from territoria.quality import quarantine, reports
from territoria.timeseries.store import ConcurrentWrite
from territoria.validation.model import answered_error, error_message
from territoria.web.render import render

router = APIRouter(prefix="/api/v1", tags=["quality"])
WHAT = "the quarantine"


class QuarantinedRowOut(BaseModel):
    """A rejected row with its reasons and what became of it."""

    id: int
    batch_id: str
    row: int
    raw: str
    errors: list[dict[str, Any]]
    status: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_reason: str | None = None
    replay_batch_id: str | None = None


class QuarantineTotals(BaseModel):
    """Counts of the rows matching a filter: overall, per status, per error code and per field."""

    total: int
    by_status: dict[str, int]
    by_code: dict[str, int]
    by_field: dict[str, int]


class CorrectionIn(BaseModel):
    """A quarantined row to resubmit: corrected fields (`row`), corrected text (`raw`), or neither."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: RowId
    row: dict[str, Any] | None = None
    raw: Annotated[str | None, Field(max_length=100_000)] = None
    header: Annotated[list[str] | None, Field(max_length=500)] = None

    @model_validator(mode="after")
    def _one_correction(self) -> CorrectionIn:
        """Corrected fields or corrected text, not both."""
        if self.row is not None and self.raw is not None:
            raise ValueError("give the corrected 'row' or the corrected 'raw' text, not both")
        return self


class RowOutcomeOut(BaseModel):
    """What became of one resubmitted row (`open` when it failed again: see `errors`)."""

    id: int
    original_batch: str
    replay_batch: str
    row: int
    status: str
    errors: list[dict[str, Any]]


class ResubmitOut(BaseModel):
    """The new batches, one per original batch, and every row's outcome."""

    batches: list[BatchResult]
    rows: list[RowOutcomeOut]
    resubmitted: int
    still_open: int


class DiscardIn(BaseModel):
    """Rows to discard and why."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ids: Annotated[list[RowId], Field(min_length=1, max_length=quarantine.MAX_ITEMS)]
    reason: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]


class DiscardOut(BaseModel):
    """Which rows were discarded now, and which already were."""

    discarded: list[int]
    already_discarded: list[int]


def row_out(q: QuarantinedRow) -> QuarantinedRowOut:
    """The API view of a quarantined row."""
    return QuarantinedRowOut(
        id=q.id,
        batch_id=q.batch_id,
        row=q.row_number,
        raw=q.raw,
        errors=[answered_error(e) for e in q.errors],
        status=q.status,
        created_at=q.created_at,
        resolved_at=q.resolved_at,
        resolved_by=q.resolved_by,
        resolution_reason=q.resolution_reason,
        replay_batch_id=q.replay_batch_id,
    )


def owned(session: SessionDep, slug: str, principal: Principal, what: str = WHAT) -> Dataset:
    """The dataset, if the caller is its owner or the platform admin."""
    ds = get_dataset(session, slug)
    require_owner(principal, ds, what)
    return ds


Status = Literal["open", "resubmitted", "discarded", "all"]
BatchQ = Annotated[str | None, Query(max_length=36)]
CodeQ = Annotated[str | None, Query(max_length=64)]
FieldQ = Annotated[str | None, Query(max_length=200)]


StatusQ = Annotated[
    Status | None,
    Query(description="open, resubmitted or discarded rows; `all` (as no status given): every row"),
]


def _filter(batch: BatchQ = None, code: CodeQ = None, status: StatusQ = None, field: FieldQ = None) -> Any:
    """The quarantine filter of a request's query parameters (`status=all`: no status filter, as the
    quarantine page's "All")."""
    chosen = None if status == "all" else status
    return quarantine.QuarantineFilter(batch=batch, code=code, status=chosen, field=field)


FilterDep = Annotated[quarantine.QuarantineFilter, Depends(_filter)]


@router.get("/datasets/{slug}/quarantine", response_model=list[QuarantinedRowOut])
def list_quarantine(
    slug: str,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    _slot: Expensive,  # a deep offset and the count scan the dataset's quarantine
    f: FilterDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: Annotated[
        str | None, Query(max_length=paging.MAX_CURSOR, description="from the Link header (rel=next)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="older way to page: prefer 'cursor'")] = 0,
) -> list[QuarantinedRowOut]:
    """Rejected rows with their reasons, filtered, oldest first; the number of matches is in
    `X-Total-Count` and the `Link` header (rel="next") names the next page."""
    ds = owned(session, slug, principal)
    f = quarantine.scoped(f, principal)
    response.headers["X-Total-Count"] = str(quarantine.count_rows(session, ds, f))
    after = paging.decode(cursor, int)
    found = quarantine.list_rows(
        session, ds, f, limit=limit + 1, offset=0 if after else offset, after_id=after[0] if after else None
    )
    rows, more = paging.split(found, limit)
    if more:
        params = request.query_params.multi_items()
        url = paging.next_url(request.url.path, params, paging.encode(rows[-1].id), drop=("offset",))
        paging.link_next(response.headers, url)
    return [row_out(q) for q in rows]


@router.get("/datasets/{slug}/quarantine/totals", response_model=QuarantineTotals)
def quarantine_totals(
    slug: str,
    session: SessionDep,
    principal: PrincipalDep,
    f: FilterDep,
) -> QuarantineTotals:
    """Totals of the matching rows per status, per error code and per field."""
    ds = owned(session, slug, principal)
    return QuarantineTotals(**quarantine.totals(session, ds, quarantine.scoped(f, principal)))


@router.get("/datasets/{slug}/quarantine.csv", response_class=StreamingResponse)
def quarantine_csv(
    slug: str,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    _slot: Expensive,  # the whole quarantine, streamed
    f: FilterDep,
    bom: bool = False,
    delimiter: Literal[",", ";"] = ",",
) -> StreamingResponse:
    """The matching rows as CSV (`bom=true` for spreadsheets: BOM, formulas neutralised), streamed."""
    ds = owned(session, slug, principal)
    dataset_id = ds.id
    f = quarantine.scoped(f, principal)

    def body() -> Iterator[bytes]:
        """Its own read transaction: the request's one ends before the body is sent."""
        with ctx.session() as s:
            target = s.get(Dataset, dataset_id)
            if target is None:
                return
            for chunk in quarantine.csv_lines(s, target, f, bom=bom, delimiter=delimiter):
                yield chunk.encode("utf-8", "surrogateescape")

    name = f"quarantine-{slug}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/datasets/{slug}/quarantine/resubmit", response_model=ResubmitOut)
def resubmit_quarantine(
    slug: str,
    ctx: ContextDep,
    principal: PrincipalDep,
    items: Annotated[list[CorrectionIn], Body(min_length=1, max_length=quarantine.MAX_ITEMS)],
) -> ResubmitOut:
    """Send corrected rows again through the batch service: one new batch per original batch."""
    corrections = [quarantine.Correction(i.id, i.row, i.raw, i.header) for i in items]
    for attempt in range(3):
        try:
            with ctx.session(write=True) as session:
                ds = owned(session, slug, principal)
                result = quarantine.resubmit(
                    session,
                    ds,
                    corrections,
                    principal,
                    future_tolerance_s=ctx.settings.future_tolerance_s,
                    locator=ctx.locator(),
                )
            break
        except ConcurrentWrite:
            if attempt == 2:
                raise
    rows = [RowOutcomeOut(**vars(o)) for o in result.rows]
    done = sum(1 for r in rows if r.status == "resubmitted")
    return ResubmitOut(batches=result.batches, rows=rows, resubmitted=done, still_open=len(rows) - done)


@router.post("/datasets/{slug}/quarantine/discard", response_model=DiscardOut)
def discard_quarantine(slug: str, ctx: ContextDep, principal: PrincipalDep, body: DiscardIn) -> DiscardOut:
    """Discard rows for good, with a reason; who and when are kept with them."""
    with ctx.session(write=True) as session:
        ds = owned(session, slug, principal)
        return DiscardOut(**quarantine.discard(session, ds, body.ids, body.reason, principal))


def wants_html(request: Request, fmt: str | None, accept: str | None) -> bool:
    """`?format=html`, or a browser asking for HTML first."""
    if fmt is not None:
        return fmt == "html"
    return (accept or "").split(",")[0].strip().lower().startswith("text/html")


Format = Annotated[Literal["json", "html"] | None, Query(alias="format")]


@router.get("/batches/{batch_id}/report", response_model=None)
def batch_report(
    batch_id: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    fmt: Format = None,
    accept: Annotated[str | None, Header()] = None,
) -> dict[str, Any] | HTMLResponse:
    """What a batch brought, what was rejected and why, what looks suspicious (JSON or HTML)."""
    batch = session.get(Batch, batch_id)
    ds = session.get(Dataset, batch.dataset_id) if batch is not None else None
    if batch is None or ds is None:
        raise NotFound(f"batch '{batch_id}' does not exist")
    require_batch(principal, ds, batch_id, batch.token_id)
    report = reports.batch_report(session, batch, ds)
    if wants_html(request, fmt, accept):
        values = {"report": report, "nav": "", "error_text": error_message}
        return render(request, ctx, "batch_report.html", values)
    return report


@router.get("/datasets/{slug}/report", response_model=None)
def dataset_report(
    slug: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    start: QueryInstant | None = None,
    end: QueryInstant | None = None,
    fmt: Format = None,
    accept: Annotated[str | None, Header()] = None,
) -> dict[str, Any] | HTMLResponse:
    """A dataset over a period (30 days by default): batches, rows per day, rejections, findings."""
    ds = owned(session, slug, principal, "quality reports")
    if quarantine_token(principal) is not None:
        reason = (
            "an ingest-only token sees the reports of the batches it sent (GET /api/v1/batches/{id}/report), "
            f"not the report of the whole dataset '{slug}'"
        )
        principal.journal.add("access.denied", f"dataset:{slug}", capability="quarantine", reason=reason)
        raise Forbidden(reason)
    first, last = reports.period(start, end)
    report = reports.dataset_report(session, ds, first, last)
    if wants_html(request, fmt, accept):
        return render(request, ctx, "dataset_report.html", {"report": report, "nav": ""})
    return report
