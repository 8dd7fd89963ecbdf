"""Shared setup of the steering tests: test KPIs on the lights, yearly readings, the city's agreement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import World

from territoria.access.agreement_models import Agreement
from territoria.analytics.definitions import KpiDefinition
from territoria.analytics.models import KpiDefinitionRow
from territoria.catalog.service import get_dataset, get_organisation
from territoria.context import Context
from territoria.ingest.batches import Origin
from territoria.ingest.service import ingest_measurements

# All in Nice (06088), the only commune of the territory with lights: territory values = Nice values.
READINGS: list[tuple[str, str, str, float]] = [
    ("L000", "power", "2024-06-01T12:00:00Z", 100.0),
    ("L001", "power", "2024-06-01T12:00:00Z", 100.0),
    ("L000", "on", "2024-06-01T12:00:00Z", 1.0),
    ("L001", "on", "2024-06-01T12:00:00Z", 0.0),
    ("L000", "power", "2025-06-01T12:00:00Z", 70.0),
    ("L001", "power", "2025-06-01T12:00:00Z", 90.0),
    ("L000", "on", "2025-06-01T12:00:00Z", 1.0),
    ("L001", "on", "2025-06-01T12:00:00Z", 1.0),
    ("L002", "on", "2025-06-01T12:00:00Z", 0.0),
]


def kpi_body(code: str, metric: str, aggregation: str, direction: str, **extra: Any) -> dict[str, Any]:
    """A KPI definition on the lights."""
    return {
        "code": code,
        "title": {"fr": f"Indicateur {code}", "en": f"Indicator {code}"},
        "description": {"fr": "Test.", "en": "Test."},
        "dataset": "lights",
        "metric": metric,
        "aggregation": aggregation,
        "direction": direction,
        **extra,
    }


KPIS = [
    kpi_body("t_power_avg", "power", "avg", "lower_is_better", unit="W"),
    kpi_body("t_power_sum", "power", "sum", "lower_is_better", unit="Wh"),
    kpi_body(
        "t_lit_share",
        "on",
        "share",
        "higher_is_better",
        unit="%",
        condition={"of": "max", "op": ">=", "value": 1},
    ),
    kpi_body("t_power_max", "power", "max", "neutral", unit="W"),
]


def ingest(ctx: Context, readings: list[tuple[str, str, str, float]], dataset: str = "lights") -> None:
    """Store readings (asset, metric, ts, value), all accepted."""
    with ctx.session(write=True) as s:
        ds = get_dataset(s, dataset)
        rows = [
            (i, {"asset": a, "metric": m, "ts": ts, "value": v}) for i, (a, m, ts, v) in enumerate(readings)
        ]
        key = f"k{datetime.now(UTC).timestamp()}"
        result = ingest_measurements(s, ds, rows, Origin(source="file"), checksum=key, future_tolerance_s=300)
        assert result.rejected == 0, result.errors


def share_with(ctx: Context, dataset: str, org: str) -> None:
    """A live data-sharing agreement on a dataset for an organisation."""
    now = datetime.now(UTC)
    with ctx.session(write=True) as s:
        s.add(
            Agreement(
                dataset_id=get_dataset(s, dataset).id,
                organisation_id=get_organisation(s, org).id,
                purpose="contract follow-up",
                fields=None,
                starts_at=now - timedelta(days=1),
                expires_at=now + timedelta(days=365),
            )
        )


@pytest.fixture
def steering(world: World) -> World:
    """The world with the test KPIs, readings of 2024 and 2025, and the lights shared with the city."""
    with world.ctx.session(write=True) as s:
        for body in KPIS:
            definition = KpiDefinition.model_validate(body)
            s.add(KpiDefinitionRow(code=definition.code, definition=definition.model_dump(mode="json")))
    ingest(world.ctx, READINGS)
    share_with(world.ctx, "lights", "city")
    return world
