"""ENCODING: a row holding bytes that are not valid in the declared encoding."""

from __future__ import annotations

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("ENCODING", "error", "row")


def check(row: int, encoding: str) -> Finding:
    """The finding of a row whose bytes do not decode."""
    return coded(
        RULE,
        "finding.ENCODING",
        {"encoding": encoding},
        row=row,
    )
