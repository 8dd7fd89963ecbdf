"""Concurrent retries with one Idempotency-Key (issue 13): one batch stored, every answer a replay or 409."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import World
from tests.ingest.test_measurements_api import count_measurements, rows

from territoria.app import create_app
from territoria.ingest.models import Batch

THREADS = 30


@pytest.mark.parametrize(
    "ctx", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)], indirect=True
)
def test_concurrent_posts_with_one_key_store_one_batch(world: World) -> None:
    body = orjson.dumps(rows(400))
    start = Barrier(THREADS)
    headers = {**world.operator, "content-type": "application/json", "Idempotency-Key": "retry-storm-1"}

    def send(_: int) -> tuple[int, dict[str, object]]:
        # One client per thread: each request runs on its own event loop, truly concurrent.
        client = TestClient(create_app(context=world.ctx), raise_server_exceptions=False)
        start.wait()
        r = client.post("/api/v1/datasets/lights/measurements", content=body, headers=headers)
        return r.status_code, r.json()

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(send, range(THREADS)))
    statuses = sorted({status for status, _ in answers})
    assert set(statuses) <= {200, 409}, answers
    stored = {a["batch_id"] for s, a in answers if s == 200}
    assert len(stored) == 1, stored
    assert sum(1 for s, a in answers if s == 200 and not a["replayed"]) == 1
    assert all(a["accepted"] == 400 for s, a in answers if s == 200)
    with world.ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 1
    assert count_measurements(world) == 400
