"""HTTP batch ingest (10,000 rows per request) into PostgreSQL and SQLite, beside a raw baseline.

For each backend, in the same run: a raw write of the same rows into the same `measurement` table
(psycopg binary COPY on PostgreSQL, sqlite3 executemany on SQLite), then the table is emptied and the
same rows go through the real server (`territoria serve`, one uvicorn process) as JSON bodies of
10,000 rows: parse, checks, series lookup, dedup, COPY, rollups, batch record, answer.

    .venv/bin/python bench/bench_http_ingest.py [--requests 30] [--backend postgresql --backend sqlite]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import create_engine, delete, select, text

from territoria.access.service import create_token
from territoria.catalog.models import Asset, Metric, Series
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, upsert_assets
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.models import Batch
from territoria.settings import Settings
from territoria.territory.index import AreaLocator
from territoria.timeseries.models import measurement, rollup_day, rollup_hour
from territoria.timeseries.partitions import ensure_partitions

PG_URL = os.environ.get("TERRITORIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROWS = 10_000
ASSETS = 1_000
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def rows_of(k: int) -> list[dict[str, Any]]:
    """Request k: 1,000 assets × 10 timestamps of its own (15-minute steps)."""
    out = []
    for step in range(ROWS // ASSETS):
        ts = (T0 + timedelta(minutes=15 * (k * 10 + step))).isoformat()
        out.extend(
            {"asset": f"M{a:04d}", "metric": "power", "ts": ts, "value": float((a * 7 + step) % 400)}
            for a in range(ASSETS)
        )
    return out


def setup(ctx: Context) -> str:
    """Schema, organisation, dataset, assets, series; returns an ingest token."""
    upgrade(ctx.engine)
    with ctx.session(write=True) as s:
        org = create_organisation(s, OrganisationCreate(slug="bench", name="Bench", kind="operator"))
        ds = create_dataset(
            s,
            DatasetCreate(
                slug="meters",
                title="Meters",
                domain="energy",
                kind="timeseries",
                metrics=[MetricCreate(name="power", unit="W", min=0, max=1000)],
            ),
            org,
        )
        upsert_assets(
            s, ds, [AssetIn(id=f"M{a:04d}", lon=7.2, lat=43.7) for a in range(ASSETS)], AreaLocator([])
        )
        metric_id = s.scalar(select(Metric.id).where(Metric.dataset_id == ds.id))
        ids = s.execute(select(Asset.external_id, Asset.id).where(Asset.dataset_id == ds.id)).all()
        s.execute(Series.__table__.insert(), [{"asset_id": i, "metric_id": metric_id} for _, i in ids])
        _, token = create_token(s, org, ["ingest"])
    return token


def series_points(ctx: Context, bodies: list[list[dict[str, Any]]]) -> list[tuple[int, datetime, float]]:
    """The same rows as (series_id, ts, value) for the raw baseline."""
    with ctx.session() as s:
        sid = dict(
            s.execute(select(Asset.external_id, Series.id).join(Series, Series.asset_id == Asset.id)).all()
        )
    return [(sid[r["asset"]], datetime.fromisoformat(r["ts"]), r["value"]) for body in bodies for r in body]


def baseline_postgresql(ctx: Context, points: list[tuple[int, datetime, float]]) -> float:
    """Raw psycopg binary COPY into measurement, one COPY per 10,000 rows; rows per second."""
    ensure_partitions(ctx.engine, {(p[1].year, p[1].month) for p in points})
    url = ctx.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1)) as conn:
        start = time.perf_counter()
        for i in range(0, len(points), ROWS):
            with (
                conn.cursor() as cur,
                cur.copy("COPY measurement (series_id, ts, value) FROM STDIN (FORMAT BINARY)") as cp,
            ):
                cp.set_types(["int4", "timestamptz", "float8"])
                for row in points[i : i + ROWS]:
                    cp.write_row(row)
            conn.commit()
        return len(points) / (time.perf_counter() - start)


def baseline_sqlite(path: Path, points: list[tuple[int, datetime, float]]) -> float:
    """Raw sqlite3 executemany into measurement, one transaction per 10,000 rows; rows per second."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    rows = [(sid, ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), v) for sid, ts, v in points]
    start = time.perf_counter()
    for i in range(0, len(rows), ROWS):
        with conn:
            conn.executemany(
                "INSERT INTO measurement (series_id, ts, value) VALUES (?, ?, ?)", rows[i : i + ROWS]
            )
    elapsed = time.perf_counter() - start
    conn.close()
    return len(points) / elapsed


