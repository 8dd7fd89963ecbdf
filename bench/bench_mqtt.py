"""MQTT ingest end to end: publish (QoS 1, another process) → broker → worker → committed rows.

(a) one measurement per message, (b) 100 measurements per message. The clock starts when the
publisher (already connected, payloads prepared) is told to go and stops when the worker has
committed the last row; the stored row count is checked in the database at the end.

    .venv/bin/python bench/bench_mqtt.py                 # PostgreSQL (TERRITORIA_TEST_PG or local test db)
    .venv/bin/python bench/bench_mqtt.py --sqlite        # embedded SQLite file
    .venv/bin/python bench/bench_mqtt.py --broker mqtt://127.0.0.1:1883   # an existing broker

By default a private Mosquitto is started on a free port with `max_queued_messages 0`: the stock
setting (1000 queued per client beyond the in-flight window) makes a broker drop QoS 1 messages when
a burst outruns the consumer, which would stall the benchmark. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from territoria.context import Context
    from territoria.ingest.schemas import BatchResult

PG_URL = os.environ.get("TERRITORIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SINGLE_BASE = datetime(2025, 3, 1, tzinfo=UTC)
BATCHED_BASE = datetime(2025, 3, 8, tzinfo=UTC)
BACKLOG_BASE = datetime(2025, 3, 15, tzinfo=UTC)
WARMUP_BASE = datetime(2025, 3, 20, tzinfo=UTC)
SHARED_BASE = datetime(2025, 3, 22, tzinfo=UTC)


# -- publisher (child process) -------------------------------------------------------------------


def payloads(kind: str, n: int, assets: int, rows: int, base: datetime) -> list[tuple[str, bytes]]:
    """Topics and payloads: every (asset, ts) distinct, so every row is a new measurement."""
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        asset, slot = i % assets, i // assets
        topic = f"territoria/bench/A{asset}/power"
        if kind == "single":
            ts = base + timedelta(seconds=slot)
            out.append((topic, orjson.dumps({"ts": ts.isoformat(), "value": float(i % 400)})))
        else:
            start = base + timedelta(seconds=slot * rows)
            doc = [
                {"ts": (start + timedelta(seconds=k)).isoformat(), "value": float((i + k) % 400)}
                for k in range(rows)
            ]
            out.append((topic, orjson.dumps(doc)))
    return out


def publisher_main(argv: list[str]) -> None:
    """Child process: connect, prepare, say 'ready', wait for 'go', publish, report publish time."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    url, kind, n, assets, rows, base = argv
    host, port = url.removeprefix("mqtt://").split(":")
    messages = payloads(kind, int(n), int(assets), int(rows), datetime.fromisoformat(base))
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    acked = [0]
    client.on_publish = lambda *_: acked.__setitem__(0, acked[0] + 1)
    client.connect(host, int(port))
    while not client.is_connected():
        client.loop(0.01)
    print("ready", flush=True)
    sys.stdin.readline()
    # No network thread: publish() writes straight to the socket and PUBACKs are read in passing,
    # which is about 2.5 times faster than paho's threaded loop (that one tops out near 4,600 msg/s here).
    t0 = time.perf_counter()
    for i, (topic, payload) in enumerate(messages):
        client.publish(topic, payload, qos=1)
        if i % 200 == 199:
            client.loop(0)
    while acked[0] < len(messages):
        client.loop(0.01)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    print(f"done {elapsed}", flush=True)


