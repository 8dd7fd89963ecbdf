"""Consolidation of IRVE static records: one charge point per `id_pdc_itinerance`, across every IRVE
dataset, with provenance; the most recently received value wins when sources disagree."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar, overload

import orjson
from sqlalchemy import ColumnElement, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.db.dialect import dialect_name
from territoria.domains.ev import snapshot
from territoria.domains.ev.checks import Finding, Locate, run_checks
from territoria.domains.ev.irve_schema import irve_static_schema
from territoria.domains.ev.model import ChargePoint, Provenance
from territoria.errors import Invalid, NotFound
from territoria.ingest.models import Batch, Record
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
T = TypeVar("T")


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


class Deferred(Generic[T]):
    """A dataclass field that may be given a function making its value: called on first read, then kept.

    Loading a snapshot's 350,000 findings costs a second that the indicators never need; they are made
    when (and if) someone reads them. Given no value, the field is an empty list.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_deferred_{name}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Deferred[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> T | Deferred[T]:
        """The value (made now if it was given as a function); the descriptor itself on the class."""
        if obj is None:
            return self  # the dataclass default: stands for "an empty list" in __set__
        value: T = obj.__dict__[self.slot]
        if callable(value):
            value = obj.__dict__[self.slot] = value()
        return value

    def __set__(self, obj: object, value: T | Callable[[], T] | Deferred[T]) -> None:
        """Keep a value, or the function that will make it."""
        obj.__dict__[self.slot] = [] if value is self else value


@dataclass
class Consolidation:
    """Consolidated points, the disagreements met on the way, the defects found, and station members."""

    points: list[ChargePoint] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    findings: Deferred[list[Finding]] = Deferred()
    stations: dict[str, list[str]] = field(default_factory=dict)


class _Seen(NamedTuple):
    """One stored record of a charge point, with where it came from (`values` in NAMES order)."""

    source: Provenance
    values: tuple[Any, ...]
    lonlat: tuple[float, float] | None
    area_code: str | None


# Every IRVE field the consolidation reads, in this order; the rest of each record is never decoded.
NAMES: tuple[str, ...] = ("id_pdc_itinerance", *FIELDS, *CONNECTORS)
_AT = {name: i for i, name in enumerate(NAMES)}
_PICK = itemgetter(*NAMES)
_CHUNK = 20_000  # rows fetched at a time: the JSON text of a chunk is dropped once its fields are read
_MISSING = object()


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


def _values_sql(session: Session) -> ColumnElement[Any]:
    """JSON text holding the needed fields: the record itself on SQLite, an array of them on PostgreSQL."""
    if dialect_name(session) == "postgresql":
        # Extracted server-side: a few hundred bytes per row cross the wire instead of the record.
        return cast(func.jsonb_build_array(*(Record.data[name] for name in NAMES)), Text)
    # On SQLite, json_extract of 17 paths costs more than decoding the record with orjson.
    return type_coerce(Record.data, Text)


def _pick_values(text: str | bytes) -> tuple[Any, ...]:
    """The needed fields in NAMES order, from a record or an array (None when a field is missing)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses and the json module accepts (NaN, huge ints)
        data = json.loads(text)
    if isinstance(data, list):
        return tuple(data)
    try:
        return tuple(_PICK(data))
    except KeyError:
        return tuple(data.get(name) for name in NAMES)


def _records(session: Session, datasets: list[Dataset]) -> dict[str, list[_Seen]]:
    """Every record per id_pdc_itinerance, oldest first (ties: the later stored record is newer)."""
    slug = {d.id: d.slug for d in datasets}
    # The few batches are read apart: joining them would convert one timestamp per record.
    batches = select(Batch.id, Batch.created_at).where(Batch.dataset_id.in_(list(slug)))
    received: dict[str | None, Any] = dict(session.execute(batches).all())
    received[None] = None
    stmt = (
        select(
            Record.dataset_id,
            Record.key,
            Record.lon,
            Record.lat,
            Record.area_code,
            Record.batch_id,
            _values_sql(session),
        )
        .where(Record.dataset_id.in_(list(slug)))
        .order_by(Record.id)
        .execution_options(yield_per=_CHUNK)
    )
    seen: dict[str, list[_Seen]] = {}
    for dataset_id, key, lon, lat, area_code, batch_id, text in session.execute(stmt):
        values = _pick_values(text)
        id_pdc = values[0]
        if not id_pdc:
            continue
        at = received.get(batch_id, _MISSING)
        if at is _MISSING:  # a batch of another dataset: not expected, looked up all the same
            at = received[batch_id] = session.scalar(select(Batch.created_at).where(Batch.id == batch_id))
        lonlat = (lon, lat) if lon is not None and lat is not None else None
        item = _Seen(Provenance(slug[dataset_id], key, at), values, lonlat, area_code)
        name = id_pdc if type(id_pdc) is str else str(id_pdc)
        items = seen.get(name)
        if items is None:
            seen[name] = [item]
        else:
            items.append(item)
    for items in seen.values():
        if len(items) > 1:
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


class _Builder:
    """Turns records into ChargePoints; dates and connector sets repeat, so they are converted once."""

    def __init__(self) -> None:
        self.dates: dict[Any, date | None] = {}
        self.connectors: dict[tuple[bool, ...], tuple[str, ...]] = {}

    def date(self, value: Any) -> date | None:
        """`_as_date`, remembered per value."""
        try:
            return self.dates[value]
        except KeyError:
            got = self.dates[value] = _as_date(value)
            return got
        except TypeError:  # an unhashable value (a list, an object) is never a date
            return _as_date(value)

    def plugs(self, flags: tuple[Any, ...]) -> tuple[str, ...]:
        """The connectors whose field is exactly True."""
        ef, type_2, combo_ccs, chademo, autre = flags
        key = (ef is True, type_2 is True, combo_ccs is True, chademo is True, autre is True)
        got = self.connectors.get(key)
        if got is None:
            names = zip(CONNECTORS.values(), key, strict=True)
            got = self.connectors[key] = tuple(c for c, on in names if on)
        return got

    def point(self, id_pdc: str, items: list[_Seen]) -> tuple[ChargePoint, list[Conflict]]:
        """One charge point from its records (oldest first)."""
        conflicts: list[Conflict] = []
        if len(items) == 1:  # the usual case: one source, nothing to weigh
            only = items[0]
            v = only.values
            where = only.lonlat
            area = only.area_code if where is not None else None
        else:
            picked: list[Any] = [id_pdc]
            for name in NAMES[1:]:
                i = _AT[name]
                value, conflict = _pick(id_pdc, name, [(s.source, s.values[i]) for s in items])
                picked.append(value)
                if conflict:
                    conflicts.append(conflict)
            v = tuple(picked)
            located = [s for s in items if s.lonlat is not None]
            where, conflict = _pick(id_pdc, COORDINATES, [(s.source, s.lonlat) for s in located])
            if conflict:
                conflicts.append(conflict)
            area = located[-1].area_code if located else None
        # NAMES order: id, 11 FIELDS, 5 CONNECTORS
        _, station, name, operator, owner, siren, insee, power, implantation, access, nbre, since = v[:12]
        cp = ChargePoint(
            id_pdc,
            str(station or ""),
            str(name or ""),
            str(operator or ""),
            str(owner or ""),
            siren,
            where[0] if where else None,
            where[1] if where else None,
            insee,
            area,
            float(power) if power is not None else None,
            implantation,
            access,
            self.plugs(v[12:]),
            int(nbre) if nbre is not None else None,
            self.date(since),
            [s.source for s in items],
        )
        return cp, conflicts


def station_members(points: list[ChargePoint]) -> dict[str, list[str]]:
    """Station id -> ids of its points, in point order (points without a station are left out)."""
    stations: dict[str, list[str]] = {}
    for cp in points:
        if cp.id_station:
            members = stations.get(cp.id_station)
            if members is None:
                stations[cp.id_station] = [cp.id_pdc]
            else:
                members.append(cp.id_pdc)
    return stations


def _lazy(session: Session) -> Locate:
    """The territory's commune locator, built on first use (only points outside France need it)."""
    built: list[Locate] = []

    def locate(lon: float, lat: float) -> str | None:
        if not built:
            built.append(build_locator(session).locate)
        return built[0](lon, lat)

    return locate


def compute(session: Session, datasets: list[Dataset], locate: Locate | None = None) -> Consolidation:
    """The consolidation of these datasets computed from their records (no snapshot involved)."""
    out = Consolidation()
    seen = _records(session, datasets)
    build = _Builder()
    points, conflicts = out.points, out.conflicts
    for id_pdc in sorted(seen):
        cp, found = build.point(id_pdc, seen[id_pdc])
        points.append(cp)
        if found:
            conflicts.extend(found)
    del seen
    out.stations = station_members(points)
    out.findings = run_checks(points, out.stations, locate or _lazy(session))
    return out


def consolidate(
    session: Session, datasets: list[str] | None = None, *, locate: Locate | None = None
) -> Consolidation:
    """One ChargePoint per id_pdc_itinerance over the IRVE static datasets, with conflicts and defects.

    `locate` (lon, lat -> commune code) defaults to the territory's commune locator; it only serves the
    swapped-coordinates check (stored records already carry their commune). With the default locator,
    on SQLite, the result is kept as a snapshot and reused until the IRVE records change (`snapshot`).
    """
    chosen = irve_datasets(session, datasets)
    with snapshot.paused_gc():
        if locate is not None or snapshot.folder_for(session) is None:
            return compute(session, chosen, locate)
        key = snapshot.fingerprint(session, chosen)
        stored = snapshot.load(session, chosen, key)
        if stored is not None:
            return stored
        out = compute(session, chosen)
        snapshot.save(session, chosen, key, out)
        return out
