"""Differential-privacy noise through OpenDP: integer counts, the announced scale, drawn once per release."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from tests.conftest import World
from tests.opendata.energy_world import NOW, add_meters
from tests.opendata.test_opendata_api import with_router

from territoria.catalog.service import get_dataset
from territoria.opendata.disclosure import NoiseSpec
from territoria.opendata.noise import add_noise, laplace_counts, laplace_sums
from territoria.opendata.policies import set_policy
from territoria.opendata.service import publish

DRAWS = 20_000


def discrete_laplace_variance(scale: float) -> float:
    """Variance of the discrete Laplace distribution P(k) ∝ exp(-|k| / scale)."""
    q = math.exp(-1.0 / scale)
    return 2 * q / (1 - q) ** 2


def test_counts_get_integer_noise_of_the_announced_scale() -> None:
    noisy = laplace_counts(np.full(DRAWS, 100, dtype=np.int64), 4.0)
    assert noisy.dtype == np.int64 and len(noisy) == DRAWS
    errors = noisy - 100
    # Relative standard error of a Laplace sample variance: sqrt(5 / n) ≈ 1.6 %; bounds at ±10 %.
    assert 0.9 < errors.var() / discrete_laplace_variance(4.0) < 1.1
    assert abs(errors.mean()) < 0.3  # 5 standard errors of the mean
    assert len(set(errors.tolist())) > 20  # spread over many integers, not rounded to a few
    assert laplace_counts(np.zeros(0, dtype=np.int64), 4.0).tolist() == []


def test_sums_get_laplace_noise_of_the_announced_scale() -> None:
    noisy = laplace_sums(np.full(DRAWS, 1000.0), 80.0)
    errors = noisy - 1000.0
    assert 0.9 < errors.var() / (2 * 80.0**2) < 1.1
    assert abs(errors.mean()) < 5 * 80.0 * math.sqrt(2 / DRAWS)
    assert len(np.unique(noisy)) == DRAWS
    assert laplace_sums(np.zeros(0), 80.0).tolist() == []


def test_release_noise_uses_the_budget_scales_and_leaves_secret_cells_alone() -> None:
    cells = 2 * DRAWS
    contributors = np.full(cells, 50, dtype=np.int64)
    clipped = {"kwh": np.full(cells, 500.0)}
    published = np.arange(cells) % 2 == 0  # every other cell is secret
    spec = NoiseSpec(epsilon=2.0, clip={"kwh": 10.0})
    counts, sums, applied = add_noise(contributors, clipped, published, spec, cells_per_contributor=2)
    # Two cells per contributor, two quantities per cell: composition 4, count scale 4 / 2 = 2.
    assert applied.composition == 4 and applied.scales == {"contributors": 2.0, "kwh_sum": 20.0}
    assert np.all(counts[~published] == 50) and np.all(sums["kwh"][~published] == 500.0)
    assert np.all(counts == np.rint(counts)) and counts.min() >= 0
    assert 0.9 < (counts[published] - 50).var() / discrete_laplace_variance(2.0) < 1.1
    assert 0.9 < (sums["kwh"][published] - 500.0).var() / (2 * 20.0**2) < 1.1


def test_a_noisy_release_is_drawn_once_and_every_read_gives_the_same_values(world: World) -> None:
    add_meters(world)
    policy = {"preset": "fr-energy-by-commune", "noise": {"epsilon": 1.0, "clip": {"energy_kwh": 50.0}}}
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "meters")
        set_policy(s, ds, policy, None)
        release = publish(s, world.ctx.settings, ds, None, now=NOW).release
    assert release.report["noise"]["epsilon"] == 1.0
    stored = pq.read_table(world.ctx.settings.releases_root() / release.path).to_pylist()
    published = [r for r in stored if not r["secret"]]
    assert published and all(isinstance(r["contributors"], int) for r in published)
    client = TestClient(with_router(world.client.app))  # type: ignore[arg-type]
    url = "/api/v1/opendata/meters/records"
    params = {"select": "contributors, energy_kwh_sum", "order_by": "area_code, period, segment, total"}
    first = client.get(url, params={**params, "limit": "1000"}).json()["results"]
    again = client.get(url, params={**params, "limit": "1000"}).json()["results"]
    assert first == again and len(first) == len(stored)
    assert sorted(r["contributors"] or 0 for r in first) == sorted(r["contributors"] or 0 for r in stored)
