"""Former IRVE static versions: recognise a file's version from its header and bring it to v2.3.

What the versions differ in (etalab/schema-irve, CHANGELOG and the published schemas):

* v1.0.x (2018-2019), 17 columns: `n_amenageur`, `n_operateur`, `n_enseigne`, `id_station`, `n_station`,
  `ad_station`, `code_insee`, `Xlongitude`, `Ylatitude`, `nbre_pdc`, `id_pdc`, `puiss_max`, `type_prise`
  (free text "E/F, T2"), `acces_recharge`, `accessibilité`, `observations`, `date_maj` (`%Y/%m/%d`).
  v2.0 (decree of 4 May 2021) made required fields v1 never had (`contact_operateur`,
  `implantation_station`, `condition_acces`, `horaires`, `accessibilite_pmr`, `restriction_gabarit`,
  `reservation`, `station_deux_roues`, `paiement_acte`, one boolean per connector type): a v1 file cannot
  become v2.3 without inventing them, so it is refused with what to do.
* v2.0.x, 39 columns: the v2.3 columns without `cable_t2_attache`.
* v2.1.0 added `cable_t2_attache` (optional) and made several fields optional; v2.2 only split the schema
  into static and dynamic; v2.3 widened the id patterns to other countries. v2.1-v2.3 share one header.

Upgrading = renaming columns whose name differs only in case or spaces, adding missing columns that
v2.3 makes optional as empty, and (only when asked) dropping unknown columns; every step is noted.
A missing required column, an unknown column (unless dropped) or a v1/dynamic/foreign header is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

import pyarrow as pa

from territoria import i18n
from territoria.domains.ev.irve_schema import irve_dynamic_schema, irve_static_schema
from territoria.errors import Invalid
from territoria.ingest.parsers import BadRow, Row
from territoria.validation.tabular import Chunk

V1_COLUMNS = (
    "n_amenageur",
    "n_operateur",
    "n_enseigne",
    "id_station",
    "n_station",
    "ad_station",
    "code_insee",
    "Xlongitude",
    "Ylatitude",
    "nbre_pdc",
    "id_pdc",
    "puiss_max",
    "type_prise",
    "acces_recharge",
    "accessibilité",
    "observations",
    "date_maj",
)
# What v1 columns would become, told to the user so that a conversion can be planned.
V1_RENAMES = {
    "n_amenageur": "nom_amenageur",
    "n_operateur": "nom_operateur",
    "n_enseigne": "nom_enseigne",
    "id_station": "id_station_itinerance",
    "n_station": "nom_station",
    "ad_station": "adresse_station",
    "code_insee": "code_insee_commune",
    "Xlongitude + Ylatitude": "coordonneesXY '[lon,lat]'",
    "id_pdc": "id_pdc_itinerance",
    "puiss_max": "puissance_nominale",
    "type_prise": "prise_type_ef/prise_type_2/prise_type_combo_ccs/prise_type_chademo/prise_type_autre",
}
ADDED_IN_2_1 = ("cable_t2_attache",)
SCHEMA_URL = "https://schema.data.gouv.fr/etalab/schema-irve-statique/"


class IrveFileRefused(Invalid):
    """A static file that cannot be read as IRVE v2.3; the message says what is wrong and what to do."""


@dataclass
class HeaderUpgrade:
    """How a file's header becomes the v2.3 header: detected version, renames, additions, drops."""

    version: str  # "2.1-2.3", "2.0" or "2.x (partial)"
    source_of: dict[str, str | None]  # v2.3 column -> column of the file (None: added empty)
    renamed: dict[str, str] = field(default_factory=dict)  # file column -> v2.3 column
    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was done to the header."""
        return bool(self.renamed or self.added or self.dropped)

    def notes(self, lang: str = "en") -> list[str]:
        """What was done, one sentence each, for the import summary (English for the JSON line)."""
        out = [i18n.t("ev.cli.irve_version", lang, version=self.version)]
        if self.renamed:
            pairs = ", ".join(f"'{a}' → {b}" for a, b in self.renamed.items())
            out.append(i18n.t("ev.cli.renamed_columns", lang, pairs=pairs))
        if self.added:
            out.append(i18n.t("ev.cli.added_columns", lang, columns=", ".join(self.added)))
        if self.dropped:
            out.append(i18n.t("ev.cli.dropped_columns", lang, columns=", ".join(self.dropped)))
        return out


@cache
def v23_columns() -> tuple[str, ...]:
    """The v2.3 static columns in schema order."""
    return tuple(str(f["name"]) for f in irve_static_schema()["fields"])


@cache
def required_columns() -> frozenset[str]:
    """The columns v2.3 requires a value in."""
    return frozenset(
        str(f["name"]) for f in irve_static_schema()["fields"] if (f.get("constraints") or {}).get("required")
    )


def _key(name: str) -> str:
    """Column names compared without case, spaces, BOM, quotes or dashes (spreadsheets change them)."""
    return "".join(c for c in name.lower() if c.isalnum())


def _refuse_foreign(header: list[str]) -> None:
    """Refuse a header that is v1, dynamic, or not IRVE at all, saying what to do."""
    keys = {_key(h) for h in header}
    if len(keys & {_key(c) for c in V1_COLUMNS}) >= 6 and "idpdcitinerance" not in keys:
        renames = "; ".join(f"{a} → {b}" for a, b in V1_RENAMES.items())
        raise IrveFileRefused(
            "this is an IRVE v1 static file (columns n_amenageur, id_pdc, Xlongitude/Ylatitude …): "
            "v2 requires fields v1 never had (contact_operateur, implantation_station, condition_acces, "
            "horaires, accessibilite_pmr, restriction_gabarit, reservation, station_deux_roues, "
            "paiement_acte, one boolean per connector type), which cannot be guessed. Ask the operator "
            f"for a v2.3 file ({SCHEMA_URL}) or convert it by hand: {renames}; then add the new fields."
        )
    dynamic = {str(f["name"]) for f in irve_dynamic_schema()["fields"]}
    if {"etat_pdc", "occupation_pdc", "horodatage"} <= set(header) and set(header) <= dynamic:
        raise IrveFileRefused(
            "this is an IRVE dynamic (status) file, not a static one: import it with "
            "`territoria ev import-dynamic FILE`"
        )
    if not keys & {_key(c) for c in v23_columns()}:
        shown = ", ".join(h[:40] for h in header[:8]) or "nothing"
        raise IrveFileRefused(
            f"this does not look like an IRVE static file: no IRVE column in its header (found: {shown}). "
            f"Check that it is the operator's IRVE CSV export ({SCHEMA_URL}), with a header row."
        )


def upgrade_header(header: Iterable[str], *, drop_unknown: bool = False) -> HeaderUpgrade:
    """How to read this header as v2.3, or IrveFileRefused saying what is wrong and what to do."""
    names = [h.strip() for h in header]
    _refuse_foreign(names)
    target = v23_columns()
    by_key: dict[str, str] = {}
    for name in names:
        if _key(name) in by_key:
            raise IrveFileRefused(
                f"columns '{by_key[_key(name)]}' and '{name}' name the same field: keep one and import again"
            )
        by_key[_key(name)] = name
    source_of: dict[str, str | None] = {}
    up = HeaderUpgrade("", source_of)
    for column in target:
        found = by_key.pop(_key(column), None)
        source_of[column] = found
        if found is not None and found != column:
            up.renamed[found] = column
    missing = [c for c, src in source_of.items() if src is None]
    required = required_columns()
    if lost := [c for c in missing if c in required]:
        raise IrveFileRefused(
            f"required IRVE v2.3 column(s) missing: {', '.join(lost)}. Add them (with a value on every row) "
            f"to the file, see {SCHEMA_URL}"
        )
    up.added = missing
    unknown = list(by_key.values())
    if unknown and not drop_unknown:
        raise IrveFileRefused(
            f"column(s) not in the IRVE static schema: {', '.join(unknown)}. Remove them from the file, or "
            "import with --drop-unknown to leave them out"
        )
    up.dropped = unknown
    if not missing:
        up.version = "2.1-2.3"
    elif missing == list(ADDED_IN_2_1):
        up.version = "2.0"
    else:
        up.version = "2.x (partial)"
    return up


def upgrade_rows(rows: Iterable[Row], up: HeaderUpgrade) -> Iterator[Row]:
    """Rows with v2.3 columns in schema order (added columns empty, dropped ones gone); BadRows pass."""
    for n, row in rows:
        if isinstance(row, BadRow):
            yield n, row
            continue
        yield n, {col: ("" if src is None else row.get(src, "")) for col, src in up.source_of.items()}


def upgrade_chunk(chunk: Chunk, up: HeaderUpgrade) -> Chunk:
    """A columnar chunk with v2.3 columns in schema order (added columns empty, dropped ones gone)."""
    by_name = chunk.by_name()
    blank = pa.array([""] * len(chunk.numbers), pa.string())
    columns = [blank if src is None else by_name[src] for src in up.source_of.values()]
    header = list(up.source_of)
    return Chunk(header, chunk.delimiter, chunk.encoding, chunk.numbers, columns, chunk.bad)
