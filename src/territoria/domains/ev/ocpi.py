"""OCPI 2.2.1 Locations (Location > EVSE > Connector) to IRVE static rows and IRVE dynamic status rows.

One EVSE is one IRVE charge point (point de charge): it serves one vehicle at a time. Mapping rules,
each field of IRVE v2.3 from an explicit OCPI source, a value the user gives (`defaults`, CLI
`--set FIELD=VALUE`), or left empty when IRVE makes it optional; a required field with neither makes
the EVSE unmappable (code `MISSING_FIELDS`), never a guessed value:

* `id_pdc_itinerance` = `evse_id` without `*`, `-`, spaces, upper-cased (FR*ABC*E123 -> FRABCE123); it must
  then match the IRVE id pattern (`BAD_EVSE_ID`), an EVSE without one is `NO_EVSE_ID`. `id_pdc_local` = `uid`.
* `id_station_itinerance` = the location `id` normalised the same way when it is an AFIREV station id
  (2 letters, 3 alphanumerics, `P`, …); otherwise "Non concerné" (the IRVE value for a station without a
  roaming id) and the location id goes to `id_station_local` (always filled with it).
* `nbre_pdc` = EVSEs of the location that exist (status other than PLANNED and REMOVED).
* `puissance_nominale` (kW) = the largest connector power: `max_electric_power` (W) / 1000, else
  voltage x amperage x phases: DC and AC_1_PHASE x1, AC_2_PHASE(_SPLIT) x2, AC_3_PHASE x3 because OCPI
  gives `max_voltage` line to neutral (230 V); a line-to-line voltage (>= 380 V) is multiplied by √3.
* Connectors: DOMESTIC_E/F -> `prise_type_ef`, IEC_62196_T2 -> `prise_type_2`, IEC_62196_T1/T2_COMBO ->
  `prise_type_combo_ccs`, CHADEMO -> `prise_type_chademo`, any other standard -> `prise_type_autre`;
  `cable_t2_attache` true when a T2 connector has format CABLE (empty without T2).
* `coordonneesXY` = "[lon, lat]" from the EVSE's coordinates, else the location's (`BAD_COORDINATES`).
* `implantation_station` from `parking_type`: ON_STREET -> Voirie, PARKING_GARAGE / UNDERGROUND_GARAGE ->
  Parking public, PARKING_LOT (supermarkets, bars: OCPI's definition) -> Parking privé à usage public,
  ON_DRIVEWAY -> Parking privé réservé à la clientèle, ALONG_MOTORWAY -> Station dédiée à la recharge
  rapide; an EVSE whose parking is restricted to CUSTOMERS -> Parking privé réservé à la clientèle.
* `condition_acces` = Accès réservé when the parking is for CUSTOMERS or the location is not published
  (`publish: false`), else Accès libre. `accessibilite_pmr` = Réservé PMR for a DISABLED restriction, else
  Accessibilité inconnue (OCPI says nothing more). `station_deux_roues` = MOTORCYCLES restriction.
* `reservation` = capability RESERVABLE (OCPI lists every capability an EVSE has). `paiement_cb` and
  `paiement_acte` = true with CREDIT_CARD_PAYABLE, DEBIT_CARD_PAYABLE, CONTACTLESS_CARD_SUPPORT or
  PED_TERMINAL; without them `paiement_acte` is unknown (a default is needed), `paiement_cb` empty.
* `horaires` = "24/7" for `twentyfourseven`, else the regular hours in OSM syntax ("Mo 08:00-18:00,…").
* `nom_operateur` / `nom_amenageur` = `operator.name` / `owner.name`; `nom_enseigne` = the default, else
  `operator.name`; `nom_station` = `name`, else "address city"; `adresse_station` = "address postal_code
  city"; `date_maj` = the EVSE's `last_updated` date. `code_insee_commune` stays empty (OCPI has postal
  codes, not INSEE codes; the platform places points from their coordinates).
* No OCPI source (defaults or empty): `siren_amenageur`, `contact_amenageur`, `contact_operateur`
  (required), `telephone_operateur`, `restriction_gabarit` (required), `gratuit`, `paiement_autre`,
  `tarification`, `raccordement`, `num_pdl`, `date_mise_en_service`, `observations`.

Status (IRVE dynamic, `horodatage` = EVSE `last_updated`): AVAILABLE en_service/libre, CHARGING
en_service/occupe, RESERVED en_service/reserve, BLOCKED en_service/occupe (OCPI: "not accessible because
of a physical barrier, i.e. a car": the point works, its bay is taken), INOPERATIVE and OUTOFORDER
hors_service/inconnu, UNKNOWN inconnu/inconnu; PLANNED and REMOVED are skipped (not in service).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from territoria import i18n
from territoria.domains.ev.irve_versions import required_columns, v23_columns
from territoria.errors import Invalid, Unparseable
from territoria.ingest.parsers import BadRow, Row
from territoria.validation.limits import MAX_DEPTH, max_depth, safe_text

ID_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{4,33}$")
STATION_ID = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}P[A-Z0-9]{1,30}$")
NOT_ROAMING = "Non concerné"
# OCPI statuses of EVSEs that are not charge points in service: skipped, with their reason's catalog code
SKIPPED_STATUSES = {"PLANNED": "ev.ocpi.PLANNED", "REMOVED": "ev.ocpi.REMOVED"}
STATUS_MAP: dict[str, tuple[str, str]] = {
    "AVAILABLE": ("en_service", "libre"),
    "CHARGING": ("en_service", "occupe"),
    "RESERVED": ("en_service", "reserve"),
    "BLOCKED": ("en_service", "occupe"),
    "INOPERATIVE": ("hors_service", "inconnu"),
    "OUTOFORDER": ("hors_service", "inconnu"),
    "UNKNOWN": ("inconnu", "inconnu"),
}
IMPLANTATION = {
    "ON_STREET": "Voirie",
    "PARKING_GARAGE": "Parking public",
    "UNDERGROUND_GARAGE": "Parking public",
    "PARKING_LOT": "Parking privé à usage public",
    "ON_DRIVEWAY": "Parking privé réservé à la clientèle",
    "ALONG_MOTORWAY": "Station dédiée à la recharge rapide",
}
CONNECTOR_FIELD = {
    "DOMESTIC_E": "prise_type_ef",
    "DOMESTIC_F": "prise_type_ef",
    "IEC_62196_T2": "prise_type_2",
    "IEC_62196_T2_COMBO": "prise_type_combo_ccs",
    "IEC_62196_T1_COMBO": "prise_type_combo_ccs",
    "CHADEMO": "prise_type_chademo",
}
PHASES = {"DC": 1, "AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3}
CARD_PAYMENT = {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CONTACTLESS_CARD_SUPPORT", "PED_TERMINAL"}
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")  # OCPI weekday 1 = Monday


@dataclass(frozen=True)
class Unmapped:
    """An EVSE (or a whole location) left out, with why: a catalog code (`ev.ocpi.…`) and its parameters,
    read in any language (`text(lang)`); `reason` is the English sentence the API and scripts read."""

    location_id: str
    evse_uid: str
    evse_id: str
    code: str
    message_code: str
    params: dict[str, str] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The reason in `lang`."""
        return i18n.message(self.message_code, dict(self.params), lang)

    @property
    def reason(self) -> str:
        """The reason in English (the text the API and the JSON line have always carried)."""
        return self.text("en")

    def as_dict(self) -> dict[str, str]:
        """The fields the API and the command's JSON line answer (the reason in English)."""
        return {
            "location_id": self.location_id,
            "evse_uid": self.evse_uid,
            "evse_id": self.evse_id,
            "code": self.code,
            "reason": self.reason,
        }

    def bad_row(self, raw: str) -> BadRow:
        """The quarantined row of this EVSE: the reason with its code and location (`ev.ocpi_row.…`)."""
        row_code = "ev.ocpi_row." + self.message_code.removeprefix("ev.ocpi.")
        return BadRow.coded(raw, self.code, row_code, {**self.params, "location": repr(self.location_id)})


