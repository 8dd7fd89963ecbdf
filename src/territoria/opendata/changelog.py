"""What changed between two releases of a dataset: rows added, removed and changed, columns, coverage.

A row that is secret in the new release is never listed as changed: its figures are withheld, and
naming it would tell that something changed in it since the previous release (disclosure control
across releases suppresses a cell precisely when its change shows too few contributors).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

EXAMPLES = 10


def _keyed(table: pa.Table, keys: list[str]) -> pa.Table:
    """The table with a single text key column built from the key columns (nulls as empty)."""
    parts = [pc.fill_null(pc.cast(table.column(k), pa.string()), "∅") for k in keys]
    key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")
    return table.append_column("__key", key)


def diff(
    previous: pa.Table | None, current: pa.Table, keys: list[str], meta: dict[str, Any]
) -> dict[str, Any]:
    """The change log of `current` against `previous` (None: first release), matched on the key columns."""
    if previous is None:
        return {"first_release": True, "rows": current.num_rows, **meta}
    old_names, new_names = set(previous.column_names), set(current.column_names)
    keys = [k for k in keys if k in old_names and k in new_names]
    log: dict[str, Any] = {
        "first_release": False,
        "columns_added": sorted(new_names - old_names),
        "columns_removed": sorted(old_names - new_names),
        "rows_before": previous.num_rows,
        "rows_after": current.num_rows,
        **meta,
    }
    if not keys:
        return log
    common = [c for c in current.column_names if c in old_names and c not in keys]
    old = _keyed(previous.select(keys + common), keys)
    new = _keyed(current.select(keys + common), keys)
    old_keys, new_keys = set(old.column("__key").to_pylist()), set(new.column("__key").to_pylist())
    added, removed = sorted(new_keys - old_keys), sorted(old_keys - new_keys)
    joined = new.join(old, "__key", join_type="inner", left_suffix="", right_suffix="__old")
    changed_mask = pa.array([False] * joined.num_rows, pa.bool_())
    for name in common:
        a, b = joined.column(name), joined.column(name + "__old")
        differs = pc.fill_null(pc.not_equal(a, b), True)
        same_null = pc.and_(pc.is_null(a), pc.is_null(b))
        changed_mask = pc.or_(changed_mask, pc.and_(differs, pc.invert(same_null)))
    if "secret" in joined.column_names:
        changed_mask = pc.and_(changed_mask, pc.invert(pc.fill_null(joined.column("secret"), False)))
    changed = joined.filter(changed_mask).column("__key").to_pylist()
    log.update(
        rows_added=len(added),
        rows_removed=len(removed),
        rows_changed=len(changed),
        examples={
            "added": added[:EXAMPLES],
            "removed": removed[:EXAMPLES],
            "changed": sorted(changed)[:EXAMPLES],
        },
    )
    return log
