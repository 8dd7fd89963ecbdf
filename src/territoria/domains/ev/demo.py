"""The demo's EV observatory: the operator's IRVE static file and status feed, loaded as an agent would."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

from territoria import i18n
from territoria.catalog.models import Dataset
from territoria.catalog.schemas import DatasetCreate
from territoria.catalog.service import create_dataset, get_organisation
from territoria.cli.lang import lang, say
from territoria.context import Context
from territoria.domains.ev import status
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.feeds import dynamic_rows, session_rows, write_static
from territoria.domains.ev.fleet import FLEET_DATASET, ensure_fleet_dataset, fleet_rows
from territoria.domains.ev.records_import import import_rows
from territoria.domains.ev.sessions_store import (
    SESSIONS_DATASET,
    checked_rows,
    ensure_sessions_dataset,
    point_registry,
)
from territoria.ingest.files import import_file
from territoria.ingest.models import Record
from territoria.simulate.city import City
from territoria.simulate.demo_people import CONTRACT_PURPOSE, DemoShare, add_share
from territoria.simulate.networks import EV_OPERATOR, METROPOLE
from territoria.simulate.randomness import seeded
from territoria.territory.models import Area

IRVE_DATASET = "irve-recharge-azur"


def _static_dataset(ctx: Context) -> bool:
    """Create the operator's IRVE static dataset if missing; True when it still has no record."""
    with ctx.session(write=True) as session:
        ds = session.scalar(select(Dataset).where(Dataset.slug == IRVE_DATASET))
        if ds is None:
            body = {
                "slug": IRVE_DATASET,
                "title": "Points de recharge Recharge Azur (IRVE statique)",
                "description": "Fichier IRVE v2.3 de l'opérateur : un point de recharge par ligne.",
                "titles": {
                    "fr": "Points de recharge Recharge Azur (IRVE statique)",
                    "en": "Recharge Azur charge points (IRVE static file)",
                },
                "descriptions": {
                    "fr": "Fichier IRVE v2.3 de l'opérateur : un point de recharge par ligne, avec "
                    "sa station, sa puissance, ses prises et sa position.",
                    "en": "The operator's IRVE v2.3 file (the French national charge point schema): "
                    "one charge point per row, with its station, power, sockets and location.",
                },
                "domain": "ev_charging",
                "kind": "records",
                "access": "open",
                "schema": "irve-statique",
            }
            owner = get_organisation(session, EV_OPERATOR.slug)
            ds = create_dataset(session, DatasetCreate.model_validate(body), owner)
        count = session.scalar(select(func.count()).select_from(Record).where(Record.dataset_id == ds.id))
        return not count


def install_ev(ctx: Context, city: City, days: int, console: Console) -> None:
    """Import the IRVE static file, register the charge points, and load the status history."""
    if _static_dataset(ctx):
        with tempfile.TemporaryDirectory(prefix="territoria-irve-") as tmp:
            path = write_static(city, Path(tmp), datetime.now(UTC).date())
            imported = import_file(ctx, path, IRVE_DATASET)
        console.print(say("ev.cli.demo_static", accepted=imported.accepted, rejected=imported.rejected))
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with ctx.session(write=True) as session:
        ds = status.ensure_status_dataset(session, get_organisation(session, EV_OPERATOR.slug))
        # the authority follows the live status under the concession contract; the public sees only
        # the released availability per station and day
        add_share(session, DemoShare(status.STATUS_DATASET, METROPOLE.slug, CONTRACT_PURPOSE, None, 365), end)
        points = consolidate(session).points
        status.sync_assets(session, ctx.locator(), ds, points)
    with console.status(say("ev.cli.demo_status_history")), ctx.session(write=True) as session:
        ds = status.ensure_status_dataset(session, get_organisation(session, EV_OPERATOR.slug))
        rows = list(dynamic_rows(city, end - timedelta(days=days), end))
        report = status.import_dynamic(session, ds, rows, now=datetime.now(UTC))
    numbers = (report.received, report.accepted, report.rejected, report.already_stored)
    received, accepted, rejected, stored = (i18n.number(v, lang()) for v in numbers)
    console.print(
        say(
            "ev.cli.demo_status",
            points=len(points),
            received=received,
            accepted=accepted,
            rejected=rejected,
            stored=stored,
        )
    )
    install_sessions(ctx, city, end - timedelta(days=days), end, console)
    install_fleet(ctx, city.seed, console)


def install_sessions(ctx: Context, city: City, start: datetime, end: datetime, console: Console) -> None:
    """Import the operator's charging sessions (private dataset `ev-sessions`) as an agent would."""
    with ctx.session(write=True) as session:
        ensure_sessions_dataset(session, get_organisation(session, EV_OPERATOR.slug))
        # the authority reads the sessions under the operator's concession contract, as its other networks
        add_share(
            session,
            DemoShare(SESSIONS_DATASET, METROPOLE.slug, CONTRACT_PURPOSE, None, 365),
            datetime.now(UTC),
        )
        registry = point_registry(session)
    numbered = list(enumerate(session_rows(city, start, end), start=1))
    rows = checked_rows(numbered, registry)
    with console.status(say("ev.cli.demo_sessions_progress")):
        report = import_rows(
            ctx, SESSIONS_DATASET, rows, key=f"demo-sessions:{start.isoformat()}:{end.isoformat()}"
        )
    received, accepted, rejected = (
        i18n.number(v, lang()) for v in (report.received, report.accepted, report.rejected)
    )
    console.print(say("ev.cli.demo_sessions", received=received, accepted=accepted, rejected=rejected))


# Simulated shares of the population owning a battery-electric or plug-in hybrid car (France had about
# 1.8 % and 0.9 % at the start of 2025, SDES): each commune gets its own draw around them.
BEV_SHARE, PHEV_SHARE = 0.018, 0.009


def install_fleet(ctx: Context, seed: int, console: Console) -> None:
    """Registered EVs per commune, as the authority would load the SDES file (simulated counts)."""
    with ctx.session(write=True) as session:
        ensure_fleet_dataset(session, get_organisation(session, METROPOLE.slug))
        communes = session.execute(select(Area.code, Area.population).where(Area.level == "commune")).all()
    rows = []
    for code, population in communes:
        rng = seeded(f"{seed}-fleet-{code}")
        people = population or 0
        bev = round(people * BEV_SHARE * rng.uniform(0.5, 1.6))
        phev = round(people * PHEV_SHARE * rng.uniform(0.5, 1.6))
        rows.append({"code_insee": code, "bev": str(bev), "phev": str(phev)})
    numbered, _ = fleet_rows(list(enumerate(rows, start=1)), date(datetime.now(UTC).year, 1, 1).isoformat())
    report = import_rows(ctx, FLEET_DATASET, numbered, key=f"demo-fleet:{seed}")
    console.print(say("ev.cli.demo_fleet", n=report.accepted))
