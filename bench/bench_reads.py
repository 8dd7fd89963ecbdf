"""Reads under load: window-less raw reads of an open dataset by 20 anonymous clients, beside a bystander.

Issue 13, item 7: a raw measurements read with no time window took 2.25 s at 11 M rows, and 20 clients
issuing it took the server from 66 to 6.4 requests/s (p95 21.8 s). Raw reads now page through the
primary key (cursor `next`, `Link` header), API read statements have a timeout on PostgreSQL and each
caller may run only a few expensive queries at once (429 + Retry-After past that).

Set-up: a throw-away PostgreSQL schema, one open time-series dataset (--assets meters × 1 metric `power`,
15-minute readings from 2025-01-01) and --rows measurements written with binary COPY. Raw reads use no
rollup, so none is built. Then, in the same run:

(a) baseline in SQL (psycopg): the old statement of a window-less raw read (every row of the dataset
    joined to its series, asset and metric, sorted, LIMIT 10,001: what each request of the issue ran),
    the same with no LIMIT, every row fetched through a server-side cursor (the unbounded read), and
    the new first page (`query_series`, statements timed as they run, and wall time);
(b) a real server (`territoria serve`, one uvicorn process, defaults for the statement timeout and the
    per-caller limit) on 127.0.0.1, and for --duration seconds each:
    - bystander alone: one client alternating GET /healthz and GET /api/v1/datasets;
    - attack, one address: --attackers anonymous clients from 127.0.0.1, each reading the whole
      dataset raw with no window (first page, then `next` for --pages pages, again), Retry-After ignored,
      while the bystander runs;
    - attack, many addresses: the same clients each from its own loopback address (127.0.0.2, …), so
      that each is a caller of its own and the per-caller limit never refuses them: only paging and
      the timeout bound the load;
    - bystander alone again (recovery).
Load generators run in processes of their own (bystander apart from attackers). The machine is shared
(2 cores, other jobs may run): figures are indicative of orders of magnitude, not exact.

    uv run python bench/bench_reads.py                  # 11 M rows (~2.5 min)
    uv run python bench/bench_reads.py --rows 1000000   # quick check

Progress goes to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import orjson
import psycopg
import psycopg.sql
from sqlalchemy import create_engine, event, insert, select, text

from territoria.catalog.models import Asset, Metric, Series
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, get_dataset, upsert_assets
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.models import Batch
from territoria.settings import Settings
from territoria.territory.index import AreaLocator
from territoria.timeseries.paging import parse_cursor
from territoria.timeseries.partitions import ensure_partitions, next_month
from territoria.timeseries.points import copy_binary
from territoria.timeseries.query import query_series

PG_URL = os.environ.get("TERRITORIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SLUG = "meters"
T0 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
STEP_S = 900  # 15-minute readings
CHUNK_ROWS = 1_000_000
REQUEST_TIMEOUT_S = 60.0
OLD_FIRST_PAGE = """
    SELECT a.external_id, m.name, ms.ts, ms.value
    FROM measurement AS ms
    JOIN series AS s ON s.id = ms.series_id
    JOIN asset AS a ON a.id = s.asset_id
    JOIN metric AS m ON m.id = s.metric_id
    WHERE a.dataset_id = %(ds)s
    ORDER BY a.external_id, m.name, ms.ts
"""


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary(seconds: list[float]) -> dict[str, float]:
    """Count, p50, p95 (nearest rank) and max in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, math.ceil(0.95 * len(ms)) - 1)], 1),
        "max_ms": round(ms[-1], 1),
    }


# -- schema and data --------------------------------------------------------------------------------


