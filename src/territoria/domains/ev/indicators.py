"""Static EV indicators per area: charge points, stations, power, densities, classes and AFIR ratio."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from territoria.domains.ev.model import ChargePoint

TERRITORY = "territory"
FAST_KW = 50.0
# EU AFIR (Regulation 2023/1804, art. 3): publicly accessible power per registered vehicle.
AFIR_KW_PER_BEV = 1.3
AFIR_KW_PER_PHEV = 0.8

# The classes, in order; note [7.4, 22] is closed on both ends and (22, 50) open on both.
POWER_CLASSES: tuple[str, ...] = ("0-7.4", "7.4-22", "22-50", "50-150", "150-350", "350+")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class AreaFacts:
    """What indicators need to know of an area."""

    code: str
    name: str
    population: int | None = None
    area_km2: float | None = None


@dataclass
class AreaIndicators:
    """Static indicators of one area (a commune or the whole territory)."""

    code: str
    name: str
    population: int | None
    area_km2: float | None
    charge_points: int = 0
    stations: int = 0
    installed_kw: float = 0.0
    fast_chargers: int = 0
    public_charge_points: int = 0
    by_power_class: dict[str, int] = field(default_factory=dict)
    by_implantation: dict[str, int] = field(default_factory=dict)
    per_100k: dict[str, float | None] = field(default_factory=dict)
    per_km2: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class AfirRatio:
    """Installed public power of an area against the AFIR fleet target."""

    code: str
    bev: int
    phev: int
    required_kw: float
    installed_kw: float
    ratio: float | None  # installed / required; None when no vehicle is registered


def power_class(kw: float | None) -> str:
    """The power class of a nominal power in kW ("unknown" when missing)."""
    if kw is None:
        return UNKNOWN
    if kw < 7.4:
        return "0-7.4"
    if kw <= 22:
        return "7.4-22"
    if kw < 50:
        return "22-50"
    if kw < 150:
        return "50-150"
    if kw < 350:
        return "150-350"
    return "350+"


def is_public(access: str | None) -> bool:
    """True for IRVE `condition_acces` "Accès libre"; "Accès réservé" and a missing value are not public."""
    if not access:
        return False
    plain = unicodedata.normalize("NFKD", access).encode("ascii", "ignore").decode().strip().lower()
    return plain.startswith("acces libre") or plain == "libre"


def is_fast(point: ChargePoint) -> bool:
    """A fast charger: 50 kW or more."""
    return point.power_kw is not None and point.power_kw >= FAST_KW


def _ratio(value: float, base: float | None, scale: float = 1.0) -> float | None:
    """value / base × scale, None when the base is unknown or zero."""
    if not base:
        return None
    return value / base * scale


def summarise(facts: AreaFacts, points: Iterable[ChargePoint]) -> AreaIndicators:
    """Indicators of one area from the points located in it."""
    pts = list(points)
    out = AreaIndicators(facts.code, facts.name, facts.population, facts.area_km2)
    out.charge_points = len(pts)
    out.stations = len({p.id_station for p in pts})
    out.installed_kw = round(sum(p.power_kw or 0.0 for p in pts), 3)
    out.fast_chargers = sum(1 for p in pts if is_fast(p))
    out.public_charge_points = sum(1 for p in pts if is_public(p.access))
    classes = Counter(power_class(p.power_kw) for p in pts)
    out.by_power_class = {c: classes.get(c, 0) for c in (*POWER_CLASSES, UNKNOWN)}
    out.by_implantation = dict(sorted(Counter(p.implantation or UNKNOWN for p in pts).items()))
    counts = {
        "charge_points": float(out.charge_points),
        "stations": float(out.stations),
        "installed_kw": out.installed_kw,
    }
    out.per_100k = {k: _ratio(v, facts.population, 100_000) for k, v in counts.items()}
    out.per_km2 = {k: _ratio(v, facts.area_km2) for k, v in counts.items()}
    return out


def by_commune(points: Iterable[ChargePoint], areas: Sequence[AreaFacts]) -> list[AreaIndicators]:
    """One row per commune (all of them, zeros included); points outside every commune are left out."""
    groups: dict[str, list[ChargePoint]] = {a.code: [] for a in areas}
    for p in points:
        if p.area_code in groups:
            groups[p.area_code].append(p)
    return [summarise(a, groups[a.code]) for a in sorted(areas, key=lambda a: a.code)]


def by_group(
    points: Iterable[ChargePoint], groups: Sequence[AreaFacts], group_of: Mapping[str, str]
) -> list[AreaIndicators]:
    """One row per group of communes (e.g. EPCI): the points of its member communes."""
    members: dict[str, list[ChargePoint]] = {g.code: [] for g in groups}
    for p in points:
        owner = group_of.get(p.area_code or "")
        if owner in members:
            members[owner].append(p)
    return [summarise(g, members[g.code]) for g in sorted(groups, key=lambda g: g.code)]


def territory_facts(areas: Sequence[AreaFacts], name: str = "Territory") -> AreaFacts:
    """The whole territory as one area: sums of the communes' populations and surfaces."""
    pops = [a.population for a in areas if a.population is not None]
    surfaces = [a.area_km2 for a in areas if a.area_km2 is not None]
    return AreaFacts(
        TERRITORY, name, sum(pops) if pops else None, round(sum(surfaces), 6) if surfaces else None
    )


def for_territory(
    points: Iterable[ChargePoint], areas: Sequence[AreaFacts], name: str = "Territory"
) -> AreaIndicators:
    """The territory's row: the points located in any of its communes."""
    codes = {a.code for a in areas}
    return summarise(territory_facts(areas, name), (p for p in points if p.area_code in codes))


def afir_ratios(
    points: Iterable[ChargePoint],
    fleet: Mapping[str, tuple[int, int]],
    area_of: Callable[[ChargePoint], str | None] = lambda p: p.area_code,
) -> dict[str, AfirRatio]:
    """Public installed kW per area (the commune, unless `area_of` says otherwise) against 1.3 kW per
    battery EV and 0.8 kW per plug-in hybrid."""
    installed: dict[str, float] = {}
    for p in points:
        code = area_of(p)
        if code is not None and code in fleet and is_public(p.access):
            installed[code] = installed.get(code, 0.0) + (p.power_kw or 0.0)
    out: dict[str, AfirRatio] = {}
    for code, (bev, phev) in fleet.items():
        required = round(bev * AFIR_KW_PER_BEV + phev * AFIR_KW_PER_PHEV, 3)
        have = round(installed.get(code, 0.0), 3)
        out[code] = AfirRatio(code, bev, phev, required, have, _ratio(have, required))
    return out
