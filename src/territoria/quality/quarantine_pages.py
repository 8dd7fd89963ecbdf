"""HTML routes of the quarantine: the page of rejected rows and its discard and resubmit forms.

The forms post here (no script needed) and come back to the page with a message (post/redirect/get).
The page is for the dataset owner's producers, stewards and admins, logged in (the policy decides);
form posts carry the session's CSRF token, and cross-site posts are refused as well.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access.policy import quarantine_token, require_owner
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.context import Context
from territoria.dates import QueryInstant
from territoria.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.quality import corrections, quarantine, reports
from territoria.validation.model import error_message
from territoria.web.render import page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
PAGE_SIZE = 50
CELL_PREFIX = "cell:"
MAX_CELLS = 500
CODE = re.compile(r"[A-Z0-9_]{1,64}")


def _allowed(session: Session, principal: Principal, slug: str) -> Dataset | int:
    """The dataset when this visitor may handle its quarantine, else the HTTP status to answer.

    A feed's ingest-only token handles its rejections without reading the dataset; a visitor who may
    not even read the dataset gets 404, as if it did not exist.
    """
    ds = _dataset(session, slug)
    if ds is None:
        return 404
    try:
        require_owner(principal, ds, "the quarantine")
    except NotFound:  # the visitor may not see the dataset: as if it did not exist
        return 404
    except Unauthenticated:
        return 401
    except Forbidden:
        return 403
    return ds


def _dataset(session: Session, slug: str) -> Dataset | None:
    """The dataset of this slug, if any."""
    return session.scalar(select(Dataset).where(Dataset.slug == slug))


def _denied(
    request: Request,
    ctx: Context,
    slug: str,
    status: int,
    *,
    what: str = "quarantine",
    ds: Dataset | None = None,
) -> HTMLResponse:
    """The page saying what is refused (the quarantine or a quality report) and who may grant it."""
    if status == 404:
        return render(request, ctx, "not_found.html", {"slug": slug, "nav": ""}, status_code=404)
    if status == 403 and ds is not None:  # the visitor may see the dataset (else 404): no secret in it
        return denied_page(request, ctx, what, ds)
    values = {"slug": slug, "denied": status, "nav": ""}
    return render(request, ctx, "quarantine.html", values, status_code=status)


def denied_page(request: Request, ctx: Context, what: str, ds: Dataset) -> HTMLResponse:
    """403: what the visitor asked for and who can grant it (the owner organisation's administrators)."""
    lang = page_lang(request)
    values = {
        "what": i18n.t(f"denied.{what}", lang, title=ds.title_in(lang), owner=ds.owner.name),
        "who": i18n.t("denied.who_owner", lang, owner=ds.owner.name),
        "back": f"/datasets/{quote(ds.slug)}",
        "nav": "",
    }
    return render(request, ctx, "denied.html", values, status_code=403)


def _same_origin(request: Request) -> bool:
    """A form post from one of our own pages (browsers send Origin on POST)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return request.headers.get("sec-fetch-site") in (None, "same-origin", "none")
    return urlsplit(origin).netloc == request.url.netloc


@router.get("/datasets/{slug}/quarantine", response_class=HTMLResponse)
def quarantine_page(
    slug: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    batch: Annotated[str | None, Query(max_length=36)] = None,
    code: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["open", "resubmitted", "discarded", "all"] = "open",
    field: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    n: Annotated[int | None, Query(ge=0)] = None,
    error: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    codes: Annotated[str | None, Query(max_length=300, pattern=r"^[A-Z0-9_, ]+$")] = None,
) -> HTMLResponse:
    """Rejected rows of a dataset with their reasons, filters, the CSV link and the forms."""
    ds = _allowed(session, principal, slug)
    if isinstance(ds, int):
        return _denied(request, ctx, slug, ds, ds=_dataset(session, slug))
    f = quarantine.QuarantineFilter(
        batch=batch or None,
        code=code or None,
        status=None if status == "all" else status,
        field=field or None,
        token=quarantine_token(principal),
    )
    total = quarantine.count_rows(session, ds, f)
    rows = quarantine.list_rows(session, ds, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    query = {k: v for k, v in {"batch": batch, "code": code, "status": status, "field": field}.items() if v}
    api_query = {k: v for k, v in query.items() if k != "status" or v != "all"}
    values: dict[str, Any] = {
        "ds": ds,
        "rows": rows,
        "total": total,
        "totals": quarantine.totals(session, ds, quarantine.QuarantineFilter(batch=f.batch, token=f.token)),
        "filters": {"batch": batch or "", "code": code or "", "status": status, "field": field or ""},
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "query": urlencode(query),
        "csv_url": f"/api/v1/datasets/{ds.slug}/quarantine.csv?" + urlencode({**api_query, "bom": "true"}),
        "done": done,
        "done_n": n,
        "error": error,
        "codes": codes,
        "nav": "",
        "error_text": error_message,
        "cells_of": lambda q: _cells_shown(q, ds),
    }
    return render(request, ctx, "quarantine.html", values)


def _cells_shown(q: QuarantinedRow, ds: Dataset) -> list[tuple[str, str]] | None:
    """A rejected row's values per column as the list shows them (None: shown as received)."""
    cells, readable = corrections.stored_cells(q, ds)
    return [(str(k), corrections.form_value(v)) for k, v in cells.items()] if readable and cells else None


def _back(slug: str, **params: Any) -> RedirectResponse:
    """Back to the quarantine page with a message."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"/datasets/{slug}/quarantine?{query}", status_code=303)


def _act(request: Request, ctx: Context, principal: Principal, slug: str) -> Dataset | Response:
    """Checks common to the forms: same origin, allowed visitor; the dataset in a new write session."""
    if not _same_origin(request):
        return _denied(request, ctx, slug, 403)
    with ctx.session() as session:
        ds = _allowed(session, principal, slug)
        return _denied(request, ctx, slug, ds) if isinstance(ds, int) else ds


def _reloaded(session: Session, ds: Dataset, slug: str) -> Dataset:
    """The dataset again, in the write session."""
    found = session.get(Dataset, ds.id)
    if found is None:
        raise NotFound(slug)
    return found


def _error_key(exc: DomainError) -> str:
    """The page's message key for a refused action (never the raw text: links must not inject text)."""
    if isinstance(exc, Conflict):
        return "conflict"
    return "not_found" if isinstance(exc, NotFound) else "invalid"


@router.post("/datasets/{slug}/quarantine/discard", response_model=None)
def discard_form(
    slug: str,
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    ids: Annotated[list[int] | None, Form()] = None,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Discard the ticked rows with the reason given."""
    allowed = _act(request, ctx, principal, slug)
    if isinstance(allowed, Response):
        return allowed
    if not ids:
        return _back(slug, error="none_selected")
    if not reason.strip():
        return _back(slug, error="reason_required")
    try:
        with ctx.session(write=True) as session:
            ds = _reloaded(session, allowed, slug)
            out = quarantine.discard(session, ds, ids, reason, principal)
    except (Conflict, Invalid, NotFound) as exc:
        return _back(slug, error=_error_key(exc))
    return _back(slug, done="discarded", n=len(out["discarded"]))


@router.post("/datasets/{slug}/quarantine/resubmit", response_model=None)
def resubmit_form(
    slug: str,
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    id: Annotated[int, Form()],  # noqa: A002 - the form field's name
    raw: Annotated[str, Form(max_length=100_000)],
) -> Response:
    """Resubmit one row with its corrected text."""
    allowed = _act(request, ctx, principal, slug)
    if isinstance(allowed, Response):
        return allowed
    try:
        with ctx.session(write=True) as session:
            ds = _reloaded(session, allowed, slug)
            result = quarantine.resubmit(
                session,
                ds,
                [quarantine.Correction(id, raw=raw)],
                principal,
                future_tolerance_s=ctx.settings.future_tolerance_s,
                locator=ctx.locator(),
            )
    except (Conflict, Invalid, NotFound) as exc:
        return _back(slug, error=_error_key(exc))
    return _outcome(slug, id, result)


def _outcome(slug: str, row_id: int, result: quarantine.ResubmitResult) -> RedirectResponse:
    """Back to the list when the row left quarantine, else to its form with the new reasons."""
    outcome = result.rows[0]
    if outcome.status == "resubmitted":
        return _back(slug, done="resubmitted", n=1)
    query = urlencode({"attempt": outcome.replay_batch})
    return RedirectResponse(f"/datasets/{slug}/quarantine/rows/{row_id}?{query}", status_code=303)


RowIdP = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _attempt(session: Session, q: QuarantinedRow, batch_id: str | None) -> QuarantinedRow | None:
    """The failed attempt at correcting `q` carried by the batch `batch_id` (its latest replay)."""
    if not batch_id or batch_id != q.replay_batch_id:
        return None
    return session.scalar(
        select(QuarantinedRow)
        .where(QuarantinedRow.batch_id == batch_id, QuarantinedRow.dataset_id == q.dataset_id)
        .where(QuarantinedRow.resolution_reason.contains(f" {q.id},"))
        .order_by(QuarantinedRow.id)
        .limit(1)
    )


@router.get("/datasets/{slug}/quarantine/rows/{row_id}", response_class=HTMLResponse)
def correction_page(
    slug: str,
    row_id: RowIdP,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    attempt: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    """One quarantined row as a form: a field per column with its hint, the failing ones marked with
    their reason; after a failed resubmission, the values sent and the reasons they were refused."""
    ds = _allowed(session, principal, slug)
    if isinstance(ds, int):
        return _denied(request, ctx, slug, ds)
    q = quarantine.get_row(session, ds, row_id, quarantine_token(principal))
    if q is None:
        return render(request, ctx, "not_found.html", {"slug": slug, "nav": ""}, status_code=404)
    lang = page_lang(request)
    failed = _attempt(session, q, attempt)
    shown = failed or q
    values, readable = corrections.stored_cells(shown, ds)
    original = session.get(Batch, q.batch_id)
    fields = corrections.form_fields(ds, q, lang, errors=list(shown.errors), values=values)
    values_out: dict[str, Any] = {
        "ds": ds,
        "q": q,
        "failed": failed,
        "readable": readable,
        "raw": shown.raw,
        "from_csv": original is not None and quarantine.is_csv(original.content_type),
        "fields": fields,
        "labels": {f.name: f.label for f in fields},
        "general": corrections.general_reasons(ds, list(shown.errors), lang),
        "error_text": error_message,
        "nav": "",
    }
    return render(request, ctx, "quarantine_row.html", values_out)


async def _cells(request: Request) -> dict[str, str]:
    """The form's column fields (`cell:<column>`), as text."""
    form = await request.form(max_fields=MAX_CELLS + 10)
    return {
        k[len(CELL_PREFIX) :]: v
        for k, v in form.multi_items()
        if k.startswith(CELL_PREFIX) and isinstance(v, str)
    }


@router.post("/datasets/{slug}/quarantine/rows/{row_id}", response_model=None)
def correction_form(
    slug: str,
    row_id: RowIdP,
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    cells: Annotated[dict[str, str], Depends(_cells)],
) -> Response:
    """Resubmit one row from its form: typed like the batch that carried it (CSV: text cells)."""
    allowed = _act(request, ctx, principal, slug)
    if isinstance(allowed, Response):
        return allowed
    try:
        with ctx.session(write=True) as session:
            ds = _reloaded(session, allowed, slug)
            q = quarantine.get_row(session, ds, row_id, quarantine_token(principal))
            if q is None:
                raise NotFound(f"no quarantined row {row_id}")
            original = session.get(Batch, q.batch_id)
            from_text = original is not None and quarantine.is_csv(original.content_type)
            row = corrections.typed_row(ds, cells, from_text=from_text)
            result = quarantine.resubmit(
                session,
                ds,
                [quarantine.Correction(row_id, row=row)],
                principal,
                future_tolerance_s=ctx.settings.future_tolerance_s,
                locator=ctx.locator(),
            )
    except (Conflict, Invalid, NotFound) as exc:
        return _back(slug, error=_error_key(exc))
    return _outcome(slug, row_id, result)


@router.get("/datasets/{slug}/report", response_class=HTMLResponse)
def dataset_report_page(
    slug: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    start: QueryInstant | None = None,
    end: QueryInstant | None = None,
) -> HTMLResponse:
    """The quality report of a dataset over a period (same rule as the quarantine page)."""
    ds = _allowed(session, principal, slug)
    if isinstance(ds, int):
        return _denied(request, ctx, slug, ds, what="report", ds=_dataset(session, slug))
    first, last = reports.period(start, end)
    report = reports.dataset_report(session, ds, first, last)
    return render(request, ctx, "dataset_report.html", {"report": report, "nav": ""})


@router.get("/batches/{batch_id}/report", response_class=HTMLResponse)
def batch_report_page(
    batch_id: str, request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """The quality report of a batch (same rule as the quarantine page of its dataset)."""
    batch = session.get(Batch, batch_id)
    owner = session.get(Dataset, batch.dataset_id) if batch is not None else None
    ds = _allowed(session, principal, owner.slug) if owner is not None else 404
    if batch is not None and quarantine_token(principal) not in (None, batch.token_id):
        ds = 404  # a batch another token sent: an ingest-only token sees its own only
    if batch is None or isinstance(ds, int):
        return _denied(request, ctx, batch_id, ds if isinstance(ds, int) else 404, what="batch", ds=owner)
    report = reports.batch_report(session, batch, ds)
    return render(
        request, ctx, "batch_report.html", {"report": report, "nav": "", "error_text": error_message}
    )