def empty_tables(ctx: Context) -> None:
    """Remove the baseline's rows so the HTTP run writes into the same, empty table."""
    with ctx.session(write=True) as s:
        for table in (measurement, rollup_hour, rollup_day):
            s.execute(delete(table))
        s.execute(delete(Batch))


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post_all(base: str, headers: dict[str, str], payloads: list[bytes], latencies: list[float]) -> None:
    """One client posting payloads in sequence."""
    with httpx.Client(base_url=base, timeout=120) as client:
        for body in payloads:
            t = time.perf_counter()
            r = client.post("/api/v1/datasets/meters/measurements", content=body, headers=headers)
            latencies.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.json()["accepted"] == ROWS, r.text


def http_run(
    url: str, token: str, payloads: list[bytes], concurrency: int, workers: int = 1
) -> dict[str, float]:
    """Post every payload to a fresh server from `concurrency` clients; rows per second and latency."""
    port = free_port()
    env = {
        **os.environ,
        "TERRITORIA_DATABASE_URL": url,
        "TERRITORIA_SECRET_KEY": uuid.uuid4().hex * 2,
        "TERRITORIA_LOG_LEVEL": "warning",
        "TERRITORIA_QUALITY_INTERVAL_S": "0",  # no background pass during the measurement
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "territoria.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
        latencies: list[float] = []
        _post_all(base, headers, payloads[:1], [])  # warm-up
        work = payloads[1:]
        threads = [
            threading.Thread(target=_post_all, args=(base, headers, work[i::concurrency], latencies))
            for i in range(concurrency)
        ]
        start = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - start
        assert len(latencies) == len(work), "a client failed"
        latencies.sort()
        return {
            "rows_per_s": round((len(payloads) - 1) * ROWS / elapsed),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def run_backend(backend: str, requests: int, concurrency: int, workers: int) -> dict[str, Any]:
    """Baseline and HTTP figures for one backend."""
    bodies = [rows_of(k) for k in range(requests + 1)]
    payloads = [orjson.dumps(b) for b in bodies]
    if backend == "sqlite":
        tmp = Path(tempfile.mkdtemp()) / "bench.db"
        url, schema = f"sqlite:///{tmp}", None
    else:
        schema = "bench_" + uuid.uuid4().hex[:8]
        with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    ctx = Context(Settings(database_url=url, demo=True))
    try:
        token = setup(ctx)
        points = series_points(ctx, bodies[1:])
        raw = baseline_postgresql(ctx, points) if backend == "postgresql" else baseline_sqlite(tmp, points)
        empty_tables(ctx)
        http = http_run(url, token, payloads, 1)
        empty_tables(ctx)
        parallel = http_run(url, token, payloads, concurrency, workers=workers)
        with ctx.session() as s:
            stored = s.scalar(select(text("count(*)")).select_from(measurement))
        assert stored == (requests + 1) * ROWS, stored
        return {
            "raw_rows_per_s": round(raw),
            "http_1_client": {**http, "ratio_to_raw": round(http["rows_per_s"] / raw, 3)},
            f"http_{concurrency}_clients_{workers}_workers": {
                **parallel,
                "ratio_to_raw": round(parallel["rows_per_s"] / raw, 3),
            },
        }
    finally:
        ctx.engine.dispose()
        if schema:
            with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def main() -> None:
    """Run every asked backend and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--backend", action="append", choices=["postgresql", "sqlite"])
    parser.add_argument("--concurrency", type=int, default=2, help="clients of the parallel run")
    parser.add_argument("--workers", type=int, default=1, help="server processes of the parallel run")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "bench": "http_ingest",
        "rows_per_request": ROWS,
        "requests": args.requests,
        "cpus": os.cpu_count(),
    }
    for backend in args.backend or ["postgresql", "sqlite"]:
        out[backend] = run_backend(backend, args.requests, args.concurrency, args.workers)
    print(orjson.dumps(out).decode())


if __name__ == "__main__":
    main()
