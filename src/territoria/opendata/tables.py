"""The public table of a release as the explore API and the exports see it: a Parquet file and its columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from territoria import i18n

ColumnType = Literal["string", "integer", "number", "boolean", "datetime", "date"]
ColumnRole = Literal["dimension", "measure", "flag", "location", "attribute"]
GeometryKind = Literal["point", "area", ""]


@dataclass(frozen=True)
class ReleaseColumn:
    """One column of a release's public table (Table Schema type, role, title, unit).

    Its title is a catalog key (`title`) when the platform names the column, or a text per language
    given by data (`texts`: a policy's measure title, a schema field's title); a key may wrap a given
    text (`%(title)s (total)`). Nothing in another language is written in code or stored.
    """

    name: str
    type: ColumnType
    role: ColumnRole
    title: str = ""
    unit: str = ""
    label: bool = False  # this column names a row on maps and lists (a station's name, …)
    texts: Mapping[str, str] = field(default_factory=dict)

    def title_in(self, lang: str) -> str:
        """The column's title in `lang` (a given text the language lacks is read in French)."""
        given = self.texts.get(lang) or self.texts.get(i18n.DEFAULT_LANG) or self.name
        return i18n.t(self.title, lang, title=given) if self.title else given

    def titles(self) -> dict[str, str]:
        """The title in every language with a catalog."""
        return {lang: self.title_in(lang) for lang in i18n.langs()}

    def as_json(self) -> dict[str, Any]:
        """The column as stored in `release.columns`: its title key and given texts, no sentence."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "role": self.role}
        if self.title:
            out["title_key"] = self.title
        if self.texts:
            out["title_texts"] = dict(self.texts)
        out["unit"] = self.unit
        return {**out, "label": True} if self.label else out

    def public_json(self) -> dict[str, Any]:
        """The column as the API answers it: its title in every language."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "role": self.role}
        out |= {"title": self.titles(), "unit": self.unit}
        return {**out, "label": True} if self.label else out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ReleaseColumn:
        """A column read back from `release.columns` (a release stored before title keys kept its
        titles by language under `title`: they are read as given texts)."""
        texts = raw.get("title_texts") or raw.get("title") or {}
        return cls(
            name=raw["name"],
            type=raw["type"],
            role=raw["role"],
            title=str(raw.get("title_key") or ""),
            unit=raw.get("unit", ""),
            label=bool(raw.get("label", False)),
            texts={str(k): str(v) for k, v in texts.items()} if isinstance(texts, dict) else {},
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
