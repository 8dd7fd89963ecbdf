"""Data-defect checks of consolidated IRVE charge points, learned from the national consolidation.

Each check is pure (no I/O), has a stable code and yields findings; none of them fixes anything: a
correction is only ever *proposed* (`proposed_fix`, IRVE field name -> value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from territoria import i18n
from territoria.catalog.types import check_siren
from territoria.domains.ev.model import ChargePoint
from territoria.validation.model import Severity

# (lon, lat) -> commune code, or None outside the territory (e.g. `AreaLocator.locate`)
Locate = Callable[[float, float], str | None]

# Boxes (lon_min, lat_min, lon_max, lat_max) of metropolitan France with Corsica and of the overseas
# departments: beyond the territory, "inside France" is what tells a swapped pair from a foreign one.
FRANCE_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (-5.3, 41.3, 9.7, 51.2),  # metropolitan France and Corsica
    (-61.9, 15.8, -60.9, 16.6),  # Guadeloupe
    (-61.3, 14.3, -60.8, 14.9),  # Martinique
    (-54.7, 2.1, -51.6, 5.8),  # Guyane
    (55.2, -21.4, 55.9, -20.8),  # La Réunion
    (44.9, -13.1, 45.4, -12.6),  # Mayotte
)
POWER_MIN_KW = 1.3
POWER_MAX_KW = 4000.0
NBRE_PDC_MAX = 100
ID_PREFIX = 5  # country (2) + operator (3), e.g. FRA68


@dataclass(frozen=True)
class Finding:
    """A defect found on one charge point, its message a catalog code (`ev.finding.…`) and parameters,
    with an optional proposed fix."""

    code: str
    severity: Severity
    id_pdc: str
    field: str
    message_code: str
    params: dict[str, Any]
    proposed_fix: dict[str, Any] | None = None

    def message(self, lang: str) -> str:
        """The message in `lang`, from the catalogs."""
        return i18n.message(self.message_code, self.params, lang)

    @property
    def message_en(self) -> str:
        """The English message."""
        return self.message("en")

    @property
    def message_fr(self) -> str:
        """The French message."""
        return self.message("fr")


def in_france(lon: float, lat: float) -> bool:
    """Whether (lon, lat) falls in one of the boxes of France."""
    return any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in FRANCE_BOXES)


def _inside(lon: float, lat: float, locate: Locate | None) -> bool:
    """In the territory (when a locator is given) or in France."""
    # The boxes first: they answer for nearly every point without a polygon test.
    return in_france(lon, lat) or (locate is not None and locate(lon, lat) is not None)


def check_lonlat_swapped(cp: ChargePoint, locate: Locate | None = None) -> Iterator[Finding]:
    """LONLAT_SWAPPED: outside the territory and France, but the swapped pair falls inside."""
    if cp.lon is None or cp.lat is None or _inside(cp.lon, cp.lat, locate):
        return
    if _inside(cp.lat, cp.lon, locate):
        yield Finding(
            "LONLAT_SWAPPED",
            "error",
            cp.id_pdc,
            "coordonneesXY",
            "ev.finding.LONLAT_SWAPPED",
            {"lon": str(cp.lon), "lat": str(cp.lat)},
            {"coordonneesXY": [cp.lat, cp.lon]},
        )


def check_insee_mismatch(cp: ChargePoint) -> Iterator[Finding]:
    """INSEE_MISMATCH: the declared commune differs from the one found from the coordinates."""
    if cp.insee_declared and cp.area_code and cp.insee_declared != cp.area_code:
        yield Finding(
            "INSEE_MISMATCH",
            "warning",
            cp.id_pdc,
            "code_insee_commune",
            "ev.finding.INSEE_MISMATCH",
            {"declared": cp.insee_declared, "located": cp.area_code},
            {"code_insee_commune": cp.area_code},
        )


def check_siren_invalid(cp: ChargePoint) -> Iterator[Finding]:
    """SIREN_INVALID: siren_amenageur is not nine digits with a valid Luhn checksum."""
    if not cp.owner_siren:
        return
    try:
        check_siren(cp.owner_siren)
    except ValueError:
        yield Finding(
            "SIREN_INVALID",
            "error",
            cp.id_pdc,
            "siren_amenageur",
            "ev.finding.SIREN_INVALID",
            {"siren": cp.owner_siren},
        )


def _id_problem(id_station: str, id_pdc: str) -> tuple[str, str, dict[str, Any]] | None:
    """(field, message code, parameters) of the first inconsistency of the two itinerance ids, or None."""
    station, pdc = id_station.upper(), id_pdc.upper()
    if len(station) <= ID_PREFIX or station[ID_PREFIX] != "P":
        return "id_station_itinerance", "ev.finding.ID_INCONSISTENT.station", {"id": id_station}
    if len(pdc) <= ID_PREFIX or pdc[ID_PREFIX] != "E":
        return "id_pdc_itinerance", "ev.finding.ID_INCONSISTENT.pdc", {"id": id_pdc}
    if station[:ID_PREFIX] != pdc[:ID_PREFIX]:
        prefixes = {"pdc": pdc[:ID_PREFIX], "station": station[:ID_PREFIX]}
        return "id_pdc_itinerance", "ev.finding.ID_INCONSISTENT.prefix", prefixes
    return None


def check_id_inconsistent(cp: ChargePoint) -> Iterator[Finding]:
    """ID_INCONSISTENT: station id needs P and point id E after one shared 5-character operator prefix."""
    if "Non concerné" in (cp.id_station, cp.id_pdc):  # allowed by the schema for non-roaming points
        return
    if problem := _id_problem(cp.id_station, cp.id_pdc):
        field, code, params = problem
        yield Finding("ID_INCONSISTENT", "error", cp.id_pdc, field, code, params)


def check_power_implausible(cp: ChargePoint) -> Iterator[Finding]:
    """POWER_IMPLAUSIBLE: puissance_nominale below 1.3 kW or above 4,000 kW (a value in W gets /1000)."""
    kw = cp.power_kw
    if kw is None or POWER_MIN_KW <= kw <= POWER_MAX_KW:
        return
    fix: dict[str, Any] | None = None
    code = "ev.finding.POWER_IMPLAUSIBLE"
    params = {"kw": f"{kw:g}", "min": f"{POWER_MIN_KW:g}", "max": f"{POWER_MAX_KW:g}"}
    if kw > POWER_MAX_KW and POWER_MIN_KW <= kw / 1000 <= POWER_MAX_KW:
        fix = {"puissance_nominale": kw / 1000}
        code, params = "ev.finding.POWER_IMPLAUSIBLE.watts", params | {"in_kw": f"{kw / 1000:g}"}
    yield Finding("POWER_IMPLAUSIBLE", "error", cp.id_pdc, "puissance_nominale", code, params, fix)


def check_nbre_pdc_implausible(cp: ChargePoint, seen: int | None = None) -> Iterator[Finding]:
    """NBRE_PDC_IMPLAUSIBLE: nbre_pdc below 1, above 100, or not the `seen` count of the station's points."""
    n = cp.nbre_pdc
    if n is None:
        return
    params: dict[str, Any] = {"nbre_pdc": n}
    if n < 1 or n > NBRE_PDC_MAX:
        code, params = "ev.finding.NBRE_PDC_IMPLAUSIBLE.range", params | {"max": NBRE_PDC_MAX}
    elif seen is not None and n != seen:
        code = "ev.finding.NBRE_PDC_IMPLAUSIBLE.count"
        params |= {"seen": seen, "station": cp.id_station}
    else:
        return
    fix = {"nbre_pdc": seen} if seen else None
    yield Finding("NBRE_PDC_IMPLAUSIBLE", "warning", cp.id_pdc, "nbre_pdc", code, params, fix)


