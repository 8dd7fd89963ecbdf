"""Consolidation of IRVE static records: one charge point per `id_pdc_itinerance`, across every IRVE
dataset, with provenance; the most recently received value wins when sources disagree."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.domains.ev.checks import Finding, Locate, run_checks
from territoria.domains.ev.model import ChargePoint, Provenance
from territoria.errors import Invalid, NotFound
from territoria.ingest.models import Batch, Record
from territoria.quality.tableschema.irve import irve_static_schema
from territoria.territory.service import build_locator

# IRVE field -> ChargePoint attribute, for the values consolidated (and compared) one by one
FIELDS: dict[str, str] = {
    "id_station_itinerance": "id_station",
    "nom_station": "station_name",
    "nom_operateur": "operator",
    "nom_amenageur": "owner",
    "siren_amenageur": "owner_siren",
    "code_insee_commune": "insee_declared",
    "puissance_nominale": "power_kw",
    "implantation_station": "implantation",
    "condition_acces": "access",
    "nbre_pdc": "nbre_pdc",
    "date_mise_en_service": "commissioned",
}
CONNECTORS = {
    "prise_type_ef": "ef",
    "prise_type_2": "type_2",
    "prise_type_combo_ccs": "combo_ccs",
    "prise_type_chademo": "chademo",
    "prise_type_autre": "autre",
}
COORDINATES = "coordonneesXY"
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SourceValue:
    """What one source said for a field."""

    source: Provenance
    value: Any


@dataclass(frozen=True)
class Conflict:
    """Sources disagreeing on one field of one charge point; `chosen` is the most recent value."""

    id_pdc: str
    field: str
    values: list[SourceValue]
    chosen: Any


@dataclass
class Consolidation:
    """Consolidated points, the disagreements met on the way, the defects found, and station members."""

    points: list[ChargePoint] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    stations: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Seen:
    """One stored record of a charge point, with where it came from."""

    source: Provenance
    data: dict[str, Any]
    lonlat: tuple[float, float] | None
    area_code: str | None


def is_irve_static(schema: dict[str, Any] | None) -> bool:
    """Whether a dataset's Table Schema is the IRVE static one (it carries all of its fields)."""
    names = {f.get("name") for f in (schema or {}).get("fields") or [] if isinstance(f, dict)}
    return bool(names) and names >= {f["name"] for f in irve_static_schema()["fields"]}


def irve_datasets(session: Session, slugs: list[str] | None = None) -> list[Dataset]:
    """The records datasets holding IRVE static data: all of them, or those named (checked)."""
    stmt = select(Dataset).where(Dataset.kind == "records").order_by(Dataset.slug)
    if slugs is None:
        return [d for d in session.scalars(stmt) if is_irve_static(d.table_schema)]
    found = {d.slug: d for d in session.scalars(stmt.where(Dataset.slug.in_(slugs)))}
    if missing := [s for s in slugs if s not in found]:
        raise NotFound(f"no records dataset named {', '.join(missing)}")
    if wrong := [s for s in slugs if not is_irve_static(found[s].table_schema)]:
        raise Invalid(f"dataset(s) {', '.join(wrong)} do not have the IRVE static schema")
    return [found[s] for s in slugs]


def _records(session: Session, datasets: list[Dataset]) -> dict[str, list[_Seen]]:
    """Every record per id_pdc_itinerance, oldest first (ties: the later stored record is newer)."""
    slug = {d.id: d.slug for d in datasets}
    # Plain columns, not ORM objects: hundreds of thousands of rows are read once and never changed.
    stmt = (
        select(
            Record.dataset_id,
            Record.key,
            Record.data,
            Record.lon,
            Record.lat,
            Record.area_code,
            Batch.created_at,
        )
        .outerjoin(Batch, Batch.id == Record.batch_id)
        .where(Record.dataset_id.in_(list(slug)))
        .order_by(Record.id)
    )
    seen: dict[str, list[_Seen]] = defaultdict(list)
    for dataset_id, key, data, lon, lat, area_code, received in session.execute(stmt):
        id_pdc = data.get("id_pdc_itinerance")
        if not id_pdc:
            continue
        lonlat = (lon, lat) if lon is not None and lat is not None else None
        prov = Provenance(slug[dataset_id], key, received)
        seen[str(id_pdc)].append(_Seen(prov, data, lonlat, area_code))
    for items in seen.values():
        # stable sort keeps record order among equal times; records without a batch count as oldest
        items.sort(key=lambda s: s.source.received_at or _NEVER)
    return seen


