"""CSV header against a schema: one error naming every missing and unexpected column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HeaderMismatch(ValueError):
    """A CSV header that does not name the schema's fields."""

    def __init__(self, missing: list[str], unexpected: list[str]) -> None:
        self.missing, self.unexpected = missing, unexpected
        parts_en, parts_fr = [], []
        if missing:
            parts_en.append(f"missing column(s): {', '.join(missing)}")
            parts_fr.append(f"colonne(s) manquante(s) : {', '.join(missing)}")
        if unexpected:
            parts_en.append(f"unexpected column(s): {', '.join(unexpected)}")
            parts_fr.append(f"colonne(s) inattendue(s) : {', '.join(unexpected)}")
        self.message_en = "CSV header does not match the schema: " + "; ".join(parts_en)
        self.message_fr = "L'en-tête CSV ne correspond pas au schéma : " + " ; ".join(parts_fr)
        super().__init__(self.message_en)

    def errors(self) -> list[dict[str, Any]]:
        """One entry per column, for a problem+json `errors` list."""
        return [
            {"row": 0, "field": c, "code": "MISSING_COLUMN", "message": f"no column '{c}'"}
            for c in self.missing
        ] + [
            {
                "row": 0,
                "field": c,
                "code": "UNEXPECTED_COLUMN",
                "message": f"column '{c}' is not in the schema",
            }
            for c in self.unexpected
        ]


def check_header(header: Sequence[str], schema: dict[str, Any]) -> None:
    """Raise HeaderMismatch unless the header names exactly the schema's fields (in any order)."""
    names = [str(f["name"]) for f in schema.get("fields") or []]
    present = set(header)
    missing = [n for n in names if n not in present]
    known = set(names)
    unexpected = [h for h in header if h not in known]
    if missing or unexpected:
        raise HeaderMismatch(missing, unexpected)
