"""Checks on IRVE dynamic rows before they become status events.

Codes (all severity `error`, so the caller quarantines the row):
`BAD_TS` (missing, unparseable or offset-less `horodatage`), `FUTURE_TS` (later than now + tolerance,
default 5 min), `TOO_OLD` (earlier than now - horizon, default 90 days), `UNKNOWN_PDC` (charge point
absent from the static data), `ENUM` (`etat_pdc` or `occupation_pdc` outside the schema's values).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from territoria.domains.ev.availability import ETATS, OCCUPATIONS, StatusEvent
from territoria.validation.model import Finding

DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_HORIZON = timedelta(days=90)


def _finding(row: int, code: str, field: str, params: dict[str, Any], value: object) -> Finding:
    """An error finding of a dynamic row, its message the EV catalog's `ev.finding.<code>`."""
    message = f"ev.finding.{code}"
    return Finding(code, "error", message, params, row=row, field=field, details={"value": value})


def parse_horodatage(text: str) -> datetime | None:
    """An aware datetime from an ISO 8601 `horodatage`, or None when unparseable or without offset."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return at if at.utcoffset() is not None else None


def check_dynamic_row(
    row: Mapping[str, str | None],
    row_number: int,
    known_pdcs: Collection[str],
    now: datetime,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[Finding]:
    """Findings for one dynamic row (empty when the row can become a status event)."""
    found: list[Finding] = []
    pdc = (row.get("id_pdc_itinerance") or "").strip()
    if pdc not in known_pdcs:
        found.append(
            _finding(
                row_number,
                "UNKNOWN_PDC",
                "id_pdc_itinerance",
                {"pdc": repr(pdc)},
                pdc,
            )
        )
    for field, allowed in (("etat_pdc", ETATS), ("occupation_pdc", OCCUPATIONS)):
        value = (row.get(field) or "").strip()
        if value not in allowed:
            found.append(
                _finding(
                    row_number,
                    "ENUM",
                    field,
                    {"field": field, "value": repr(value), "allowed": str(sorted(allowed))},
                    value,
                )
            )
    raw = row.get("horodatage") or ""
    at = parse_horodatage(raw)
    if at is None:
        found.append(
            _finding(
                row_number,
                "BAD_TS",
                "horodatage",
                {"value": repr(raw)},
                raw,
            )
        )
    elif at > now + future_tolerance:
        found.append(
            _finding(
                row_number,
                "FUTURE_TS",
                "horodatage",
                {"value": raw},
                raw,
            )
        )
    elif at < now - horizon:
        found.append(
            _finding(
                row_number,
                "TOO_OLD",
                "horodatage",
                {"value": raw, "days": horizon.days},
                raw,
            )
        )
    return found


def split_dynamic_rows(
    rows: Iterable[Mapping[str, str | None]],
    known_pdcs: Collection[str],
    now: datetime,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    horizon: timedelta = DEFAULT_HORIZON,
) -> tuple[list[StatusEvent], list[Finding]]:
    """Status events from the clean rows, and findings for the others (rows numbered from 1)."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    events: list[StatusEvent] = []
    findings: list[Finding] = []
    for number, row in enumerate(rows, start=1):
        found = check_dynamic_row(row, number, known_pdcs, now, future_tolerance, horizon)
        findings.extend(found)
        at = parse_horodatage(row.get("horodatage") or "")
        if found or at is None:
            continue
        events.append(
            StatusEvent(
                id_pdc=(row.get("id_pdc_itinerance") or "").strip(),
                at=at,
                etat=(row.get("etat_pdc") or "").strip(),
                occupation=(row.get("occupation_pdc") or "").strip(),
            )
        )
    return events, findings
