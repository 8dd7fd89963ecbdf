"""HTTP routes of the EV import paths: IRVE dynamic status, OCPI Locations, and session indicators.

Rights follow the datasets like the generic ingest routes: sending needs the `ingest` capability on
the target dataset (owner organisation), reading sessions needs read access to the sessions dataset
(private by default: sessions reveal behaviour), unlike the public static indicators.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel

from territoria.access.policy import require_ingest, require_read
from territoria.access.principal import Principal
from territoria.catalog.service import get_dataset
from territoria.domains.ev import ocpi
from territoria.domains.ev.csvfile import read_table
from territoria.domains.ev.ocpi_import import irve_dataset, status_dataset, store_statuses
from territoria.domains.ev.records_import import first_codes
from territoria.domains.ev.sessions import DEFAULT_MIN_DURATION, DEFAULT_MIN_ENERGY_KWH
from territoria.domains.ev.sessions_stats import session_stats
from territoria.domains.ev.sessions_store import SESSIONS_DATASET, STATUS_DATASET
from territoria.domains.ev.status import DynamicImportReport, import_dynamic
from territoria.domains.ev.visibility import irve_slugs
from territoria.errors import Invalid, Unparseable
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep, read_body
from territoria.ingest import records
from territoria.ingest.batches import Origin
from territoria.ingest.parsers import format_of
from territoria.territory.groups import group_of
from territoria.validation.limits import safe_text, strip_bom

router = APIRouter(prefix="/api/v1/ev", tags=["ev"])
# Bodies these routes bound row by row themselves (rows quarantined), exempt from the whole-body bound.
SELF_BOUNDED_PATHS = ("/api/v1/ev/status", "/api/v1/ev/ocpi/locations")
SlugQuery = Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
KeyHeader = Annotated[str | None, Header(max_length=200)]


class StatusReport(BaseModel):
    """What became of the IRVE dynamic rows of one request."""

    batch_id: str
    dataset: str
    received: int
    accepted: int
    rejected: int
    rejected_by_code: dict[str, int]
    already_stored: int

    @classmethod
    def of(cls, r: DynamicImportReport, dataset: str) -> StatusReport:
        """From the status import's report."""
        return cls(
            batch_id=r.batch_id,
            dataset=dataset,
            received=r.received,
            accepted=r.accepted,
            rejected=r.rejected,
            rejected_by_code=r.rejected_by_code,
            already_stored=r.already_stored,
        )


class UnmappedEvse(BaseModel):
    """An EVSE (or location) the OCPI mapping left out, with the reason."""

    location_id: str
    evse_uid: str
    evse_id: str
    code: str
    reason: str


class OcpiReport(BaseModel):
    """The OCPI import: the records batch of mapped rows, what was left out, and the statuses."""

    dataset: str
    batch_id: str
    locations: int
    evses: int
    received: int
    accepted: int
    rejected: int
    rejected_by_code: dict[str, int]
    unmapped: list[UnmappedEvse]
    missing_fields: list[str]
    status: StatusReport | None = None
    status_skipped: list[UnmappedEvse] = []


class SessionStatsRow(BaseModel):
    """Session figures of one area."""

    area_code: str
    charge_points: int
    sessions: int
    successful: int
    energy_kwh: float
    sessions_per_pdc_per_day: float | None
    success_share: float | None


class SessionStatsAnswer(BaseModel):
    """Session figures per area over whole UTC days."""

    level: str
    dataset: str
    start: datetime
    end: datetime
    days: int
    points_source: str
    excluded_by_code: dict[str, int]
    outside_territory: int
    rows: list[SessionStatsRow]


def _text(value: Any) -> str:
    # A nested value (nonsense in an IRVE cell, maybe 1,000 levels deep) as bounded text: str() of
    # it would recurse past the interpreter's limit.
    if isinstance(value, dict | list):
        return safe_text(value, 2000)
    return "" if value is None else str(value)


