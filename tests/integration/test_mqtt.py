"""The MQTT worker against the real Mosquitto and the real databases: no mock anywhere.

Each test uses its own dataset slug and client id, and removes its persistent session from the
broker afterwards, so that nothing keeps queuing for it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select, text
from tests.ingest.refusing import REFUSE_DATASET_PG

from territoria.catalog.models import Asset, Series
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, upsert_assets
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.models import Batch, QuarantinedRow
from territoria.ingest.mqtt import MqttWorker, WorkerStats
from territoria.ingest.mqtt_link import parse_broker_url
from territoria.ingest.schemas import BatchResult
from territoria.settings import Settings
from territoria.territory.index import AreaLocator
from territoria.timeseries.models import measurement
from territoria.validation.model import error_message

BROKER = os.environ.get("TERRITORIA_TEST_MQTT", "mqtt://127.0.0.1:1883")
TS = "2025-06-01T10:00:00Z"


def _uid() -> str:
    return uuid.uuid4().hex[:10]


def make_dataset(ctx: Context) -> str:
    """An organisation, a time-series dataset with a power metric, and assets A1..A3; returns the slug."""
    slug = f"mq-{_uid()}"
    with ctx.session(write=True) as s:
        org = create_organisation(s, OrganisationCreate(slug=f"o-{_uid()}", name="LightCo", kind="operator"))
        body = DatasetCreate(
            slug=slug,
            title="Street lights",
            domain="lighting",
            kind="timeseries",
            metrics=[MetricCreate(name="power", unit="W", min=0, max=400)],
        )
        ds = create_dataset(s, body, org)
        upsert_assets(s, ds, [AssetIn(id=f"A{i}") for i in (1, 2, 3)], AreaLocator([]))
    return slug


def publish(messages: list[tuple[str, bytes]], url: str = BROKER) -> None:
    """Publish with QoS 1 and wait for the broker's PUBACK of each message."""
    addr = parse_broker_url(url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{_uid()}")
    client.connect(addr.host, addr.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def forget_session(client_id: str, url: str = BROKER) -> None:
    """Remove a persistent session from the broker (clean start, expiring at disconnect)."""
    addr = parse_broker_url(url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    try:
        client.connect(addr.host, addr.port, clean_start=True, properties=props)
        client.loop_start()
        time.sleep(0.2)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


@pytest.fixture
def client_ids() -> Iterator[Callable[[], str]]:
    """Fresh client ids; their sessions are removed from the broker at the end."""
    made: list[str] = []

    def new() -> str:
        made.append(f"test-ingest-{_uid()}")
        return made[-1]

    yield new
    for cid in made:
        forget_session(cid)


def count(ctx: Context, slug: str) -> int:
    """Measurements stored for a dataset."""
    from territoria.catalog.models import Dataset

    stmt = (
        select(func.count())
        .select_from(measurement)
        .join(Series, Series.id == measurement.c.series_id)
        .join(Asset, Asset.id == Series.asset_id)
        .join(Dataset, Dataset.id == Asset.dataset_id)
        .where(Dataset.slug == slug)
    )
    with ctx.session() as s:
        return int(s.scalar(stmt) or 0)


async def until(pred: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for a condition, failing the test after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.05)


class Running:
    """A worker running as a task of the current loop."""

    def __init__(self, ctx: Context, client_id: str, url: str = BROKER, **kw: object) -> None:
        self.stop = asyncio.Event()
        self.results: list[BatchResult] = []
        self.worker = MqttWorker(
            ctx,
            url,
            client_id=client_id,
            stop=self.stop,
            on_batch=self.results.append,
            session_expiry_s=300,
            **kw,  # type: ignore[arg-type]
        )
        self.task = asyncio.create_task(self.worker.run())

    @property
    def stats(self) -> WorkerStats:
        return self.worker.stats

    async def ready(self) -> Running:
        await asyncio.wait_for(self.worker.ready.wait(), 10)
        return self

    async def finish(self) -> WorkerStats:
        self.stop.set()
        return await asyncio.wait_for(self.task, 30)


@pytest.mark.integration
def test_single_array_and_bad_payloads(ctx: Context, client_ids: Callable[[], str]) -> None:
    """Single and array payloads are stored; bad ones end in quarantine; everything is acknowledged."""
    slug = make_dataset(ctx)
    topic = f"territoria/{slug}"

    async def scenario() -> WorkerStats:
        run = await Running(ctx, client_ids()).ready()
        publish(
            [
                (f"{topic}/A1/power", orjson.dumps({"ts": TS, "value": 1.5})),
                (
                    f"{topic}/A2/power",
                    orjson.dumps([{"ts": f"2025-06-01T10:0{i}:00Z", "value": 10 + i} for i in range(3)]),
                ),
                (f"{topic}/A3/power", b"{not json"),
                (f"{topic}/A3/power", orjson.dumps([{"ts": TS, "value": 5}, 42])),
                (f"{topic}/A1/power", orjson.dumps({"ts": "2025-06-01T10:05:00Z", "value": 9999})),
                (f"{topic}/NOPE/power", orjson.dumps({"ts": TS, "value": 1})),
            ]
        )
        await until(lambda: run.stats.accepted + run.stats.rejected >= 9)
        return await run.finish()

    stats = asyncio.run(scenario())
    assert (stats.messages, stats.acked, stats.unacked) == (6, 6, 0)
    assert (stats.accepted, stats.rejected) == (5, 4)
    assert count(ctx, slug) == 5
    with ctx.session() as s:
        batches = s.scalars(select(Batch)).all()
        assert batches and {b.source for b in batches} == {"mqtt"}
        assert sum(b.received for b in batches) == 9
        assert all(b.received == b.accepted + b.rejected for b in batches)
        codes = sorted(e["code"] for q in s.scalars(select(QuarantinedRow)) for e in q.errors)
    assert codes == ["PARSE", "RANGE", "TYPE", "UNKNOWN_ASSET"]


@pytest.mark.integration
def test_redelivery_is_not_stored_twice(ctx: Context, client_ids: Callable[[], str]) -> None:
    """The same measurement received twice (as a redelivery would be) is stored once."""
    slug = make_dataset(ctx)
    payload = orjson.dumps({"ts": TS, "value": 7.0})

    async def scenario() -> WorkerStats:
        run = await Running(ctx, client_ids()).ready()
        publish([(f"territoria/{slug}/A1/power", payload)])
        await until(lambda: run.stats.accepted == 1)
        publish([(f"territoria/{slug}/A1/power", payload)])
        await until(lambda: run.stats.accepted == 2)
        return await run.finish()

    stats = asyncio.run(scenario())
    assert (stats.accepted, stats.duplicates, stats.rejected) == (2, 1, 0)
    assert count(ctx, slug) == 1


@pytest.mark.integration
def test_unknown_dataset_is_acknowledged_and_counted(tmp_path: Path, client_ids: Callable[[], str]) -> None:
    """A message for no dataset is warned about, counted and acknowledged: not delivered again."""
    ctx = Context(Settings(database_url=f"sqlite:///{tmp_path}/t.db", demo=True))
    upgrade(ctx.engine)
    cid = client_ids()

    async def scenario() -> tuple[WorkerStats, WorkerStats]:
        run = await Running(ctx, cid).ready()
        publish([(f"territoria/nothing-{_uid()}/A1/power", orjson.dumps({"ts": TS, "value": 1}))])
        await until(lambda: run.stats.unroutable == 1)
        first = await run.finish()
        again = await Running(ctx, cid).ready()
        await asyncio.sleep(1.0)
        return first, await again.finish()

    first, second = asyncio.run(scenario())
    assert (first.unroutable, first.acked) == (1, 1)
    assert second.messages == 0
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 0
    ctx.engine.dispose()


REFUSE_COMMIT = """
CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$;
CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON batch
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();
"""


@pytest.mark.integration
def test_not_acknowledged_when_commit_fails(pg_schema: str, client_ids: Callable[[], str]) -> None:
    """A failed COMMIT leaves the message with the broker; the next run gets it again, stores it once."""
    ctx = Context(Settings(database_url=pg_schema, demo=True))
    upgrade(ctx.engine)
    slug = make_dataset(ctx)
    cid = client_ids()
    with ctx.engine.begin() as conn:  # every COMMIT that wrote a batch now fails, at COMMIT time
        conn.execute(text(REFUSE_COMMIT))
    topic = f"territoria/{slug}/A1/power"

    async def scenario() -> tuple[WorkerStats, WorkerStats, WorkerStats]:
        run = await Running(ctx, cid).ready()
        publish([(topic, orjson.dumps({"ts": TS, "value": 3.0}))])
        await until(lambda: run.stats.failures >= 2)
        failing = await run.finish()
        # Published while no worker runs: the persistent session queues it.
        publish([(topic, orjson.dumps({"ts": "2025-06-01T10:15:00Z", "value": 4.0}))])
        with ctx.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_commit ON batch"))
        run = await Running(ctx, cid).ready()
        await until(lambda: run.stats.accepted == 2)
        healthy = await run.finish()
        idle = await Running(ctx, cid).ready()
        await asyncio.sleep(1.0)
        return failing, healthy, await idle.finish()

    failing, healthy, idle = asyncio.run(scenario())
    assert (failing.acked, failing.batches, failing.unacked) == (0, 0, 1)
    assert (healthy.messages, healthy.acked, healthy.accepted, healthy.duplicates) == (2, 2, 2, 0)
    assert idle.messages == 0  # acknowledged after the commit: nothing comes back
    assert count(ctx, slug) == 2
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 1
    ctx.engine.dispose()


@pytest.mark.integration
def test_shared_subscription_splits_the_work(ctx: Context, client_ids: Callable[[], str]) -> None:
    """Two workers in one share group: every message is stored once, by one of them."""
    slug = make_dataset(ctx)
    group = f"g{_uid()}"
    messages = [
        (
            f"territoria/{slug}/A{1 + i % 3}/power",
            orjson.dumps({"ts": f"2025-06-01T{i:02d}:00:00Z", "value": i}),
        )
        for i in range(24)
    ]

    async def scenario() -> tuple[WorkerStats, WorkerStats]:
        a = await Running(ctx, client_ids(), shared=True, share_group=group).ready()
        b = await Running(ctx, client_ids(), shared=True, share_group=group).ready()
        publish(messages)
        await until(lambda: a.stats.accepted + b.stats.accepted == 24)
        await asyncio.sleep(0.5)
        return await a.finish(), await b.finish()

    a, b = asyncio.run(scenario())
    assert a.messages + b.messages == 24
    assert a.messages > 0 and b.messages > 0
    assert count(ctx, slug) == 24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_broker(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """A private Mosquitto on `port` (the shared one must not be stopped)."""
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    end = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            assert time.monotonic() < end, "private mosquitto did not start"
            time.sleep(0.05)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs the mosquitto binary")
def test_reconnects_when_the_broker_comes_back(tmp_path: Path) -> None:
    """The broker goes away and comes back: the worker reconnects by itself and goes on."""
    ctx = Context(Settings(database_url=f"sqlite:///{tmp_path}/t.db", demo=True))
    upgrade(ctx.engine)
    slug = make_dataset(ctx)
    port = _free_port()
    url = f"mqtt://127.0.0.1:{port}"
    broker = _start_broker(port, tmp_path)

    async def scenario() -> WorkerStats:
        nonlocal broker
        run = await Running(ctx, f"test-ingest-{_uid()}", url=url).ready()
        publish([(f"territoria/{slug}/A1/power", orjson.dumps({"ts": TS, "value": 1}))], url)
        await until(lambda: run.stats.accepted == 1)
        broker.terminate()
        broker.wait(10)
        await asyncio.sleep(1.5)  # a few failed attempts, with backoff
        run.worker.ready.clear()
        broker = _start_broker(port, tmp_path)
        await asyncio.wait_for(run.worker.ready.wait(), 40)
        publish([(f"territoria/{slug}/A2/power", orjson.dumps({"ts": TS, "value": 2}))], url)
        await until(lambda: run.stats.accepted == 2)
        return await run.finish()

    try:
        stats = asyncio.run(scenario())
    finally:
        broker.terminate()
        broker.wait(10)
    assert stats.connects >= 2
    assert count(ctx, slug) == 2
    ctx.engine.dispose()


@pytest.mark.integration
def test_keepalive_pings_hold_an_idle_connection(tmp_path: Path, client_ids: Callable[[], str]) -> None:
    """With a 1 s keepalive the broker drops a silent client after 1.5 s; pings keep the worker connected."""
    ctx = Context(Settings(database_url=f"sqlite:///{tmp_path}/t.db", demo=True))
    upgrade(ctx.engine)
    slug = make_dataset(ctx)

    async def scenario() -> WorkerStats:
        run = await Running(ctx, client_ids(), keepalive=1).ready()
        await asyncio.sleep(4.0)
        publish([(f"territoria/{slug}/A1/power", orjson.dumps({"ts": TS, "value": 1}))])
        await until(lambda: run.stats.accepted == 1)
        return await run.finish()

    stats = asyncio.run(scenario())
    assert stats.connects == 1
    ctx.engine.dispose()


# -- payloads, without a broker ------------------------------------------------------------------


def test_payloads_are_read_into_rows() -> None:
    """Single object, array, bad JSON and non-objects: rows or bad rows, asset and metric from the topic."""
    from territoria.ingest.mqtt_batch import read_message
    from territoria.ingest.mqtt_link import Delivery
    from territoria.ingest.parsers import BadRow

    def rows(payload: bytes, topic: str = "territoria/ds/A1/power") -> list[object]:
        message = read_message(Delivery(topic, payload, 1, 1, 1))
        assert message.dataset == ("ds" if topic.count("/") == 3 else "")
        return message.rows  # type: ignore[return-value]

    assert rows(b'{"ts": "t", "value": 1, "asset": "X"}') == [
        {"ts": "t", "value": 1, "asset": "A1", "metric": "power"}
    ]
    assert len(rows(b'[{"ts": "t", "value": 1}, {"ts": "u", "value": 2}]')) == 2
    assert rows(b"[]") == []
    (bad,) = rows(b"\xff{oops")
    assert isinstance(bad, BadRow) and bad.code == "PARSE" and "\\xff" in bad.raw
    good, other = rows(b'[{"ts": "t", "value": 1}, 3]')
    assert isinstance(other, BadRow) and other.code == "TYPE" and other.raw == "3"
    assert rows(b"{}", "elsewhere/ds/A1") == []


# -- poison messages and dead letters (issue 13) -------------------------------------------------


def deep_payload(depth: int = 300) -> bytes:
    """About 1.8 KB: a reading whose value is an object nested `depth` levels (orjson cannot write it)."""
    return b'{"ts": "' + TS.encode() + b'", "value": ' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


@pytest.mark.integration
def test_a_poison_message_stalls_nothing(ctx: Context, client_ids: Callable[[], str]) -> None:
    """A payload nested 300 levels is quarantined and acknowledged; 50 messages of another dataset are
    stored meanwhile, nothing comes back after a restart, and 20 more are stored then."""
    poisoned, other = make_dataset(ctx), make_dataset(ctx)
    cid = client_ids()
    good = [
        (
            f"territoria/{other}/A{1 + i % 3}/power",
            orjson.dumps({"ts": f"2025-06-01T{i // 3:02d}:00:00Z", "value": i}),
        )
        for i in range(50)
    ]

    async def scenario() -> tuple[WorkerStats, WorkerStats]:
        run = await Running(ctx, cid).ready()
        publish([(f"territoria/{poisoned}/A1/power", deep_payload()), *good])
        await until(lambda: run.stats.accepted >= 50 and run.stats.rejected >= 1)
        first = await run.finish()
        again = await Running(ctx, cid).ready()
        later = [
            (f"territoria/{other}/A1/power", orjson.dumps({"ts": f"2025-06-02T{i:02d}:00:00Z", "value": i}))
            for i in range(20)
        ]
        publish(later)
        await until(lambda: again.stats.accepted >= 20)
        await asyncio.sleep(0.5)
        return first, await again.finish()

    first, second = asyncio.run(scenario())
    assert (first.messages, first.acked, first.unacked) == (51, 51, 0)
    assert (first.accepted, first.rejected, first.dead_letters) == (50, 1, 0)
    assert (second.messages, second.accepted, second.rejected) == (20, 20, 0)  # the poison is not back
    assert count(ctx, other) == 70 and count(ctx, poisoned) == 0
    with ctx.session() as s:
        (q,) = s.scalars(select(QuarantinedRow)).all()
    # The stored reason is a message code, read here in English.
    assert [e["code"] for e in q.errors] == ["PARSE"] and "deeper than" in error_message(q.errors[0], "en")
    assert 0 < len(q.raw) < 5000


@pytest.mark.integration
def test_a_dataset_that_cannot_store_goes_to_dead_letters(
    pg_schema: str, client_ids: Callable[[], str]
) -> None:
    """A dataset whose every batch fails (even the quarantine fallback) holds back no other dataset: after
    bounded retries its messages are kept in ingest_dead_letter, acknowledged, and never delivered again."""
    from territoria.catalog.models import Dataset
    from territoria.ingest.models import DeadLetter

    ctx = Context(Settings(database_url=pg_schema, demo=True))
    upgrade(ctx.engine)
    broken, healthy = make_dataset(ctx), make_dataset(ctx)
    with ctx.session(write=True) as s:
        broken_id = s.scalar(select(Dataset.id).where(Dataset.slug == broken))
    with ctx.engine.begin() as conn:
        conn.execute(text(REFUSE_DATASET_PG.format(id=int(broken_id or 0))))
    cid = client_ids()
    payload = orjson.dumps({"ts": TS, "value": 1.0})

    async def scenario() -> tuple[WorkerStats, WorkerStats]:
        run = await Running(ctx, cid).ready()
        publish([(f"territoria/{broken}/A1/power", payload)])
        publish(
            [
                (
                    f"territoria/{healthy}/A{1 + i % 3}/power",
                    orjson.dumps({"ts": f"2025-06-01T{i:02d}:00:00Z", "value": i}),
                )
                for i in range(12)
            ]
        )
        await until(lambda: run.stats.accepted >= 12)
        stored_while_failing = run.stats.dead_letters == 0
        await until(lambda: run.stats.dead_letters == 1)
        assert stored_while_failing  # the healthy dataset did not wait for the broken one
        first = await run.finish()
        idle = await Running(ctx, cid).ready()
        await asyncio.sleep(1.0)
        return first, await idle.finish()

    first, idle = asyncio.run(scenario())
    assert (first.acked, first.unacked, first.accepted) == (13, 0, 12)
    assert idle.messages == 0
    assert count(ctx, healthy) == 12
    with ctx.session() as s:
        (dead,) = s.scalars(select(DeadLetter)).all()
    assert (dead.topic, dead.dataset, dead.payload) == (f"territoria/{broken}/A1/power", broken, payload)
    assert dead.attempts == 5 and "batch refused by the test" in dead.error
    ctx.engine.dispose()
