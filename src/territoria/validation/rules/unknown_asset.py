"""UNKNOWN_ASSET: a measurement names an asset that is not registered in the dataset."""

from __future__ import annotations

from territoria.validation.model import Finding, Rule, finding

RULE = Rule("UNKNOWN_ASSET", "error", "row", "Unknown asset", "Objet inconnu")


def check(row: int, asset: object, known: dict[str, int]) -> Finding | None:
    """A finding when `asset` is not among the dataset's registered assets."""
    if isinstance(asset, str) and asset in known:
        return None
    return finding(
        RULE,
        f"asset '{asset}' is not registered in this dataset; register it first (POST …/assets)",
        f"l'objet « {asset} » n'est pas enregistré dans ce jeu de données ; "
        "enregistrez-le d'abord (POST …/assets)",
        row=row,
        field="asset",
    )
