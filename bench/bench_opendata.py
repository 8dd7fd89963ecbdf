"""Open-data release reading at scale: streamed exports and an explore aggregate over 10 M rows.

Generates a release Parquet file in a temporary directory (pyarrow, vectorised): one row per commune
(the 163 of `territory.service.DEFAULT_GEOJSON`) and hour from 2018-01-01 (~7 years at 10 M rows),
with `segment`, `contributors`, `energy_kwh_sum`/`_mean` (null where secret) and `secret`. The release
is an "area" release, so the Parquet export is GeoParquet (the commune polygon of every row, as a WKB
dictionary).

Each figure comes from a fresh child process, so that every peak RSS (`ru_maxrss`, whole process,
imports included, read from /proc/self/status VmHWM; `import_mb` is the floor after imports) belongs
to one run only:
- `parquet` / `csv`: `opendata.exports.export_release` of the whole release written to /dev/null;
- `aggregate`: `opendata.query.run_page` of
  `select=area_code,month(period) as month,sum(energy_kwh_sum) as energy&group_by=area_code,month`
  (13,692 groups, first page of 100 with total_count), p50 of --repeat runs after one warm-up;
and beside them, in the same run, naive baselines:
- `naive_csv`: `pq.read_table` of a --baseline-rows file, `to_pylist`, `csv.DictWriter` (rows/s
  extrapolated from --baseline-rows; its memory grows with the table, measured at that size);
- `naive_parquet`: `pq.read_table` of the whole release + `pq.write_table` (no geometry, no filter;
  holds the whole table in memory);
- `naive_aggregate`: a Python dict over `to_pylist` rows of the --baseline-rows file, extrapolated;
- `duckdb_tz_trunc`: the same aggregate with DuckDB's time-zone-aware `date_trunc` on TIMESTAMPTZ
  (what `month(period)` would cost without truncating UTC microseconds).

    uv run python bench/bench_opendata.py                 # 10 M rows (~2 min)
    uv run python bench/bench_opendata.py --rows 200000   # quick check

Progress goes to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from territoria.opendata.tables import ReleaseColumn, ReleaseTable
from territoria.territory.service import DEFAULT_GEOJSON

AGGREGATE = {
    "select": "area_code,month(period) as month,sum(energy_kwh_sum) as energy",
    "group_by": "area_code,month",
}
COLUMNS = (
    ReleaseColumn("area_code", "string", "dimension", "Commune code", "Code commune"),
    ReleaseColumn("area_name", "string", "attribute", "Commune", "Commune"),
    ReleaseColumn("period", "datetime", "dimension", "Hour", "Heure"),
    ReleaseColumn("segment", "string", "dimension", "Segment", "Segment"),
    ReleaseColumn("total", "string", "attribute", "Totalled dimensions", "Dimensions totalisées"),
    ReleaseColumn("contributors", "integer", "measure", "Contributors", "Contributeurs"),
    ReleaseColumn("energy_kwh_sum", "number", "measure", "Energy", "Énergie", "kWh"),
    ReleaseColumn("energy_kwh_mean", "number", "measure", "Mean energy", "Énergie moyenne", "kWh"),
    ReleaseColumn("secret", "boolean", "flag", "Secret", "Secret"),
)
SEGMENTS = ["residential", "professional", "industrial"]
HOUR_US = 3_600_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mb() -> float:
    """Peak RSS of this process so far, in MB (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def communes() -> tuple[list[str], list[str], dict[str, Any]]:
    """Codes, names and GeoJSON geometries of the packaged communes."""
    features = json.loads(DEFAULT_GEOJSON.read_text())["features"]
    features.sort(key=lambda f: f["properties"]["code"])
    codes = [f["properties"]["code"] for f in features]
    names = [f["properties"].get("nom") or f["properties"]["code"] for f in features]
    return codes, names, {f["properties"]["code"]: f["geometry"] for f in features}


def generate(path: Path, rows: int) -> None:
    """The release file, commune × hour, vectorised; secret cells (< 3 contributors) have no measure."""
    codes, names, _ = communes()
    i = np.arange(rows, dtype=np.int64)
    area = (i % len(codes)).astype(np.int32)
    start = np.datetime64("2018-01-01T00:00:00", "us").astype(np.int64)
    rng = np.random.default_rng(20240301)
    contributors = rng.integers(1, 60, rows)
    secret = contributors < 3
    energy = rng.gamma(2.0, 50.0, rows) * contributors
    table = pa.table(
        {
            "area_code": pa.DictionaryArray.from_arrays(area, pa.array(codes)).cast(pa.string()),
            "area_name": pa.DictionaryArray.from_arrays(area, pa.array(names)).cast(pa.string()),
            "period": pa.array(start + (i // len(codes)) * HOUR_US).cast(pa.timestamp("us", tz="UTC")),
            "segment": pa.DictionaryArray.from_arrays((i % 3).astype(np.int32), pa.array(SEGMENTS)).cast(
                pa.string()
            ),
            "total": pa.array(np.full(rows, ""), pa.string()),
            "contributors": pa.array(contributors, pa.int64()),
            "energy_kwh_sum": pa.array(energy, mask=secret),
            "energy_kwh_mean": pa.array(energy / contributors, mask=secret),
            "secret": pa.array(secret),
        }
    )
    pq.write_table(table, path)


def release(path: Path, rows: int) -> ReleaseTable:
    return ReleaseTable("bench-energy", 1, path, COLUMNS, "area", rows)


# -- child processes ----------------------------------------------------------------------------------


def child_export(path: Path, rows: int, fmt: str) -> dict[str, Any]:
    from territoria.opendata.explore import parse_request
    from territoria.opendata.exports import export_release

    _, _, areas = communes()
    floor = peak_mb()
    t0 = time.perf_counter()
    export = export_release(release(path, rows), parse_request(), fmt, areas=areas)
    size = 0
    with open("/dev/null", "wb") as sink:
        for chunk in export.chunks:
            size += len(chunk)
            sink.write(chunk)
    seconds = time.perf_counter() - t0
    return {
        "s": round(seconds, 2),
        "rows_s": round(rows / seconds),
        "mb_out": round(size / 1e6),
        "peak_mb": peak_mb(),
        "import_mb": floor,
    }


def child_aggregate(path: Path, rows: int, repeat: int) -> dict[str, Any]:
    from territoria.opendata.explore import parse_request
    from territoria.opendata.query import run_page

    request = parse_request(**AGGREGATE)
    table = release(path, rows)
    page = run_page(table, request, limit=100, offset=0)  # warm-up: file metadata in the OS cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = run_page(table, request, limit=100, offset=0)
        times.append(time.perf_counter() - t0)
    return {
        "p50_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "groups": page.total_count,
        "peak_mb": peak_mb(),
    }


def child_naive_csv(path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    table = pq.read_table(path)
    rows = table.to_pylist()
    with open("/dev/null", "w", newline="", encoding="utf-8") as sink:
        writer = csv.DictWriter(sink, fieldnames=table.column_names)
        writer.writeheader()
        writer.writerows(rows)
    seconds = time.perf_counter() - t0
    return {"s": round(seconds, 2), "rows_s": round(len(rows) / seconds), "peak_mb": peak_mb()}


def child_naive_parquet(path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    table = pq.read_table(path)
    pq.write_table(table, "/dev/null")
    seconds = time.perf_counter() - t0
    return {"s": round(seconds, 2), "rows_s": round(table.num_rows / seconds), "peak_mb": peak_mb()}


def child_naive_aggregate(path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    sums: dict[tuple[str, Any], float] = defaultdict(float)
    for row in pq.read_table(path, columns=["area_code", "period", "energy_kwh_sum"]).to_pylist():
        month = row["period"].replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        sums[(row["area_code"], month)] += row["energy_kwh_sum"] or 0.0
    seconds = time.perf_counter() - t0
    return {"s": round(seconds, 3), "groups": len(sums), "peak_mb": peak_mb()}


def child_tz_trunc(path: Path, repeat: int) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(config={"memory_limit": "256MB", "threads": 2})
    con.execute("SET TimeZone = 'UTC'")
    query = (
        "SELECT area_code, date_trunc('month', period) AS month, sum(energy_kwh_sum) AS energy, "
        "count(*) OVER () FROM read_parquet(?) GROUP BY ALL ORDER BY 1, 2 LIMIT 100"
    )
    con.execute(query, [str(path)]).fetchall()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        con.execute(query, [str(path)]).fetchall()
        times.append(time.perf_counter() - t0)
    return {"p50_s": round(statistics.median(times), 3)}


def child(args: argparse.Namespace) -> None:
    path = Path(args.path)
    if args.child in ("parquet", "csv", "json"):
        out = child_export(path, args.rows, args.child)
    elif args.child == "aggregate":
        out = child_aggregate(path, args.rows, args.repeat)
    elif args.child == "naive_csv":
        out = child_naive_csv(path)
    elif args.child == "naive_parquet":
        out = child_naive_parquet(path)
    elif args.child == "naive_aggregate":
        out = child_naive_aggregate(path)
    else:
        out = child_tz_trunc(path, args.repeat)
    print(json.dumps(out))


def spawn(what: str, path: Path, rows: int, repeat: int) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its JSON line back."""
    log(f"{what} …")
    cmd = [
        sys.executable,
        __file__,
        "--child",
        what,
        "--path",
        str(path),
        "--rows",
        str(rows),
        "--repeat",
        str(repeat),
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"{what}: {result}")
    return result


def main() -> None:
    """Generate, measure each path in its own process, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    base_rows = min(args.baseline_rows, args.rows)
    scale = args.rows / base_rows
    with tempfile.TemporaryDirectory(prefix="bench-opendata-") as tmp:
        big, small = Path(tmp) / "release.parquet", Path(tmp) / "baseline.parquet"
        t0 = time.perf_counter()
        generate(big, args.rows)
        generate(small, base_rows)
        size = big.stat().st_size / 1e6
        log(f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f} s ({size:.0f} MB)")
        parquet = spawn("parquet", big, args.rows, args.repeat)
        csv_out = spawn("csv", big, args.rows, args.repeat)
        aggregate = spawn("aggregate", big, args.rows, args.repeat)
        naive_csv = spawn("naive_csv", small, base_rows, args.repeat)
        naive_parquet = spawn("naive_parquet", big, args.rows, args.repeat)
        naive_aggregate = spawn("naive_aggregate", small, base_rows, args.repeat)
        tz_trunc = spawn("tz_trunc", big, args.rows, args.repeat)
    figures = {
        "rows": args.rows,
        "parquet_rows_s": parquet["rows_s"],
        "parquet_peak_mb": parquet["peak_mb"],
        "parquet_mb_out": parquet["mb_out"],
        "csv_rows_s": csv_out["rows_s"],
        "csv_peak_mb": csv_out["peak_mb"],
        "csv_mb_out": csv_out["mb_out"],
        "import_mb": parquet["import_mb"],
        "aggregate_p50_s": aggregate["p50_s"],
        "aggregate_max_s": aggregate["max_s"],
        "aggregate_groups": aggregate["groups"],
        "aggregate_peak_mb": aggregate["peak_mb"],
        "baseline_rows": base_rows,
        "naive_csv_rows_s": naive_csv["rows_s"],
        "naive_csv_peak_mb_at_baseline_rows": naive_csv["peak_mb"],
        "naive_parquet_rows_s": naive_parquet["rows_s"],
        "naive_parquet_peak_mb": naive_parquet["peak_mb"],
        "naive_aggregate_s_extrapolated": round(naive_aggregate["s"] * scale, 2),
        "duckdb_tz_trunc_aggregate_p50_s": tz_trunc["p50_s"],
        "csv_speedup_vs_naive": round(csv_out["rows_s"] / naive_csv["rows_s"], 1),
        "aggregate_speedup_vs_naive": round(naive_aggregate["s"] * scale / aggregate["p50_s"], 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
