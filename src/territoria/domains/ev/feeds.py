"""IRVE feeds of the simulated EV network: the static file (one row per charge point) and the dynamic
status feed (one row per change of state), in the national v2.3 format, for the demo and the tests."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from territoria.simulate.city import Asset, City
from territoria.simulate.generator import measurements
from territoria.simulate.networks import EV_CHARGE_POINTS, EV_OPERATOR
from territoria.simulate.randomness import seeded

# The operator's itinerance prefix: country code + 3 characters, then P (station) or E (charge point).
PREFIX = "FRRAZ"
# A SIREN that passes the Luhn checksum (fictitious operator of the demo).
OPERATOR_SIREN = "732829320"
STATIC_FIELDS = [
    "nom_amenageur",
    "siren_amenageur",
    "contact_amenageur",
    "nom_operateur",
    "contact_operateur",
    "telephone_operateur",
    "nom_enseigne",
    "id_station_itinerance",
    "id_station_local",
    "nom_station",
    "implantation_station",
    "adresse_station",
    "code_insee_commune",
    "coordonneesXY",
    "nbre_pdc",
    "id_pdc_itinerance",
    "id_pdc_local",
    "puissance_nominale",
    "prise_type_ef",
    "prise_type_2",
    "prise_type_combo_ccs",
    "prise_type_chademo",
    "prise_type_autre",
    "gratuit",
    "paiement_acte",
    "paiement_cb",
    "paiement_autre",
    "tarification",
    "condition_acces",
    "reservation",
    "horaires",
    "accessibilite_pmr",
    "restriction_gabarit",
    "station_deux_roues",
    "raccordement",
    "num_pdl",
    "date_mise_en_service",
    "observations",
    "date_maj",
    "cable_t2_attache",
]
DYNAMIC_FIELDS = (
    "id_pdc_itinerance",
    "etat_pdc",
    "occupation_pdc",
    "horodatage",
    "etat_prise_type_2",
    "etat_prise_type_combo_ccs",
    "etat_prise_type_chademo",
    "etat_prise_type_ef",
)
# Simulated status codes → IRVE (etat_pdc, occupation_pdc).
STATUS = {0: ("en_service", "libre"), 1: ("en_service", "occupe"), 2: ("hors_service", "inconnu")}


def station_id(asset: Asset) -> str:
    """The station's itinerance id, e.g. FRRAZP06088S001."""
    return PREFIX + "P" + str(asset.properties["station_id"]).removeprefix("IRVE-").replace("-", "")


def pdc_id(asset: Asset) -> str:
    """The charge point's itinerance id, e.g. FRRAZE060880003."""
    return PREFIX + "E" + asset.ext_id.removeprefix("IRVE-").replace("-", "")


def _implantation(power: float) -> str:
    """Where a charge point of that power usually stands."""
    if power >= 150:
        return "Station dédiée à la recharge rapide"
    return "Parking public" if power >= 50 else "Voirie"


def _commissioned(rng: Random) -> date:
    """A plausible commissioning date (2019–2025)."""
    return date(2019 + rng.randint(0, 6), rng.randint(1, 12), rng.randint(1, 28))


def ev_assets(city: City) -> list[Asset]:
    """The simulated charge points."""
    return [a for a in city.assets if a.network == EV_CHARGE_POINTS.slug]


def static_rows(city: City, updated: date) -> list[dict[str, Any]]:
    """One IRVE static row per simulated charge point (coordinates as the city has them, faults included)."""
    points = ev_assets(city)
    per_station: dict[str, int] = {}
    for asset in points:
        per_station[station_id(asset)] = per_station.get(station_id(asset), 0) + 1
    names = {c.code: c.name for c in city.communes}
    rows = []
    for asset in points:
        # Why not the city's generator: each point keeps its address and date whatever the others do.
        rng = seeded(f"{city.seed}-{asset.ext_id}")
        power = float(asset.properties["max_power_kw"])
        ccs = asset.properties.get("connector") == "CCS"
        commune = names.get(asset.expected_area, "")
        rows.append(
            {
                "nom_amenageur": EV_OPERATOR.name,
                "siren_amenageur": OPERATOR_SIREN,
                "contact_amenageur": "contact@recharge-azur.demo",
                "nom_operateur": EV_OPERATOR.name,
                "contact_operateur": "exploitation@recharge-azur.demo",
                "telephone_operateur": "0493000000",
                "nom_enseigne": "Recharge Azur",
                "id_station_itinerance": station_id(asset),
                "id_station_local": str(asset.properties["station_id"]),
                "nom_station": f"{commune} — station {str(asset.properties['station_id'])[-4:]}",
                "implantation_station": _implantation(power),
                "adresse_station": f"{rng.randint(1, 120)} av. de la République {asset.expected_area} "
                + commune,
                "code_insee_commune": asset.expected_area,
                "coordonneesXY": f"[{asset.lon:.6f},{asset.lat:.6f}]",
                "nbre_pdc": per_station[station_id(asset)],
                "id_pdc_itinerance": pdc_id(asset),
                "id_pdc_local": asset.ext_id,
                "puissance_nominale": power,
                "prise_type_ef": "false",
                "prise_type_2": "false" if ccs else "true",
                "prise_type_combo_ccs": "true" if ccs else "false",
                "prise_type_chademo": "false",
                "prise_type_autre": "false",
                "gratuit": "false",
                "paiement_acte": "true",
                "paiement_cb": "true",
                "paiement_autre": "false",
                "tarification": "0,45 €/kWh" if ccs else "0,30 €/kWh",
                "condition_acces": "Accès libre",
                "reservation": "false",
                "horaires": "24/7",
                "accessibilite_pmr": "Accessible mais non réservé PMR",
                "restriction_gabarit": "Aucune",
                "station_deux_roues": "false",
                "raccordement": "Direct",
                "num_pdl": "",
                "date_mise_en_service": date(
                    2019 + rng.randint(0, 6), rng.randint(1, 12), rng.randint(1, 28)
                ).isoformat(),
                "observations": "",
                "date_maj": updated.isoformat(),
                "cable_t2_attache": "false",
            }
        )
    return rows


