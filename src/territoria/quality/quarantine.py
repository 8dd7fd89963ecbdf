"""The quarantine workflow: list and filter rejected rows, export them, resubmit or discard them.

Nothing leaves quarantine without a trace: a resubmitted row keeps the batch that carried it
(`replay_batch_id`), a discarded row keeps who discarded it, when and why. Corrected rows go through
the same batch services as any other batch; the new batch points at the original with `replay_of`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from sqlalchemy import ColumnElement, Select, and_, exists, func, select, true
from sqlalchemy.orm import Session

from territoria.access.audit import principal_actor, record
from territoria.access.policy import quarantine_token
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset
from territoria.db.dialect import dialect_name
from territoria.errors import Conflict, Invalid, NotFound
from territoria.ingest import records
from territoria.ingest.batches import Origin
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.ingest.parsers import BadRow, Row, format_of
from territoria.ingest.schemas import BatchResult
from territoria.ingest.service import MEASUREMENT_COLUMNS, ingest_measurements
from territoria.spreadsheet import safe_cell
from territoria.territory.index import AreaLocator
from territoria.validation.limits import row_problem, safe_text
from territoria.validation.model import error_message
from territoria.validation.tabular import Chunk, split_line

STATUSES = ("open", "resubmitted", "discarded")
MAX_ITEMS = 5000
CSV_CHUNK = 1000
CSV_COLUMNS = ("id", "batch", "row", "status", "codes", "fields", "messages", "raw")


@dataclass(frozen=True)
class QuarantineFilter:
    """Which quarantined rows of a dataset to look at (every criterion optional)."""

    batch: str | None = None
    code: str | None = None
    status: str | None = None
    field: str | None = None
    # Only the batches this token submitted (`policy.quarantine_token`); None: every batch.
    token: int | None = None


@dataclass(frozen=True)
class Correction:
    """A quarantined row to resubmit: corrected fields, corrected raw text, or as it was."""

    id: int
    row: dict[str, Any] | None = None
    raw: str | None = None
    header: Sequence[str] | None = None


@dataclass
class RowOutcome:
    """What became of one resubmitted row."""

    id: int
    original_batch: str
    replay_batch: str
    row: int
    status: str
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ResubmitResult:
    """The new batches (one per original batch) and the outcome of every row."""

    batches: list[BatchResult]
    rows: list[RowOutcome]


def actor(principal: Principal) -> str:
    """Who acts, as kept in the quarantine's history."""
    return principal.actor


def _errors_table(session: Session) -> Any:
    """The elements of each row's `errors` list as a table valued function (per dialect)."""
    if dialect_name(session) == "postgresql":
        return func.jsonb_array_elements(QuarantinedRow.errors).table_valued("value").alias("e")
    return func.json_each(QuarantinedRow.errors).table_valued("value").alias("e")


def _member(session: Session, elements: Any, key: str) -> ColumnElement[Any]:
    """`element[key]` as text."""
    if dialect_name(session) == "postgresql":
        return elements.c.value.op("->>")(key)  # type: ignore[no-any-return]
    return func.json_extract(elements.c.value, f"$.{key}")


def _where(session: Session, ds: Dataset, f: QuarantineFilter) -> list[ColumnElement[bool]]:
    """The SQL conditions of a filter."""
    conds: list[ColumnElement[bool]] = [QuarantinedRow.dataset_id == ds.id]
    if f.batch:
        conds.append(QuarantinedRow.batch_id == f.batch)
    if f.token is not None:
        conds.append(QuarantinedRow.batch_id.in_(select(Batch.id).where(Batch.token_id == f.token)))
    if f.status:
        conds.append(QuarantinedRow.status == f.status)
    if f.code or f.field:
        e = _errors_table(session)
        inner = []
        if f.code:
            inner.append(_member(session, e, "code") == f.code)
        if f.field:
            inner.append(_member(session, e, "field") == f.field)
        conds.append(exists(select(1).select_from(e).where(and_(*inner))))
    return conds


def list_rows(
    session: Session,
    ds: Dataset,
    f: QuarantineFilter,
    *,
    limit: int,
    offset: int,
    after_id: int | None = None,
) -> list[QuarantinedRow]:
    """One page of quarantined rows, oldest first (after the row `after_id` when given: a keyset page)."""
    stmt = select(QuarantinedRow).where(*_where(session, ds, f)).order_by(QuarantinedRow.id)
    if after_id is not None:
        stmt = stmt.where(QuarantinedRow.id > after_id)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def get_row(session: Session, ds: Dataset, row_id: int, token: int | None = None) -> QuarantinedRow | None:
    """One quarantined row of the dataset (of `token`'s batches only, for a caller limited to them)."""
    stmt = select(QuarantinedRow).where(
        *_where(session, ds, QuarantineFilter(token=token)), QuarantinedRow.id == row_id
    )
    return session.scalar(stmt)


