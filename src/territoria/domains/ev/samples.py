"""Deterministic IRVE static files with injected faults, for tests and benchmarks (pure, seeded)."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

from territoria.domains.ev.irve_schema import irve_example, irve_static_schema

# fault kind -> (field, bad value); every one breaks exactly one constraint of the IRVE static schema
FAULTS: dict[str, tuple[str, str]] = {
    "type_integer": ("nbre_pdc", "dix"),
    "type_number": ("puissance_nominale", "22kW"),
    "required": ("nom_station", ""),
    "enum": ("implantation_station", "Trottoir"),
    "pattern_siren": ("siren_amenageur", "12345"),
    "pattern_id": ("id_pdc_itinerance", "fr-123"),
    "range": ("puissance_nominale", "-3.5"),
    "date_calendar": ("date_maj", "2021-02-30"),
    "date_format": ("date_maj", "05/04/2021"),
    "boolean": ("prise_type_2", "oui"),
    "geopoint_range": ("coordonneesXY", "[48.3,200.5]"),
    "geopoint_shape": ("coordonneesXY", "[7.4]"),
    "geopoint_text": ("coordonneesXY", "7.25, 43.7"),
    "email": ("contact_operateur", "contact-at-example"),
}
# unusual spellings that are still valid: they exercise the reference readers
ODD_BUT_VALID: dict[str, tuple[str, str]] = {
    "number_spaces": ("puissance_nominale", " 22 "),
    "number_exponent": ("puissance_nominale", "2.2e1"),
    "date_unpadded": ("date_maj", "2021-4-5"),
    "geopoint_spaces": ("coordonneesXY", "[ 7.25 , 43.7 ]"),
    "integer_plus": ("nbre_pdc", "+4"),
}
_IMPLANTATION = [
    "Voirie",
    "Parking public",
    "Parking privé à usage public",
    "Station dédiée à la recharge rapide",
]
_PMR = ["Réservé PMR", "Accessible mais non réservé PMR", "Non accessible", "Accessibilité inconnue"]
_HORAIRES = ["24/7", "Mo-Fr 08:00-19:00", "Mo-Su 06:00-22:00", "Mo-Fr 08:00-12:00,Mo-Fr 14:00-18:00"]


def _base_rows() -> list[dict[str, str]]:
    """The official example rows."""
    return list(csv.DictReader(io.StringIO(irve_example("statique"))))


def irve_static_rows(
    n: int, *, seed: int = 6, fault_rate: float = 0.0, duplicates: int = 0
) -> list[dict[str, str]]:
    """`n` IRVE static rows (text cells), varied around the example, with seeded faults.

    A share `fault_rate` of rows gets one or two faults from FAULTS; as many rows again get an unusual
    but valid spelling; `duplicates` rows reuse an earlier row's id_pdc_itinerance.
    """
    rng = random.Random(seed)  # noqa: S311 - seeded test data, not secrets
    base = _base_rows()[0]
    rows: list[dict[str, str]] = []
    for i in range(n):
        row = dict(base)
        station = i // 4
        row["id_station_itinerance"] = f"FRA68P{station:07d}"
        row["id_pdc_itinerance"] = f"FRA68E{i:09d}"
        row["nom_station"] = f"Station {station}"
        row["nbre_pdc"] = "4"
        row["coordonneesXY"] = f"[{rng.uniform(6.7, 7.5):.6f},{rng.uniform(43.5, 44.2):.6f}]"
        row["puissance_nominale"] = rng.choice(["3.7", "7.4", "11", "22", "50", "150", "350"])
        row["implantation_station"] = rng.choice(_IMPLANTATION)
        row["accessibilite_pmr"] = rng.choice(_PMR)
        row["horaires"] = rng.choice(_HORAIRES)
        row["code_insee_commune"] = f"06{rng.randint(1, 163):03d}"
        row["date_maj"] = f"20{rng.randint(19, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        row["date_mise_en_service"] = (
            f"20{rng.randint(12, 19)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
        for name in ("prise_type_2", "prise_type_combo_ccs", "gratuit", "reservation"):
            row[name] = rng.choice(["true", "false"])
        row["contact_operateur"] = f"support@operateur-{station % 50}.fr"
        if rng.random() < fault_rate:
            for kind in rng.sample(sorted(FAULTS), rng.choice([1, 1, 2])):
                name, value = FAULTS[kind]
                row[name] = value
        elif rng.random() < fault_rate:
            name, value = ODD_BUT_VALID[rng.choice(sorted(ODD_BUT_VALID))]
            row[name] = value
        rows.append(row)
    for _ in range(min(duplicates, max(n - 1, 0))):
        j = rng.randrange(1, n)
        rows[j]["id_pdc_itinerance"] = rows[rng.randrange(0, j)]["id_pdc_itinerance"]
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    """Rows as CSV text with the schema's header order."""
    names = [f["name"] for f in irve_static_schema()["fields"]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as columns (name → cells), the engine's input."""
    names = list(rows[0]) if rows else []
    return {name: [r.get(name) for r in rows] for name in names}