CODES = (
    "LONLAT_SWAPPED",
    "INSEE_MISMATCH",
    "SIREN_INVALID",
    "ID_INCONSISTENT",
    "POWER_IMPLAUSIBLE",
    "NBRE_PDC_IMPLAUSIBLE",
)


def _siren_ok(value: str, known: dict[str, bool]) -> bool:
    """Whether a SIREN passes `check_siren`, remembered in `known` (a few owners own many points)."""
    ok = known.get(value)
    if ok is None:
        try:
            check_siren(value)
            ok = True
        except ValueError:
            ok = False
        known[value] = ok
    return ok


def run_checks(
    points: Iterable[ChargePoint],
    stations: Mapping[str, list[str]] | None = None,
    locate: Locate | None = None,
) -> list[Finding]:
    """Every check on every point; `stations` (id_station -> point ids) feeds the nbre_pdc count.

    The same findings, in the same order, as running each `check_*` on each point; the checks are only
    called for points that a few plain comparisons cannot clear (nearly all points are clean).
    """
    found: list[Finding] = []
    add = found.extend
    sizes = {k: len(v) for k, v in stations.items()} if stations else {}
    sirens: dict[str, bool] = {}
    metro_x0, metro_y0, metro_x1, metro_y1 = FRANCE_BOXES[0]
    for cp in points:
        lon, lat = cp.lon, cp.lat
        if (
            lon is not None
            and lat is not None
            and not (metro_x0 <= lon <= metro_x1 and metro_y0 <= lat <= metro_y1)
            and not in_france(lon, lat)
        ):
            add(check_lonlat_swapped(cp, locate))
        if cp.insee_declared and cp.area_code and cp.insee_declared != cp.area_code:
            add(check_insee_mismatch(cp))
        siren = cp.owner_siren
        if siren and (type(siren) is not str or not _siren_ok(siren, sirens)):
            add(check_siren_invalid(cp))
        if "Non concerné" not in (cp.id_station, cp.id_pdc) and _id_problem(cp.id_station, cp.id_pdc):
            add(check_id_inconsistent(cp))
        kw = cp.power_kw
        if kw is not None and not POWER_MIN_KW <= kw <= POWER_MAX_KW:
            add(check_power_implausible(cp))
        n = cp.nbre_pdc
        if n is not None:
            seen = sizes.get(cp.id_station)
            if n < 1 or n > NBRE_PDC_MAX or (seen is not None and n != seen):
                add(check_nbre_pdc_implausible(cp, seen))
    return found
