"""KPI engine at scale: 50 M measurements (10,000 series) in PostgreSQL, one KPI per commune and month.

Set-up (skipped with --keep when the schema already holds the same data): a fresh PostgreSQL schema,
the 163 real communes, one organisation, the `street-lights` dataset (metric `power`, W) with
--series street lights spread over the communes by population, and --rows measurements over 2025
(5,000 per series at full size: one every ~105 minutes, night-time power). Measurements are written
with binary COPY into the monthly partitions; `rollup_hour` and `rollup_day` are then built month by
month with INSERT … SELECT … GROUP BY. In production the ingest path maintains the rollups
incrementally inside each batch's transaction: building them in bulk here is for set-up speed only.
One `batch` row stands for the load (the KPI cache's data watermark reads `batch`).

Measured side by side for the shipped KPI `lighting_energy` (a `sum`), monthly over 2025:
(a) cold: `analytics.service.compute`, and `kpi_rows` after emptying `kpi_cache`;
(b) warm, through the HTTP API (`GET /api/v1/kpis/lighting_energy?level=commune…`, a cache hit);
(c) the same at territory level; (d) the home page `/`; (e) the engine's GROUP BY query alone, its
plan (EXPLAIN ANALYZE, BUFFERS, printed on stderr) and variants that show what would cut it.

    uv run python bench/bench_kpi.py                     # 50 M rows, 10,000 series (~20 min)
    uv run python bench/bench_kpi.py --rows 2000000      # quick check
    uv run python bench/bench_kpi.py --keep              # load into schema bench_kpi, keep and reuse it

Progress and the query plan go to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import secrets
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from fastapi.testclient import TestClient
from psycopg import sql
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Connection, create_engine, delete, event, func, insert, literal_column, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by

from territoria.access.service import create_token
from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.engine import Scope
from territoria.analytics.models import KpiCache
from territoria.analytics.service import compute, get_kpi, kpi_rows
from territoria.app import create_app
from territoria.catalog.models import Asset, Metric, Series
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, get_dataset, upsert_assets
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.models import Batch
from territoria.process import tune_gc
from territoria.settings import Settings
from territoria.simulate.city import apportion, random_point_in
from territoria.simulate.communes import load_communes
from territoria.simulate.randomness import seeded
from territoria.simulate.service import ensure_territory
from territoria.timeseries.models import measurement, rollup_day, rollup_hour
from territoria.timeseries.partitions import ensure_partitions, next_month, partition_name
from territoria.timeseries.points import copy_binary

PG_URL = os.environ.get("TERRITORIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KPI = "lighting_energy"  # shipped: sum of `power` over the dataset `street-lights`
YEAR = 2025
START, END = date(YEAR, 1, 1), date(YEAR + 1, 1, 1)
T0 = int(datetime(YEAR, 1, 1, tzinfo=UTC).timestamp())
YEAR_S = 365 * 86_400
TARGET_KPI_P95_MS = 150
TARGET_HOME_MS = 500
CHUNK_ROWS = 1_000_000  # rows per COPY
I64 = npt.NDArray[np.int64]
console = Console(stderr=True)


# -- figures ----------------------------------------------------------------------------------------


def summary(seconds: list[float]) -> dict[str, float]:
    """Count, p50, p95 (nearest rank) and max in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[max(0, math.ceil(0.95 * len(ms)) - 1)]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ms[-1], 1),
    }


def timed(
    run: Callable[[], object], repeat: int, before: Callable[[], object] | None = None
) -> dict[str, float]:
    """Figures of `repeat` timed calls of run (`before` runs untimed ahead of each)."""
    seconds = []
    for _ in range(repeat):
        if before is not None:
            before()
        began = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - began)
    return summary(seconds)


# -- schema -----------------------------------------------------------------------------------------