@dataclass
class OcpiMapping:
    """IRVE static rows (numbered; BadRow for EVSEs that cannot be mapped), status rows, and skips."""

    locations: int = 0
    evses: int = 0
    static_rows: list[Row] = field(default_factory=list)
    status_rows: list[dict[str, str]] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)  # not mapped to a static row
    status_skipped: list[Unmapped] = field(default_factory=list)  # no status row for these EVSEs

    @property
    def missing_fields(self) -> list[str]:
        """Required IRVE fields that neither OCPI nor the defaults filled, over every EVSE."""
        found: set[str] = set()
        for u in self.unmapped:
            if u.code == "MISSING_FIELDS":
                found.update(u.params["fields"].split(", "))
        return sorted(found)


def locations_of(body: bytes | Any) -> list[Any]:
    """The locations of an OCPI answer: envelope {data, status_code, timestamp}, a list, or one location."""
    doc = body
    if isinstance(body, bytes | bytearray | str):
        text = body.encode() if isinstance(body, str) else bytes(body)
        if max_depth(text) > MAX_DEPTH:  # real Locations nest about 6 levels; deeper breaks serialisers
            raise Invalid(f"the OCPI document is nested deeper than {MAX_DEPTH} levels")
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Unparseable(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    if isinstance(doc, dict) and "data" in doc:
        code = doc.get("status_code")
        if isinstance(code, int) and not 1000 <= code < 2000:
            raise Invalid(
                f"the OCPI answer reports an error (status_code {code}: {doc.get('status_message') or '-'}); "
                "fetch the locations again"
            )
        doc = doc["data"]
    if isinstance(doc, dict) and ("evses" in doc or "coordinates" in doc):
        return [doc]
    if not isinstance(doc, list):
        raise Invalid(
            "expected OCPI Locations: a list of Location objects or the OCPI envelope "
            '{"data": [...], "status_code": 1000, "timestamp": ...}'
        )
    return doc


def normalise_id(value: Any) -> str:
    """An eMI3 id without separators, upper-cased: FR*ABC*E123 -> FRABCE123."""
    return re.sub(r"[\s*\-]", "", str(value or "")).upper()


def _num(value: Any) -> float | None:
    """A number from an OCPI number or numeric string (booleans are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def connector_kw(connector: Mapping[str, Any]) -> float | None:
    """A connector's power in kW (see the module's rule), or None when it cannot be told."""
    watts = _num(connector.get("max_electric_power"))
    if watts is not None and watts > 0:
        return watts / 1000
    volts = _num(connector.get("max_voltage", connector.get("voltage")))
    amps = _num(connector.get("max_amperage", connector.get("amperage")))
    phases = PHASES.get(str(connector.get("power_type")))
    if volts is None or amps is None or phases is None or volts <= 0 or amps <= 0:
        return None
    if phases == 3 and volts >= 380:  # a line-to-line voltage, against the spec's line-to-neutral
        return math.sqrt(3) * volts * amps / 1000
    return phases * volts * amps / 1000


def _lonlat(*places: Any) -> str | None:
    """'[lon, lat]' from the first OCPI GeoLocation that holds valid numbers."""
    for place in places:
        if not isinstance(place, dict):
            continue
        lat, lon = _num(place.get("latitude")), _num(place.get("longitude"))
        if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
            return f"[{lon}, {lat}]"
    return None


def horaires(opening: Any) -> str | None:
    """OCPI opening_times as IRVE `horaires` (OSM opening_hours syntax), None when absent."""
    if not isinstance(opening, dict):
        return None
    if opening.get("twentyfourseven") is True:
        return "24/7"
    parts = []
    for period in opening.get("regular_hours") or []:
        if not isinstance(period, dict):
            continue
        day = period.get("weekday")
        if isinstance(day, int) and 1 <= day <= 7 and period.get("period_begin") and period.get("period_end"):
            parts.append(f"{WEEKDAYS[day - 1]} {period['period_begin']}-{period['period_end']}")
    return ",".join(parts) or None


def _name(business: Any) -> str:
    return str(business.get("name") or "").strip() if isinstance(business, dict) else ""


def _bool(flag: bool) -> str:
    return "true" if flag else "false"


def _date(value: Any) -> str | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _station_ids(location: Mapping[str, Any]) -> tuple[str, str]:
    """id_station_itinerance and id_station_local from the location id (see the module's rule)."""
    raw = str(location.get("id") or "").strip()
    normalised = normalise_id(raw)
    return (normalised if STATION_ID.match(normalised) else NOT_ROAMING), raw


def _location_values(location: Mapping[str, Any], defaults: Mapping[str, str]) -> dict[str, str | None]:
    """The IRVE fields that a location decides for all its EVSEs."""
    station_id, local = _station_ids(location)
    address = " ".join(
        str(location.get(k) or "").strip() for k in ("address", "postal_code", "city") if location.get(k)
    )
    street_city = " ".join(str(location.get(k) or "").strip() for k in ("address", "city") if location.get(k))
    operator = _name(location.get("operator"))
    return {
        "nom_amenageur": _name(location.get("owner")) or None,
        "nom_operateur": operator or None,
        "nom_enseigne": defaults.get("nom_enseigne") or operator or None,
        "id_station_itinerance": station_id,
        "id_station_local": local or None,
        "nom_station": str(location.get("name") or "").strip() or street_city or None,
        "adresse_station": address or None,
        "horaires": horaires(location.get("opening_times")),
    }


def _evse_values(location: Mapping[str, Any], evse: Mapping[str, Any]) -> dict[str, str | None]:
    """The IRVE fields an EVSE decides: power, connectors, parking, capabilities."""
    connectors = [c for c in evse.get("connectors") or [] if isinstance(c, dict)]
    standards = {str(c.get("standard")) for c in connectors}
    powers = [p for p in (connector_kw(c) for c in connectors) if p is not None]
    restrictions = {str(r) for r in evse.get("parking_restrictions") or []}
    capabilities = {str(c) for c in evse.get("capabilities") or []}
    implantation = IMPLANTATION.get(str(location.get("parking_type")))
    if "CUSTOMERS" in restrictions:
        implantation = "Parking privé réservé à la clientèle"
    reserved = "CUSTOMERS" in restrictions or location.get("publish") is False
    t2 = [c for c in connectors if c.get("standard") == "IEC_62196_T2"]
    card = bool(capabilities & CARD_PAYMENT)
    values: dict[str, str | None] = {
        "id_pdc_local": str(evse.get("uid") or "") or None,
        "puissance_nominale": f"{max(powers):.2f}" if powers else None,
        "coordonneesXY": _lonlat(evse.get("coordinates"), location.get("coordinates")),
        "implantation_station": implantation,
        "condition_acces": "Accès réservé" if reserved else "Accès libre",
        "accessibilite_pmr": "Réservé PMR" if "DISABLED" in restrictions else "Accessibilité inconnue",
        "station_deux_roues": _bool("MOTORCYCLES" in restrictions),
        "reservation": _bool("RESERVABLE" in capabilities),
        "paiement_cb": "true" if card else None,
        "paiement_acte": "true" if card else None,
        "cable_t2_attache": _bool(any(c.get("format") == "CABLE" for c in t2)) if t2 else None,
        "date_maj": _date(evse.get("last_updated") or location.get("last_updated")),
    }
    for irve_field in sorted(set(CONNECTOR_FIELD.values()) | {"prise_type_autre"}):
        values[irve_field] = "false"
    for standard in standards:
        values[CONNECTOR_FIELD.get(standard, "prise_type_autre")] = "true"
    return values


def _unmapped(
    location_id: str, evse: Mapping[str, Any], code: str, message_code: str, **params: str
) -> Unmapped:
    uid, evse_id = str(evse.get("uid") or ""), str(evse.get("evse_id") or "")
    return Unmapped(location_id, uid, evse_id, code, message_code, params)


def _static_row(
    location: Mapping[str, Any],
    evse: Mapping[str, Any],
    base: dict[str, str | None],
    defaults: Mapping[str, str],
) -> dict[str, str] | Unmapped:
    """One IRVE row for an EVSE, or why it cannot be one."""
    loc_id = str(location.get("id") or "")
    pdc = normalise_id(evse.get("evse_id"))
    if not pdc:
        return _unmapped(loc_id, evse, "NO_EVSE_ID", "ev.ocpi.NO_EVSE_ID")
    if not ID_PATTERN.match(pdc):
        return _unmapped(
            loc_id, evse, "BAD_EVSE_ID", "ev.ocpi.BAD_EVSE_ID", evse_id=repr(evse.get("evse_id"))
        )
    values = {**base, **_evse_values(location, evse), "id_pdc_itinerance": pdc}
    if values["coordonneesXY"] is None:
        return _unmapped(loc_id, evse, "BAD_COORDINATES", "ev.ocpi.BAD_COORDINATES")
    if values["puissance_nominale"] is None:
        return _unmapped(loc_id, evse, "NO_POWER", "ev.ocpi.NO_POWER")
    row: dict[str, str] = {}
    missing = []
    for column in v23_columns():
        value = values.get(column)
        if value is None:
            value = defaults.get(column)
        if value is None and column in required_columns():
            missing.append(column)
        row[column] = value or ""
    if missing:
        return _unmapped(loc_id, evse, "MISSING_FIELDS", "ev.ocpi.MISSING_FIELDS", fields=", ".join(missing))
    return row


def _status_row(location_id: str, evse: Mapping[str, Any]) -> dict[str, str] | Unmapped:
    """One IRVE dynamic row for an EVSE's status, or why there is none."""
    status = str(evse.get("status") or "")
    pdc = normalise_id(evse.get("evse_id"))
    if status in SKIPPED_STATUSES:
        return _unmapped(location_id, evse, status, SKIPPED_STATUSES[status])
    if status not in STATUS_MAP:
        return _unmapped(location_id, evse, "BAD_STATUS", "ev.ocpi.BAD_STATUS", status=repr(status))
    if not ID_PATTERN.match(pdc):
        return _unmapped(location_id, evse, "NO_EVSE_ID", "ev.ocpi.NO_EVSE_ID.status")
    etat, occupation = STATUS_MAP[status]
    return {
        "id_pdc_itinerance": pdc,
        "etat_pdc": etat,
        "occupation_pdc": occupation,
        "horodatage": str(evse.get("last_updated") or ""),
    }


def map_locations(locations: list[Any], defaults: Mapping[str, str] | None = None) -> OcpiMapping:
    """Every EVSE of these locations as an IRVE static row (or why not) and as an IRVE status row."""
    given = {k: v for k, v in (defaults or {}).items() if v}
    if unknown := sorted(set(given) - set(v23_columns())):
        raise Invalid(f"not IRVE static field(s): {', '.join(unknown)}; defaults name IRVE v2.3 columns")
    out = OcpiMapping(locations=len(locations))
    for location in locations:
        if not isinstance(location, dict) or not isinstance(location.get("evses") or [], list):
            raw = safe_text(location, 2000)
            not_location = Unmapped("", "", "", "NOT_LOCATION", "ev.ocpi.NOT_LOCATION")
            out.static_rows.append((len(out.static_rows) + 1, not_location.bad_row(raw)))
            out.unmapped.append(not_location)
            continue
        loc_id = str(location.get("id") or "")
        evses = [e for e in location.get("evses") or [] if isinstance(e, dict)]
        if not evses:
            out.unmapped.append(Unmapped(loc_id, "", "", "NO_EVSE", "ev.ocpi.NO_EVSE"))
            continue
        base = _location_values(location, given)
        existing = [e for e in evses if e.get("status") not in SKIPPED_STATUSES]
        base["nbre_pdc"] = str(len(existing))
        for evse in evses:
            out.evses += 1
            status = _status_row(loc_id, evse)
            if isinstance(status, Unmapped):
                out.status_skipped.append(status)
            else:
                out.status_rows.append(status)
            if evse.get("status") in SKIPPED_STATUSES:
                out.unmapped.append(
                    _unmapped(loc_id, evse, str(evse["status"]), SKIPPED_STATUSES[evse["status"]])
                )
                continue  # not a charge point in service: not a received row either
            row = _static_row(location, evse, base, given)
            n = len(out.static_rows) + 1
            if isinstance(row, Unmapped):
                out.unmapped.append(row)
                raw = safe_text(evse, 2000)
                out.static_rows.append((n, row.bad_row(raw)))
            else:
                out.static_rows.append((n, row))
    return out
