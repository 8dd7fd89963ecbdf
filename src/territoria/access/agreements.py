"""Data-sharing agreements: an owner shares a dataset with another organisation for a purpose and a period.

The policy reads the live agreements (`Principal.grants`); the dataset's declared `access` never changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from territoria.access import policy
from territoria.access.agreement_models import Agreement
from territoria.access.audit import record
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.catalog.models import Dataset, Organisation
from territoria.catalog.service import get_dataset
from territoria.errors import Invalid, NotFound

Status = Literal["upcoming", "active", "expired", "revoked"]
STATUSES: tuple[Status, ...] = ("upcoming", "active", "expired", "revoked")
MAX_PURPOSE = 1000
MAX_YEARS = 5
CONSOLE_ACTOR = "cli"  # the installation's operator at the console: trusted, no policy check
# A start a few minutes in the past is clock skew or form latency, not a backdated agreement.
START_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Terms:
    """What the owner proposes: dataset and recipient (slugs), purpose, fields (None: all), period."""

    dataset: str
    recipient: str
    purpose: str
    expires_at: datetime
    fields: Sequence[str] | None = None
    starts_at: datetime | None = None


def status_of(agreement: Agreement, now: datetime | None = None) -> Status:
    """Where an agreement stands now: revoked, expired, upcoming or active."""
    now = now or datetime.now(UTC)
    if agreement.revoked_at is not None:
        return "revoked"
    if agreement.expires_at <= now:
        return "expired"
    return "upcoming" if agreement.starts_at > now else "active"


def end_of_day(day: date) -> datetime:
    """The instant a date given as an expiry ends (midnight UTC after it): the day itself is included."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def add_years(at: datetime, years: int) -> datetime:
    """The same instant some years later (29 February becomes the 28th)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)


def shareable_fields(ds: Dataset) -> list[str]:
    """Names an agreement may list: metrics of a time series, Table Schema fields of records."""
    if ds.kind == "records":
        fields = (ds.table_schema or {}).get("fields") or []
        return [str(f["name"]) for f in fields if isinstance(f, dict) and f.get("name")]
    return [m.name for m in ds.metrics]


def _error(field: str, code: str, message: str, **values: str) -> dict[str, Any]:
    """One validation error; `values` fill the translated messages of the pages."""
    return {"field": field, "code": code, "message": message, **values}


def _check_fields(ds: Dataset, fields: Sequence[str] | None) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """The fields to store (in the schema's order, None for all) and the errors found."""
    if fields is None:
        return None, []
    allowed = shareable_fields(ds)
    chosen = {f.strip() for f in fields if f.strip()}
    if not chosen:
        message = "no field listed: leave 'fields' out to share every field"
        return None, [_error("fields", "FIELDS_EMPTY", message)]
    unknown = sorted(chosen - set(allowed))
    if unknown:
        message = (
            f"'{ds.slug}' has no field {', '.join(unknown)}; "
            f"choose among {', '.join(allowed) or '(none declared)'}"
        )
        names = {"unknown": ", ".join(unknown), "allowed": ", ".join(allowed)}
        return None, [_error("fields", "FIELD_UNKNOWN", message, **names)]
    return [name for name in allowed if name in chosen], []


def _check_period(
    starts_at: datetime | None, expires_at: datetime, now: datetime
) -> tuple[datetime, list[dict[str, Any]]]:
    """The start to store (now by default) and the errors of the period."""
    errors: list[dict[str, Any]] = []
    for name, value in (("starts_at", starts_at), ("expires_at", expires_at)):
        if value is not None and value.tzinfo is None:
            errors.append(_error(name, "NAIVE_DATETIME", f"{name} needs a time zone (e.g. a final 'Z')"))
    if errors:
        return now, errors
    start = starts_at or now
    limit = add_years(now, MAX_YEARS) + timedelta(days=1)  # a date picked as expiry ends at its midnight
    if expires_at <= now:
        errors.append(_error("expires_at", "EXPIRY_PAST", "the expiry is in the past: choose a future date"))
    elif expires_at > limit:
        message = f"an agreement lasts at most {MAX_YEARS} years: renew it when it ends"
        errors.append(_error("expires_at", "EXPIRY_TOO_FAR", message, limit=limit.date().isoformat()))
    if start < now - START_TOLERANCE:
        message = "the start is in the past: leave it out to start now"
        errors.append(_error("starts_at", "START_PAST", message))
    elif start >= expires_at:
        errors.append(_error("starts_at", "START_AFTER_EXPIRY", "the start must come before the expiry"))
    return start, errors


def _recipient(session: Session, ds: Dataset, slug: str) -> tuple[Organisation | None, list[dict[str, Any]]]:
    """The recipient organisation, or the error that says why it cannot receive."""
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        return None, [_error("organisation", "RECIPIENT_UNKNOWN", f"no organisation '{slug}'", value=slug)]
    if org.id == ds.owner_id:
        message = f"'{slug}' owns '{ds.slug}' already: share it with another organisation"
        return None, [_error("organisation", "RECIPIENT_IS_OWNER", message, value=slug)]
    return org, []


def create_agreement(session: Session, terms: Terms, principal: Principal | None) -> Agreement:
    """Share a dataset: the owner's `share` capability (principal None: the console), valid terms, audited."""
    ds = get_dataset(session, terms.dataset)
    if principal is not None:
        policy.require(principal, ds, Capability.SHARE)
    now = datetime.now(UTC)
    recipient, errors = _recipient(session, ds, terms.recipient)
    purpose = terms.purpose.strip()
    if not purpose:
        errors.append(_error("purpose", "PURPOSE_EMPTY", "say what the data will be used for"))
    elif len(purpose) > MAX_PURPOSE:
        message = f"the purpose has {len(purpose)} characters; at most {MAX_PURPOSE}"
        errors.append(_error("purpose", "PURPOSE_TOO_LONG", message))
    fields, field_errors = _check_fields(ds, terms.fields)
    starts_at, period_errors = _check_period(terms.starts_at, terms.expires_at, now)
    errors += field_errors + period_errors
    if errors or recipient is None:
        detail = "; ".join(e["message"] for e in errors)
        raise Invalid(f"the agreement cannot be made: {detail}", errors=errors)
    actor = principal.actor if principal is not None else CONSOLE_ACTOR
    agreement = Agreement(
        dataset_id=ds.id,
        organisation_id=recipient.id,
        purpose=purpose,
        fields=fields,
        starts_at=max(starts_at, now),
        expires_at=terms.expires_at,
        created_by=actor,
        created_at=now,
    )
    session.add(agreement)
    session.flush()
    record(
        session,
        actor=actor,
        action="agreement.create",
        target=f"agreement:{agreement.id}",
        organisation_id=ds.owner_id,
        details={
            "dataset": ds.slug,
            "recipient": recipient.slug,
            "purpose": purpose,
            "fields": fields,
            "starts_at": agreement.starts_at,
            "expires_at": agreement.expires_at,
        },
    )
    return agreement


def get_agreement(session: Session, agreement_id: int, principal: Principal | None) -> Agreement:
    """One agreement, for its two sides and platform admins (others are told it does not exist)."""
    if principal is not None:
        policy.require_signed_in(principal, "data-sharing agreements", target=f"agreement:{agreement_id}")
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound(f"no data-sharing agreement {agreement_id}")
    if principal is not None and not policy.check_agreement_party(
        principal, agreement.id, agreement.dataset.owner_id, agreement.organisation_id
    ):
        raise NotFound(f"no data-sharing agreement {agreement_id}")
    return agreement


def list_agreements(
    session: Session, organisation_id: int | None, *, status: Status | None = None
) -> list[Agreement]:
    """Agreements an organisation gave (as owner) or received (None: all of them), newest first."""
    query = select(Agreement).join(Dataset, Dataset.id == Agreement.dataset_id)
    if organisation_id is not None:
        query = query.where(
            or_(Agreement.organisation_id == organisation_id, Dataset.owner_id == organisation_id)
        )
    rows = list(session.scalars(query.order_by(Agreement.id.desc())).unique())
    if status is None:
        return rows
    now = datetime.now(UTC)
    return [a for a in rows if status_of(a, now) == status]


def revoke_agreement(session: Session, agreement_id: int, principal: Principal | None) -> Agreement:
    """End an agreement now (the owner's `share` capability; None: the console); twice is harmless."""
    agreement = get_agreement(session, agreement_id, principal)
    if principal is not None:
        policy.require(principal, agreement.dataset, Capability.SHARE)
    if agreement.revoked_at is not None:
        return agreement
    actor = principal.actor if principal is not None else CONSOLE_ACTOR
    agreement.revoked_at = datetime.now(UTC)
    agreement.revoked_by = actor
    session.flush()
    record(
        session,
        actor=actor,
        action="agreement.revoke",
        target=f"agreement:{agreement.id}",
        organisation_id=agreement.dataset.owner_id,
        details={"dataset": agreement.dataset.slug, "recipient": agreement.organisation.slug},
    )
    return agreement
