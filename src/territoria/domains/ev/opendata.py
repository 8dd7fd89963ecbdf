"""Open-data releases of the EV observatory, as domain sources of the open-data stage.

* `irve-consolidated` (on any IRVE static records dataset): the consolidation of every IRVE dataset of
  the territory in the national IRVE v2.3 static format, one row per `id_pdc_itinerance`, the most
  recently received non-null value of each field winning (the consolidation's rule). IRVE static data
  is public by law (décret 2017-26) and describes operators' equipment: released row by row; the
  operator's business contacts stay, as in the national file.
* `ev-station-availability` (on the `ev-status` time series): per station and UTC day, the charge
  points, observed hours, hours out of service, availability and occupancy rates, from the
  time-weighted status intervals. Occupancy is published only when at least k (default 2) charge points
  of the station had a known occupancy that day: the occupancy of a lone charge point, day after day,
  can show one person's charging habits (a workplace or residence car park). Withheld occupancy is
  null with `secret = true`, never 0.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access.policy import may_release_with
from territoria.catalog.models import Asset, Dataset, Series
from territoria.domains.ev.availability import DEFAULT_MAX_GAP, DailyAvailability, daily_availability, total
from territoria.domains.ev.consolidation import Consolidation, consolidate, irve_datasets, is_irve_static
from territoria.domains.ev.irve_schema import irve_static_schema
from territoria.domains.ev.model import ChargePoint, Provenance
from territoria.domains.ev.status import ETAT_METRIC, OCCUPATION_METRIC, status_events
from territoria.errors import Invalid
from territoria.ingest.models import Record
from territoria.opendata.policy import PolicyBody
from territoria.opendata.shaping import build_table
from territoria.opendata.sources import DomainSource, DomainTable, window_for
from territoria.opendata.tables import ColumnRole, ColumnType, ReleaseColumn
from territoria.timeseries.models import rollup_hour

IRVE_SOURCE = "irve-consolidated"
AVAILABILITY_SOURCE = "ev-station-availability"
OCCUPANCY_K = 2
GEOPOINT = "coordonneesXY"
KEY = "id_pdc_itinerance"
IRVE_TYPES: dict[str, ColumnType] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "geopoint": "string",  # "[lon, lat]", the schema's array format
}
STATION_KEYS = ("id_station_itinerance", "period")
_NEVER = datetime.min.replace(tzinfo=UTC)
_HOUR = 3600.0


def _problem(field: str, code: str, message: str) -> dict[str, Any]:
    """One reason a policy is refused (the policy checks' shape)."""
    return {"field": field, "code": code, "message": message}


def _check(code: str, checked: int, failing: list[str], **params: Any) -> dict[str, Any]:
    """One report check, in the stage's shape: its title the EV catalog's `ev.release_check.<code>`."""
    return {
        "code": code,
        "title_key": f"ev.release_check.{code}",
        "title_params": params,
        "checked": checked,
        "failures": len(failing),
        "passed": not failing,
        "examples": failing[:5],
    }


# -- consolidated IRVE static file ---------------------------------------------------------------------


def irve_columns() -> list[ReleaseColumn]:
    """The IRVE v2.3 static columns in schema order (the charge point id keys the change log)."""
    out = []
    for f in irve_static_schema()["fields"]:
        name = f["name"]
        role: ColumnRole = "dimension" if name == KEY else ("location" if name == GEOPOINT else "attribute")
        title = f.get("title") or name
        # The IRVE field name is the English title, the schema's (French) title the French one: data.
        texts = {"en": name, "fr": title}
        out.append(ReleaseColumn(name, IRVE_TYPES[f["type"]], role, label=name == "nom_station", texts=texts))
    return out


def _source_records(session: Session, datasets: list[Dataset]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored IRVE record's data, by (dataset slug, record key): what the provenance points to."""
    slug = {d.id: d.slug for d in datasets}
    stmt = select(Record.dataset_id, Record.key, Record.data).where(Record.dataset_id.in_(list(slug)))
    return {(slug[ds_id], key): data for ds_id, key, data in session.execute(stmt)}


def _oldest_first(sources: list[Provenance]) -> list[Provenance]:
    """Provenances by reception time (stable: the consolidation's order among equal times)."""
    return sorted(sources, key=lambda p: p.received_at or _NEVER)


def _cell(value: Any, kind: ColumnType) -> Any:
    """A stored record value in its column type (dates are stored as ISO text)."""
    if value is None or value == "":
        return None
    if kind == "date":
        return date.fromisoformat(str(value)[:10])
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return value


def irve_row(cp: ChargePoint, said: list[dict[str, Any]], columns: list[ReleaseColumn]) -> dict[str, Any]:
    """One charge point's IRVE row: per field the most recent non-null value (`said` is oldest first)."""
    row: dict[str, Any] = {}
    for col in columns:
        given = [d.get(col.name) for d in said if d.get(col.name) not in (None, "")]
        row[col.name] = _cell(given[-1], col.type) if given else None
    row[KEY] = cp.id_pdc
    if cp.lon is not None and cp.lat is not None:  # the consolidated location, as "[lon, lat]"
        row[GEOPOINT] = json.dumps([cp.lon, cp.lat])
    return row


def sources_for(session: Session, published: Dataset) -> list[Dataset]:
    """The IRVE datasets a release of `published` may consolidate (the access policy decides)."""
    return [d for d in irve_datasets(session) if may_release_with(published, d)]


def _consolidation(session: Session, published: Dataset | None) -> Consolidation:
    """The consolidation behind a release of `published` (of every IRVE dataset when None)."""
    if published is None:
        return consolidate(session)
    slugs = [d.slug for d in sources_for(session, published)]
    return consolidate(session, slugs) if slugs else Consolidation()


def irve_table(
    session: Session, consolidation: Consolidation | None = None, published: Dataset | None = None
) -> DomainTable:
    """The consolidated IRVE static table of the IRVE datasets a release of `published` may draw on (one
    row per charge point)."""
    out = consolidation or _consolidation(session, published)
    sources = irve_datasets(session) if published is None else sources_for(session, published)
    records = _source_records(session, sources)
    columns = irve_columns()
    rows = []
    for cp in out.points:
        said = [records[(p.dataset, p.record_key)] for p in _oldest_first(cp.sources)]
        rows.append(irve_row(cp, said, columns))
    table = build_table(columns, {c.name: [r[c.name] for r in rows] for c in columns})
    located = sum(1 for r in rows if r[GEOPOINT])
    checks = [
        _check(
            "IRVE_ONE_ROW_PER_PDC",
            len(rows),
            [k for k, n in Counter(r[KEY] for r in rows).items() if n > 1],
        )
    ]
    return DomainTable(table, columns, "point" if located else "", None, checks)


def _irve_preset(ds: Dataset) -> dict[str, Any]:
    """Row-level release of the consolidated IRVE static data (public by law, no personal data)."""
    return {
        "description": "Points de recharge consolidés au format IRVE statique v2.3 (données publiques).",
        "personal_data": False,
        "source": IRVE_SOURCE,
        "delay_days": 0,
        "licence": "etalab-2.0",
    }


def _irve_check(session: Session, ds: Dataset, body: PolicyBody) -> list[dict[str, Any]]:
    """The dataset must hold IRVE static records; the national format keeps all its columns."""
    problems = []
    if ds.kind != "records" or not is_irve_static(ds.table_schema):
        problems.append(
            _problem(
                "source", "NOT_IRVE", f"'{ds.slug}' is not a records dataset with the IRVE static schema"
            )
        )
    if body.drop:
        problems.append(
            _problem(
                "drop", "FIXED_COLUMNS", "the IRVE format has a fixed set of columns: nothing can be dropped"
            )
        )
    if personal := sorted(set(ds.personal_fields or [])):
        problems.append(
            _problem(
                "drop",
                "PERSONAL_FIELD_KEPT",
                f"{', '.join(personal)} are declared personal but the IRVE format publishes them: "
                "review the declaration (IRVE static data is public by law)",
            )
        )
    return problems


def _irve_build(session: Session, ds: Dataset, body: PolicyBody, now: datetime) -> DomainTable:
    """The release table of the irve-consolidated source."""
    return irve_table(session, published=ds)


# -- availability per station and day --------------------------------------------------------------------


def station_columns() -> list[ReleaseColumn]:
    """Columns of the availability release (station and day key the change log)."""
    return [
        ReleaseColumn("id_station_itinerance", "string", "dimension", "ev.column.id_station"),
        ReleaseColumn("period", "datetime", "dimension", "ev.column.day"),
        ReleaseColumn("nom_station", "string", "attribute", "ev.column.nom_station", label=True),
        ReleaseColumn("area_code", "string", "attribute", "od.column.area_code"),
        ReleaseColumn("lon", "number", "location", "od.column.lon"),
        ReleaseColumn("lat", "number", "location", "od.column.lat"),
        ReleaseColumn("charge_points", "integer", "measure", "ev.column.charge_points"),
        ReleaseColumn("hours_observed", "number", "measure", "ev.column.hours_observed", "h"),
        ReleaseColumn("hours_out_of_service", "number", "measure", "ev.column.hours_out_of_service", "h"),
        ReleaseColumn("availability_rate", "number", "measure", "ev.column.availability_rate", "1"),
        ReleaseColumn("occupancy_rate", "number", "measure", "ev.column.occupancy_rate", "1"),
        ReleaseColumn("secret", "boolean", "flag", "ev.column.secret"),
    ]


def _first_report(session: Session, ds: Dataset) -> datetime | None:
    """The first hour with a status report (hourly rollups: the first day may be partial)."""
    series = select(Series.id).join(Asset, Asset.id == Series.asset_id).where(Asset.dataset_id == ds.id)
    found = session.scalar(select(func.min(rollup_hour.c.bucket)).where(rollup_hour.c.series_id.in_(series)))
    return found if isinstance(found, datetime) else None


def _station(points: list[ChargePoint]) -> dict[str, Any]:
    """A station's name, commune (of most of its points) and location (the mean of its points)."""
    located = [p for p in points if p.lon is not None and p.lat is not None]
    areas = Counter(p.area_code for p in points if p.area_code)
    return {
        "nom_station": Counter(p.station_name for p in points).most_common(1)[0][0] or None,
        "area_code": areas.most_common(1)[0][0] if areas else None,
        "lon": round(sum(p.lon for p in located if p.lon is not None) / len(located), 6) if located else None,
        "lat": round(sum(p.lat for p in located if p.lat is not None) / len(located), 6) if located else None,
    }


def _rate(part: float, whole: float) -> float | None:
    """part / whole rounded, None when whole is zero (undefined, not secret)."""
    return round(part / whole, 4) if whole > 0 else None


def station_rows(
    daily: list[DailyAvailability], members: dict[str, list[ChargePoint]], k: int
) -> list[dict[str, Any]]:
    """One row per station and day from the per-point daily figures; occupancy kept only at ≥ k points."""
    station_of = {p.id_pdc: sid for sid, points in members.items() for p in points}
    groups: dict[tuple[str, date], list[DailyAvailability]] = defaultdict(list)
    for r in daily:
        groups[(station_of[r.id_pdc], r.day)].append(r)
    rows = []
    for (sid, day), figures in sorted(groups.items()):
        summed = total(figures, sid)
        # Points that contributed to the occupancy of the day: a lone one would show its user's habit.
        contributing = sum(1 for r in figures if r.occupancy_known_s > 0)
        secret = 0 < contributing < k
        rows.append(
            {
                "id_station_itinerance": sid,
                "period": datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                **_station(members[sid]),
                "charge_points": len(members[sid]),
                "hours_observed": round(summed.observed_s / _HOUR, 3),
                "hours_out_of_service": round(summed.hors_service_s / _HOUR, 3),
                "availability_rate": _rate(summed.en_service_s, summed.observed_s),
                "occupancy_rate": None if secret else _rate(summed.occupied_s, summed.occupancy_known_s),
                "secret": secret,
            }
        )
    return rows


def occupancy_check(
    rows: list[dict[str, Any]], daily: list[DailyAvailability], station_of: dict[str, str], k: int
) -> dict[str, Any]:
    """Re-derive from the per-point figures that every published occupancy has ≥ k contributing points."""
    contributing: Counter[tuple[str, date]] = Counter(
        (station_of[r.id_pdc], r.day) for r in daily if r.occupancy_known_s > 0
    )
    failing = []
    for row in rows:
        key = (row["id_station_itinerance"], row["period"].date())
        published = row["occupancy_rate"] is not None
        if (published and contributing[key] < k) or (row["secret"] and published):
            failing.append(f"{key[0]} {key[1].isoformat()}")
    return _check("OCCUPANCY_MIN_POINTS", len(rows), failing, k=k)


def availability_table(session: Session, ds: Dataset, body: PolicyBody, now: datetime) -> DomainTable:
    """Availability per station and whole UTC day older than the policy delay, from the status history."""
    window = window_for(_first_report(session, ds), body, "day", now)
    if window is None:
        raise Invalid(
            f"nothing to publish in '{ds.slug}' yet: no whole day of status reports older than the "
            f"publication delay ({body.delay_days} days)"
        )
    known = set(session.scalars(select(Asset.external_id).where(Asset.dataset_id == ds.id)))
    out = _consolidation(session, ds)
    by_id = {p.id_pdc: p for p in out.points}
    # Stations whose points are followed by the status dataset; all their points count.
    members = {
        sid: [by_id[p] for p in pdcs] for sid, pdcs in out.stations.items() if any(p in known for p in pdcs)
    }
    station_of = {p.id_pdc: sid for sid, points in members.items() for p in points}
    # Reports up to max_gap before the window set the state at its start.
    events = [
        e
        for e in status_events(session, ds, window.start - DEFAULT_MAX_GAP, window.end)
        if e.id_pdc in station_of
    ]
    daily = daily_availability(events, window.start, window.end, id_pdcs=station_of)
    k = max(body.k, OCCUPANCY_K)  # a policy may ask for more points, never for fewer than 2
    rows = station_rows(daily, members, k)
    columns = station_columns()
    table = build_table(columns, {c.name: [r[c.name] for r in rows] for c in columns})
    check = occupancy_check(rows, daily, station_of, k)
    secret = sum(1 for r in rows if r["secret"])
    return DomainTable(table, columns, "point", window, [check], secret)


def _availability_preset(ds: Dataset) -> dict[str, Any]:
    """Daily availability per station; occupancy needs k = 2 charge points; one day of delay."""
    return {
        "description": "Disponibilité et occupation quotidiennes par station de recharge (k = 2 pour "
        "l'occupation).",
        "personal_data": False,
        "source": AVAILABILITY_SOURCE,
        "k": OCCUPANCY_K,
        "delay_days": 1,
        "licence": "etalab-2.0",
    }


def _availability_check(session: Session, ds: Dataset, body: PolicyBody) -> list[dict[str, Any]]:
    """The dataset must be the status history; station and day cannot be dropped."""
    problems = []
    metrics = {m.name for m in ds.metrics}
    if ds.kind != "timeseries" or not {ETAT_METRIC, OCCUPATION_METRIC} <= metrics:
        problems.append(
            _problem(
                "source",
                "NOT_EV_STATUS",
                f"'{ds.slug}' is not an EV status time series ({ETAT_METRIC}, {OCCUPATION_METRIC})",
            )
        )
    names = {c.name for c in station_columns()}
    for name in body.drop:
        if name in STATION_KEYS or name not in names:
            problems.append(
                _problem(
                    "drop",
                    "UNKNOWN_FIELD",
                    f"cannot drop '{name}' (droppable: {', '.join(sorted(names - set(STATION_KEYS)))})",
                )
            )
    return problems


# The national schema as data.gouv.fr references it, so that harvesters can match the release to it.
IRVE_STANDARD = ("https://schema.data.gouv.fr/etalab/schema-irve-statique/", "Schéma IRVE statique (etalab)")
# The open-data sources the EV domain declares in its contract (registered by the composition).
SOURCES = (
    DomainSource(IRVE_SOURCE, _irve_preset, _irve_check, _irve_build, IRVE_STANDARD),
    DomainSource(AVAILABILITY_SOURCE, _availability_preset, _availability_check, availability_table),
)
