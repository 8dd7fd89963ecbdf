"""Table Schema engine: each rule on small columns, descriptor errors, CSV header, typed output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from territoria.validation.rules import enum, foreign_key, pattern, range, required, type, unique
from territoria.validation.tableschema import (
    CompiledSchema,
    HeaderMismatch,
    check_header,
    validate_table_schema,
)


def run(fields: list[dict[str, Any]], columns: dict[str, list[Any]], **schema: Any) -> dict[int, set[str]]:
    report = CompiledSchema({"fields": fields, **schema}).validate(columns)
    out: dict[int, set[str]] = {}
    for f in report.findings:
        out.setdefault(f.row or 0, set()).add(f.code)
    return out


def test_rule_functions_are_pure_over_columns() -> None:
    present = np.array([True, False, True])
    assert required.failing(present).tolist() == [1]
    assert type.failing(np.array([True, False, False]), present).tolist() == [2]
    assert enum.failing(np.array([1.0, 2.0, 3.0]), present, [1.0, 2.0]).tolist() == [2]
    assert range.failing(np.array([0.5, 2.0, np.nan]), present, "minimum", 1.3).tolist() == [0, 2]
    assert unique.failing(np.array([4, 5, 4, 4]), np.array([True, True, True, False])).tolist() == [2]
    assert foreign_key.failing([("a",), ("b",), ("c",)], present, {("a",)}).tolist() == [2]
    import pyarrow as pa

    assert pattern.failing(pa.array(["123", "12a", "été"]), np.ones(3, bool), r"\d+").tolist() == [1, 2]
    for module in (type, required, enum, pattern, range, unique, foreign_key):
        assert module.RULE.severity == "error" and module.RULE.title("fr") != f"rule.{module.RULE.code}"


def test_types_and_formats() -> None:
    fields = [
        {"name": "i", "type": "integer"},
        {"name": "n", "type": "number"},
        {"name": "b", "type": "boolean", "trueValues": ["oui"], "falseValues": ["non"]},
        {"name": "d", "type": "date"},
        {"name": "dt", "type": "datetime"},
        {"name": "t", "type": "time"},
        {"name": "y", "type": "year"},
        {"name": "g", "type": "geopoint"},
        {"name": "a", "type": "array"},
        {"name": "o", "type": "object"},
        {"name": "e", "type": "string", "format": "email"},
        {"name": "u", "type": "string", "format": "uuid"},
        {"name": "w", "type": "string", "format": "uri"},
        {"name": "x", "type": "any"},
    ]
    good = [
        "12",
        "1.5",
        "oui",
        "2024-02-29",
        "2024-01-01T10:00:00Z",
        "10:00:00",
        "2024",
        "7.2, 43.7",
        "[1]",
        '{"a": 1}',
        "a@b.fr",
        "123e4567-e89b-12d3-a456-426614174000",
        "https://x.fr",
        "?",
    ]
    bad = [
        "1.5",
        "x",
        "true",
        "2023-02-29",
        "2024-01-01",
        "25:00:00",
        "24",
        "200, 43",
        "{}",
        "[1]",
        "a@",
        "nope",
        "no scheme",
        "?",
    ]
    names = [f["name"] for f in fields]
    cols = {n: [g, b] for n, g, b in zip(names, good, bad, strict=True)}
    report = CompiledSchema({"fields": fields}).validate(cols)
    assert not [f for f in report.findings if f.row == 1]
    assert {f.field for f in report.findings if f.row == 2} == set(names) - {"x"}
    assert {f.code for f in report.findings} == {"TYPE"}


def test_json_typed_cells_are_strict() -> None:
    fields = [
        {"name": "n", "type": "number"},
        {"name": "s", "type": "string"},
        {"name": "b", "type": "boolean"},
    ]
    found = run(fields, {"n": [1.5, True, "2"], "s": ["a", 3, "b"], "b": [True, 0, "false"]})
    assert 1 not in found and found[2] == {"TYPE"} and 3 not in found


def test_constraints_messages_name_the_field_and_constraint() -> None:
    fields = [
        {"name": "puissance_nominale", "type": "number", "constraints": {"required": True, "minimum": 1.3}},
        {"name": "code", "type": "string", "constraints": {"pattern": "[A-Z]{2}", "minLength": 2}},
        {"name": "kind", "type": "string", "constraints": {"enum": ["a", "b"]}},
    ]
    report = CompiledSchema({"fields": fields}).validate(
        {"puissance_nominale": ["0.5", "", "2"], "code": ["AB", "a", "CD"], "kind": ["a", "c", "b"]}
    )
    msgs = {(f.row, f.code): (f.message_en, f.message_fr) for f in report.findings}
    assert msgs[(1, "RANGE")][0] == "puissance_nominale: '0.5' is below minimum 1.3"
    assert "minimum 1.3" in msgs[(1, "RANGE")][1]
    assert (2, "REQUIRED") in msgs and (2, "PATTERN") in msgs and (2, "ENUM") in msgs
    assert "minLength 2" in msgs[(2, "RANGE")][0]
    assert report.invalid.tolist() == [True, True, False]


def test_missing_values_unique_primary_and_foreign_keys() -> None:
    fields = [
        {"name": "id", "type": "integer"},
        {"name": "parent", "type": "integer"},
        {"name": "site", "type": "string", "constraints": {"unique": True}},
    ]
    cols = {"id": ["1", "2", "2", "NA"], "parent": ["", "1", "9", "1"], "site": ["s1", "s2", "s1", "s3"]}
    found = run(
        fields,
        cols,
        missingValues=["", "NA"],
        primaryKey="id",
        foreignKeys=[{"fields": "parent", "reference": {"resource": "", "fields": "id"}}],
    )
    assert 1 not in found and 2 not in found
    assert found[3] == {"UNIQUE", "FOREIGN_KEY"}
    assert found[4] == {"REQUIRED"}


def test_foreign_key_resolver() -> None:
    schema = {
        "fields": [{"name": "station", "type": "string"}],
        "foreignKeys": [{"fields": ["station"], "reference": {"resource": "stations", "fields": ["id"]}}],
    }
    seen: list[tuple[str, list[str]]] = []

    def resolver(resource: str, fields: Any) -> set[tuple[Any, ...]]:
        seen.append((resource, list(fields)))
        return {("S1",)}

    report = CompiledSchema(schema).validate({"station": ["S1", "S2", ""]}, resolver=resolver)
    assert [(f.row, f.code) for f in report.findings] == [(2, "FOREIGN_KEY")]
    assert seen == [("stations", ["id"])]


def test_typed_rows() -> None:
    fields = [
        {"name": "i", "type": "integer"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
    ]
    report = CompiledSchema({"fields": fields}).validate(
        {"i": ["3", "x"], "b": ["true", ""], "d": ["2024-1-2", "2024-01-03"]}
    )
    assert report.typed_rows() == [
        {"i": 3, "b": True, "d": "2024-01-02"},
        {"i": None, "b": None, "d": "2024-01-03"},
    ]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([], "JSON object"),
        ({"fields": []}, "non-empty list"),
        ({"fields": [{"name": "a", "type": "strin"}]}, "unknown type 'strin'"),
        ({"fields": [{"name": "a"}, {"name": "a"}]}, "duplicate field name"),
        ({"fields": [{"name": "a", "type": "integer", "constraints": {"pattern": "x"}}]}, "does not apply"),
        ({"fields": [{"name": "a", "constraints": {"pattern": "("}}]}, "not a valid regular expression"),
        (
            {"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": "z"}}]},
            "not a valid integer",
        ),
        ({"fields": [{"name": "a", "constraints": {"required": "yes"}}]}, "true or false"),
        ({"fields": [{"name": "a", "constraints": {"bogus": 1}}]}, "constraint 'bogus'"),
        ({"fields": [{"name": "a", "format": "mail"}]}, "unknown string format"),
        ({"fields": [{"name": "a"}], "primaryKey": ["b"]}, "primaryKey names unknown field(s) b"),
        (
            {
                "fields": [{"name": "a"}],
                "foreignKeys": [{"fields": "b", "reference": {"resource": "x", "fields": "c"}}],
            },
            "unknown field(s) b",
        ),
    ],
)
def test_invalid_descriptors_are_refused_clearly(schema: Any, message: str) -> None:
    with pytest.raises(ValueError, match="schema") as exc:
        validate_table_schema(schema)
    assert message in str(exc.value)


def test_csv_header_error_names_missing_and_unexpected() -> None:
    schema = {"fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    check_header(["c", "b", "a"], schema)
    with pytest.raises(HeaderMismatch) as exc:
        check_header(["a", "bb", "c", "zz"], schema)
    assert exc.value.missing == ["b"] and exc.value.unexpected == ["bb", "zz"]
    assert "missing column(s): b" in str(exc.value) and "unexpected column(s): bb, zz" in str(exc.value)
    assert "inattendue" in exc.value.message_fr