def _pick(id_pdc: str, name: str, said: list[tuple[Provenance, Any]]) -> tuple[Any, Conflict | None]:
    """The most recent non-null value (`said` is oldest first), and a Conflict if sources disagree."""
    given = [(p, v) for p, v in said if v is not None]
    if not given:
        return None, None
    chosen = given[-1][1]
    if len({repr(v) for _, v in given}) == 1:
        return chosen, None
    return chosen, Conflict(id_pdc, name, [SourceValue(p, v) for p, v in given], chosen)


def _as_date(value: Any) -> date | None:
    """A schema-typed date (ISO text) as a date."""
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _point(id_pdc: str, items: list[_Seen]) -> tuple[ChargePoint, list[Conflict]]:
    """One charge point from its records (oldest first)."""
    values: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    located = [s for s in items if s.lonlat is not None]
    if len(items) == 1:  # the usual case: one source, nothing to weigh
        values = {name: items[0].data.get(name) for name in [*FIELDS, *CONNECTORS]}
        where = items[0].lonlat
    else:
        for name in [*FIELDS, *CONNECTORS]:
            value, conflict = _pick(id_pdc, name, [(s.source, s.data.get(name)) for s in items])
            values[name] = value
            if conflict:
                conflicts.append(conflict)
        where, conflict = _pick(id_pdc, COORDINATES, [(s.source, s.lonlat) for s in located])
        if conflict:
            conflicts.append(conflict)
    area = located[-1].area_code if located else None
    power, nbre = values["puissance_nominale"], values["nbre_pdc"]
    cp = ChargePoint(
        id_pdc=id_pdc,
        id_station=str(values["id_station_itinerance"] or ""),
        station_name=str(values["nom_station"] or ""),
        operator=str(values["nom_operateur"] or ""),
        owner=str(values["nom_amenageur"] or ""),
        owner_siren=values["siren_amenageur"],
        lon=where[0] if where else None,
        lat=where[1] if where else None,
        insee_declared=values["code_insee_commune"],
        area_code=area,
        power_kw=float(power) if power is not None else None,
        implantation=values["implantation_station"],
        access=values["condition_acces"],
        connectors=tuple(c for name, c in CONNECTORS.items() if values[name] is True),
        nbre_pdc=int(nbre) if nbre is not None else None,
        commissioned=_as_date(values["date_mise_en_service"]),
        sources=[s.source for s in items],
    )
    return cp, conflicts


def consolidate(
    session: Session, datasets: list[str] | None = None, *, locate: Locate | None = None
) -> Consolidation:
    """One ChargePoint per id_pdc_itinerance over the IRVE static datasets, with conflicts and defects.

    `locate` (lon, lat -> commune code) defaults to the territory's commune locator; it only serves the
    swapped-coordinates check (stored records already carry their commune).
    """
    out = Consolidation()
    seen = _records(session, irve_datasets(session, datasets))
    for id_pdc in sorted(seen):
        cp, conflicts = _point(id_pdc, seen[id_pdc])
        out.points.append(cp)
        out.conflicts.extend(conflicts)
        if cp.id_station:
            out.stations.setdefault(cp.id_station, []).append(cp.id_pdc)
    if locate is None:
        locate = build_locator(session).locate
    out.findings = run_checks(out.points, out.stations, locate)
    return out