@contextmanager
def database(keep: bool, rows: int, assets: int) -> Iterator[tuple[str, bool]]:
    """URL on the bench schema and whether it already holds this load (--keep: schema bench_reads)."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = "bench_reads" if keep else "bench_reads_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        note = conn.scalar(
            text("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :s"),
            {"s": name},
        )
        loaded = bool(keep and note and orjson.loads(note) == {"rows": rows, "assets": assets})
        if not loaded:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}", loaded
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def load(ctx: Context, rows: int, n_assets: int) -> dict[str, Any]:
    """Catalog (open dataset, meters, one series each) and measurements by binary COPY; set-up figures."""
    began = time.perf_counter()
    upgrade(ctx.engine)
    with ctx.session(write=True) as s:
        org = create_organisation(s, OrganisationCreate(slug="grid", name="Grid", kind="operator"))
        body = DatasetCreate(
            slug=SLUG,
            title="Meters",
            domain="energy",
            kind="timeseries",
            access="open",
            metrics=[MetricCreate(name="power", unit="W", min=0, max=10_000)],
        )
        ds = create_dataset(s, body, org)
        meters = [AssetIn(id=f"M{a:05d}", lon=7.2, lat=43.7) for a in range(n_assets)]
        upsert_assets(s, ds, meters, AreaLocator([]))
        metric_id = s.scalar(select(Metric.id).where(Metric.dataset_id == ds.id))
        ids = s.scalars(select(Asset.id).where(Asset.dataset_id == ds.id).order_by(Asset.id)).all()
        s.execute(insert(Series), [{"asset_id": i, "metric_id": metric_id} for i in ids])
        sids = np.array(s.scalars(select(Series.id).order_by(Series.id)).all(), dtype=np.int64)
        ds_id, owner_id = ds.id, ds.owner_id
    catalog_s = time.perf_counter() - began
    per_series = rows // n_assets
    last = datetime.fromtimestamp(T0 + (per_series - 1) * STEP_S, UTC)
    months = [(2025, 1)]
    while months[-1] < (last.year, last.month):
        months.append(next_month(*months[-1]))
    ensure_partitions(ctx.engine, months)
    began = time.perf_counter()
    written = 0
    step = max(1, CHUNK_ROWS // per_series)
    rng = np.random.default_rng(13)
    with ctx.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        for i in range(0, len(sids), step):
            chunk = sids[i : i + step]
            sid = np.repeat(chunk, per_series)
            k = np.tile(np.arange(per_series, dtype=np.int64), len(chunk))
            us = (T0 + k * STEP_S) * 1_000_000
            value = np.round(rng.gamma(2.0, 400.0, len(sid)), 1)
            with (
                raw.cursor() as cur,
                cur.copy("COPY measurement (series_id, ts, value) FROM STDIN (FORMAT BINARY)") as cp,
            ):
                cp.write(copy_binary([(sid, "int4"), (us, "timestamptz"), (value, "float8")]))
            written += len(sid)
            if (i // step) % 5 == 0:
                log(f"COPY {written:,} / {per_series * len(sids):,} rows")
        conn.commit()
    copy_s = time.perf_counter() - began
    with ctx.session(write=True) as s:
        s.add(
            Batch(
                id=str(uuid.uuid4()),
                dataset_id=ds_id,
                organisation_id=owner_id,
                source="file",
                content_type="bench",
                received=written,
                accepted=written,
            )
        )
    began = time.perf_counter()
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) measurement, series, asset, metric, batch"))
        schema = conn.scalar(text("SELECT current_schema()"))
        note = orjson.dumps({"rows": rows, "assets": n_assets}).decode()
        comment = psycopg.sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
            psycopg.sql.Identifier(str(schema)), psycopg.sql.Literal(note)
        )
        conn.connection.driver_connection.execute(comment)  # type: ignore[union-attr]
    return {
        "rows": written,
        "catalog_s": round(catalog_s, 1),
        "copy_s": round(copy_s, 1),
        "copy_rows_per_s": round(written / copy_s),
        "vacuum_analyze_s": round(time.perf_counter() - began, 1),
        "span": [datetime.fromtimestamp(T0, UTC).isoformat(), last.isoformat()],
    }


# -- (a) the old statement and the new first page, in SQL -------------------------------------------


def sql_baseline(ctx: Context, url: str, repeat: int) -> dict[str, Any]:
    """Old first page (sorted, LIMIT 10,001), old read with no LIMIT (all rows), new first page."""
    with ctx.session() as s:
        ds = get_dataset(s, SLUG)
        ds_id = ds.id
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    out: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn:
        conn.execute("SET statement_timeout = '600s'")  # bounded even on a slow machine
        seconds = []
        for _ in range(repeat):
            began = time.perf_counter()
            got = conn.execute(OLD_FIRST_PAGE + " LIMIT 10001", {"ds": ds_id}).fetchall()
            seconds.append(time.perf_counter() - began)
        out["old_first_page"] = {**summary(seconds), "rows": len(got)}
        log(f"old first page: {out['old_first_page']}")
        began = time.perf_counter()
        fetched = 0
        with conn.cursor(name="unbounded") as cur:
            cur.itersize = 100_000
            cur.execute(OLD_FIRST_PAGE, {"ds": ds_id})
            while batch := cur.fetchmany(100_000):
                fetched += len(batch)
        out["old_unbounded_all_rows"] = {"s": round(time.perf_counter() - began, 2), "rows": fetched}
        log(f"old unbounded read: {out['old_unbounded_all_rows']}")
    # New path: the statements `query_series` runs, timed as they run, and its wall time.
    timing: dict[str, Any] = {"on": False, "sql_s": 0.0, "statements": 0, "began": 0.0}

    def before(*_a: Any) -> None:
        timing["began"] = time.perf_counter()

    def after(*_a: Any) -> None:
        if timing["on"]:
            timing["sql_s"] += time.perf_counter() - timing["began"]
            timing["statements"] += 1

    event.listen(ctx.engine, "before_cursor_execute", before)
    event.listen(ctx.engine, "after_cursor_execute", after)
    try:
        for label in ("new_first_page", "new_second_page"):
            wall, sql_only = [], []
            for _ in range(max(repeat, 10)):
                with ctx.session() as s:
                    ds = get_dataset(s, SLUG)
                    cursor = None
                    if label == "new_second_page":
                        cursor = parse_cursor(query_series(s, ds, resolution="raw").cursor)
                    timing.update(on=True, sql_s=0.0, statements=0)
                    began = time.perf_counter()
                    page = query_series(s, ds, resolution="raw", cursor=cursor)
                    wall.append(time.perf_counter() - began)
                    timing["on"] = False
                    sql_only.append(timing["sql_s"])
            out[label] = {
                "sql": summary(sql_only),
                "wall": summary(wall),
                "statements": timing["statements"],
                "points": page.count,
                "has_next": page.cursor is not None,
            }
            log(f"{label}: {out[label]}")
    finally:
        event.remove(ctx.engine, "before_cursor_execute", before)
        event.remove(ctx.engine, "after_cursor_execute", after)
    return out


# -- (b) the server under load ----------------------------------------------------------------------


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bystander(base: str, duration: float, queue: Any) -> None:
    """One client alternating the cheap requests for `duration` seconds (a process of its own)."""
    lat: dict[str, list[float]] = {"/healthz": [], "/api/v1/datasets": []}
    statuses: Counter[str] = Counter()
    deadline = time.perf_counter() + duration
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
        i = 0
        while time.perf_counter() < deadline:
            path = "/healthz" if i % 2 == 0 else "/api/v1/datasets"
            i += 1
            began = time.perf_counter()
            try:
                status = str(client.get(path).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            lat[path].append(time.perf_counter() - began)
            statuses[status] += 1
    queue.put(("bystander", {"latencies": lat, "statuses": dict(statuses), "cpu_s": sum(os.times()[:2])}))


def _attacker(base: str, address: str, deadline: float, pages: int, out: list[Any]) -> None:
    """One client reading the whole dataset raw with no window: first page, then `next`, again."""
    transport = httpx.HTTPTransport(local_address=address)
    first = f"/api/v1/datasets/{SLUG}/measurements?resolution=raw"
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S, transport=transport) as client:
        url = first
        depth = 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                r = client.get(url)
                status, size = str(r.status_code), len(r.content)
            except httpx.HTTPError as exc:
                r, status, size = None, type(exc).__name__, 0
            out.append((status, time.perf_counter() - began, size))
            following = r.links.get("next", {}).get("url") if r is not None and status == "200" else None
            if following and depth < pages - 1:
                url, depth = following, depth + 1
            elif status == "200" or r is None:
                url, depth = first, 0
            # otherwise (429, 503): the same request again at once, Retry-After ignored


def attackers(base: str, duration: float, addresses: list[str], pages: int, queue: Any) -> None:
    """The attackers, one thread each (a process of its own)."""
    deadline = time.perf_counter() + duration
    out: list[Any] = []
    threads = [
        threading.Thread(target=_attacker, args=(base, a, deadline, pages, out), daemon=True)
        for a in addresses
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(REQUEST_TIMEOUT_S + duration)
    queue.put(("attackers", {"requests": list(out), "cpu_s": sum(os.times()[:2])}))


def phase(
    base: str, server_pid: int, duration: float, addresses: list[str] | None, pages: int
) -> dict[str, Any]:
    """Bystander (and attackers when addresses are given) for `duration` seconds; their figures, and the
    CPU used by the server process, the load generators and the whole machine (other jobs included)."""
    ctx = mp.get_context("spawn")
    server_cpu, machine = cpu_of(server_pid), machine_ticks()
    queue = ctx.Queue()
    procs = [ctx.Process(target=bystander, args=(base, duration, queue))]
    if addresses:
        procs.append(ctx.Process(target=attackers, args=(base, duration, addresses, pages, queue)))
    for p in procs[::-1]:
        p.start()
    results = dict(queue.get(timeout=duration + 2 * REQUEST_TIMEOUT_S + 30) for _ in procs)
    server_cpu = cpu_of(server_pid) - server_cpu
    busy, total = (b - a for a, b in zip(machine, machine_ticks(), strict=True))
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.kill()
    by = results["bystander"]
    every = by["latencies"]["/healthz"] + by["latencies"]["/api/v1/datasets"]
    out: dict[str, Any] = {
        "bystander": {
            "requests_per_s": round(len(every) / duration, 1),
            "statuses": by["statuses"],
            **{k: v for k, v in summary(every).items() if k != "n"},
            "healthz": summary(by["latencies"]["/healthz"]),
            "datasets": summary(by["latencies"]["/api/v1/datasets"]),
        },
        "cpu": {
            "server_cores": round(server_cpu / duration, 2),
            "load_generators_cores": round(
                sum(r["cpu_s"] for r in results.values() if isinstance(r, dict)) / duration, 2
            ),
            "machine_busy": round(busy / total, 2) if total else None,
        },
    }
    if addresses:
        rows = results["attackers"]["requests"]
        statuses = Counter(r[0] for r in rows)
        ok = [r for r in rows if r[0] == "200"]
        out["attackers"] = {
            "clients": len(addresses),
            "addresses": len(set(addresses)),
            "requests_per_s": round(len(rows) / duration, 1),
            "statuses": dict(statuses),
            **{k: v for k, v in summary([r[1] for r in rows]).items() if k != "n"},
            "ok": summary([r[1] for r in ok]),
            "refused_429": summary([r[1] for r in rows if r[0] == "429"]),
            "pages_per_s": round(len(ok) / duration, 1),
            "mb_served": round(sum(r[2] for r in ok) / 2**20, 1),
        }
    return out


def http_pages(base: str, repeat: int) -> dict[str, Any]:
    """One client alone: the first page and the one after it over HTTP, timed (after a warm-up)."""
    first = f"/api/v1/datasets/{SLUG}/measurements?resolution=raw"
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
        following = client.get(first).links["next"]["url"]
        out: dict[str, Any] = {}
        for label, url in (("first", first), ("next", following)):
            seconds, size = [], 0
            for _ in range(max(repeat, 5)):
                began = time.perf_counter()
                r = client.get(url)
                seconds.append(time.perf_counter() - began)
                assert r.status_code == 200, r.text
                size = len(r.content)
            out[label] = {**summary(seconds), "kb": round(size / 1024)}
    return out


@contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    """`territoria serve` (one uvicorn process) on 127.0.0.1; its base URL and process id."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="bench-reads-")
    env = {
        **os.environ,
        "TERRITORIA_DATABASE_URL": url,
        "TERRITORIA_SECRET_KEY": uuid.uuid4().hex * 2,
        "TERRITORIA_LOG_LEVEL": "warning",
        "TERRITORIA_QUALITY_INTERVAL_S": "0",  # no background pass during the measurement
        "TERRITORIA_RELEASE_DIR": tmp,
        "TERRITORIA_AUDIT_CHECKPOINT_FILE": os.path.join(tmp, "audit.jsonl"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "territoria.cli", "serve", "--host", "127.0.0.1", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("territoria serve exited")
            time.sleep(0.1)
        else:
            raise RuntimeError("territoria serve did not answer /healthz")
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    """Load, baseline in SQL, then the server under attack and alone; one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=11_000_000)
    parser.add_argument("--assets", type=int, default=2_000, help="meters, one series each")
    parser.add_argument("--attackers", type=int, default=20)
    parser.add_argument("--pages", type=int, default=4, help="pages each attack reads (first + next…)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--repeat", type=int, default=3, help="timings of the old first page")
    parser.add_argument("--keep", action="store_true", help="keep schema bench_reads and reuse it")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "bench": "reads",
        "cpus": os.cpu_count(),
        "note": "shared machine (other jobs may run): orders of magnitude, not exact figures",
        "assets": args.assets,
        "duration_s": args.duration,
    }
    with database(args.keep, args.rows, args.assets) as (url, loaded):
        ctx = Context(Settings(database_url=url))
        try:
            if loaded:
                log("schema bench_reads already holds this load")
            else:
                out["setup"] = load(ctx, args.rows, args.assets)
                log(f"loaded: {out['setup']}")
            out["server_settings"] = {
                "statement_timeout_ms": ctx.settings.statement_timeout_ms,
                "expensive_queries_per_caller": ctx.settings.expensive_queries_per_caller,
                "workers": 1,
            }
            out["sql"] = sql_baseline(ctx, url, args.repeat)
        finally:
            ctx.engine.dispose()
        one = ["127.0.0.1"] * args.attackers
        many = [f"127.0.0.{2 + i}" for i in range(args.attackers)]
        with server(url) as (base, pid):
            out["http_page_alone"] = http_pages(base, args.repeat)
            log(f"one client, one page at a time: {out['http_page_alone']}")
            plan = [
                ("alone", None),
                ("attack_one_address", one),
                ("attack_many_addresses", many),
                ("alone_after", None),
            ]
            for name, addresses in plan:
                log(f"phase {name} ({args.duration:g} s)")
                out[name] = phase(base, pid, args.duration, addresses, args.pages)
                log(f"{name}: {out[name]}")
    alone = out["alone"]["bystander"]["requests_per_s"]
    out["summary"] = {
        "old_read_s": round(out["sql"]["old_first_page"]["p50_ms"] / 1000, 2),
        "old_unbounded_all_rows_s": out["sql"]["old_unbounded_all_rows"]["s"],
        "new_first_page_sql_ms": out["sql"]["new_first_page"]["sql"]["p50_ms"],
        "bystander_rps_alone": alone,
        "bystander_rps_attack_one_address": out["attack_one_address"]["bystander"]["requests_per_s"],
        "bystander_rps_attack_many_addresses": out["attack_many_addresses"]["bystander"]["requests_per_s"],
        "bystander_p95_ms_attack_many_addresses": out["attack_many_addresses"]["bystander"]["p95_ms"],
    }
    print(orjson.dumps(out).decode())


if __name__ == "__main__":
    main()
