"""The public table of a release as the explore API and the exports see it: a Parquet file and its columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ColumnType = Literal["string", "integer", "number", "boolean", "datetime", "date"]
ColumnRole = Literal["dimension", "measure", "flag", "location", "attribute"]
GeometryKind = Literal["point", "area", ""]


@dataclass(frozen=True)
class ReleaseColumn:
    """One column of a release's public table (Table Schema type, role, bilingual title, unit)."""

    name: str
    type: ColumnType
    role: ColumnRole
    title_en: str
    title_fr: str
    unit: str = ""
    label: bool = False  # this column names a row on maps and lists (a station's name, …)

    def as_json(self) -> dict[str, Any]:
        """The column as stored in `release.columns`."""
        out = {
            "name": self.name,
            "type": self.type,
            "role": self.role,
            "title": {"en": self.title_en, "fr": self.title_fr},
            "unit": self.unit,
        }
        return {**out, "label": True} if self.label else out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ReleaseColumn:
        """A column read back from `release.columns`."""
        title = raw.get("title") or {}
        return cls(
            name=raw["name"],
            type=raw["type"],
            role=raw["role"],
            title_en=title.get("en", raw["name"]),
            title_fr=title.get("fr", raw["name"]),
            unit=raw.get("unit", ""),
            label=bool(raw.get("label", False)),
        )


@dataclass(frozen=True)
class ReleaseTable:
    """A published release's table: Parquet file, columns, geometry kind ("point": lon/lat columns;
    "area": an area_code column joined to the territory's polygons; "": none)."""

    dataset: str
    version: int
    path: Path
    columns: tuple[ReleaseColumn, ...]
    geometry: GeometryKind
    rows: int

    def column(self, name: str) -> ReleaseColumn | None:
        """The column called name, or None."""
        for col in self.columns:
            if col.name == name:
                return col
        return None