# -- environment -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_broker() -> Iterator[str]:
    """A Mosquitto of our own, tuned not to drop QoS 1 messages under a burst."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"
        )
        proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)


@contextmanager
def database(sqlite: bool) -> Iterator[str]:
    """A fresh PostgreSQL schema (dropped afterwards) or a SQLite file in a temporary directory."""
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import create_engine, text

    name = "bench_mqtt_" + uuid.uuid4().hex[:8]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def prepare(url: str, assets: int, batch_size: int | None) -> Context:
    """Migrated database with the bench dataset and its assets; returns the Context."""
    from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
    from territoria.catalog.service import create_dataset, create_organisation, upsert_assets
    from territoria.context import Context  # noqa: F811 - the runtime import of the annotation's class
    from territoria.db.migrate import upgrade
    from territoria.settings import Settings
    from territoria.territory.index import AreaLocator

    overrides = {"mqtt_batch_size": batch_size} if batch_size else {}
    ctx = Context(Settings(database_url=url, demo=True, **overrides))  # type: ignore[arg-type]
    upgrade(ctx.engine)
    with ctx.session(write=True) as s:
        org = create_organisation(s, OrganisationCreate(slug="bench-op", name="Bench", kind="operator"))
        body = DatasetCreate(
            slug="bench",
            title="Bench",
            domain="energy",
            kind="timeseries",
            metrics=[MetricCreate(name="power", unit="W", min=0, max=1000)],
        )
        ds = create_dataset(s, body, org)
        upsert_assets(s, ds, [AssetIn(id=f"A{i}") for i in range(assets)], AreaLocator([]))
    return ctx


# -- the run ----------------------------------------------------------------------------------------


class Counter:
    """Rows committed so far, fed by the worker's on_batch."""

    def __init__(self) -> None:
        self.rows = 0
        self.target = 0
        self.reached = asyncio.Event()

    def expect(self, rows: int) -> Callable[[], Awaitable[object]]:
        """Arm for `rows` more committed rows; returns what to await."""
        self.reached.clear()
        self.target = self.rows + rows
        return self.reached.wait

    def __call__(self, result: BatchResult) -> None:
        self.rows += result.accepted
        if self.target and self.rows >= self.target:
            self.reached.set()


