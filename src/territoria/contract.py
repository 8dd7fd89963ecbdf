"""The domain contract: everything a domain gives the platform, in one value the platform reads.

A domain (an observatory, works coordination, energy, …) is a package under `territoria.domains`
that exposes one `Domain` through the entry-point group `territoria.domains` in pyproject.toml:

    [project.entry-points."territoria.domains"]
    works = "territoria.domains.works.plugin:DOMAIN"

The composition roots (`territoria.app`, `territoria.cli`) load every registered domain through
`territoria.plugins` and wire what it declares here; no generic package imports a domain (import-linter
enforces it). See docs/architecture.md, "Adding a domain".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from rich.console import Console

    from territoria.access.retention import PurgeHook
    from territoria.analytics.providers import KpiProvider
    from territoria.context import Context
    from territoria.ingest.observers import RecordsObserver
    from territoria.opendata.sources import DomainSource
    from territoria.simulate.city import City


@dataclass(frozen=True)
class NavEntry:
    """A link in the main navigation of every page: its path, its message key, its `nav` marker."""

    href: str
    label: str  # a message key of the domain's catalogue
    marker: str  # the `nav` value a page of this entry renders with, for aria-current


@dataclass(frozen=True)
class DemoStep:
    """What a domain adds to `territoria demo` after the generic city is loaded."""

    install: Callable[[Context, City, int, Console], None]  # (context, city, days of history, console)


@dataclass(frozen=True)
class FeedWriter:
    """A domain's source files for the simulated city, as operators send them (`simulate --feeds-dir`)."""

    write: Callable[[City, Path, int, Console], None]  # (city, folder, days of history, console)


@dataclass(frozen=True)
class Domain:
    """One domain's contribution to the platform; every field but the name is optional."""

    name: str  # short, URL-safe: the CLI sub-command and the static prefix (/static/<name>/)
    title: str  # a message key of the domain's catalogue
    routers: Sequence[APIRouter] = ()  # API and page routes, included by the app after the generic ones
    cli: typer.Typer | None = None  # mounted as `territoria <name> …`
    model_modules: Sequence[str] = ()  # modules whose tables join the metadata (Alembic, tests)
    observers: Sequence[RecordsObserver] = ()  # told of every stored records batch, inside its transaction
    sources: Sequence[DomainSource] = ()  # open-data sources a publication policy can name
    purges: Sequence[PurgeHook] = ()  # retention of the domain's own stores
    schemas: Mapping[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)  # named Table Schemas
    kpi_files: Sequence[Path] = ()  # KPI definitions (YAML, same format as analytics/kpis.yaml)
    # Computations named by `aggregation: provided` KPIs (analytics/providers.py), by provider name.
    kpi_providers: Mapping[str, KpiProvider] = field(default_factory=dict)
    templates: Path | None = None  # Jinja templates (names unique across the platform)
    static: Path | None = None  # served under /static/<name>/
    locale: Path | None = None  # gettext catalogues: <locale>/<lang>/LC_MESSAGES/territoria.po
    nav: Sequence[NavEntry] = ()
    self_bounded_paths: Sequence[str] = ()  # routes that bound their own JSON bodies (streamed parsers)
    demo: DemoStep | None = None
    feeds: FeedWriter | None = None
