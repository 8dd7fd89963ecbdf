"""The demo's open data: catalogue metadata, privacy policies and first releases of the city's datasets.

Domains publish their own demo releases through `publish_releases` in their demo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from territoria.catalog.service import get_dataset
from territoria.cli.lang import num, say
from territoria.context import Context
from territoria.errors import Invalid
from territoria.opendata.policies import current_policy, set_policy
from territoria.opendata.releases import latest_release
from territoria.opendata.service import publish
from territoria.simulate import networks


@dataclass(frozen=True)
class DemoRelease:
    """A dataset the demo opens, under which policy, with its catalogue metadata."""

    dataset: str
    policy: dict[str, Any]
    dcat: dict[str, Any]


def releases() -> list[DemoRelease]:
    """Electricity under the French energy rules; air quality and traffic per station."""
    contact = DEMO_CONTACT
    return [
        DemoRelease(
            networks.ELECTRICITY_METERS.slug,
            {"preset": "fr-energy-by-commune"},
            {"theme": "ENER", "frequency": "DAILY", "contact_point": "donnees@reseau-electrique.demo"},
        ),
        DemoRelease(
            networks.AIR_QUALITY_STATIONS.slug,
            {"preset": "open-measurements", "delay_days": 0},
            {"theme": "ENVI", "frequency": "HOURLY", "contact_point": contact},
        ),
        DemoRelease(
            networks.TRAFFIC_COUNTERS.slug,
            {"preset": "open-measurements", "time": {"to": "day"}},
            {"theme": "TRAN", "frequency": "DAILY", "contact_point": contact},
        ),
    ]


DEMO_CONTACT = "opendata@metropole.demo"


def install_opendata(ctx: Context, console: Console) -> None:
    """Set the demo policies and publish each of the city's datasets once."""
    publish_releases(ctx, console, releases())


def publish_releases(ctx: Context, console: Console, items: Sequence[DemoRelease]) -> None:
    """Set each release's policy and publish it once (kept as they are on a restart)."""
    for item in items:
        with ctx.session(write=True) as session:
            ds = get_dataset(session, item.dataset)
            ds.dcat = {**(ds.dcat or {}), **item.dcat}
            if current_policy(session, ds) is None:
                set_policy(session, ds, item.policy, None, "demo")
            if latest_release(session, ds.id) is not None:
                continue
        try:
            publishing = console.status(say("cli.demo.publishing", dataset=item.dataset))
            with publishing, ctx.session(write=True) as session:
                outcome = publish(session, ctx.settings, get_dataset(session, item.dataset), None)
                release = outcome.release
                console.print(
                    say(
                        "cli.demo.published",
                        dataset=item.dataset,
                        version=release.version,
                        status=release.status,
                        rows=num(release.rows),
                        secret=num(release.report.get("secret", 0)),
                    )
                )
        except Invalid as exc:  # e.g. a demo of less than two days: no whole day older than the delay
            console.print(say("cli.demo.not_published", dataset=item.dataset, error=str(exc)))