async def phase(
    url: str,
    kind: str,
    n: int,
    assets: int,
    rows: int,
    base: datetime,
    done: Callable[[], Awaitable[object]] | None,
) -> tuple[float, float]:
    """Publish n messages from a child process; seconds until `done` (all committed), and publish seconds."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--publisher",
        url,
        kind,
        str(n),
        str(assets),
        str(rows),
        base.isoformat(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"ready"
    t0 = time.perf_counter()
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    if done is not None:
        await asyncio.wait_for(done(), 900)
    elapsed = time.perf_counter() - t0
    line = (await proc.stdout.readline()).decode().split()
    await proc.wait()
    return elapsed, float(line[1])


def worker_main(argv: list[str]) -> None:
    """Child process: one worker of a share group, 'ready' once subscribed, stops on SIGTERM."""
    from territoria.context import Context
    from territoria.ingest.mqtt import MqttWorker
    from territoria.settings import Settings

    broker, db_url, client_id, group = argv
    ctx = Context(Settings(database_url=db_url, demo=True))

    async def go() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        worker = MqttWorker(
            ctx, broker, client_id=client_id, shared=True, share_group=group, stop=stop, session_expiry_s=0
        )
        task = asyncio.create_task(worker.run())
        await worker.ready.wait()
        print("ready", flush=True)
        await task

    from territoria.ingest.mqtt import tune_gc

    tune_gc()
    asyncio.run(go())
    ctx.engine.dispose()


async def shared_phase(ctx: Context, db_url: str, broker: str, args: argparse.Namespace) -> float:
    """Batched messages split over --shared-workers worker processes; rows per second until committed."""
    from sqlalchemy import func, select

    from territoria.ingest.models import Batch

    def committed() -> int:
        with ctx.session() as s:  # the small batch table, not a count over the measurements
            return int(s.scalar(select(func.coalesce(func.sum(Batch.accepted), 0))) or 0)

    tag = uuid.uuid4().hex[:8]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            broker,
            db_url,
            f"bench-shared-{i}-{tag}",
            f"b{tag}",
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(args.shared_workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert (await proc.stdout.readline()).strip() == b"ready"
    target = await asyncio.to_thread(committed) + args.batched_messages * args.rows

    async def done() -> None:
        while await asyncio.to_thread(committed) < target:
            await asyncio.sleep(0.1)

    elapsed, _ = await phase(
        broker, "batched", args.batched_messages, args.assets, args.rows, SHARED_BASE, done
    )
    for proc in procs:
        proc.terminate()
        await proc.wait()
    return float(args.batched_messages * args.rows / elapsed)


async def run(args: argparse.Namespace, db_url: str, broker: str) -> dict[str, object]:
    """Warm-up, then the two phases, with one worker running throughout."""
    from sqlalchemy import func, select

    from territoria.ingest.mqtt import MqttWorker, WorkerStats
    from territoria.timeseries.models import measurement

    ctx = prepare(db_url, args.assets, args.batch_size)
    counter = Counter()
    client_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"

    def start() -> tuple[MqttWorker, asyncio.Event, asyncio.Task[WorkerStats]]:
        stop = asyncio.Event()
        worker = MqttWorker(
            ctx, broker, client_id=client_id, stop=stop, on_batch=counter, session_expiry_s=600
        )
        return worker, stop, asyncio.create_task(worker.run())

    worker, stop, task = start()
    await asyncio.wait_for(worker.ready.wait(), 30)
    warm = min(2000, args.messages)
    await phase(broker, "single", warm, args.assets, 1, WARMUP_BASE, counter.expect(warm))
    single_s, single_pub_s = await phase(
        broker, "single", args.messages, args.assets, 1, SINGLE_BASE, counter.expect(args.messages)
    )
    batched_rows = args.batched_messages * args.rows
    batched_s, batched_pub_s = await phase(
        broker,
        "batched",
        args.batched_messages,
        args.assets,
        args.rows,
        BATCHED_BASE,
        counter.expect(batched_rows),
    )
    stop.set()
    stats = await task
    # Backlog: messages queued by the broker while the worker is down, then drained: the worker alone.
    await phase(broker, "single", args.messages, args.assets, 1, BACKLOG_BASE, None)
    drained = counter.expect(args.messages)
    t0 = time.perf_counter()
    worker, stop, task = start()
    await asyncio.wait_for(drained(), 900)
    drain_s = time.perf_counter() - t0
    stop.set()
    await task
    shared_rate = await shared_phase(ctx, db_url, broker, args) if args.shared_workers else None
    with ctx.session() as s:
        stored = int(s.scalar(select(func.count()).select_from(measurement)) or 0)
    settings = ctx.settings
    ctx.engine.dispose()
    expected = warm + 2 * args.messages + batched_rows * (2 if args.shared_workers else 1)
    return {
        "bench": "mqtt",
        "backend": "sqlite" if args.sqlite else "postgresql",
        "single_messages": args.messages,
        "single_msgs_per_s": round(args.messages / single_s),
        "single_publish_msgs_per_s": round(args.messages / single_pub_s),
        "batched_messages": args.batched_messages,
        "rows_per_message": args.rows,
        "batched_rows_per_s": round(args.batched_messages * args.rows / batched_s),
        "batched_msgs_per_s": round(args.batched_messages / batched_s),
        "batched_publish_msgs_per_s": round(args.batched_messages / batched_pub_s),
        "single_backlog_drain_msgs_per_s": round(args.messages / drain_s),
        "shared_workers": args.shared_workers,
        "shared_batched_rows_per_s": round(shared_rate) if shared_rate else None,
        "batches": stats.batches,
        "batch_size": settings.mqtt_batch_size,
        "batch_wait_ms": settings.mqtt_batch_wait_ms,
        "receive_maximum": worker.receive_maximum,
        "stored_rows": stored,
        "all_stored": stored == expected,
        "unacked": stats.unacked,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    """Parse arguments, set up broker and database, run, print one JSON line."""
    if len(sys.argv) > 1 and sys.argv[1] == "--publisher":
        publisher_main(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file instead of PostgreSQL")
    parser.add_argument("--broker", help="an existing broker (default: a private Mosquitto)")
    parser.add_argument("--messages", type=int, default=50_000, help="messages of one measurement")
    parser.add_argument("--batched-messages", type=int, default=3_000, help="messages of --rows measurements")
    parser.add_argument("--rows", type=int, default=100, help="measurements per batched message")
    parser.add_argument("--assets", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, help="override TERRITORIA_MQTT_BATCH_SIZE")
    parser.add_argument(
        "--shared-workers",
        type=int,
        default=0,
        help="also run the batched phase on N worker processes (--shared)",
    )
    args = parser.parse_args()
    from territoria.ingest.mqtt import tune_gc

    tune_gc()  # as `territoria mqtt` does
    with database(args.sqlite) as db_url:
        if args.broker:
            result = asyncio.run(run(args, db_url, args.broker))
        else:
            with private_broker() as broker:
                result = asyncio.run(run(args, db_url, broker))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