# A live IRVE dynamic feed republishes every point's state, not only its changes: a point silent for
# more than 6 hours counts as unknown in the availability measure, so the simulated feed repeats it.
REPORT_EVERY = timedelta(hours=3)


def dynamic_rows(city: City, start: datetime, end: datetime) -> Iterator[dict[str, str]]:
    """One IRVE dynamic row per change of status of a simulated charge point over [start, end), and the
    unchanged state again every REPORT_EVERY."""
    points = {a.ext_id: a for a in ev_assets(city)}
    only_ev = City(city.seed, city.communes, tuple(points.values()))
    last: dict[str, tuple[int, datetime]] = {}
    for row in measurements(only_ev, start, end, city.seed):
        if row["metric"] != "status" or row["asset"] not in points:
            continue
        code = int(row["value"])
        ts = row["ts"] if isinstance(row["ts"], datetime) else datetime.fromisoformat(str(row["ts"]))
        before = last.get(row["asset"])
        if code not in STATUS or (before and before[0] == code and ts - before[1] < REPORT_EVERY):
            continue
        last[row["asset"]] = (code, ts)
        etat, occupation = STATUS[code]
        asset = points[row["asset"]]
        ccs = asset.properties.get("connector") == "CCS"
        plug = "fonctionnel" if etat == "en_service" else "hors_service"
        yield {
            "id_pdc_itinerance": pdc_id(asset),
            "etat_pdc": etat,
            "occupation_pdc": occupation,
            "horodatage": row["ts"].isoformat() if isinstance(row["ts"], datetime) else str(row["ts"]),
            "etat_prise_type_2": "" if ccs else plug,
            "etat_prise_type_combo_ccs": plug if ccs else "",
            "etat_prise_type_chademo": "",
            "etat_prise_type_ef": "",
        }


SESSION_FIELDS = ("id_session", "id_pdc_itinerance", "start", "end", "energy")
FAILED_SHARE = 0.06  # sessions that stop at once (a badge refused, a cable not locked)


def session_rows(city: City, start: datetime, end: datetime) -> Iterator[dict[str, str]]:
    """One charging session per occupied stretch of the status feed, with a plausible energy.

    A car draws 40-90 % of the point's power (battery and cable limits); a few sessions fail at once
    (under 3 minutes, under 0.5 kWh) so that the success share is not trivially 100 %.
    """
    power = {pdc_id(a): float(a.properties["max_power_kw"]) for a in ev_assets(city)}
    since: dict[str, datetime] = {}
    for row in dynamic_rows(city, start, end):
        pdc, at = row["id_pdc_itinerance"], datetime.fromisoformat(row["horodatage"])
        began = since.pop(pdc, None)
        if row["occupation_pdc"] == "occupe":
            since[pdc] = at
        if began is None:
            continue
        rng = seeded(f"{city.seed}-{pdc}-{began.isoformat()}")
        if rng.random() < FAILED_SHARE:
            seconds = rng.randint(20, 150)
            finish = began + timedelta(seconds=seconds)
            energy = rng.uniform(0.0, min(0.3, power[pdc] * 0.9 * seconds / 3600))
        else:
            finish = at
            energy = power[pdc] * rng.uniform(0.4, 0.9) * (at - began).total_seconds() / 3600
        yield {
            "id_session": f"{pdc}-{int(began.timestamp())}",
            "id_pdc_itinerance": pdc,
            "start": began.isoformat(),
            "end": finish.isoformat(),
            "energy": f"{energy:.3f}",
        }


def write_static(city: City, folder: Path, updated: date) -> Path:
    """Write irve-statique.csv into folder; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "irve-statique.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=STATIC_FIELDS)
        writer.writeheader()
        writer.writerows(static_rows(city, updated))
    return path


def write_feeds(city: City, folder: Path, start: datetime, end: datetime) -> tuple[Path, Path, int, int]:
    """Write irve-statique.csv, irve-dynamique.csv and irve-sessions.csv into folder; paths and counts."""
    static_path = write_static(city, folder, end.date())
    dynamic_path = folder / "irve-dynamique.csv"
    n_static = len(ev_assets(city))
    changes = 0
    with dynamic_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(DYNAMIC_FIELDS))
        writer.writeheader()
        for change in dynamic_rows(city, start, end):
            writer.writerow(change)
            changes += 1
    with (folder / "irve-sessions.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SESSION_FIELDS))
        writer.writeheader()
        writer.writerows(session_rows(city, start, end))
    return static_path, dynamic_path, n_static, changes
