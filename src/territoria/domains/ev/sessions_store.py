"""Charging sessions kept as a records dataset with their own Table Schema.

A records dataset (not a time series) because a session is an interval with several values: the records
path then gives it validation, quarantine with reasons, HTTP ingest (`POST /datasets/{slug}/records`) and
access control like any other dataset. The dataset is private by default: sessions reveal behaviour.

Primary key = (`id_pdc_itinerance`, `start`): a charge point serves one vehicle at a time, so two
sessions cannot start at the same instant on it, and the key exists on every row, whereas the
operator's session id is optional (kept in `id_session`). Times are stored in UTC ISO 8601, so the
same instant written with two offsets is one key.

Before the schema, each row gets the domain checks of `sessions.rejection_code` (`NAIVE_TS`,
`END_BEFORE_START`, `NEGATIVE_ENERGY`, `IMPLAUSIBLE_ENERGY` when the power is known) and, when a point
registry exists (the assets of the `ev-status` dataset), `UNKNOWN_PDC`; a failing row is quarantined in
the same batch with that code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Organisation
from territoria.catalog.schemas import DatasetCreate
from territoria.catalog.service import create_dataset
from territoria.domains.ev.sessions import ChargingSession, rejection_code
from territoria.errors import Invalid, NotFound
from territoria.ingest.parsers import BadRow, Row
from territoria.validation.limits import safe_text

SESSIONS_DATASET = "ev-sessions"
STATUS_DATASET = "ev-status"  # the point registry: same slug as domains/ev/status.py
COLUMNS = ("id_session", "id_pdc_itinerance", "start", "end", "energy")
# Spellings met in operators' exports (French headers, explicit units) -> the schema's names.
ALIASES = {
    "session_id": "id_session",
    "id": "id_session",
    "id_pdc": "id_pdc_itinerance",
    "debut": "start",
    "début": "start",
    "start_time": "start",
    "fin": "end",
    "end_time": "end",
    "energie": "energy",
    "énergie": "energy",
    "energy_kwh": "energy",
    "energie_kwh": "energy",
}


def sessions_schema() -> dict[str, Any]:
    """The Table Schema of the sessions dataset."""
    return {
        "name": "territoria-ev-sessions",
        "title": "Sessions de recharge / charging sessions",
        "fields": [
            {"name": "id_session", "type": "string", "description": "operator's session id (optional)"},
            {
                "name": "id_pdc_itinerance",
                "type": "string",
                "description": "charge point (IRVE id_pdc_itinerance)",
                "constraints": {"required": True, "pattern": "^[A-Z]{2}[A-Z0-9]{4,33}$"},
            },
            {
                "name": "start",
                "type": "datetime",
                "description": "start, ISO 8601 with offset",
                "constraints": {"required": True},
            },
            {
                "name": "end",
                "type": "datetime",
                "description": "end, ISO 8601 with offset",
                "constraints": {"required": True},
            },
            {
                "name": "energy",
                "type": "number",
                "description": "energy delivered, kWh",
                "constraints": {"required": True, "minimum": 0},
            },
        ],
        "primaryKey": ["id_pdc_itinerance", "start"],
        "missingValues": [""],
    }


SESSIONS_FR = "Une ligne par session de recharge : point de charge, début, fin, énergie délivrée (kWh)."


def sessions_dataset_body(slug: str = SESSIONS_DATASET) -> DatasetCreate:
    """The definition of the sessions dataset (private: sessions reveal behaviour)."""
    return DatasetCreate(
        slug=slug,
        title="Sessions de recharge",
        description=SESSIONS_FR,
        titles={"fr": "Sessions de recharge", "en": "Charging sessions"},
        descriptions={
            "fr": SESSIONS_FR,
            "en": "One row per charging session: charge point, start, end and energy delivered (kWh).",
        },
        domain="ev",
        kind="records",
        access="private",
        table_schema=sessions_schema(),
        keywords=["irve", "recharge", "sessions"],
    )


def is_sessions_dataset(ds: Dataset) -> bool:
    """Whether a dataset holds sessions (records with this module's columns)."""
    names = {f.get("name") for f in (ds.table_schema or {}).get("fields") or [] if isinstance(f, dict)}
    return ds.kind == "records" and set(COLUMNS) <= names


def ensure_sessions_dataset(session: Session, owner: Organisation, slug: str = SESSIONS_DATASET) -> Dataset:
    """The sessions dataset, created when missing; refused when the slug holds something else."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        ds = create_dataset(session, sessions_dataset_body(slug), owner)
        session.flush()
    elif not is_sessions_dataset(ds):
        raise Invalid(
            f"dataset '{slug}' exists but does not hold charging sessions: choose another --dataset"
        )
    return ds


def sessions_dataset(session: Session, slug: str, owner: Organisation | None) -> Dataset:
    """The sessions dataset `slug`; created for `owner` when missing, refused without one."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is not None:
        return ensure_sessions_dataset(session, session.get_one(Organisation, ds.owner_id), slug)  # checks it
    if owner is None:
        raise NotFound(f"dataset '{slug}' does not exist: give --owner ORG to create it")
    return ensure_sessions_dataset(session, owner, slug)


@dataclass(frozen=True)
class PointRegistry:
    """Known charge points and their nominal power (kW, when known), from the ev-status assets."""

    power_kw: dict[str, float | None]

    def __contains__(self, pdc: object) -> bool:
        return pdc in self.power_kw


def point_registry(session: Session, slug: str = STATUS_DATASET) -> PointRegistry | None:
    """The registry of charge points, or None when no status dataset holds any (ids are then unchecked)."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        return None
    powers: dict[str, float | None] = {}
    for pdc, props in session.execute(
        select(Asset.external_id, Asset.properties).where(Asset.dataset_id == ds.id)
    ):
        value = (props or {}).get("power_kw")
        powers[pdc] = float(value) if isinstance(value, int | float) else None
    return PointRegistry(powers) if powers else None


def _text(value: Any) -> str:
    """A cell as text (JSON bodies may carry numbers or null)."""
    return "" if value is None else str(value).strip()


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _bad(row: Mapping[str, Any], code: str, detail: str = "") -> BadRow:
    """A rejected session row, its reason the EV catalog's `ev.session_row.<code>` (the detail quotes
    what was sent, in no language)."""
    extra = f" ({detail})" if detail else ""
    return BadRow.coded(safe_text(dict(row)), code, f"ev.session_row.{code}", {"extra": extra})


def normalise_header(row: Mapping[str, Any]) -> dict[str, Any]:
    """Column names lower-cased, stripped and mapped through ALIASES (unknown names kept for the schema)."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        key = str(name).strip().lower()
        out[ALIASES.get(key, key)] = value
    out.setdefault("id_session", "")
    return out


