"""The demo: a SQLite data directory, the territory, a simulated city with history, a live feed."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from territoria.access.service import create_token
from territoria.catalog.service import get_organisation
from territoria.cli.lang import num, say
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.models import Batch
from territoria.quality.scores import refresh_scores
from territoria.quality.series import run_quality
from territoria.simulate.city import City, build_city
from territoria.simulate.faults import FaultPlan
from territoria.simulate.generator import live_rows, rows_count
from territoria.simulate.networks import METROPOLE
from territoria.simulate.service import ensure_territory, ingest_rows, install_city, load_history

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoPlan:
    """What the demo generates."""

    assets: int = 2000
    days: int = 30
    seed: int = 6
    faults: bool = True


def populate(ctx: Context, plan: DemoPlan, console: Console) -> City:
    """Territory, city and history, with progress bars; history is skipped if already there."""
    upgrade(ctx.engine)
    loaded = ensure_territory(ctx)
    if loaded:
        console.print(say("cli.demo.territory", n=num(loaded)))
    city = build_city(plan.assets, plan.seed)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=plan.days)
    faults = FaultPlan.build(city, start, end, plan.seed) if plan.faults else FaultPlan.none()
    city = faults.apply_to_city(city)
    install_city(ctx, city)
    with ctx.session() as session:
        has_history = (session.scalar(select(func.count()).select_from(Batch)) or 0) > 0
    if has_history:
        console.print(say("cli.demo.history_loaded"))
        return city
    total = rows_count(city, start, end, faults)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(
            say("cli.demo.history_task", days=num(plan.days), assets=num(len(city.assets))), total=total
        )
        totals = load_history(
            ctx,
            city,
            start,
            end,
            seed=plan.seed,
            faults=faults,
            on_progress=lambda n: progress.advance(task, n),
        )
    console.print(
        say(
            "cli.demo.history",
            received=num(totals.received),
            accepted=num(totals.accepted),
            rejected=num(totals.rejected),
            batches=num(totals.batches),
        )
    )
    with console.status(say("cli.demo.quality_running")):
        report = run_quality(ctx, full=True)
        with ctx.session(write=True) as session:
            refresh_scores(session, days=plan.days + 1)
    found = ", ".join(f"{code} {num(n)}" for code, n in sorted(report.found.items()))
    seconds = num(report.seconds, 1)
    if found:
        console.print(say("cli.demo.quality", found=found, seconds=seconds))
    else:
        console.print(say("cli.demo.quality_nothing", seconds=seconds))
    return city


def admin_token(ctx: Context) -> str:
    """A fresh platform-admin token of the authority."""
    with ctx.session(write=True) as session:
        org = get_organisation(session, METROPOLE.slug)
        _, secret = create_token(session, org, ["admin", "read", "ingest"], name="demo admin", ttl_days=30)
    return secret


class LiveFeed(threading.Thread):
    """Sends one reading of every series every `period` seconds, as operators' connectors would."""

    def __init__(self, ctx: Context, city: City, seed: int, period: float = 30.0) -> None:
        super().__init__(name="territoria-live-feed", daemon=True)
        self.ctx, self.city, self.seed, self.period = ctx, city, seed, period
        self.stop_event = threading.Event()

    def run(self) -> None:
        """Loop until stopped; a failed round is logged and retried at the next tick."""
        while not self.stop_event.wait(self.period):
            self.tick(datetime.now(UTC).replace(microsecond=0))

    def tick(self, at: datetime) -> int:
        """Ingest one round of live readings stamped `at`; returns the rows sent."""
        by_net: dict[str, list[dict[str, object]]] = {}
        nets = {a.ext_id: a.network for a in self.city.assets}
        for row in live_rows(self.city, at, self.seed):
            by_net.setdefault(nets[row["asset"]], []).append(dict(row))
        sent = 0
        for slug, rows in by_net.items():
            try:
                ingest_rows(self.ctx, slug, rows)  # type: ignore[arg-type]
                sent += len(rows)
            except Exception:  # the feed must survive a busy database; the next tick retries
                log.exception("live feed round failed for %s", slug)
        return sent


def data_dir_url(data_dir: Path) -> str:
    """SQLite URL of the demo database in a data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'territoria.db').resolve()}"
