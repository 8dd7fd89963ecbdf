"""HTTP routes of ingestion: measurement and record batches, batch reports, quarantine."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from territoria.access.policy import require_batch, require_ingest
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.catalog.service import get_dataset
from territoria.errors import NotFound
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep, read_body
from territoria.ingest import records
from territoria.ingest.batches import Origin, batch_result
from territoria.ingest.models import Batch
from territoria.ingest.parsers import format_of, parse_body
from territoria.ingest.schemas import BatchResult
from territoria.ingest.service import MEASUREMENT_COLUMNS, ingest_measurements
from territoria.timeseries.store import ConcurrentWrite

router = APIRouter(prefix="/api/v1", tags=["ingest"])

BODY_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        }
    }
}


def _origin(principal: Principal, content_type: str | None, idempotency_key: str | None) -> Origin:
    """Who sends an HTTP batch, in which format, under which idempotency key."""
    return Origin(
        source="http",
        organisation_id=principal.organisation_id,
        token_id=principal.token_id,
        content_type=content_type or "",
        idempotency_key=idempotency_key or None,
        from_text=format_of(content_type) == "csv",
    )


@router.post("/datasets/{slug}/measurements", response_model=BatchResult, openapi_extra=BODY_DOC)
def post_measurements(
    slug: str,
    response: Response,
    ctx: ContextDep,
    principal: PrincipalDep,
    body: Annotated[bytes, Depends(read_body)],
    content_type: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> BatchResult:
    """Ingest a batch of measurements (JSON array, NDJSON or CSV `asset,metric,ts,value`)."""
    origin = _origin(principal, content_type, idempotency_key)
    checksum = hashlib.sha256(body).hexdigest()
    for attempt in range(3):
        try:
            with ctx.session(write=True) as session:
                ds = get_dataset(session, slug)
                require_ingest(principal, ds)
                result = ingest_measurements(
                    session,
                    ds,
                    parse_body(body, content_type, MEASUREMENT_COLUMNS),
                    origin,
                    checksum=checksum,
                    future_tolerance_s=ctx.settings.future_tolerance_s,
                )
            break
        except ConcurrentWrite:
            if attempt == 2:
                raise
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.post("/datasets/{slug}/records", response_model=BatchResult, openapi_extra=BODY_DOC)
def post_records(
    slug: str,
    response: Response,
    ctx: ContextDep,
    principal: PrincipalDep,
    body: Annotated[bytes, Depends(read_body)],
    content_type: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> BatchResult:
    """Ingest rows of a records dataset, checked against its Table Schema."""
    origin = _origin(principal, content_type, idempotency_key)
    with ctx.session(write=True) as session:
        ds = get_dataset(session, slug)
        require_ingest(principal, ds)
        rows = parse_body(body, content_type, records.required_columns(ds))
        result = records.ingest_records(
            session, ds, rows, origin, checksum=hashlib.sha256(body).hexdigest(), locator=ctx.locator()
        )
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get("/batches/{batch_id}", response_model=BatchResult)
def get_batch(batch_id: str, session: SessionDep, principal: PrincipalDep) -> BatchResult:
    """A batch's counts and row errors."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"batch '{batch_id}' does not exist")
    ds = session.get(Dataset, batch.dataset_id)
    if ds is None:
        raise NotFound(f"batch '{batch_id}' does not exist")
    require_batch(principal, ds, batch_id, batch.token_id)
    return batch_result(session, batch, ds.slug)
