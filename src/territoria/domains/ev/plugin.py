"""The EV observatory's contract with the platform: everything it adds, declared in one value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from territoria.cli.lang import say
from territoria.context import Context
from territoria.contract import DemoStep, Domain, FeedWriter, NavEntry
from territoria.domains.ev import api, api_history, api_import, cli_import, pages
from territoria.domains.ev.availability_measure import PROVIDERS
from territoria.domains.ev.cli import ev_app
from territoria.domains.ev.demo import IRVE_DATASET, install_ev
from territoria.domains.ev.feeds import write_feeds
from territoria.domains.ev.i18n_keys import N_
from territoria.domains.ev.irve_schema import irve_dynamic_schema, irve_static_schema
from territoria.domains.ev.membership import record_membership
from territoria.domains.ev.opendata import SOURCES
from territoria.domains.ev.status import STATUS_DATASET
from territoria.simulate.city import City
from territoria.simulate.demo_opendata import DEMO_CONTACT, DemoRelease, publish_releases

HERE = Path(__file__).resolve().parent
_ = cli_import  # its commands register themselves on ev_app


def _demo(ctx: Context, city: City, days: int, console: Console) -> None:
    """The operator's IRVE files and status feed, then the observatory's two open-data releases."""
    install_ev(ctx, city, days, console)
    dcat = {"theme": "TRAN", "frequency": "DAILY", "contact_point": DEMO_CONTACT}
    releases = [
        DemoRelease(IRVE_DATASET, {"preset": "irve-consolidated"}, dcat),
        DemoRelease(STATUS_DATASET, {"preset": "ev-station-availability"}, dcat),
    ]
    publish_releases(ctx, console, releases)


def _feeds(city: City, folder: Path, days: int, console: Console) -> None:
    """The EV network's IRVE static and dynamic CSV files and its charging sessions."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with console.status(say("ev.cli.feeds_progress")):
        static, dynamic, n_static, n_dynamic = write_feeds(city, folder, end - timedelta(days=days), end)
    console.print(
        say("ev.cli.feeds_irve", static=static, points=n_static, dynamic=dynamic, changes=n_dynamic)
    )
    console.print(say("ev.cli.feeds_sessions", path=folder / "irve-sessions.csv"))


DOMAIN = Domain(
    name="ev",
    title=N_("nav.ev"),
    routers=(api.router, api_history.router, api_import.router, pages.router),
    cli=ev_app,
    model_modules=("territoria.domains.ev.membership_models",),
    observers=(record_membership,),
    sources=SOURCES,
    schemas={"irve-statique": irve_static_schema, "irve-dynamique": irve_dynamic_schema},
    kpi_files=(HERE / "kpis.yaml",),
    kpi_providers=PROVIDERS,
    templates=HERE / "templates",
    static=HERE / "static",
    locale=HERE / "locale",
    nav=(NavEntry("/ev", N_("nav.ev"), "ev"),),
    self_bounded_paths=api_import.SELF_BOUNDED_PATHS,
    demo=DemoStep(_demo),
    feeds=FeedWriter(_feeds),
)
