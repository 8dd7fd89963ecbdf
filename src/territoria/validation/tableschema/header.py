"""CSV header against a schema: one error naming every missing and unexpected column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from territoria import i18n
from territoria.validation.model import row_error


class HeaderMismatch(ValueError):
    """A CSV header that does not name the schema's fields; its message is a catalog code and parameters."""

    def __init__(self, missing: list[str], unexpected: list[str]) -> None:
        self.missing, self.unexpected = missing, unexpected
        which = "both" if missing and unexpected else "missing" if missing else "unexpected"
        self.message_code = f"finding.HEADER.{which}"
        self.params = {"missing": ", ".join(missing), "unexpected": ", ".join(unexpected)}
        super().__init__(self.message_en)

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

    def errors(self) -> list[dict[str, Any]]:
        """One entry per column, for a problem+json `errors` list."""
        return [
            row_error(0, c, "MISSING_COLUMN", "finding.MISSING_COLUMN", {"column": c}) for c in self.missing
        ] + [
            row_error(0, c, "UNEXPECTED_COLUMN", "finding.UNEXPECTED_COLUMN", {"column": c})
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