@contextmanager
def database(schema: str | None, rows: int, n_series: int) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """URL on the bench schema, and the set-up figures of a complete earlier load of the same size.

    A kept schema (`schema` given) is reused when its comment, written once loading finished, says
    it holds the same rows and series; otherwise it is rebuilt. A fresh schema is dropped at the end.
    """
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = schema or "bench_kpi_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        note = conn.scalar(
            text("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :s"),
            {"s": name},
        )
        found = orjson.loads(note) if note and schema else None
        if found is not None and (found["rows_requested"], found["series"]) != (rows, n_series):
            found = None
        if found is None:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}", found
    finally:
        if schema is None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


# -- set-up: catalog --------------------------------------------------------------------------------


def street_lights(n: int) -> list[AssetIn]:
    """n street lights over the 163 communes (one each, the rest by population), inside their boundaries."""
    communes = load_communes()
    weights = [float(c.population) for c in communes]
    floor = 1 if n >= len(communes) else 0
    counts = [floor + k for k in apportion(n - floor * len(communes), weights)]
    out = []
    for commune, k in zip(communes, counts, strict=True):
        rng, shape = seeded(f"bench-kpi:{commune.code}"), commune.shape()
        for i in range(1, k + 1):
            lon, lat = random_point_in(shape, rng)
            props = {"commune": commune.code}
            out.append(
                AssetIn(id=f"SL-{commune.code}-{i:04d}", kind="luminaire", lon=lon, lat=lat, properties=props)
            )
    return out


def setup_catalog(ctx: Context, n_series: int) -> None:
    """Territory, organisation, dataset `street-lights`, its assets and one `power` series each."""
    upgrade(ctx.engine)
    ensure_territory(ctx)
    with ctx.session(write=True) as s:
        org = create_organisation(s, OrganisationCreate(slug="metropole", name="Métropole", kind="authority"))
        body = DatasetCreate(
            slug="street-lights",
            title="Street lights",
            domain="lighting",
            kind="timeseries",
            metrics=[MetricCreate(name="power", unit="W", min=0, max=400)],
        )
        ds = create_dataset(s, body, org)
        upsert_assets(s, ds, street_lights(n_series), ctx.locator())
        metric_id = s.scalar(select(Metric.id).where(Metric.dataset_id == ds.id))
        ids = s.scalars(select(Asset.id).where(Asset.dataset_id == ds.id).order_by(Asset.id)).all()
        s.execute(insert(Series), [{"asset_id": i, "metric_id": metric_id} for i in ids])


# -- set-up: measurements and rollups ---------------------------------------------------------------


def month_bounds(month: int) -> tuple[datetime, datetime]:
    """[start, end) of a month of YEAR, UTC."""
    year, following = next_month(YEAR, month)
    return datetime(YEAR, month, 1, tzinfo=UTC), datetime(year, following, 1, tzinfo=UTC)


