"""Table Schema validation: this engine versus `frictionless validate`, same IRVE schema, same file.

Prints one JSON line: rows, engine_s (read the CSV with Arrow + validate), engine_rows_s (the ingest
path: the project's CSV parser, rows → columns, validate), frictionless_s, speedup, invalid rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from frictionless import Resource, Schema

from territoria.domains.ev.irve_schema import irve_static_schema
from territoria.domains.ev.samples import irve_static_rows, to_columns, to_csv
from territoria.ingest.parsers import iter_csv
from territoria.validation.tableschema import CompiledSchema, check_header


def engine_file(path: Path, schema: dict) -> set[int]:
    """Engine over a CSV file read by Arrow: the invalid row numbers (1 = first data row)."""
    names = [f["name"] for f in schema["fields"]]
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )
    check_header(table.column_names, schema)
    report = CompiledSchema(schema).validate({n: table.column(n) for n in table.column_names})
    return {i + 1 for i in report.invalid.nonzero()[0].tolist()}


def engine_rows(path: Path, schema: dict) -> set[int]:
    """Engine on the ingest path: parsers.iter_csv rows, gathered into columns."""
    with path.open("rb") as fh:
        parsed = list(iter_csv(fh, []))
    rows = [r for _, r in parsed]
    report = CompiledSchema(schema).validate(to_columns(rows))  # type: ignore[arg-type]
    return {i + 1 for i in report.invalid.nonzero()[0].tolist()}


def frictionless_file(path: Path, schema: dict) -> set[int]:
    """`frictionless validate` with the same schema: the invalid row numbers."""
    resource = Resource(path.name, basepath=str(path.parent), schema=Schema.from_descriptor(schema))
    report = resource.validate(limit_errors=10**9)
    errors = report.tasks[0].errors
    assert all(getattr(e, "row_number", None) for e in errors), [e.message for e in errors][:3]
    return {e.row_number - 1 for e in errors}


def main() -> None:
    """Generate, validate both ways, compare, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    args = parser.parse_args()
    schema = irve_static_schema()
    schema["primaryKey"] = ["id_pdc_itinerance"]
    rows = irve_static_rows(args.rows, fault_rate=args.fault_rate, duplicates=args.rows // 1000)
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm-up.csv"  # first-call costs (imports, caches) for both sides
        warm.write_text(to_csv(irve_static_rows(50, fault_rate=0.5)), encoding="utf-8")
        engine_file(warm, schema), frictionless_file(warm, schema)
        path = Path(tmp) / "irve-statique.csv"
        path.write_text(to_csv(rows), encoding="utf-8")
        t0 = time.perf_counter()
        mine = engine_file(path, schema)
        t1 = time.perf_counter()
        mine_rows = engine_rows(path, schema)
        t2 = time.perf_counter()
        theirs = frictionless_file(path, schema)
        t3 = time.perf_counter()
    assert mine == theirs == mine_rows, (len(mine), len(theirs), sorted(mine ^ theirs)[:10])
    figures = {
        "rows": args.rows,
        "invalid_rows": len(mine),
        "engine_s": round(t1 - t0, 3),
        "engine_rows_s": round(t2 - t1, 3),
        "frictionless_s": round(t3 - t2, 3),
        "speedup": round((t3 - t2) / (t1 - t0), 1),
        "speedup_rows": round((t3 - t2) / (t2 - t1), 1),
        "identical_verdicts": True,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
