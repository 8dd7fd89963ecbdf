"""Groupings of communes (EPCI): group areas built from a commune-to-group table."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely import unary_union
from shapely.geometry import mapping, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.territory.models import Area
from territoria.territory.service import PACKAGED, TerritoryError
from territoria.validation.tabular import decode, sniff_delimiter

DEFAULT_EPCI = PACKAGED / "epci-06.csv"
COMMUNE = "commune"
# One parent per commune (Area.parent_code): EPCIs partition the communes, other groupings may not.
GROUP_LEVELS = ("epci",)
# Column names accepted for (commune code, group code, group name): ours first, then INSEE's
# "table d'appartenance géographique des communes" (CODGEO, EPCI, LIBEPCI) and DGCL's epcicom (insee, siren).
COMMUNE_COLUMNS = ("commune", "codgeo", "code_insee", "insee")
GROUP_COLUMNS = ("epci", "group", "siren", "siren_epci")
NAME_COLUMNS = ("epci_name", "libepci", "group_name", "raison_sociale", "nom_epci")
# Merged outlines are simplified by about 20 m: enough for maps, and keeps pages light.
SIMPLIFY_DEGREES = 0.0002


@dataclass(frozen=True)
class GroupReport:
    """What a group load did."""

    level: str
    groups: int
    communes: int
    unknown_communes: list[str]
    ungrouped_communes: list[str]


def _column(fields: list[str], choices: tuple[str, ...], what: str, path: Path) -> str:
    """The first header (case-insensitive) among `choices`, or an error naming the accepted ones."""
    lowered = {f.strip().lower(): f for f in fields}
    for choice in choices:
        if choice in lowered:
            return lowered[choice]
    raise TerritoryError(
        f"{path}: no {what} column; expected one of {', '.join(choices)} (found {', '.join(fields)})"
    )


def read_membership(path: Path) -> dict[str, tuple[str, str]]:
    """Commune code -> (group code, group name) from a CSV read as every CSV file is (validation/tabular.py):
    ',' ';' tab or '|', UTF-8 with or without BOM, else Windows-1252."""
    try:
        text, _ = decode(path.read_bytes())
    except OSError as exc:
        raise TerritoryError(f"{path}: not a readable CSV file ({exc})") from exc
    sep = sniff_delimiter(text.partition("\n")[0])
    reader = csv.DictReader(text.splitlines(), delimiter=sep)
    fields = list(reader.fieldnames or [])
    commune = _column(fields, COMMUNE_COLUMNS, "commune code", path)
    group = _column(fields, GROUP_COLUMNS, "group code", path)
    name = next((f for f in fields if f.strip().lower() in NAME_COLUMNS), None)
    out: dict[str, tuple[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        code, owner = (row.get(commune) or "").strip(), (row.get(group) or "").strip()
        if not code or not owner:
            raise TerritoryError(f"{path}, line {line}: a commune code and a group code are both needed")
        if code in out and out[code][0] != owner:
            raise TerritoryError(f"{path}, line {line}: commune {code} is given two groups")
        out[code] = (owner, ((row.get(name) or "") if name else "").strip() or owner)
    if not out:
        raise TerritoryError(f"{path}: no rows")
    return out


def _merged(geometries: list[dict[str, Any]]) -> dict[str, Any]:
    """The union of commune outlines as a GeoJSON geometry."""
    shapes = [shape(g) for g in geometries]
    merged = unary_union([s if s.is_valid else s.buffer(0) for s in shapes])
    return dict(mapping(merged.simplify(SIMPLIFY_DEGREES, preserve_topology=True)))


def load_groups(session: Session, path: Path, *, level: str = "epci") -> GroupReport:
    """Build the group areas of a level from a commune membership CSV, and link communes to them."""
    if level not in GROUP_LEVELS:
        raise TerritoryError(f"level must be one of {', '.join(GROUP_LEVELS)}, not {level!r}")
    membership = read_membership(path)
    communes = {a.code: a for a in session.scalars(select(Area).where(Area.level == COMMUNE))}
    if not communes:
        raise TerritoryError("no commune is loaded: run `territoria territory load COMMUNES.geojson` first")
    members: dict[str, list[Area]] = defaultdict(list)
    names: dict[str, str] = {}
    for code, (owner, name) in membership.items():
        if code in communes:
            members[owner].append(communes[code])
            names[owner] = name
    if not members:
        raise TerritoryError(
            f"{path}: none of its communes is in the territory (e.g. {next(iter(membership))})"
        )
    existing = {a.code: a for a in session.scalars(select(Area).where(Area.level == level))}
    for stale in existing.keys() - members.keys():
        session.delete(existing[stale])
    for owner, parts in sorted(members.items()):
        geometry = _merged([c.geometry for c in parts])
        min_lon, min_lat, max_lon, max_lat = shape(geometry).bounds
        group = existing.get(owner) or Area(code=owner, level=level)
        group.name = names[owner]
        group.geometry = geometry
        group.min_lon, group.min_lat, group.max_lon, group.max_lat = min_lon, min_lat, max_lon, max_lat
        pops = [c.population for c in parts if c.population is not None]
        group.population = sum(pops) if len(pops) == len(parts) else None  # a partial sum would mislead
        surfaces = [c.area_km2 for c in parts if c.area_km2 is not None]
        group.area_km2 = round(sum(surfaces), 6) if len(surfaces) == len(parts) else None
        session.add(group)
        for c in parts:
            c.parent_code = owner
    for code, c in communes.items():
        if code not in membership and c.parent_code in existing:
            c.parent_code = None
    session.flush()
    return GroupReport(
        level=level,
        groups=len(members),
        communes=sum(len(p) for p in members.values()),
        unknown_communes=sorted(membership.keys() - communes.keys()),
        ungrouped_communes=sorted(communes.keys() - membership.keys()),
    )


def group_of(session: Session, level: str = "epci") -> dict[str, str]:
    """Commune code -> the code of its group at `level` (communes outside every group are left out)."""
    groups = set(session.scalars(select(Area.code).where(Area.level == level)))
    rows = session.execute(select(Area.code, Area.parent_code).where(Area.level == COMMUNE))
    return {code: parent for code, parent in rows if parent in groups}
