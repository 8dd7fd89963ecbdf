"""One quarantined row as a form: a labelled field per column, typed on submit like the original input.

A form field is text. A row of a CSV batch was text too: its corrected fields are sent as text cells
and go through the CSV path of the dataset (`quarantine._text_chunk`, `parse_value(from_text=True)`).
A row of a JSON batch goes through the JSON path: each field is turned into the JSON value its column
declares (a number column gets a number, a boolean column true/false), so that correcting "abc" into
"99" in a number field is not refused again as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from territoria import i18n
from territoria.catalog.models import Dataset
from territoria.i18n.i18n_keys import N_
from territoria.ingest.models import QuarantinedRow
from territoria.quality.quarantine import canonical_columns, text_cell
from territoria.validation.model import error_message
from territoria.validation.tabular import split_line

# The columns of a measurement row: their type, as a Table Schema field would say.
MEASUREMENT_TYPES = {"asset": "string", "metric": "string", "ts": "datetime", "value": "number"}
# What to type in a field of each Table Schema type.
TYPE_KEYS = {
    "string": N_("q.fix.type.string"),
    "number": N_("q.fix.type.number"),
    "integer": N_("q.fix.type.integer"),
    "boolean": N_("q.fix.type.boolean"),
    "date": N_("q.fix.type.date"),
    "datetime": N_("q.fix.type.datetime"),
    "time": N_("q.fix.type.time"),
    "year": N_("q.fix.type.year"),
    "yearmonth": N_("q.fix.type.yearmonth"),
    "duration": N_("q.fix.type.duration"),
    "geopoint": N_("q.fix.type.geopoint"),
    "geojson": N_("q.fix.type.geojson"),
    "object": N_("q.fix.type.object"),
    "array": N_("q.fix.type.array"),
    "any": N_("q.fix.type.any"),
}
# Constraints worth telling in a hint, in this order.
CONSTRAINT_KEYS = {
    "minimum": N_("q.fix.constraint.minimum"),
    "maximum": N_("q.fix.constraint.maximum"),
    "minLength": N_("q.fix.constraint.minLength"),
    "maxLength": N_("q.fix.constraint.maxLength"),
    "pattern": N_("q.fix.constraint.pattern"),
    "enum": N_("q.fix.constraint.enum"),
}
# The columns of a measurement row: their label and what they hold.
MEASUREMENT_KEYS = {
    "asset": (N_("q.fix.column.asset"), N_("q.fix.column.asset.help")),
    "metric": (N_("q.fix.column.metric"), N_("q.fix.column.metric.help")),
    "ts": (N_("q.fix.column.ts"), N_("q.fix.column.ts.help")),
    "value": (N_("q.fix.column.value"), N_("q.fix.column.value.help")),
}
MAX_CELL = 10_000


@dataclass
class FormField:
    """A column of the correction form: what to type there, what was there, what was wrong."""

    name: str
    label: str
    description: str
    type: str
    hint: str
    value: str
    required: bool = False
    reasons: list[str] = field(default_factory=list)


def _text(value: Any, lang: str) -> str:
    """A schema text that may be given per language ({"fr": …, "en": …})."""
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("fr") or value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _constraint(value: Any) -> str:
    """A constraint's value as a hint shows it."""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return text_cell(value)


def schema_fields(ds: Dataset) -> list[dict[str, Any]]:
    """The columns of the dataset in schema order, as Table Schema fields."""
    if ds.kind == "timeseries":
        return [
            {"name": n, "type": t, "constraints": {"required": True}} for n, t in MEASUREMENT_TYPES.items()
        ]
    return [dict(f) for f in (ds.table_schema or {}).get("fields") or [] if isinstance(f, Mapping)]


def stored_cells(q: QuarantinedRow, ds: Dataset) -> tuple[dict[str, Any], bool]:
    """The row's values as received, by column, and whether they could be read per column at all
    (a line that could not be split into the dataset's columns is shown as it was, beside the form)."""
    text = q.raw.strip()
    if text.startswith("{"):
        try:
            item = orjson.loads(text)
        except orjson.JSONDecodeError:
            return {}, False
        return (item, True) if isinstance(item, dict) else ({}, False)
    columns = canonical_columns(ds)
    cells = split_line(text)
    if isinstance(cells, list) and len(cells) == len(columns):
        return dict(zip(columns, cells, strict=True)), True
    return {}, False


def form_value(value: Any) -> str:
    """A received value as its form field shows it (a JSON string without quotes)."""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return text_cell(value)


def form_fields(
    ds: Dataset, q: QuarantinedRow, lang: str, *, errors: list[dict[str, Any]], values: Mapping[str, Any]
) -> list[FormField]:
    """The form's fields in the schema's order, filled with `values`, with the reasons of `errors`."""
    out = []
    for f in schema_fields(ds):
        name = str(f.get("name"))
        given = f.get("constraints")
        constraints: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        kind = str(f.get("type") or "string")
        hints = [i18n.t(TYPE_KEYS[kind], lang)] if kind in TYPE_KEYS else [kind]
        hints += [
            i18n.t(key, lang, value=_constraint(constraints[k]))
            for k, key in CONSTRAINT_KEYS.items()
            if k in constraints
        ]
        label = _text(f.get("title"), lang)
        description = _text(f.get("description"), lang)
        if name in MEASUREMENT_KEYS and ds.kind == "timeseries":
            label, description = (i18n.t(k, lang) for k in MEASUREMENT_KEYS[name])
        out.append(
            FormField(
                name=name,
                label=label or name,
                description=description,
                type=kind,
                hint=" · ".join(hints),
                value=form_value(values.get(name)),
                required=bool(constraints.get("required")),
                reasons=[error_message(e, lang) for e in errors if e.get("field") == name],
            )
        )
    return out


def general_reasons(ds: Dataset, errors: list[dict[str, Any]], lang: str) -> list[str]:
    """The reasons that name no column of the form (a whole-row problem)."""
    names = {str(f.get("name")) for f in schema_fields(ds)}
    return [error_message(e, lang) for e in errors if e.get("field") not in names]


def _json_value(text: str, kind: str) -> Any:
    """A form field turned into the JSON value of its column's type; text it cannot be stays text
    (and is refused with the reason of a wrong type)."""
    stripped = text.strip()
    if kind in ("number", "integer"):
        try:
            number = float(stripped.replace(",", ".")) if "," in stripped else orjson.loads(stripped)
        except (ValueError, orjson.JSONDecodeError):
            return text
        if isinstance(number, bool) or not isinstance(number, int | float):
            return text
        return int(number) if kind == "integer" and float(number).is_integer() else number
    if kind == "boolean":
        return {"true": True, "false": False}.get(stripped.lower(), text)
    if kind in ("object", "array", "geojson"):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return text
    return text


def typed_row(ds: Dataset, cells: Mapping[str, str], *, from_text: bool) -> dict[str, Any]:
    """The corrected row to resubmit: text cells for a CSV batch's row, JSON values for a JSON one.

    An empty field is a missing value: an empty cell in CSV, no member in JSON.
    """
    row: dict[str, Any] = {}
    for f in schema_fields(ds):
        name = str(f.get("name"))
        text = cells.get(name, "")[:MAX_CELL]
        if from_text:
            row[name] = text
        elif text.strip():
            row[name] = _json_value(text, str(f.get("type") or "string"))
    return row
