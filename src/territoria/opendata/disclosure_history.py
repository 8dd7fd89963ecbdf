"""Disclosure control across releases: no new release may be differenced with a published one.

Each release passes k and dominance alone, yet v2 − v1 of a cell is the aggregate of whatever changed
in between: one late meter's readings, a corrected value. So every cell of a new release is compared
with the same cell of every previous published release of the dataset, contributor by contributor (the
contributions each release was built from are kept privately beside it, see `store`).

The change of a cell is the set of contributors whose value in it differs (added, removed or changed);
it is *unsafe* when it has fewer contributors than k (the strictest k of the changed contributions) or
is dominated (the largest change exceeds p % of the sum of the changes' absolute values). Then:

- a cell published in a previous release whose change is unsafe is secret in the new one. Keeping its
  previous value instead would publish a false figure that no longer adds up with its totals (whose
  difference then gives the change away), and would stay false for ever; suppression is honest (null,
  never a stale value) and goes through the same secondary suppression as any secret cell;
- a cell secret in a previous release that did not change stays secret: publishing it would publish
  that release's secret value;
- secondary suppression then runs as for a single release, and an audit of the differences (the same
  lines hold for v2 − v1; a difference is known for a cell published in both and, to be safe, 0 for a
  cell nobody changed) suppresses more until no change of a secret cell can be recomputed.

A previous release without kept contributions (published before this check existed) is compared on its
published figures: a changed cell is published only when its number of contributors moved by at least k.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from territoria.opendata.disclosure_cells import Cells, total_label
from territoria.opendata.disclosure_report import dim_columns
from territoria.opendata.suppression import Lines, recoverable, secondary_suppression

if TYPE_CHECKING:
    from territoria.opendata.disclosure import Contributions

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Key = tuple[str, tuple[Any, ...]]  # (total label, dim values with None where totalled)

_WHO, _K, _P, _NEW, _OLD = "__who__", "__k__", "__p__", "__in_new__", "__in_old__"
# Relative difference below which two float sums of the same contributions count as equal.
_REL_TOL = 1e-9
# Published sums are rounded to 3 decimals: legacy comparisons allow for it.
_ROUNDING = 1.5e-3
_MAX_ROUNDS = 50
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Previous:
    """A published release the new one must not be differenced with."""

    version: int
    table: pa.Table  # its public table (keys, secret flags, published figures)
    contributions: Contributions | None  # what it was built from; None for a release older than the check


@dataclass(frozen=True)
class Changes:
    """Each cell of the new release against one previous release (arrays aligned with the cells)."""

    version: int
    changed: BoolArray  # some contributor's value differs (a cell new since then has changed)
    unsafe: BoolArray  # changed by fewer than k contributors, or dominated
    hidden: BoolArray  # existed in the previous release and was secret there
    shown: BoolArray  # existed in the previous release and was published there

    def required(self) -> BoolArray:
        """Cells that must be secret: an unsafe change of a published cell, an unchanged secret one."""
        return (self.shown & self.changed & self.unsafe) | (self.hidden & ~self.changed)

    def unknown(self, secret: BoolArray) -> BoolArray:
        """Cells whose difference nobody can read: changed, and secret in either release."""
        return self.changed & (secret | self.hidden)

    def sensitive(self, secret: BoolArray) -> BoolArray:
        """Unknown differences that must stay unknown: an unsafe change, or one that would give a secret
        value back (of the previous release when published now, of the new one when published before).
        A safe change of a cell secret in both releases may be known."""
        return self.unknown(secret) & (self.unsafe | ~(secret & self.hidden))


def cell_keys(cells: Cells) -> list[Key]:
    """The key of every cell as the public table writes it (label, values; None where totalled)."""
    columns: list[list[Any]] = []
    for j in range(len(cells.dims)):
        codes = cells.codes[:, j]
        totalled = codes < 0
        u = cells.uniques[j]
        values = u[np.where(totalled, 0, codes)] if len(u) else codes
        if np.issubdtype(u.dtype, np.datetime64):
            columns.append(pa.array(values, type=pa.timestamp("us", tz="UTC"), mask=totalled).to_pylist())
        else:
            columns.append([None if t else str(v) for v, t in zip(values, totalled, strict=True)])
    labels = [total_label(cells.dims, int(x)) for x in cells.level]
    return [(labels[i], tuple(col[i] for col in columns)) for i in range(len(labels))]


def table_keys(table: pa.Table, dims: tuple[str, ...]) -> list[Key]:
    """The key of each row of a public table."""
    labels = table["total"].to_pylist()
    values = [table[d].to_pylist() for d in dims]
    return [(labels[r], tuple(v[r] for v in values)) for r in range(table.num_rows)]


def compare(
    keys: list[Key], cells: Cells, new: Contributions, previous: Previous, totals: tuple[str, ...]
) -> Changes:
    """How each cell changed since `previous` (contributor by contributor when its contributions are kept)."""
    status: dict[Key, bool] = {}
    if set(new.dims) <= set(previous.table.column_names) and "secret" in previous.table.column_names:
        secret_col = previous.table["secret"].to_pylist()
        status = {
            key: bool(s) for key, s in zip(table_keys(previous.table, new.dims), secret_col, strict=True)
        }
    known = np.array([key in status for key in keys], dtype=bool)
    hidden = np.array([status.get(key, False) for key in keys], dtype=bool) & known
    shown = known & ~hidden
    old = previous.contributions
    if old is not None and old.dims == new.dims:
        changed, unsafe = _pair_changes(keys, new, old, totals)
    else:
        changed, unsafe = _figure_changes(keys, cells, previous.table, new.dims, shown)
    # A cell absent from the previous release is new: all its contributors changed (checked by k and p).
    changed |= ~known & (cells.contributors > 0)
    return Changes(previous.version, changed, unsafe, hidden, shown)


def _raw(c: Contributions, measures: list[str], side: str) -> pa.Table:
    """Contributions as an Arrow table; measures in the columns of their side (new or old)."""
    columns = dim_columns(c)
    n = len(c.contributor)
    columns[_WHO] = pa.array(np.asarray(c.contributor, dtype=np.int64))
    for i, m in enumerate(measures):
        values = np.asarray(c.values[m], dtype=np.float64) if m in c.values else np.zeros(n)
        columns[f"n{i}"] = pa.array(values if side == "new" else np.zeros(n))
        columns[f"o{i}"] = pa.array(values if side == "old" else np.zeros(n))
    columns[_NEW] = pa.array(np.full(n, 1 if side == "new" else 0, dtype=np.int64))
    columns[_OLD] = pa.array(np.full(n, 1 if side == "old" else 0, dtype=np.int64))
    columns[_K] = pa.array(np.asarray(c.k, dtype=np.int64))
    columns[_P] = pa.array(np.asarray(c.p, dtype=np.float64))
    return pa.table(columns)


def _pair_changes(
    keys: list[Key], new: Contributions, old: Contributions, totals: tuple[str, ...]
) -> tuple[BoolArray, BoolArray]:
    """Per cell: changed, and unsafe (changed contributors < k of the changes, or one dominates them)."""
    measures = sorted(set(new.values) | set(old.values))
    raw = pa.concat_tables([_raw(new, measures, "new"), _raw(old, measures, "old")])
    index = {key: i for i, key in enumerate(keys)}
    changed = np.zeros(len(keys), dtype=bool)
    unsafe = np.zeros(len(keys), dtype=bool)
    sums = [(f"n{i}", "sum") for i in range(len(measures))] + [(f"o{i}", "sum") for i in range(len(measures))]
    for size in range(len(totals) + 1):
        for totalled in combinations(totals, size):
            keep = [d for d in new.dims if d not in totalled]
            pairs = raw.group_by([*keep, _WHO], use_threads=False).aggregate(
                [*sums, (_NEW, "sum"), (_OLD, "sum"), (_K, "max"), (_P, "min")]
            )
            # A contributor changed in a cell when it came, left, or its value moved: what the figures
            # (contributors, sums) of the cell can show. Rows that change nothing (a zero reading under
            # a total it was already in) are no change.
            moved = pairs[f"{_NEW}_sum"].to_numpy() > 0
            moved ^= pairs[f"{_OLD}_sum"].to_numpy() > 0
            deltas = []
            for i in range(len(measures)):
                a = pairs[f"n{i}_sum"].to_numpy()
                b = pairs[f"o{i}_sum"].to_numpy()
                delta = np.abs(a - b)
                moved |= delta > _REL_TOL * (np.abs(a) + np.abs(b))
                deltas.append(delta)
            columns = {d: pairs[d] for d in keep}
            columns |= {f"d{i}": pa.array(delta) for i, delta in enumerate(deltas)}
            columns |= {_K: pairs[f"{_K}_max"], _P: pairs[f"{_P}_min"], _WHO: pairs[_WHO]}
            moving = pa.table(columns).filter(pa.array(moved))
            per_cell = moving.group_by(keep, use_threads=False).aggregate(
                [(_WHO, "count"), (_K, "max"), (_P, "min")]
                + [(f"d{i}", agg) for i in range(len(measures)) for agg in ("sum", "max")]
            )
            label = ",".join(d for d in new.dims if d in totalled)
            values = {d: per_cell[d].to_pylist() for d in keep}
            count = per_cell[f"{_WHO}_count"].to_numpy()
            k = per_cell[f"{_K}_max"].to_numpy()
            p = per_cell[f"{_P}_min"].to_numpy()
            bad = count < k
            for i in range(len(measures)):
                total = per_cell[f"d{i}_sum"].to_numpy()
                top = per_cell[f"d{i}_max"].to_numpy()
                bad |= (total > 0) & (top * 100.0 > p * total)
            for r in range(per_cell.num_rows):
                at = index.get((label, tuple(values[d][r] if d in values else None for d in new.dims)))
                if at is not None:
                    changed[at] = True
                    unsafe[at] = bool(bad[r])
    return changed, unsafe


def _figure_changes(
    keys: list[Key], cells: Cells, table: pa.Table, dims: tuple[str, ...], shown: BoolArray
) -> tuple[BoolArray, BoolArray]:
    """Against a release without kept contributions: compare the published figures with the true ones."""
    changed = np.zeros(len(keys), dtype=bool)
    unsafe = np.zeros(len(keys), dtype=bool)
    if not set(dims) <= set(table.column_names) or "contributors" not in table.column_names:
        return changed, unsafe
    counts = table["contributors"].to_pylist()
    sums = {m: table[f"{m}_sum"].to_pylist() for m in cells.sums if f"{m}_sum" in table.column_names}
    row_of = {key: r for r, key in enumerate(table_keys(table, dims))}
    for i, key in enumerate(keys):
        r = row_of.get(key)
        if r is None or not shown[i]:
            continue
        moved = int(cells.contributors[i]) - int(counts[r] or 0)
        differs = moved != 0 or any(
            abs(float(cells.sums[m][i]) - float(v[r] or 0.0)) > _ROUNDING for m, v in sums.items()
        )
        changed[i] = differs
        # Only a move of at least k contributors proves that at least k changed.
        unsafe[i] = differs and abs(moved) < int(cells.k[i])
    return changed, unsafe


def protect(
    lines: Lines, primary: BoolArray, changes: Sequence[Changes], rank: IntArray
) -> tuple[BoolArray, BoolArray]:
    """The secret mask of the new release (cells required by the history added to `primary`, secondary
    suppression, then the audit of the differences), and the cells secret because of the history."""
    required = np.zeros(len(primary), dtype=bool)
    was_secret = np.zeros(len(primary), dtype=bool)
    for ch in changes:
        required |= ch.required()
        was_secret |= ch.hidden
    # Complements are taken first among cells a previous release kept secret: a stable suppression
    # pattern gives nothing new away, where a newly hidden cell's difference must be protected too.
    order = np.lexsort((rank, ~was_secret))
    rank = np.empty_like(rank)
    rank[order] = np.arange(len(order))
    secret = secondary_suppression(lines, primary | required, rank)
    if not changes:
        return secret, required & ~primary
    incidence = lines.incidence()
    cell_lines, line_cells = _adjacency(lines)
    extra = np.zeros(len(primary), dtype=bool)
    for _ in range(_MAX_ROUNDS):
        grew = False
        for ch in changes:
            sensitive = ch.sensitive(secret)
            found = [c for c in recoverable(incidence, ch.unknown(secret)).tolist() if sensitive[c]]
            for cell in found:
                if ch.hidden[cell] and not secret[cell]:
                    # Published now, its previous secret value is recoverable: it stays secret instead.
                    extra[cell] = secret[cell] = True
                    grew = True
                    continue
                pick = _cheapest_changed_near(cell_lines, line_cells, ch, secret, rank, cell)
                if pick is None:  # nothing left to hide near it: hide every change (always safe)
                    extra |= ch.changed & ~secret
                    secret |= ch.changed
                else:
                    extra[pick] = True
                    secret[pick] = True
                grew = True
        if not grew:
            break
        secret = secondary_suppression(lines, secret, rank)
    else:  # did not settle: hide every change, which leaves no difference to read
        for ch in changes:
            extra |= ch.changed & ~secret
            secret |= ch.changed
        secret = secondary_suppression(lines, secret, rank)
    return secret, (required | extra) & ~primary


def _adjacency(lines: Lines) -> tuple[list[list[int]], list[list[int]]]:
    """Lines of each cell and cells of each line."""
    ptr, members = lines.indptr.tolist(), lines.members.tolist()
    line_cells = [[*members[ptr[i] : ptr[i + 1]], m] for i, m in enumerate(lines.margin.tolist())]
    cell_lines: list[list[int]] = [[] for _ in range(lines.n_cells)]
    for i, cells in enumerate(line_cells):
        for c in cells:
            cell_lines[c].append(i)
    return cell_lines, line_cells


def _cheapest_changed_near(
    cell_lines: list[list[int]],
    line_cells: list[list[int]],
    ch: Changes,
    secret: BoolArray,
    rank: IntArray,
    cell: int,
) -> int | None:
    """The cheapest published changed cell on the lines of `cell`, else of its unknown neighbours, …"""
    unknown = ch.unknown(secret)
    frontier, seen_cells, seen_lines = [cell], {cell}, set[int]()
    while frontier:
        near_lines = {line for c in frontier for line in cell_lines[c]} - seen_lines
        seen_lines |= near_lines
        near = {c for line in near_lines for c in line_cells[line]}
        candidates = [c for c in near if ch.changed[c] and not secret[c]]
        if candidates:
            return min(candidates, key=lambda c: int(rank[c]))
        frontier = sorted(c for c in near - seen_cells if unknown[c])
        seen_cells |= near
    return None


# -- the check of the report, and the private copy of a release's contributions ------------------------


def check(
    keys: list[Key],
    shown_now: BoolArray,
    changes: Sequence[Changes],
    dims: tuple[str, ...],
    totals: tuple[str, ...],
) -> dict[str, Any]:
    """The RELEASE_DIFFERENCES check: no published change is unsafe, no unchanged secret is published,
    and no secret change can be recomputed (audited with the report's own algebra)."""
    from territoria.opendata.disclosure_report import determined_cells

    failing: list[dict[str, str]] = []
    for ch in changes:
        bad = shown_now & ((ch.shown & ch.changed & ch.unsafe) | (ch.hidden & ~ch.changed))
        unknown, sensitive = ch.unknown(~shown_now), ch.sensitive(~shown_now)
        determined = np.array(determined_cells(keys, ~unknown, dims, totals), dtype=np.int64)
        bad[determined[sensitive[determined]]] = True
        failing += [_example(keys[i], dims, ch.version) for i in np.flatnonzero(bad)]
    return {
        "code": "RELEASE_DIFFERENCES",
        "title_key": "od.check.RELEASE_DIFFERENCES",
        "checked": len(changes) * int(shown_now.sum()),
        "failures": len(failing),
        "passed": not failing,
        "examples": failing[:MAX_EXAMPLES],
        "compared_with": [ch.version for ch in changes],
    }


def _example(key: Key, dims: tuple[str, ...], version: int) -> dict[str, str]:
    label, values = key
    named = {
        d: v.isoformat() if hasattr(v, "isoformat") else str(v)
        for d, v in zip(dims, values, strict=True)
        if v is not None
    }
    return named | {"total": label, "previous_version": str(version)}


def contributions_path(release_path: Path) -> Path:
    """Where the contributions of a release are kept: a private folder beside it, never served."""
    return release_path.parent / "private" / (release_path.stem + ".contributions.parquet")


def store(path: Path, c: Contributions) -> None:
    """Keep the contributions a release was built from (atomically), for the next releases' check."""
    columns = _raw(c, list(c.values), "new").drop_columns(
        [_NEW, _OLD, *(f"o{i}" for i in range(len(c.values)))]
    )
    meta = {"dims": list(c.dims), "measures": list(c.values)}
    table = columns.replace_schema_metadata({"territoria": json.dumps(meta)})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name("." + path.name + ".tmp")
    pq.write_table(table, temporary, compression="zstd")
    temporary.replace(path)


def load(path: Path) -> Contributions | None:
    """The kept contributions of a release, or None when it has none."""
    from territoria.opendata.disclosure import Contributions

    if not path.exists():
        return None
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {})[b"territoria"])
    keys: dict[str, np.ndarray] = {}
    for d in meta["dims"]:
        column = table[d]
        if pa.types.is_timestamp(column.type):
            keys[d] = column.cast(pa.timestamp("us")).to_numpy().astype("datetime64[us]")
        else:
            keys[d] = np.array(column.to_pylist(), dtype=object)
    return Contributions(
        dims=tuple(meta["dims"]),
        keys=keys,
        contributor=table[_WHO].to_numpy().astype(np.int64),
        values={m: table[f"n{i}"].to_numpy().astype(np.float64) for i, m in enumerate(meta["measures"])},
        k=table[_K].to_numpy().astype(np.int64),
        p=table[_P].to_numpy().astype(np.float64),
    )
