"""SIGKILL the server in the middle of an ingest stream: every acknowledged batch survives, once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from tests.conftest import build_world

from territoria.context import Context
from territoria.ingest.models import Batch
from territoria.settings import Settings
from territoria.timeseries.models import measurement, rollup_day

pytestmark = pytest.mark.integration
ROWS_PER_BATCH = 2000
T0 = datetime(2026, 9, 1, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TERRITORIA_DATABASE_URL": url, "TERRITORIA_SECRET_KEY": "crash-test-" + "x" * 40}
    proc = subprocess.Popen(
        [sys.executable, "-m", "territoria.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode() if proc.stderr else "")


def batch_body(k: int) -> bytes:
    """Batch k: 100 assets × 20 timestamps of its own, never overlapping another batch."""
    rows = [
        {
            "asset": f"L{a:03d}",
            "metric": "power",
            "ts": (T0 + timedelta(minutes=k * 20 + i)).isoformat(),
            "value": float(a + i),
        }
        for i in range(20)
        for a in range(100)
    ]
    return orjson.dumps(rows)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_stream_loses_no_acknowledged_batch(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/crash.db" if backend == "sqlite" else request.getfixturevalue("pg_schema")
    from territoria.db.migrate import upgrade

    ctx = Context(Settings(database_url=url, demo=True))
    upgrade(ctx.engine)
    world = build_world(ctx, assets=100)
    headers = {**world.operator, "content-type": "application/json"}
    port = free_port()
    server = start_server(url, port)
    acked: dict[int, str] = {}
    sent: list[int] = []
    stop = threading.Event()

    def stream() -> None:
        k = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while not stop.is_set():
                sent.append(k)
                try:
                    r = client.post(
                        "/api/v1/datasets/lights/measurements",
                        content=batch_body(k),
                        headers={**headers, "Idempotency-Key": f"batch-{k}"},
                    )
                except httpx.HTTPError:
                    return  # the server died under this request: not acknowledged
                assert r.status_code == 200, r.text
                assert r.json()["accepted"] == ROWS_PER_BATCH
                acked[k] = r.json()["batch_id"]
                k += 1

    worker = threading.Thread(target=stream)
    worker.start()
    while len(acked) < 6:
        time.sleep(0.02)
    server.send_signal(signal.SIGKILL)  # mid-stream: the next batch is in flight
    server.wait()
    stop.set()
    worker.join()

    with ctx.session() as s:
        stored = s.scalar(select(func.count()).select_from(measurement))
        batch_ids = set(s.scalars(select(Batch.id)))
        rolled = s.scalar(select(func.sum(rollup_day.c.n)))
    assert set(acked.values()) <= batch_ids
    in_flight = [k for k in sent if k not in acked]
    assert stored in (len(acked) * ROWS_PER_BATCH, (len(acked) + len(in_flight)) * ROWS_PER_BATCH)
    assert rolled == stored  # rollups are never half-written either

    # Restart and resend everything that was sent: acknowledged batches replay, nothing doubles.
    server = start_server(url, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for k in sent:
                r = client.post(
                    "/api/v1/datasets/lights/measurements",
                    content=batch_body(k),
                    headers={**headers, "Idempotency-Key": f"batch-{k}"},
                )
                assert r.status_code == 200
                if k in acked:
                    assert r.headers.get("Idempotent-Replayed") == "true" and r.json()["batch_id"] == acked[k]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(measurement)) == len(sent) * ROWS_PER_BATCH
        assert s.scalar(select(func.sum(rollup_day.c.n))) == len(sent) * ROWS_PER_BATCH
    ctx.engine.dispose()