def count_rows(session: Session, ds: Dataset, f: QuarantineFilter) -> int:
    """How many quarantined rows match the filter."""
    stmt = select(func.count()).select_from(QuarantinedRow).where(*_where(session, ds, f))
    return int(session.scalar(stmt) or 0)


def rows_per_member(session: Session, conds: list[ColumnElement[bool]], key: str) -> dict[str, int]:
    """Number of distinct rows per value of an error member (code or field)."""
    e = _errors_table(session)
    member = _member(session, e, key)
    stmt: Select[Any] = (
        select(member, func.count(func.distinct(QuarantinedRow.id)))
        .select_from(QuarantinedRow)
        .join(e, true())
        .where(*conds)
        .group_by(member)
    )
    counts = {str(k) if k is not None else "": int(n) for k, n in session.execute(stmt)}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def totals(session: Session, ds: Dataset, f: QuarantineFilter) -> dict[str, Any]:
    """Totals of the rows matching a filter: overall, per status, per error code and per field."""
    conds = _where(session, ds, f)
    per_status = session.execute(
        select(QuarantinedRow.status, func.count()).where(*conds).group_by(QuarantinedRow.status)
    )
    by_status = dict.fromkeys(STATUSES, 0) | {str(s): int(n) for s, n in per_status}
    return {
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_code": rows_per_member(session, conds, "code"),
        "by_field": rows_per_member(session, conds, "field"),
    }


