"""Table Schema engine: a schema compiled once into column checks, run over whole columns at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.compute as pc

from territoria.validation.model import Finding, Rule, coded
from territoria.validation.rules import enum as enum_rule
from territoria.validation.rules import foreign_key as fk_rule
from territoria.validation.rules import pattern as pattern_rule
from territoria.validation.rules import range as range_rule
from territoria.validation.rules import required as required_rule
from territoria.validation.rules import type as type_rule
from territoria.validation.rules import unique as unique_rule
from territoria.validation.tableschema.columns import Column, build_column, key_of
from territoria.validation.tableschema.descriptor import validate_table_schema
from territoria.validation.tableschema.readers import reader_for
from territoria.validation.tableschema.typed import typed_values

Resolver = Callable[[str, Sequence[str]], set[tuple[Any, ...]]]
"""Known key tuples (as text) of another dataset's fields: `resolver(resource, fields)`."""

_ORDERED = ("integer", "number", "date", "datetime", "time", "year")
_BOUNDS: tuple[range_rule.Bound, ...] = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def show(value: Any) -> str:
    """A cell as shown in a message: quoted, shortened."""
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


@dataclass(frozen=True)
class FieldPlan:
    """What to check on one field, with its constraints already cast to comparable keys."""

    field: dict[str, Any]
    required: bool
    enum: tuple[Any, ...] | None
    bounds: tuple[tuple[range_rule.Bound, float, str], ...]

    @property
    def name(self) -> str:
        """The field's name, as the schema spells it."""
        return str(self.field["name"])


def _plan(f: dict[str, Any], pk: Sequence[str]) -> FieldPlan:
    """Cast a field's constraints once, with the field's own reader."""
    cons, kind = f.get("constraints", {}), f.get("type", "string")
    read = reader_for(f)
    enum = None
    if "enum" in cons:
        enum = tuple(cons["enum"]) if kind == "string" else tuple(key_of(kind, read(v)) for v in cons["enum"])
    bounds = tuple(
        (b, float(key_of(kind, read(cons[b]))), str(cons[b]))
        for b in _BOUNDS
        if b in cons and kind in _ORDERED
    )
    sizes: tuple[range_rule.Bound, ...] = ("minLength", "maxLength")
    lengths = tuple((b, float(cons[b]), str(cons[b])) for b in sizes if b in cons)
    required = bool(cons.get("required")) or f["name"] in pk
    return FieldPlan(f, required, enum, bounds + lengths)


@dataclass
class Report:
    """The verdict on a batch: findings in row order and, per position, whether the row is rejected."""

    rows: int
    findings: list[Finding]
    invalid: np.ndarray
    columns: dict[str, Column] = field(default_factory=dict)

    @property
    def valid_count(self) -> int:
        """How many rows pass."""
        return int(self.rows - self.invalid.sum())

    def typed_rows(self) -> list[dict[str, Any]]:
        """Every row with its cells cast to JSON-friendly typed values (None when missing or invalid)."""
        names = list(self.columns)
        values = [typed_values(self.columns[n]) for n in names]
        return [dict(zip(names, cells, strict=True)) for cells in zip(*values, strict=True)]