def readings(sids: I64, per_series: int, month: int, seed: int) -> tuple[I64, I64, npt.NDArray[np.float64]]:
    """(series id, epoch µs, value) of these series' readings within one month, series-major."""
    interval = YEAR_S // per_series
    offset = (sids * 7919) % interval  # series do not all report at the same second
    lo, hi = (int(b.timestamp()) - T0 for b in month_bounds(month))
    first = np.clip(-((offset - lo) // interval), 0, per_series)  # ceil((lo - offset) / interval)
    stop = np.clip(-((offset - hi) // interval), 0, per_series)
    counts = stop - first
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts - first, counts)
    seconds = T0 + np.repeat(offset, counts) + k * interval
    # Lit at night: 12 h ± 3.5 h around 23:30 UTC, the longest night at the winter solstice.
    night = 12 + 3.5 * np.cos(2 * np.pi * ((seconds - T0) // 86_400 + 10) / 365)
    hour = (seconds % 86_400) / 3600
    lit = np.abs((hour - 23.5 + 12) % 24 - 12) < night / 2
    nominal = np.array([35.0, 50.0, 70.0, 100.0, 150.0])[sids % 5]
    nominal[sids % 50 == 7] = 0.0  # 2 % of the lights stay dark all year
    noise = np.random.default_rng(seed).normal(1.0, 0.02, int(counts.sum()))
    value = np.where(lit, np.round(np.repeat(nominal, counts) * noise, 1), 0.0)
    return np.repeat(sids, counts), seconds * 1_000_000, value


def copy_month(
    conn: Connection, sids: I64, per_series: int, month: int, advance: Callable[[int], object]
) -> int:
    """Binary COPY of one month of every series straight into its partition; rows written."""
    raw: Any = conn.connection.driver_connection
    statement = sql.SQL("COPY {} (series_id, ts, value) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(partition_name(YEAR, month))
    )
    step = max(1, CHUNK_ROWS * 12 // per_series)  # series per COPY
    written = 0
    for i in range(0, len(sids), step):
        sid, us, value = readings(sids[i : i + step], per_series, month, seed=month * 1_000_003 + i)
        with raw.cursor() as cur, cur.copy(statement) as cp:
            cp.write(copy_binary([(sid, "int4"), (us, "timestamptz"), (value, "float8")]))
        written += len(sid)
        advance(len(sid))
    return written


def rollup_insert(table: Any, width: str, month: int) -> Any:
    """INSERT INTO table SELECT … FROM measurement GROUP BY series, bucket, for one month."""
    m = measurement.c
    start, end = month_bounds(month)
    bucket = func.date_trunc(literal_column(f"'{width}'"), m.ts, literal_column("'UTC'")).label("bucket")
    last = func.array_agg(aggregate_order_by(m.value, m.ts.desc()))[1]
    columns = [func.count(), func.sum(m.value), func.min(m.value), func.max(m.value), last, func.max(m.ts)]
    query = (
        select(m.series_id, bucket, *columns).where(m.ts >= start, m.ts < end).group_by(m.series_id, bucket)
    )
    names = ["series_id", "bucket", "n", "sum", "min", "max", "last", "last_ts"]
    return insert(table).from_select(names, query)


def load(ctx: Context, rows: int, n_series: int) -> dict[str, Any]:
    """Measurements and rollups month by month, one batch row, then VACUUM ANALYZE; set-up figures."""
    per_series = rows // n_series
    with ctx.session() as s:
        sids = np.array(s.scalars(select(Series.id).order_by(Series.id)).all(), dtype=np.int64)
        ds = get_dataset(s, "street-lights")
    ensure_partitions(ctx.engine, [(YEAR, m) for m in range(1, 13)])
    copy_s = rollup_s = 0.0
    written = 0
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar, ctx.engine.connect() as conn:
        rows_task = bar.add_task("measurements (binary COPY)", total=per_series * n_series)
        months_task = bar.add_task("rollups (GROUP BY), months", total=12)
        for month in range(1, 13):
            began = time.perf_counter()
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            written += copy_month(conn, sids, per_series, month, lambda n: bar.advance(rows_task, n))
            conn.commit()
            copy_s += time.perf_counter() - began
            began = time.perf_counter()
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            conn.execute(rollup_insert(rollup_hour, "hour", month))
            conn.execute(rollup_insert(rollup_day, "day", month))
            conn.commit()
            rollup_s += time.perf_counter() - began
            bar.advance(months_task)
    with ctx.session(write=True) as s:
        s.add(
            Batch(
                id=str(uuid.uuid4()),
                dataset_id=ds.id,
                organisation_id=ds.owner_id,
                source="file",
                content_type="bench",
                received=written,
                accepted=written,
            )
        )
    began = time.perf_counter()
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) rollup_day, rollup_hour, series, asset, batch"))
        conn.execute(text("ANALYZE measurement"))
    vacuum_s = time.perf_counter() - began
    return {
        "rows": written,
        "copy_s": round(copy_s, 1),
        "copy_rows_per_s": round(written / copy_s),
        "rollups_s": round(rollup_s, 1),
        "vacuum_analyze_s": round(vacuum_s, 1),
    }


def prepare(ctx: Context, rows: int, n_series: int) -> dict[str, Any]:
    """Catalog and data; the figures are noted on the schema, which marks the load as complete."""
    began = time.perf_counter()
    setup_catalog(ctx, n_series)
    catalog_s = time.perf_counter() - began
    console.print(f"catalog: {n_series:,} street lights and series in {catalog_s:.1f} s")
    figures = {"rows_requested": rows, "series": n_series, "catalog_s": round(catalog_s, 1)}
    figures |= load(ctx, rows, n_series)
    with ctx.engine.connect() as conn:
        schema = conn.scalar(text("SELECT current_schema()"))
        note = sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
            sql.Identifier(str(schema)), sql.Literal(orjson.dumps(figures).decode())
        )
        conn.connection.driver_connection.execute(note)  # type: ignore[union-attr]
        conn.commit()
    return figures


def sizes(ctx: Context) -> dict[str, Any]:
    """Total sizes in MB (heap, indexes, TOAST; measurement over its partitions) and rollup row counts."""
    mb = 2**20
    with ctx.session() as s:
        tree = "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('measurement')"
        out: dict[str, Any] = {"measurement_mb": round(int(s.scalar(text(tree)) or 0) / mb, 1)}
        for table in (rollup_hour, rollup_day):
            size = s.scalar(select(func.pg_total_relation_size(literal_column(f"'{table.name}'::regclass"))))
            out[f"{table.name}_mb"] = round(int(size or 0) / mb, 1)
            out[f"{table.name}_rows"] = int(s.scalar(select(func.count()).select_from(table)) or 0)
    return out


# -- (e) the engine's query alone, its plan and variants --------------------------------------------

# The engine's statement with one change each (None when the engine no longer reads that way).
NUMERIC_MEAN = "CAST(rollup_day.n AS NUMERIC)"  # SQLAlchemy's true division of a float by an integer
DISTINCT_ASSETS = ", count(DISTINCT series.asset_id) AS count_2"  # forces a sort, no partial aggregates
# Aggregate each series' days into months first (3.65 M rows → 120,000), then join the catalog; one
# series per asset and metric, so count(*) replaces count(DISTINCT asset_id); float division; the
# month taken with timezone() + date_trunc(), far cheaper per row than date_trunc(…, 'UTC').
PER_SERIES_FIRST = text(
    """
    SELECT a.area_code, p.period, sum(p.n), sum(p.total), min(p.low), max(p.high), sum(p.means),
           sum(p.days), count(*)
    FROM (
        SELECT r.series_id, date(date_trunc('month', timezone('UTC', r.bucket))) AS period,
               sum(r.n) AS n, sum(r.sum) AS total, min(r.min) AS low, max(r.max) AS high,
               sum(r.sum / r.n) AS means, count(*) AS days
        FROM rollup_day AS r
        WHERE r.bucket >= :start AND r.bucket < :end
          AND r.series_id IN (SELECT id FROM series WHERE metric_id = :metric)
        GROUP BY r.series_id, period
    ) AS p
    JOIN series AS s ON s.id = p.series_id
    JOIN asset AS a ON a.id = s.asset_id
    WHERE a.in_territory AND a.area_code IS NOT NULL
    GROUP BY a.area_code, p.period
    """
)
# A monthly rollup, built here as a temporary table: the ingest would maintain it like rollup_day,
# with the sum of daily means and the day count that `twa` needs.
MONTH_ROLLUP = text(
    """
    CREATE TEMPORARY TABLE bench_rollup_month AS
    SELECT series_id, timezone('UTC', date_trunc('month', timezone('UTC', bucket))) AS month, sum(n) AS n,
           sum(sum) AS sum, min(min) AS min, max(max) AS max, sum(sum / n) AS means, count(*) AS days
    FROM rollup_day GROUP BY series_id, month
    """
)
FROM_MONTH_ROLLUP = text(
    """
    SELECT a.area_code, date(timezone('UTC', m.month)) AS period, sum(m.n), sum(m.sum), min(m.min),
           max(m.max), sum(m.means), sum(m.days), count(*)
    FROM bench_rollup_month AS m
    JOIN series AS s ON s.id = m.series_id
    JOIN asset AS a ON a.id = s.asset_id
    WHERE m.month >= :start AND m.month < :end AND s.metric_id = :metric
      AND a.in_territory AND a.area_code IS NOT NULL
    GROUP BY a.area_code, period
    """
)


def engine_statement(ctx: Context, kpi: KpiDefinition, scope: Scope) -> tuple[str, Any]:
    """The engine's GROUP BY statement (the one reading rollup_day) and its parameters, as sent."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "rollup_day" in statement:
            seen.append((statement, parameters))

    event.listen(ctx.engine, "before_cursor_execute", grab)
    try:
        with ctx.session() as s:
            compute(s, kpi, scope)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", grab)
    return seen[-1]


def checksum(rows: list[Any]) -> tuple[int, float]:
    """Row count and grand total of the `sum` column, to check that a variant gives the same answer."""
    return len(rows), round(sum(float(r[3]) for r in rows), 3)


def variant(
    ctx: Context, query: Callable[[Connection], list[Any]], setup: list[Any], repeat: int
) -> dict[str, Any]:
    """Timed runs of a query on one connection after its SET LOCALs / set-up statements."""
    with ctx.engine.connect() as conn:
        began = time.perf_counter()
        for statement in setup:
            conn.execute(statement)
        setup_s = time.perf_counter() - began
        count, total = checksum(query(conn))
        figures: dict[str, Any] = {**timed(lambda: query(conn), repeat), "rows": count, "total": total}
        if setup_s > 0.05:
            figures["setup_s"] = round(setup_s, 2)
        conn.rollback()
    return figures


def plan_nodes(node: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """The plan's nodes depth-first: type (and table), rows, inclusive and own milliseconds."""
    children = node.get("Plans", [])
    inclusive = node["Actual Total Time"]
    own = inclusive - sum(c["Actual Total Time"] for c in children)
    label = node["Node Type"] + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
    if node.get("Strategy"):
        label = f"{node['Strategy']} {label}"
    row = {"depth": depth, "node": label, "rows": node["Actual Rows"] * node["Actual Loops"]}
    row |= {"ms": round(inclusive, 1), "own_ms": round(own, 1)}
    return [row, *(n for c in children for n in plan_nodes(c, depth + 1))]


def explain(ctx: Context, statement: str, params: Any) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the engine's statement: text on stderr, figures returned."""
    with ctx.engine.connect() as conn:
        # The engine's own statement, prefixed; its parameters stay bound.
        lines = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).scalars().all()
        doc: Any = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params
        ).scalar()
        conn.rollback()
    console.rule("engine query")
    console.print(statement % {k: repr(v) for k, v in params.items()}, markup=False, highlight=False)
    console.rule("EXPLAIN (ANALYZE, BUFFERS)")
    console.print("\n".join(lines), markup=False, highlight=False)
    top = doc[0]
    jit = top.get("JIT", {})
    return {
        "execution_ms": round(top["Execution Time"], 1),
        "planning_ms": round(top["Planning Time"], 1),
        "jit_ms": round(jit.get("Timing", {}).get("Total", 0.0), 1),
        "shared_hit_blocks": top["Plan"].get("Shared Hit Blocks", 0),
        "shared_read_blocks": top["Plan"].get("Shared Read Blocks", 0),
        "temp_written_blocks": top["Plan"].get("Temp Written Blocks", 0),
        "nodes": plan_nodes(top["Plan"])[:14],
    }


def sql_figures(
    ctx: Context, kpi: KpiDefinition, scope: Scope, metric_id: int, repeat: int
) -> dict[str, Any]:
    """The engine's query alone, its plan, and the variants beside it."""
    statement, params = engine_statement(ctx, kpi, scope)
    start, end = datetime(YEAR, 1, 1, tzinfo=UTC), datetime(YEAR + 1, 1, 1, tzinfo=UTC)
    bound = {"start": start, "end": end, "metric": metric_id}

    def driver_sql(changed: str) -> Callable[[Connection], list[Any]]:
        return lambda conn: list(conn.exec_driver_sql(changed, params).all())

    def bound_sql(query: Any) -> Callable[[Connection], list[Any]]:
        return lambda conn: list(conn.execute(query, bound).all())

    engine_query = driver_sql(statement)
    out: dict[str, Any] = {"explain": explain(ctx, statement, params)}
    steps: dict[str, tuple[Callable[[Connection], list[Any]], list[Any]] | None] = {
        "engine_query": (engine_query, []),
        "engine_query_jit_off": (engine_query, [text("SET LOCAL jit = off")]),
        "engine_query_work_mem_64mb": (engine_query, [text("SET LOCAL work_mem = '64MB'")]),
        "engine_query_float_mean": (driver_sql(statement.replace(NUMERIC_MEAN, "rollup_day.n")), [])
        if NUMERIC_MEAN in statement
        else None,
        "engine_query_without_count_distinct": (driver_sql(statement.replace(DISTINCT_ASSETS, "")), [])
        if DISTINCT_ASSETS in statement
        else None,
        "per_series_first": (bound_sql(PER_SERIES_FIRST), []),
        # Custom plans: after 5 executions psycopg prepares the statement, and PostgreSQL's generic
        # plan guesses 0.5 % of the rows for the range (nested loop + sort: 2.5 times slower here).
        "month_rollup": (
            bound_sql(FROM_MONTH_ROLLUP),
            [
                MONTH_ROLLUP,
                text("ANALYZE bench_rollup_month"),
                text("SET LOCAL plan_cache_mode = force_custom_plan"),
            ],
        ),
    }
    for name, step in steps.items():
        console.print(f"sql: {name}")
        out[name] = variant(ctx, *step, repeat) if step is not None else None
    return out


# -- (a)–(d) the engine, the cache, the API and the home page ---------------------------------------


def clear_cache(ctx: Context) -> None:
    """Forget every cached KPI result (a cache miss, as after a new batch)."""
    with ctx.session(write=True) as s:
        s.execute(delete(KpiCache))


def cold(ctx: Context, kpi: KpiDefinition, scope: Scope, repeat: int) -> dict[str, Any]:
    """`compute` directly, and `kpi_rows` after emptying the cache (version check, compute, cache write)."""

    def direct() -> None:
        with ctx.session() as s:
            compute(s, kpi, scope)

    with ctx.session() as s:
        rows = len(compute(s, kpi, scope))
    return {
        "rows": rows,
        "compute": timed(direct, repeat),
        "kpi_rows_cache_miss": timed(lambda: kpi_rows(ctx, kpi, scope), repeat, lambda: clear_cache(ctx)),
    }


def http(client: TestClient, headers: dict[str, str], level: str, repeat: int) -> dict[str, Any]:
    """The KPI through the API: the first call fills the cache, the next ones are hits."""
    params = {"level": level, "period": "month", "start": str(START), "end": str(END)}

    def get(cached: bool) -> bytes:
        answer = client.get(f"/api/v1/kpis/{KPI}", params=params, headers=headers)
        if answer.status_code != 200 or orjson.loads(answer.content)["cached"] is not cached:
            raise RuntimeError(f"unexpected answer {answer.status_code}: {answer.text[:300]}")
        return bytes(answer.content)

    began = time.perf_counter()
    body = get(cached=False)
    first_ms = round((time.perf_counter() - began) * 1000, 1)
    warm = timed(lambda: get(cached=True), repeat)
    return {"first_call_cache_miss_ms": first_ms, "warm": warm, "bytes": len(body)}


def home(client: TestClient, headers: dict[str, str], repeat: int) -> dict[str, float]:
    """The home page with the bearer token."""

    def get() -> None:
        answer = client.get("/", headers=headers)
        if answer.status_code != 200 or "<html" not in answer.text:
            raise RuntimeError(f"home page answered {answer.status_code}")

    get()
    return timed(get, repeat)


def measure(ctx: Context, repeat: int) -> dict[str, Any]:
    """Every figure of (a)–(e)."""
    with ctx.session(write=True) as s:
        ds = get_dataset(s, "street-lights")
        _, token = create_token(s, ds.owner, ["read"], name="bench-kpi")
        kpi = get_kpi(s, KPI)
        metric_id = int(s.scalar(select(Metric.id).where(Metric.dataset_id == ds.id)) or 0)
    commune = Scope("commune", "month", START, END)
    territory = Scope("territory", "month", START, END)
    december = Scope("commune", "month", date(YEAR, 12, 1), END)
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    console.print("(a) cold, commune level")
    out["commune"] = cold(ctx, kpi, commune, repeat)
    console.print("(a') cold, commune level, one month only")
    out["commune_one_month"] = cold(ctx, kpi, december, repeat)
    console.print("(c) cold, territory level")
    out["territory"] = cold(ctx, kpi, territory, repeat)
    clear_cache(ctx)
    app = create_app(context=ctx)
    tune_gc()  # as `territoria serve` does (app_from_env): without it a full collection adds ~130 ms
    with TestClient(app) as client:
        console.print("(b) HTTP, commune level")
        out["commune"]["http"] = http(client, headers, "commune", repeat)
        console.print("(c) HTTP, territory level")
        out["territory"]["http"] = http(client, headers, "territory", repeat)
        console.print("(d) home page")
        out["home_page"] = home(client, headers, repeat)
    console.print("(e) the engine's query alone")
    out["sql"] = sql_figures(ctx, kpi, commune, metric_id, repeat)
    return out


def verdict(figures: dict[str, Any]) -> dict[str, bool]:
    """Each target met or not."""
    commune = figures["commune"]
    return {
        "kpi_http_warm_p95_under_150ms": commune["http"]["warm"]["p95_ms"] < TARGET_KPI_P95_MS,
        "kpi_cold_compute_p95_under_150ms": commune["compute"]["p95_ms"] < TARGET_KPI_P95_MS,
        "home_page_p95_under_500ms": figures["home_page"]["p95_ms"] < TARGET_HOME_MS,
    }


def main() -> None:
    """Set up (or reuse) the data, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000, help="measurements (default 50 M)")
    parser.add_argument("--series", type=int, default=10_000, help="street lights, one series each")
    parser.add_argument("--repeat", type=int, default=20, help="timed repetitions of each figure")
    parser.add_argument("--keep", action="store_true", help="keep the schema, and reuse it when loaded")
    parser.add_argument("--schema", default="bench_kpi", help="schema kept with --keep")
    args = parser.parse_args()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.schema):
        parser.error("--schema: lower-case letters, digits and underscores")
    if args.rows < args.series * 12:
        parser.error("--rows must give every series at least one reading a month")
    out: dict[str, Any] = {
        "bench": "kpi",
        "kpi": KPI,
        "period": "month",
        "start": str(START),
        "end": str(END),
        "targets": {"kpi_p95_ms": TARGET_KPI_P95_MS, "home_page_ms": TARGET_HOME_MS},
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
    }
    with database(args.schema if args.keep else None, args.rows, args.series) as (url, found):
        settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(48), log_level="warning")
        ctx = Context(settings)
        try:
            if found is not None:
                upgrade(ctx.engine)  # the kept schema follows migrations added since it was loaded
            setup = found if found is not None else prepare(ctx, args.rows, args.series)
            out["setup"] = {**setup, "reused": found is not None, **sizes(ctx)}
            with ctx.session() as s:
                out["postgresql"] = s.scalar(text("SHOW server_version"))
            out["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
            out |= measure(ctx, args.repeat)
            out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            ctx.engine.dispose()
    out["verdict"] = verdict(out)
    print(orjson.dumps(out).decode())


if __name__ == "__main__":
    main()
