"""UNKNOWN_ASSET: a measurement names an asset that is not registered in the dataset."""

from __future__ import annotations

from territoria.validation.model import Finding, Rule, coded

RULE = Rule("UNKNOWN_ASSET", "error", "row")


def check(row: int, asset: object, known: dict[str, int]) -> Finding | None:
    """A finding when `asset` is not among the dataset's registered assets."""
    if isinstance(asset, str) and asset in known:
        return None
    return coded(
        RULE,
        "finding.UNKNOWN_ASSET",
        {"asset": str(asset)},
        row=row,
        field="asset",
    )
