"""HTTP routes of the audit trail: filtered listing, streamed export (CSV, NDJSON), chain verification."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from territoria import paging
from territoria.access import policy
from territoria.access.audit import (
    AuditEventPublic,
    EventFilter,
    event_record,
    iter_events,
    list_events,
    verify,
)
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.access.schemas import AuditVerifyPublic, verify_public
from territoria.catalog.service import get_organisation
from territoria.dates import QueryInstant
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.spreadsheet import safe_cell

router = APIRouter(prefix="/api/v1", tags=["access"])
CSV_COLUMNS = ("id", "at", "actor", "organisation_id", "action", "target", "details", "prev_hash", "hash")
WHAT = "read the audit trail"


def _utc(at: datetime | None) -> datetime | None:
    """A filter instant; one given without a time zone is taken as UTC."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def visible_organisation(session: Session, principal: Principal, organisation: str | None) -> int | None:
    """Whose events the caller may see: any organisation's for a platform admin, else its own only."""
    policy.require_org_capability(
        principal, principal.organisation_id, Capability.MEMBERS, WHAT, target="audit"
    )
    wanted = get_organisation(session, organisation).id if organisation else None
    if principal.platform_admin:
        return wanted
    if wanted is not None:  # another organisation's trail: refused (and noted) by the policy
        policy.require_org_capability(principal, wanted, Capability.MEMBERS, WHAT, target="audit")
    return principal.organisation_id


def audit_filter(
    session: SessionDep,
    principal: PrincipalDep,
    action: Annotated[
        str | None, Query(max_length=64, description="exact, or a prefix ending in '.'")
    ] = None,
    actor: Annotated[str | None, Query(max_length=200, description="prefix, e.g. 'user:ana@'")] = None,
    target: Annotated[str | None, Query(max_length=300, description="prefix, e.g. 'dataset:lights'")] = None,
    organisation: Annotated[str | None, Query(max_length=64, description="organisation slug")] = None,
    since: Annotated[QueryInstant | None, Query(description="from this instant (inclusive)")] = None,
    until: Annotated[QueryInstant | None, Query(description="up to this instant (exclusive)")] = None,
) -> EventFilter:
    """The filter of the query string, narrowed to what the caller may see."""
    return EventFilter(
        action=action or None,
        actor=actor or None,
        target=target or None,
        organisation_id=visible_organisation(session, principal, organisation),
        since=_utc(since),
        until=_utc(until),
    )


FilterDep = Annotated[EventFilter, Depends(audit_filter)]


@router.get("/audit", response_model=list[AuditEventPublic])
def audit_events(
    request: Request,
    response: Response,
    session: SessionDep,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=paging.MAX_CURSOR, description="from the Link header (rel=next)")
    ] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="older form of 'cursor': events older than this id")
    ] = None,
) -> list[AuditEventPublic]:
    """Newest events first; the `Link` header (rel="next") names the next (older) page."""
    after = paging.decode(cursor, int)
    rows = list_events(
        session,
        action=where.action,
        actor=where.actor,
        target=where.target,
        organisation_id=where.organisation_id,
        since=where.since,
        until=where.until,
        limit=limit + 1,
        before_id=after[0] if after else before_id,
    )
    events, more = paging.split(rows, limit)
    if more:
        params = request.query_params.multi_items()
        url = paging.next_url(request.url.path, params, paging.encode(events[-1].id), drop=("before_id",))
        paging.link_next(response.headers, url)
    return [AuditEventPublic.model_validate(e) for e in events]


def _cell(text: str, spreadsheet: bool) -> str:
    """A CSV cell; in spreadsheet mode a leading formula character is neutralised with a quote."""
    return safe_cell(text) if spreadsheet else text


def csv_chunks(events: Iterator[dict[str, object]], *, bom: bool) -> Iterator[str]:
    """Events as CSV text, a page of rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" if bom else "") + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for rows, event in enumerate(events, start=1):
        cells = [
            str(event["id"]),
            str(event["at"]),
            str(event["actor"]),
            "" if event["organisation_id"] is None else str(event["organisation_id"]),
            str(event["action"]),
            str(event["target"]),
            orjson.dumps(event["details"], option=orjson.OPT_SORT_KEYS).decode(),
            str(event["prev_hash"]),
            str(event["hash"]),
        ]
        writer.writerow([_cell(c, bom) for c in cells])
        if rows % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def ndjson_chunks(events: Iterator[dict[str, object]]) -> Iterator[str]:
    """Events as JSON lines, a page of lines per chunk."""
    lines: list[str] = []
    for event in events:
        lines.append(orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode())
        if len(lines) == 500:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


@router.get("/audit/export", response_class=StreamingResponse)
def audit_export(
    ctx: ContextDep,
    principal: PrincipalDep,
    where: FilterDep,
    format: Literal["csv", "ndjson"] = "csv",  # noqa: A002 - the query parameter's name
    bom: Annotated[bool, Query(description="CSV for spreadsheets: BOM, formulas neutralised")] = False,
) -> StreamingResponse:
    """Every matching event in chain order (oldest first), streamed without a row cap."""
    principal.journal.add("audit.export", "audit", format=format, organisation_id=where.organisation_id)

    def events() -> Iterator[dict[str, object]]:
        """Its own read transaction: the request's one ends before the body is sent."""
        with ctx.session() as session:
            for event in iter_events(session, where):
                yield event_record(event)

    def body() -> Iterator[bytes]:
        """The encoded chunks."""
        chunks = csv_chunks(events(), bom=bom) if format == "csv" else ndjson_chunks(events())
        for chunk in chunks:
            yield chunk.encode("utf-8")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    headers = {
        "Content-Disposition": f'attachment; filename="audit-{stamp}.{format}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(body(), media_type=media, headers=headers)


@router.get("/audit/verify", response_model=AuditVerifyPublic)
def audit_verify(session: SessionDep, principal: PrincipalDep) -> AuditVerifyPublic:
    """Walk the whole hash chain (platform admins): intact, or the first modified or missing event."""
    policy.require_platform_admin(principal, "verify the audit trail", target="audit")
    return verify_public(verify(session))
