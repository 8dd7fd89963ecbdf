"""A small metered-energy dataset: residential and tertiary meters in three communes, three days of data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import World

from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate
from territoria.catalog.service import create_dataset, get_organisation, upsert_assets
from territoria.ingest.batches import Origin
from territoria.ingest.service import ingest_measurements

NICE, CANNES, ANTIBES = "06088", "06029", "06004"
PLACES = {NICE: (7.2620, 43.7030), CANNES: (7.0128, 43.5513), ANTIBES: (7.1190, 43.5800)}
# (commune, segment, how many meters, kW each): Antibes has too few residential meters for k = 10,
# and one Nice tertiary meter draws far more than the others (dominance).
METERS = [
    (NICE, "residential", 12, 1.0),
    (NICE, "tertiary", 3, 2.0),
    (NICE, "tertiary", 1, 60.0),
    (CANNES, "residential", 12, 1.5),
    (CANNES, "tertiary", 4, 3.0),
    (ANTIBES, "residential", 3, 1.0),
]
DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 3
NOW = datetime(2026, 10, 10, tzinfo=UTC)

METERS_DATASET = DatasetCreate(
    slug="meters",
    title="Smart meters",
    domain="electricity",
    kind="timeseries",
    access="private",
    reporting_interval_s=1800,
    metrics=[MetricCreate(name="active_power", unit="kW", min=0, max=250, reporting_interval_s=1800)],
)


def add_meters(world: World) -> dict[str, float]:
    """Create the meters dataset (owned by lightco), its assets and readings; returns kWh per meter id."""
    energy: dict[str, float] = {}
    with world.ctx.session(write=True) as s:
        ds = create_dataset(s, METERS_DATASET, get_organisation(s, "lightco"))
        assets, rows = [], []
        n = 0
        for commune, segment, count, kw in METERS:
            lon, lat = PLACES[commune]
            for _ in range(count):
                ext = f"M{n:03d}"
                assets.append(
                    AssetIn(
                        id=ext, kind="meter", lon=lon + n * 1e-4, lat=lat, properties={"segment": segment}
                    )
                )
                for step in range(DAYS * 4):  # four half-hour readings a day is enough for the sums
                    ts = DAY0 + timedelta(hours=6 * step)
                    rows.append(
                        (
                            len(rows),
                            {"asset": ext, "metric": "active_power", "ts": ts.isoformat(), "value": kw},
                        )
                    )
                energy[ext] = kw * DAYS * 4 * 0.5
                n += 1
        upsert_assets(s, ds, assets, world.ctx.locator())
        result = ingest_measurements(
            s, ds, rows, Origin(source="file"), checksum="meters", future_tolerance_s=300
        )
        assert result.rejected == 0, result.errors
    return energy
