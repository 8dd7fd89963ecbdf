"""Registered electric vehicles per commune, for the AFIR fleet-based target (1.3 kW per BEV, 0.8 per PHEV).

Kept as a records dataset (`ev-fleet`, one row per commune and date) so that imports get the schema
checks, the quarantine and the access rules. France publishes these counts per commune (SDES, "voitures
particulières immatriculées par commune et par type d'énergie"); its file gives battery-electric and
plug-in hybrid cars together (`nb_vp_rechargeables_el`): such a count is taken as battery-electric, which
makes the target an upper bound, and the import says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.catalog.models import Dataset, Organisation
from territoria.catalog.schemas import DatasetCreate
from territoria.catalog.service import create_dataset
from territoria.errors import Invalid
from territoria.ingest.models import Record
from territoria.ingest.parsers import BadRow, Row

FLEET_DATASET = "ev-fleet"
COLUMNS = ("code_insee", "date_arrete", "bev", "phev")
# header (lower case) -> our column; the SDES names first, then plain ones
ALIASES = {
    "codgeo": "code_insee",
    "code_commune": "code_insee",
    "commune": "code_insee",
    "code_insee": "code_insee",
    "date_arrete": "date_arrete",
    "date": "date_arrete",
    "bev": "bev",
    "nb_vp_electriques": "bev",
    "phev": "phev",
    "nb_vp_hybrides_rechargeables": "phev",
}
COMBINED = "nb_vp_rechargeables_el"  # SDES: battery-electric and plug-in hybrid cars together


def fleet_schema() -> dict[str, Any]:
    """The Table Schema of the fleet dataset."""
    count = {"type": "integer", "constraints": {"required": True, "minimum": 0}}
    return {
        "name": "territoria-ev-fleet",
        "title": "Véhicules électriques immatriculés par commune / registered EVs per commune",
        "fields": [
            {
                "name": "code_insee",
                "type": "string",
                "description": "INSEE code of the commune",
                "constraints": {"required": True, "pattern": "^[0-9][0-9AB][0-9]{3}$"},
            },
            {
                "name": "date_arrete",
                "type": "date",
                "description": "count date",
                "constraints": {"required": True},
            },
            {**count, "name": "bev", "description": "battery-electric cars"},
            {**count, "name": "phev", "description": "plug-in hybrid cars"},
        ],
        "primaryKey": ["code_insee", "date_arrete"],
        "missingValues": [""],
    }


def ensure_fleet_dataset(session: Session, owner: Organisation, slug: str = FLEET_DATASET) -> Dataset:
    """The fleet dataset, created when missing (open: the national counts are open data)."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        body = DatasetCreate(
            slug=slug,
            title="Véhicules électriques par commune",
            description="Voitures électriques et hybrides rechargeables immatriculées, par commune et par "
            "date (pour l'objectif AFIR fondé sur le parc).",
            titles={"fr": "Véhicules électriques par commune", "en": "Electric vehicles per commune"},
            descriptions={
                "fr": "Voitures électriques et hybrides rechargeables immatriculées, par commune et par "
                "date (pour l'objectif AFIR fondé sur le parc).",
                "en": "Registered battery-electric and plug-in hybrid cars per commune and date (for the "
                "AFIR fleet-based target).",
            },
            domain="ev",
            kind="records",
            access="open",
            table_schema=fleet_schema(),
            keywords=["irve", "afir", "véhicules électriques"],
        )
        ds = create_dataset(session, body, owner)
        session.flush()
    elif {f.get("name") for f in (ds.table_schema or {}).get("fields", [])} != set(COLUMNS):
        raise Invalid(f"dataset '{slug}' exists but does not hold EV counts: choose another --dataset")
    return ds


# A note on what the import assumed: a catalog code (`ev.cli.fleet_note.…`) and its parameters.
Note = tuple[str, tuple[tuple[str, str], ...]]


def note_text(note: Note, lang: str = "en") -> str:
    """A note in `lang` (English for the command's JSON line)."""
    return i18n.message(note[0], dict(note[1]), lang)


def fleet_rows(rows: Iterable[Row], default_date: str) -> tuple[list[Row], list[Note]]:
    """Rows renamed to the schema's columns (SDES or plain headers), and notes on what was assumed."""
    notes: set[Note] = set()
    out: list[Row] = []
    for n, raw in rows:
        if isinstance(raw, BadRow):
            out.append((n, raw))
            continue
        row = {ALIASES[k.strip().lower()]: v for k, v in raw.items() if k.strip().lower() in ALIASES}
        combined = next((v for k, v in raw.items() if k.strip().lower() == COMBINED), None)
        if combined is not None and "bev" not in row:
            row["bev"], row["phev"] = combined, "0"
            notes.add(("ev.cli.fleet_note.combined", (("column", COMBINED),)))
        if not row.get("date_arrete"):
            row["date_arrete"] = default_date
            notes.add(("ev.cli.fleet_note.no_date", (("date", default_date),)))
        row.setdefault("phev", "0")
        out.append((n, {c: row.get(c, "") for c in COLUMNS}))
    return out, sorted(notes)


def fleet_by_commune(session: Session, slug: str = FLEET_DATASET) -> dict[str, tuple[int, int]]:
    """The latest (battery-electric, plug-in hybrid) counts of each commune; empty when none are loaded."""
    ds_id = session.scalar(select(Dataset.id).where(Dataset.slug == slug))
    if ds_id is None:
        return {}
    latest: dict[str, tuple[str, int, int]] = {}
    for data in session.scalars(select(Record.data).where(Record.dataset_id == ds_id)):
        code, when = str(data.get("code_insee")), str(data.get("date_arrete"))
        if code not in latest or when > latest[code][0]:
            latest[code] = (when, int(data.get("bev") or 0), int(data.get("phev") or 0))
    return {code: (bev, phev) for code, (_, bev, phev) in latest.items()}


def grouped(fleet: Mapping[str, tuple[int, int]], owner_of: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """Counts summed per group of communes (an EPCI, or the territory when every commune maps to one code)."""
    out: dict[str, tuple[int, int]] = {}
    for code, (bev, phev) in fleet.items():
        if code in owner_of:
            b, p = out.get(owner_of[code], (0, 0))
            out[owner_of[code]] = (b + bev, p + phev)
    return out