def status_rows(body: bytes, content_type: str | None) -> list[dict[str, str]]:
    """IRVE dynamic rows from a CSV (';' or ',') or JSON array body, as text cells."""
    fmt = format_of(content_type)
    if fmt == "csv":
        table = read_table(body, what="IRVE dynamic")
        # A ragged line keeps its text so that the quarantine shows it; its checks then fail.
        return [r if isinstance(r, dict) else {"raw": r.raw} for _, r in table.rows]
    if fmt != "json":
        raise Invalid("send the IRVE dynamic rows as text/csv or as an application/json array of objects")
    try:
        doc = orjson.loads(strip_bom(body))
    except orjson.JSONDecodeError as exc:
        raise Unparseable(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    if not isinstance(doc, list):
        raise Invalid("expected a JSON array of IRVE dynamic rows")
    if bad := [i for i, row in enumerate(doc, start=1) if not isinstance(row, dict)]:
        raise Invalid(f"item(s) {', '.join(map(str, bad[:10]))} of the array are not objects")
    return [{str(k): _text(v) for k, v in row.items()} for row in doc]


def _origin(principal: Principal, content_type: str, key: str | None) -> Origin:
    return Origin(
        source="http",
        organisation_id=principal.organisation_id,
        token_id=principal.token_id,
        content_type=content_type,
        idempotency_key=key or None,
    )


@router.post("/status", response_model=StatusReport)
def post_status(
    ctx: ContextDep,
    principal: PrincipalDep,
    body: Annotated[bytes, Depends(read_body)],
    dataset: SlugQuery = STATUS_DATASET,
    content_type: Annotated[str | None, Header()] = None,
    idempotency_key: KeyHeader = None,
) -> StatusReport:
    """Import IRVE dynamic rows (CSV or JSON) into the status history; bad rows go to quarantine."""
    with ctx.session(write=True) as session:
        ds = get_dataset(session, dataset)
        require_ingest(principal, ds)
        rows = status_rows(body, content_type)
        report = import_dynamic(
            session,
            ds,
            rows,
            now=datetime.now(UTC),
            future_tolerance_s=ctx.settings.future_tolerance_s,
            origin=_origin(principal, content_type or "", idempotency_key),
            checksum=hashlib.sha256(body).hexdigest(),
        )
    return StatusReport.of(report, dataset)


def _defaults(pairs: list[str]) -> dict[str, str]:
    """`field=value` query values as a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise Invalid(f"set={pair!r}: expected FIELD=VALUE, e.g. set=contact_operateur=contact@op.fr")
        out[name.strip()] = value.strip()
    return out


def _unmapped(items: list[ocpi.Unmapped]) -> list[UnmappedEvse]:
    return [UnmappedEvse(**u.as_dict()) for u in items]


@router.post("/ocpi/locations", response_model=OcpiReport)
def post_ocpi_locations(
    ctx: ContextDep,
    principal: PrincipalDep,
    body: Annotated[bytes, Depends(read_body)],
    dataset: SlugQuery,
    status: bool = False,
    status_dataset_slug: Annotated[
        str, Query(alias="status_dataset", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    ] = (STATUS_DATASET),
    set_: Annotated[list[str], Query(alias="set", max_length=50, description="FIELD=VALUE defaults")] = [],  # noqa: B006
    idempotency_key: KeyHeader = None,
) -> OcpiReport:
    """Map OCPI 2.2.1 Locations to IRVE static rows of `dataset` (and, with status=true, EVSE statuses)."""
    with ctx.session(write=True) as session:
        ds = get_dataset(session, dataset)
        require_ingest(principal, ds)
        irve_dataset(session, dataset, None)  # refuses a dataset without the IRVE static schema
        status_ds = None
        if status:
            status_ds = get_dataset(session, status_dataset_slug)
            require_ingest(principal, status_ds)
            status_dataset(session, status_dataset_slug, None)
        mapping = ocpi.map_locations(ocpi.locations_of(body), _defaults(set_))
        origin = _origin(principal, "ocpi", idempotency_key)
        checksum = hashlib.sha256(body).hexdigest()
        result = records.ingest_records(
            session, ds, mapping.static_rows, origin, checksum=checksum, locator=ctx.locator()
        )
        answer = OcpiReport(
            dataset=dataset,
            batch_id=result.batch_id,
            locations=mapping.locations,
            evses=mapping.evses,
            received=result.received,
            accepted=result.accepted,
            rejected=result.rejected,
            rejected_by_code=dict(sorted(first_codes(session, result.batch_id).items())),
            unmapped=_unmapped(mapping.unmapped),
            missing_fields=mapping.missing_fields,
            status_skipped=_unmapped(mapping.status_skipped),
        )
        if status_ds is not None:
            key = f"{idempotency_key}:status" if idempotency_key else None
            _, report = store_statuses(
                session,
                ctx.locator(),
                dataset,
                status_ds,
                mapping,
                now=datetime.now(UTC),
                origin=_origin(principal, "ocpi", key),
            )
            answer.status = StatusReport.of(report, status_ds.slug)
    return answer


@router.get("/sessions", response_model=SessionStatsAnswer)
def get_sessions(
    session: SessionDep,
    principal: PrincipalDep,
    level: Annotated[str, Query(pattern=r"^(commune|epci|territory)$")] = "commune",
    days: Annotated[int, Query(ge=1, le=366, description="whole UTC days up to today")] = 30,
    dataset: SlugQuery = SESSIONS_DATASET,
    min_energy_kwh: Annotated[
        float, Query(ge=0, le=1000, description="a successful session delivers more than this")
    ] = DEFAULT_MIN_ENERGY_KWH,
    min_minutes: Annotated[
        float, Query(ge=0, le=1440, description="a successful session lasts longer than this")
    ] = DEFAULT_MIN_DURATION.total_seconds() / 60,
) -> SessionStatsAnswer:
    """Sessions per charge point per day, energy delivered and success share, per commune or territory."""
    ds = get_dataset(session, dataset)
    require_read(principal, ds)
    if level == "epci" and not group_of(session):
        raise Invalid("no EPCI areas are loaded: run `territoria territory load-groups [FILE.csv]`")
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    stats = session_stats(
        session,
        start,
        end,
        level,
        dataset=dataset,
        min_energy_kwh=min_energy_kwh,
        min_duration=timedelta(minutes=min_minutes),
        irve=irve_slugs(session, principal),
    )
    return SessionStatsAnswer(
        level=level,
        dataset=dataset,
        start=start,
        end=end,
        days=stats.days,
        points_source=stats.points_source,
        excluded_by_code=stats.excluded_by_code,
        outside_territory=stats.outside_territory,
        rows=[
            SessionStatsRow(
                area_code=r.area_code,
                charge_points=r.charge_points,
                sessions=r.sessions,
                successful=r.successful,
                energy_kwh=round(r.energy_kwh, 3),
                sessions_per_pdc_per_day=r.sessions_per_pdc_per_day,
                success_share=r.success_share,
            )
            for r in stats.rows
        ],
    )