def check_row(row: Mapping[str, Any], registry: PointRegistry | None) -> dict[str, Any] | BadRow:
    """A row ready for the schema (times in UTC), or a BadRow with the first domain code that fails."""
    data = normalise_header(row)
    start_text, end_text = _text(data.get("start")), _text(data.get("end"))
    start, end = _when(start_text), _when(end_text)
    if (start_text and start is None) or (end_text and end is None):
        return _bad(data, "BAD_TS", f"start {start_text!r}, end {end_text!r}")
    energy_text = _text(data.get("energy")).replace(",", ".")  # French spreadsheets write 12,5
    try:
        energy = float(energy_text) if energy_text else None
    except ValueError:
        return _bad(data, "BAD_ENERGY", repr(energy_text))
    pdc = _text(data.get("id_pdc_itinerance")).replace("*", "").upper()
    if start is not None and end is not None and energy is not None:
        power = registry.power_kw.get(pdc) if registry is not None else None
        code = rejection_code(ChargingSession(pdc, start, end, energy), power)
        if code is not None:
            return _bad(data, code)
    if registry is not None and pdc and pdc not in registry:
        return _bad(data, "UNKNOWN_PDC", pdc)
    out = {k: _text(data.get(k)) for k in COLUMNS}  # other columns are not part of a session
    out.update(
        id_pdc_itinerance=pdc,
        start=start.astimezone(UTC).isoformat() if start else "",
        end=end.astimezone(UTC).isoformat() if end else "",
        energy="" if energy is None else repr(energy),
    )
    return out


def checked_rows(rows: Iterable[Row], registry: PointRegistry | None) -> list[Row]:
    """Every numbered row checked: rows already unreadable stay as they are."""
    return [(n, r if isinstance(r, BadRow) else check_row(r, registry)) for n, r in rows]