class CompiledSchema:
    """A Table Schema compiled once; `validate` runs it over columns of any number of rows."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        validate_table_schema(dict(schema))
        self.schema = dict(schema)
        pk = schema.get("primaryKey") or []
        self.primary_key: list[str] = [pk] if isinstance(pk, str) else list(pk)
        self.missing: list[str] = list(schema.get("missingValues", [""]))
        self.plans = [_plan(f, self.primary_key) for f in schema["fields"]]
        self.foreign_keys: list[dict[str, Any]] = list(schema.get("foreignKeys") or [])

    @property
    def field_names(self) -> list[str]:
        """Field names in schema order."""
        return [p.name for p in self.plans]

    def validate(
        self,
        columns: Mapping[str, Sequence[Any]],
        *,
        row_numbers: Sequence[int] | None = None,
        resolver: Resolver | None = None,
    ) -> Report:
        """Check columns (name → cells); absent columns count as missing values."""
        n = max((len(c) for c in columns.values()), default=0)
        numbers = list(row_numbers) if row_numbers is not None else list(range(1, n + 1))
        run = _Run(n, numbers)
        cols: dict[str, Column] = {}
        for plan in self.plans:
            raw = columns.get(plan.name)
            col = build_column(plan.name, plan.field, raw if raw is not None else [None] * n, self.missing)
            cols[plan.name] = col
            _check_field(run, plan, col)
        _check_primary_key(run, self.primary_key, cols)
        for fk in self.foreign_keys:
            _check_foreign_key(run, fk, cols, resolver)
        run.findings.sort(key=lambda f: f.row or 0)
        return Report(n, run.findings, run.invalid, cols)


@dataclass
class _Run:
    """Findings being gathered over one batch."""

    n: int
    numbers: list[int]
    findings: list[Finding] = field(default_factory=list)
    invalid: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.invalid = np.zeros(self.n, dtype=bool)

    def add(
        self,
        rule: Rule,
        rows: np.ndarray,
        name: str,
        msg: Callable[[int], tuple[str, dict[str, Any]]],
        **details: Any,
    ) -> None:
        """One finding per failing row, its message a catalog code and parameters."""
        if rule.severity == "error":
            self.invalid[rows] = True
        for i in rows.tolist():
            code, params = msg(i)
            self.findings.append(
                coded(rule, code, params, row=self.numbers[i], field=name, details=dict(details))
            )


def _check_field(run: _Run, plan: FieldPlan, col: Column) -> None:
    """REQUIRED, TYPE, ENUM, PATTERN, RANGE and UNIQUE on one column."""
    name, kind = plan.name, col.kind
    if plan.required:
        run.add(
            required_rule.RULE,
            required_rule.failing(col.present),
            name,
            lambda i: required_rule.messages(name),
        )
    fmt = str(col.field.get("format", "default"))
    bad_type = type_rule.failing(col.ok, col.present)
    run.add(
        type_rule.RULE,
        bad_type,
        name,
        lambda i: type_rule.messages(name, show(col.cell(i)), kind, fmt),
        type=kind,
    )
    valid = col.present & col.ok
    cons = col.field.get("constraints", {})
    if plan.enum is not None:
        values = col.strings if kind == "string" else col.keys
        rows = enum_rule.failing(values, valid, plan.enum)
        allowed = cons["enum"]
        run.add(
            enum_rule.RULE,
            rows,
            name,
            lambda i: enum_rule.messages(name, show(col.cell(i)), allowed),
            enum=allowed,
        )
    if "pattern" in cons:
        pat = cons["pattern"]
        rows = pattern_rule.failing(col.strings, valid, pat)
        run.add(
            pattern_rule.RULE,
            rows,
            name,
            lambda i: pattern_rule.messages(name, show(col.cell(i)), pat),
            pattern=pat,
        )
    _check_bounds(run, plan, col, valid)
    if cons.get("unique"):
        _check_unique(run, name, col.keys, valid, [col])


def _lengths(col: Column) -> np.ndarray:
    """Length of every valid cell: characters of text, items of arrays and objects."""
    if col.kind == "string":
        return np.asarray(
            pc.fill_null(pc.utf8_length(col.strings), 0).to_numpy(zero_copy_only=False), dtype=float
        )
    read = reader_for(col.field)
    return np.array(
        [len(read(v)) if ok else 0 for v, ok in zip(col.cells(), col.ok, strict=True)], dtype=float
    )


def _check_bounds(run: _Run, plan: FieldPlan, col: Column, valid: np.ndarray) -> None:
    """minimum / maximum (exclusive or not) and minLength / maxLength."""
    name = plan.name
    lengths = _lengths(col) if any(b.endswith("Length") for b, _, _ in plan.bounds) else np.zeros(0)
    for bound, limit, text in plan.bounds:
        values = lengths if bound.endswith("Length") else col.keys
        rows = range_rule.failing(values, valid, bound, limit)

        def msg(
            i: int, bound: range_rule.Bound = bound, text: str = text, values: np.ndarray = values
        ) -> tuple[str, dict[str, Any]]:
            length = int(values[i]) if bound.endswith("Length") else None
            return range_rule.messages(name, show(col.cell(i)), bound, text, length)

        run.add(range_rule.RULE, rows, name, msg, constraint=bound, limit=text)


def _check_unique(run: _Run, label: str, keys: np.ndarray, mask: np.ndarray, cols: list[Column]) -> None:
    """Rows repeating an earlier row's key, with the first row named in the message."""
    rows = unique_rule.failing(keys, mask)
    if not len(rows):
        return
    first = unique_rule.first_rows(keys, mask)

    def msg(i: int) -> tuple[str, dict[str, Any]]:
        value = ", ".join(show(c.cell(i)) for c in cols)
        return unique_rule.messages(label, value, run.numbers[int(first[i])])

    run.add(unique_rule.RULE, rows, label, msg)


def _check_primary_key(run: _Run, pk: list[str], cols: dict[str, Column]) -> None:
    """The primary key: every part present (REQUIRED, checked per field) and unique over the batch."""
    if not pk:
        return
    parts = [cols[n] for n in pk]
    mask = np.logical_and.reduce([c.present & c.ok for c in parts])
    if len(parts) == 1:
        keys = parts[0].keys
    else:
        codes = [
            np.unique(c.keys.astype(str) if c.keys.dtype == object else c.keys, return_inverse=True)[1]
            for c in parts
        ]
        keys = np.stack([np.ravel(c) for c in codes], axis=1)
    _check_unique(run, ", ".join(pk), keys, mask, parts)


def _check_foreign_key(
    run: _Run, fk: dict[str, Any], cols: dict[str, Column], resolver: Resolver | None
) -> None:
    """Key tuples (as text) that the referenced dataset does not hold."""
    local = [fk["fields"]] if isinstance(fk["fields"], str) else list(fk["fields"])
    ref = fk["reference"]
    remote = [ref["fields"]] if isinstance(ref["fields"], str) else list(ref["fields"])
    resource = str(ref.get("resource", ""))
    parts = [cols[n] for n in local]
    mask = np.logical_and.reduce([c.present & c.ok for c in parts])
    values = [tuple(str(c.cell(i)) for c in parts) for i in range(run.n)]
    if resource:
        if resolver is None:
            return
        known = resolver(resource, remote)
    else:
        targets = [cols[n] for n in remote]
        tmask = np.logical_and.reduce([c.present & c.ok for c in targets])
        known = {tuple(str(c.cell(i)) for c in targets) for i in np.flatnonzero(tmask).tolist()}
    rows = fk_rule.failing(values, mask, known)
    label, ref_label = ", ".join(local), ", ".join(remote)

    def msg(i: int) -> tuple[str, dict[str, Any]]:
        return fk_rule.messages(label, ", ".join(values[i]), resource, ref_label)

    run.add(fk_rule.RULE, rows, label, msg, resource=resource, reference=remote)