def csv_lines(
    session: Session, ds: Dataset, f: QuarantineFilter, *, bom: bool = False, delimiter: str = ","
) -> Iterator[str]:
    """The matching rows as CSV text, in chunks (keyset pages: constant memory on any size)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" if bom else "") + buffer.getvalue()
    conds, last = _where(session, ds, f), 0
    while True:
        stmt = select(QuarantinedRow).where(*conds, QuarantinedRow.id > last)
        page = list(session.scalars(stmt.order_by(QuarantinedRow.id).limit(CSV_CHUNK)))
        if not page:
            return
        buffer.seek(0)
        buffer.truncate()
        for q in page:
            cells = [
                str(q.id),
                q.batch_id,
                str(q.row_number),
                q.status,
                " ".join(sorted({str(e.get("code")) for e in q.errors})),
                " ".join(sorted({str(e.get("field")) for e in q.errors if e.get("field")})),
                " | ".join(error_message(e, "en") for e in q.errors),
                q.raw,
            ]
            # Spreadsheet mode (bom): no cell may run as a formula.
            writer.writerow([safe_cell(c) for c in cells] if bom else cells)
        last = page[-1].id
        session.expunge_all()
        yield buffer.getvalue()


def scoped(f: QuarantineFilter, principal: Principal) -> QuarantineFilter:
    """The filter narrowed to the rows this principal handles (an ingest-only token: its own batches)."""
    return replace(f, token=quarantine_token(principal))


def _locked(
    session: Session, ds: Dataset, ids: Sequence[int], token: int | None = None
) -> dict[int, QuarantinedRow]:
    """The quarantined rows with these ids, locked for this transaction; 404 naming any unknown id (and
    any row of a batch outside `token`'s, for a caller limited to its own batches)."""
    if len(set(ids)) != len(ids):
        raise Invalid("the same quarantined row is named twice")
    if len(ids) > MAX_ITEMS:
        raise Invalid(f"at most {MAX_ITEMS} rows per request")
    found: dict[int, QuarantinedRow] = {}
    for i in range(0, len(ids), 900):
        stmt = (
            select(QuarantinedRow)
            .where(
                *_where(session, ds, QuarantineFilter(token=token)), QuarantinedRow.id.in_(ids[i : i + 900])
            )
            .with_for_update()
        )
        found.update({q.id: q for q in session.scalars(stmt)})
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(
            f"no quarantined row {', '.join(map(str, missing[:20]))} in dataset '{ds.slug}'",
            errors=[{"row": None, "field": "id", "code": "NOT_FOUND", "message": str(i)} for i in missing],
        )
    return found


def _refuse_closed(rows: Sequence[QuarantinedRow], allowed: tuple[str, ...]) -> None:
    """409 when a row has already left quarantine in a way that forbids this action."""
    closed = [q for q in rows if q.status not in allowed]
    if closed:
        raise Conflict(
            f"{len(closed)} row(s) already left quarantine: "
            + ", ".join(f"{q.id} ({q.status})" for q in closed[:20]),
            errors=[
                {
                    "row": q.row_number,
                    "field": "id",
                    "code": f"ALREADY_{q.status.upper()}",
                    "message": str(q.id),
                }
                for q in closed
            ],
        )


def canonical_columns(ds: Dataset) -> list[str]:
    """The columns a CSV line of this dataset is read with, without a header of its own."""
    if ds.kind == "timeseries":
        return list(MEASUREMENT_COLUMNS)
    return [str(f["name"]) for f in (ds.table_schema or {}).get("fields") or []]


def parse_raw(text: str, columns: Sequence[str]) -> dict[str, Any] | BadRow:
    """A row from its raw text: a JSON object, or a CSV line read with the given columns."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            item = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            return BadRow.coded(text, "PARSE", "finding.PARSE.json", {"reason": exc.msg})
        if not isinstance(item, dict):
            return BadRow.coded(text, "TYPE", "finding.TYPE.not_object", {})
        # The same bounds as any received row: nesting (serialisers break) and NUL (PostgreSQL).
        problem = row_problem(item)
        return item if problem is None else BadRow.coded(text, *problem)
    cells = split_line(stripped)  # the delimiter sniffed as for any CSV file
    if isinstance(cells, BadRow):
        return BadRow(text, cells.code, cells.message, cells.message_fr, cells.reasons)
    if len(cells) != len(columns):
        params = {"fields": len(cells), "width": len(columns)}
        return BadRow.coded(text, "PARSE", "finding.PARSE.width", params)
    return dict(zip(columns, cells, strict=True))


def _corrected(c: Correction, q: QuarantinedRow, ds: Dataset) -> tuple[dict[str, Any] | BadRow, bool]:
    """The row to send again (corrected fields, corrected text, or the text as it was) and whether
    its values are text (a CSV line)."""
    if c.row is not None:
        problem = row_problem(c.row)
        return (dict(c.row) if problem is None else BadRow.coded(safe_text(c.row), *problem)), False
    text = c.raw if c.raw is not None else q.raw
    return parse_raw(text, c.header or canonical_columns(ds)), not text.strip().startswith("{")


def is_csv(content_type: str) -> bool:
    """The batch came as CSV (its values were text): HTTP says its content type, file imports 'csv'."""
    if content_type == "csv":
        return True
    try:
        return bool(content_type) and format_of(content_type) == "csv"
    except Invalid:
        return False


def text_cell(value: Any) -> str:
    """A value as a CSV cell holds it: text (a missing value is an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return safe_text(value)


def _text_chunk(ds: Dataset, rows: list[Row]) -> Chunk:
    """Corrected rows of a CSV batch as a CSV chunk of the dataset's columns, so that they are typed by
    the very path of a CSV file (Table Schema typing of text cells, decimal commas, missing values).

    A corrected cell is one value: it is read as a cell of a file not separated by commas (`12,5` is
    12.5 in a number column). Names outside the schema are left out, as for any corrected row.
    """
    header = canonical_columns(ds)
    good = [(n, r) for n, r in rows if not isinstance(r, BadRow)]
    bad = [(n, r) for n, r in rows if isinstance(r, BadRow)]
    columns = [pa.array([text_cell(r.get(name)) for _, r in good], pa.string()) for name in header]
    numbers = np.array([n for n, _ in good], dtype=np.int64)
    return Chunk(header, ";", "utf-8", numbers, columns, bad)


def _ingest(
    session: Session,
    ds: Dataset,
    rows: list[Row],
    origin: Origin,
    *,
    future_tolerance_s: int,
    locator: AreaLocator,
) -> BatchResult:
    """The same batch service as any other batch of this dataset (text rows: the CSV path)."""
    # safe_text: a corrected row may hold what orjson refuses to write (a lone surrogate, \\ud800).
    checksum = hashlib.sha256("\x1e".join(safe_text(r) for _, r in rows).encode()).hexdigest()
    if ds.kind == "timeseries":
        return ingest_measurements(
            session, ds, rows, origin, checksum=checksum, future_tolerance_s=future_tolerance_s
        )
    if origin.from_text and canonical_columns(ds):
        chunk = _text_chunk(ds, rows)
        return records.ingest_records(session, ds, chunk, origin, checksum=checksum, locator=locator)
    return records.ingest_records(session, ds, rows, origin, checksum=checksum, locator=locator)


def _replay_group(
    session: Session,
    ds: Dataset,
    original: Batch,
    items: list[tuple[Correction, QuarantinedRow]],
    principal: Principal,
    now: datetime,
    *,
    future_tolerance_s: int,
    locator: AreaLocator,
) -> tuple[BatchResult, list[RowOutcome]]:
    """Resubmit the rows of one original batch as one new batch pointing at it."""
    corrected = [_corrected(c, q, ds) for c, q in items]
    rows: list[Row] = [(n, row) for n, (row, _) in enumerate(corrected, start=1)]
    from_text = is_csv(original.content_type) or any(text for _, text in corrected)
    origin = Origin(
        source="http",
        organisation_id=principal.organisation_id,
        token_id=principal.token_id,
        content_type="application/json",
        from_text=from_text,
    )
    result = _ingest(session, ds, rows, origin, future_tolerance_s=future_tolerance_s, locator=locator)
    batch = session.get(Batch, result.batch_id)
    if batch is None:  # pragma: no cover - the service has just flushed it
        raise NotFound(f"batch '{result.batch_id}' vanished")
    batch.replay_of = original.id
    failed = {
        r.row_number: r
        for r in session.scalars(select(QuarantinedRow).where(QuarantinedRow.batch_id == batch.id))
    }
    who = actor(principal)
    outcomes = []
    for n, (_, q) in enumerate(items, start=1):
        q.replay_batch_id = batch.id
        again = failed.get(n)
        if again is None:
            q.status, q.resolved_at, q.resolved_by = "resubmitted", now, who
            q.resolution_reason = f"resubmitted in batch {batch.id}"
            outcomes.append(RowOutcome(q.id, original.id, batch.id, n, "resubmitted"))
            continue
        # The original stays open with its history; the failed attempt is closed onto it, so that
        # one problem is one open row.
        again.status, again.resolved_at, again.resolved_by = "discarded", now, who
        again.resolution_reason = f"failed resubmission of quarantined row {q.id}, which stays open"
        outcomes.append(RowOutcome(q.id, original.id, batch.id, n, "open", list(again.errors)))
    session.flush()
    return result, outcomes


def resubmit(
    session: Session,
    ds: Dataset,
    corrections: Sequence[Correction],
    principal: Principal,
    *,
    future_tolerance_s: int,
    locator: AreaLocator,
) -> ResubmitResult:
    """Send corrected rows again, one new batch per original batch, in the caller's transaction."""
    if not corrections:
        raise Invalid('nothing to resubmit: send a list of {"id", "row"} items')
    found = _locked(session, ds, [c.id for c in corrections], quarantine_token(principal))
    _refuse_closed(list(found.values()), ("open",))
    groups: dict[str, list[tuple[Correction, QuarantinedRow]]] = defaultdict(list)
    for c in corrections:
        groups[found[c.id].batch_id].append((c, found[c.id]))
    now = datetime.now(UTC)
    batches, outcomes = [], []
    for batch_id in sorted(groups):
        original = session.get(Batch, batch_id)
        if original is None:  # pragma: no cover - quarantine rows cascade with their batch
            raise NotFound(f"batch '{batch_id}' does not exist")
        result, rows = _replay_group(
            session,
            ds,
            original,
            groups[batch_id],
            principal,
            now,
            future_tolerance_s=future_tolerance_s,
            locator=locator,
        )
        batches.append(result)
        outcomes.extend(rows)
    order = {c.id: i for i, c in enumerate(corrections)}
    record(
        session,
        actor=principal_actor(principal),
        action="quarantine.resubmit",
        target=f"dataset:{ds.slug}",
        organisation_id=principal.organisation_id,
        details={"ids": [c.id for c in corrections], "batches": [b.batch_id for b in batches]},
    )
    return ResubmitResult(batches, sorted(outcomes, key=lambda o: order[o.id]))


def discard(
    session: Session, ds: Dataset, ids: Sequence[int], reason: str, principal: Principal
) -> dict[str, list[int]]:
    """Close rows for good with who, when and why; rows already discarded are left as they are."""
    reason = reason.strip()
    if not reason:
        raise Invalid(
            "a reason is required to discard rows",
            errors=[{"row": None, "field": "reason", "code": "REQUIRED", "message": "give a reason"}],
        )
    if not ids:
        raise Invalid('nothing to discard: send {"ids": [...], "reason": "..."}')
    found = _locked(session, ds, list(ids), quarantine_token(principal))
    _refuse_closed(list(found.values()), ("open", "discarded"))
    now, who = datetime.now(UTC), actor(principal)
    done, already = [], []
    for i in ids:
        q = found[i]
        if q.status == "discarded":
            already.append(i)
            continue
        q.status, q.resolved_at, q.resolved_by, q.resolution_reason = "discarded", now, who, reason
        done.append(i)
    session.flush()
    if done:
        record(
            session,
            actor=principal_actor(principal),
            action="quarantine.discard",
            target=f"dataset:{ds.slug}",
            organisation_id=principal.organisation_id,
            details={"ids": done, "reason": reason},
        )
    return {"discarded": done, "already_discarded": already}
