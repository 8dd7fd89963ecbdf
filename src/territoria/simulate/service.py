"""Load a simulated city into the platform through the real services (catalog, batch ingest)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from territoria.catalog.models import Dataset
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, ensure_organisation, get_dataset, upsert_assets
from territoria.context import Context
from territoria.ingest.batches import Origin
from territoria.ingest.service import ingest_measurements
from territoria.simulate.city import City
from territoria.simulate.faults import FaultPlan
from territoria.simulate.generator import MeasurementRow, daily_rows, measurements
from territoria.simulate.networks import NETWORKS, Network
from territoria.territory.groups import DEFAULT_EPCI, load_groups
from territoria.territory.models import Area
from territoria.territory.service import DEFAULT_GEOJSON, DEFAULT_POPULATION, load_areas

FLUSH_ROWS = 20_000


@dataclass
class LoadTotals:
    """Counts of a history load, per dataset and overall."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    per_dataset: dict[str, int] = field(default_factory=dict)


def ensure_territory(ctx: Context) -> int:
    """Load the packaged Alpes-Maritimes communes and their EPCIs if no commune is loaded yet."""
    with ctx.session() as session:
        if session.scalar(select(Area.code).where(Area.level == "commune").limit(1)) is not None:
            return 0
    with ctx.session(write=True) as session:
        report = load_areas(session, DEFAULT_GEOJSON, population=DEFAULT_POPULATION)
        load_groups(session, DEFAULT_EPCI, level="epci")
    ctx.forget_locator()
    return report.loaded


def dataset_body(net: Network) -> DatasetCreate:
    """The catalog definition of a simulated network."""
    return DatasetCreate(
        slug=net.slug,
        # The authority's language first; each language keeps its own text (no bilingual field).
        title=net.title_fr,
        description=net.description_fr,
        titles={"fr": net.title_fr, "en": net.title_en},
        descriptions={"fr": net.description_fr, "en": net.description_en},
        domain=net.domain.replace("_", "-"),
        kind="timeseries",
        access=net.access,
        reporting_interval_s=net.interval_s,
        metrics=[
            MetricCreate(
                name=m.name,
                unit=m.unit,
                description=m.description,
                min=m.min,
                max=m.max,
                reporting_interval_s=m.interval_s,
            )
            for m in net.metrics
        ],
        keywords=[net.domain, "simulated"],
    )


def install_city(ctx: Context, city: City) -> list[str]:
    """Create the organisations, datasets and assets of a city (idempotent); returns dataset slugs."""
    ensure_territory(ctx)
    locator = ctx.locator()
    slugs: list[str] = []
    with ctx.session(write=True) as session:
        for net in NETWORKS:
            owner = ensure_organisation(
                session,
                OrganisationCreate(
                    slug=net.owner.slug, name=net.owner.name, kind=net.owner.kind, siren=net.owner.siren
                ),
            )
            ds = session.scalar(select(Dataset).where(Dataset.slug == net.slug))
            if ds is None:
                ds = create_dataset(session, dataset_body(net), owner)
            elif not ds.titles:
                # A demo created before per-language texts gets them (and loses its bilingual field).
                body = dataset_body(net)
                ds.title, ds.description = body.title, body.description
                ds.titles, ds.descriptions = dict(body.titles), dict(body.descriptions)
            items = [AssetIn(**a.payload(), network=net.slug) for a in city.by_network(net.slug)]
            upsert_assets(session, ds, items, locator)
            slugs.append(net.slug)
    return slugs


def ingest_rows(ctx: Context, dataset: str, rows: list[MeasurementRow], source: str = "connector") -> Any:
    """One batch of simulated rows through the real batch service."""
    with ctx.session(write=True) as session:
        ds = get_dataset(session, dataset)
        return ingest_measurements(
            session,
            ds,
            list(enumerate(rows, start=1)),  # type: ignore[arg-type]
            Origin(source=source),
            checksum="",
            future_tolerance_s=ctx.settings.future_tolerance_s,
        )


def load_history(
    ctx: Context,
    city: City,
    start: datetime,
    end: datetime,
    *,
    seed: int,
    faults: FaultPlan | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LoadTotals:
    """Stream the simulated history into the store, one batch per dataset every FLUSH_ROWS rows."""
    return load_rows(ctx, city, measurements(city, start, end, seed, faults), on_progress=on_progress)


Packed = tuple[str, str, int, float]


def daily_chunk(city: City, start: datetime, end: datetime, seed: int) -> list[Packed]:
    """The coarse (one reading a day) history of [start, end), packed as (asset, metric, epoch, value)
    tuples: built in a worker process, held until stored, so kept small."""
    rows = daily_rows(city, start, end, seed)
    return [(r["asset"], r["metric"], int(r["ts"].timestamp()), r["value"]) for r in rows]


def unpacked(rows: Iterable[Packed]) -> Iterator[MeasurementRow]:
    """Rows of daily_chunk in the shape of the measurements API."""
    stamps: dict[int, datetime] = {}
    for asset, metric, epoch, value in rows:
        ts = stamps.get(epoch)
        if ts is None:
            ts = stamps[epoch] = datetime.fromtimestamp(epoch, tz=UTC)
        yield {"asset": asset, "metric": metric, "ts": ts, "value": value}


def load_rows(
    ctx: Context,
    city: City,
    rows: Iterable[MeasurementRow],
    *,
    totals: LoadTotals | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LoadTotals:
    """Ingest rows of a city, one batch per dataset every FLUSH_ROWS rows; totals are added up."""
    totals = totals if totals is not None else LoadTotals()
    buffers: dict[str, list[MeasurementRow]] = {}
    asset_net = {a.ext_id: a.network for a in city.assets}

    def flush(slug: str) -> None:
        rows = buffers.pop(slug, [])
        if not rows:
            return
        result = ingest_rows(ctx, slug, rows)
        totals.received += result.received
        totals.accepted += result.accepted
        totals.rejected += result.rejected
        totals.batches += 1
        totals.per_dataset[slug] = totals.per_dataset.get(slug, 0) + result.received
        if on_progress:
            on_progress(result.received)

    for row in rows:
        slug = asset_net[row["asset"]]
        buf = buffers.setdefault(slug, [])
        buf.append(row)
        if len(buf) >= FLUSH_ROWS:
            flush(slug)
    for slug in list(buffers):
        flush(slug)
    return totals
