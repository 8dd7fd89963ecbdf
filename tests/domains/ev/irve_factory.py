"""IRVE static rows at commune coordinates of the Alpes-Maritimes, with a chosen set of data defects.

Every defect keeps the row valid against the IRVE schema (so it is imported) and triggers exactly one
check code of `territoria.domains.ev.checks`.
"""

from __future__ import annotations

from collections.abc import Callable

from territoria.domains.ev.samples import irve_static_rows, to_csv

# name -> (INSEE code, lon, lat): points at least 300 m inside each (simplified) commune boundary
COMMUNES: dict[str, tuple[str, float, float]] = {
    "Nice": ("06088", 7.262, 43.703),
    "Cannes": ("06029", 7.0049, 43.5519),
    "Antibes": ("06004", 7.1052, 43.5876),
    "Grasse": ("06069", 6.932, 43.6559),
    "Menton": ("06083", 7.4934, 43.7918),
}
Row = dict[str, str]


# An open IRVE static dataset: its charge points are public by law, so the observatory shows them to all.
OPEN_IRVE_DATASET = {
    "slug": "irve",
    "title": "irve",
    "domain": "ev",
    "kind": "records",
    "schema": "irve-statique",
    "access": "open",
}


def _swap(row: Row) -> None:
    lon, lat = row["coordonneesXY"].strip("[]").split(",")
    row["coordonneesXY"] = f"[{lat},{lon}]"


def _insee(row: Row) -> None:
    row["code_insee_commune"] = "06088" if row["code_insee_commune"] != "06088" else "06029"


def _siren(row: Row) -> None:
    row["siren_amenageur"] = "130025266"  # nine digits (schema-valid), wrong Luhn key


def _ids(row: Row) -> None:
    row["id_pdc_itinerance"] = row["id_pdc_itinerance"].replace("E", "X", 1)


def _power(row: Row) -> None:
    row["puissance_nominale"] = "22000"  # 22 kW written in W


def _nbre(row: Row) -> None:
    row["nbre_pdc"] = "150"


DEFECTS: dict[str, Callable[[Row], None]] = {
    "LONLAT_SWAPPED": _swap,
    "INSEE_MISMATCH": _insee,
    "SIREN_INVALID": _siren,
    "ID_INCONSISTENT": _ids,
    "POWER_IMPLAUSIBLE": _power,
    "NBRE_PDC_IMPLAUSIBLE": _nbre,
}


def pdc_id(station: int, point: int) -> str:
    """The id_pdc_itinerance the factory gives a point."""
    return f"FRA68E06{station:04d}{point}"


def irve_rows(stations: int = 5, per_station: int = 2, defects: dict[str, int] | None = None) -> list[Row]:
    """Clean rows (station i in the i-th commune, cycling), then `defects` (code -> row index) applied."""
    names = list(COMMUNES)
    rows = irve_static_rows(stations * per_station)
    for i, row in enumerate(rows):
        station, point = divmod(i, per_station)
        insee, lon, lat = COMMUNES[names[station % len(names)]]
        row.update(
            id_station_itinerance=f"FRA68P06{station:04d}",
            id_pdc_itinerance=pdc_id(station, point),
            nom_station=f"Station {station}",
            nbre_pdc=str(per_station),
            code_insee_commune=insee,
            coordonneesXY=f"[{lon + point * 0.0001:.6f},{lat:.6f}]",
            adresse_station=f"{station} rue de la Recharge {insee}",
            puissance_nominale="22",
            siren_amenageur="130025265",
        )
    for code, index in (defects or {}).items():
        DEFECTS[code](rows[index])
    return rows


def irve_csv(stations: int = 5, per_station: int = 2, defects: dict[str, int] | None = None) -> str:
    """`irve_rows` as CSV text in the schema's column order."""
    return to_csv(irve_rows(stations, per_station, defects))
