"""ENCODING: a row holding bytes that are not valid in the declared encoding."""

from __future__ import annotations

from territoria.validation.model import Finding, Rule, finding

RULE = Rule("ENCODING", "error", "row", "Wrong character encoding", "Encodage de caractères incorrect")


def check(row: int, encoding: str) -> Finding:
    """The finding of a row whose bytes do not decode."""
    return finding(
        RULE,
        f"bytes that are not valid {encoding}; re-save the file as UTF-8 or give its encoding",
        f"octets invalides en {encoding} ; réenregistrez le fichier en UTF-8 ou indiquez son encodage",
        row=row,
    )
