"""Quality reports of a batch and of a dataset: what came in, what was rejected and why, what looks odd."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset, Organisation
from territoria.dates import check_instant
from territoria.db.dialect import dialect_name
from territoria.errors import Invalid
from territoria.ingest.models import Batch, FindingRow, QuarantinedRow
from territoria.quality.quarantine import QuarantineFilter, rows_per_member, totals
from territoria.validation.model import answered_error

EXAMPLES = 5
MAX_BATCHES = 100
DEFAULT_DAYS = 30
MAX_DAYS = 366


def _iso(value: datetime | None) -> str | None:
    """A timestamp as ISO-8601 text."""
    return value.isoformat() if value is not None else None


def _organisation(session: Session, org_id: int | None) -> dict[str, Any] | None:
    """The sending organisation, by slug and name."""
    org = session.get(Organisation, org_id) if org_id is not None else None
    return None if org is None else {"slug": org.slug, "name": org.name}


def _examples(session: Session, batch_id: str) -> list[dict[str, Any]]:
    """The first rejected rows of a batch, as received, with their reasons."""
    stmt = (
        select(QuarantinedRow)
        .where(QuarantinedRow.batch_id == batch_id)
        .order_by(QuarantinedRow.row_number)
        .limit(EXAMPLES)
    )
    return [
        {
            "id": q.id,
            "row": q.row_number,
            "raw": q.raw,
            "errors": [answered_error(e) for e in q.errors],
            "status": q.status,
        }
        for q in session.scalars(stmt)
    ]


def _findings(session: Session, *conds: ColumnElement[bool]) -> dict[str, Any]:
    """Findings per code and severity, and the first few of them."""
    per_code = session.execute(
        select(FindingRow.code, FindingRow.severity, func.count())
        .where(*conds)
        .group_by(FindingRow.code, FindingRow.severity)
        .order_by(func.count().desc(), FindingRow.code)
    ).all()
    first = session.scalars(select(FindingRow).where(*conds).order_by(FindingRow.id).limit(EXAMPLES))
    return {
        "total": sum(int(n) for _, _, n in per_code),
        "by_code": [{"code": c, "severity": s, "count": int(n)} for c, s, n in per_code],
        "examples": [
            {
                "code": f.code,
                "severity": f.severity,
                "row": f.row_number,
                "field": f.field,
                "message_en": f.message_en,
                "message_fr": f.message_fr,
                "message_code": f.message_code,
                "message_params": f.message_params,
                "start": _iso(f.start_ts),
                "end": _iso(f.end_ts),
            }
            for f in first
        ],
    }


def batch_report(session: Session, batch: Batch, ds: Dataset) -> dict[str, Any]:
    """What one batch brought, what was rejected and why, and what looks suspicious in it."""
    replays = session.scalars(
        select(Batch.id).where(Batch.replay_of == batch.id).order_by(Batch.created_at)
    ).all()
    rejected = totals(session, ds, QuarantineFilter(batch=batch.id))
    return {
        "batch_id": batch.id,
        "dataset": ds.slug,
        "dataset_title": ds.title,
        "received": {
            "rows": batch.received,
            "accepted": batch.accepted,
            "rejected": batch.rejected,
            "duplicates": batch.duplicates,
            "source": batch.source,
            "target": batch.target,
            "content_type": batch.content_type,
            "organisation": _organisation(session, batch.organisation_id),
            "token_id": batch.token_id,
            "created_at": _iso(batch.created_at),
            "checksum": batch.checksum,
            "idempotency_key": batch.idempotency_key,
            "schema_version": batch.schema_version,
            "replay_of": batch.replay_of,
            "replays": list(replays),
        },
        "rejected": {
            "rows": batch.rejected,
            "by_code": rejected["by_code"],
            "by_field": rejected["by_field"],
            "by_status": rejected["by_status"],
            "examples": _examples(session, batch.id),
        },
        "suspicious": _findings(session, FindingRow.batch_id == batch.id),
    }


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The report period, bounded: the last 30 days by default, at most a year (naive times are UTC)."""
    end = check_instant(end, "end") if end else datetime.now(UTC)
    start = check_instant(start, "start") if start else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise Invalid("the report period must start before it ends")
    if end - start > timedelta(days=MAX_DAYS):
        raise Invalid(f"the report period is at most {MAX_DAYS} days")
    return start, end


def _day(session: Session) -> ColumnElement[Any]:
    """The UTC day of a batch as YYYY-MM-DD text (per dialect)."""
    if dialect_name(session) == "postgresql":
        return func.to_char(func.timezone("UTC", Batch.created_at), "YYYY-MM-DD")
    return func.substr(Batch.created_at, 1, 10)


def _per_day(session: Session, conds: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    """Batches and rows received, accepted and rejected per day."""
    day = _day(session)
    stmt = (
        select(
            day,
            func.count(),
            func.coalesce(func.sum(Batch.received), 0),
            func.coalesce(func.sum(Batch.accepted), 0),
            func.coalesce(func.sum(Batch.rejected), 0),
        )
        .where(*conds)
        .group_by(day)
        .order_by(day)
    )
    return [
        {"day": str(d), "batches": int(b), "received": int(r), "accepted": int(a), "rejected": int(x)}
        for d, b, r, a, x in session.execute(stmt)
    ]


def _top_codes(session: Session, ds: Dataset, conds: list[ColumnElement[bool]]) -> dict[str, int]:
    """Rejected rows per error code over the batches of the period."""
    in_period = select(Batch.id).where(*conds)
    where = [QuarantinedRow.dataset_id == ds.id, QuarantinedRow.batch_id.in_(in_period)]
    return rows_per_member(session, where, "code")


def dataset_report(session: Session, ds: Dataset, start: datetime, end: datetime) -> dict[str, Any]:
    """A dataset over a period: batches, rows per day, top rejection codes, open quarantine, findings."""
    conds = [Batch.dataset_id == ds.id, Batch.created_at >= start, Batch.created_at < end]
    days = _per_day(session, conds)
    recent = session.scalars(
        select(Batch).where(*conds).order_by(Batch.created_at.desc()).limit(MAX_BATCHES)
    ).all()
    quarantine = totals(session, ds, QuarantineFilter(status="open"))
    findings = _findings(
        session, FindingRow.dataset_id == ds.id, FindingRow.created_at >= start, FindingRow.created_at < end
    )
    return {
        "dataset": ds.slug,
        "dataset_title": ds.title,
        "start": _iso(start),
        "end": _iso(end),
        "totals": {key: sum(d[key] for d in days) for key in ("batches", "received", "accepted", "rejected")},
        "per_day": days,
        "batches": [
            {
                "batch_id": b.id,
                "created_at": _iso(b.created_at),
                "source": b.source,
                "received": b.received,
                "accepted": b.accepted,
                "rejected": b.rejected,
                "replay_of": b.replay_of,
            }
            for b in recent
        ],
        "batches_truncated": sum(d["batches"] for d in days) > len(recent),
        "top_rejection_codes": _top_codes(session, ds, conds),
        "open_quarantine": {
            "rows": quarantine["total"],
            "by_code": quarantine["by_code"],
        },
        "findings": findings,
    }
