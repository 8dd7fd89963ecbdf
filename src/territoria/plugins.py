"""Composition: find the domains registered under the `territoria.domains` entry points and wire them in.

This is the one place, with `territoria.app` and `territoria.cli`, that knows every stage: it imports the
generic table modules and store hooks, then installs what each domain declares in its `Domain`
(see territoria.contract). Loading is idempotent and happens once per process.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path

from territoria import i18n
from territoria.access.retention import register_purge
from territoria.analytics.providers import register_provider
from territoria.analytics.service import register_kpi_file
from territoria.catalog.schemas import register_schema
from territoria.contract import Domain
from territoria.ingest.observers import observe_records
from territoria.opendata.sources import register_source
from territoria.web import render

log = logging.getLogger(__name__)

GROUP = "territoria.domains"
# The platform's own tables and store hooks, imported so the metadata and retention are complete.
GENERIC_MODULES = (
    "territoria.territory.models",
    "territoria.catalog.models",
    "territoria.access.models",
    "territoria.access.user_models",
    "territoria.access.agreement_models",
    "territoria.access.audit_models",
    "territoria.ingest.models",
    "territoria.ingest.retention",
    "territoria.timeseries.models",
    "territoria.timeseries.retention",
    "territoria.quality.models",
    "territoria.analytics.models",
    "territoria.opendata.models",
)

# Stages that keep their own page templates and static files (served under /static/<stage>/).
PAGE_STAGES = ("dashboard", "registry", "quality", "analytics", "opendata")

_LOADED: list[list[Domain]] = []  # the registered domains, once loaded


def stage_folder(stage: str, kind: str) -> Path:
    """A generic stage's `templates` or `static` folder."""
    return Path(str(resources.files(f"territoria.{stage}").joinpath(kind)))


def stage_static() -> list[tuple[str, Path]]:
    """(URL prefix, folder) of every generic stage that has static files."""
    return [
        (stage, stage_folder(stage, "static"))
        for stage in PAGE_STAGES
        if stage_folder(stage, "static").is_dir()
    ]


def enabled_names() -> set[str] | None:
    """The domains TERRITORIA_DOMAINS names (comma-separated; empty: none), or None for every one."""
    value = os.environ.get("TERRITORIA_DOMAINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def discover() -> list[Domain]:
    """The domains registered in the installed distributions' entry points, by name (those enabled)."""
    enabled = enabled_names()
    found: list[Domain] = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        if enabled is not None and point.name not in enabled:
            continue
        domain = point.load()
        if not isinstance(domain, Domain):
            raise TypeError(f"entry point {point.name} ({point.value}) is not a territoria.contract.Domain")
        found.append(domain)
    return found


def install(domain: Domain) -> None:
    """Wire one domain's declarations into the generic registries (routers and CLI are the roots' job)."""
    for module in domain.model_modules:
        importlib.import_module(module)
    for observer in domain.observers:
        observe_records(observer)
    for source in domain.sources:
        register_source(source)
    for hook in domain.purges:
        register_purge(hook)
    for name, factory in domain.schemas.items():
        register_schema(name, factory)
    for name, provider in domain.kpi_providers.items():
        register_provider(name, provider)
    for path in domain.kpi_files:
        register_kpi_file(path)
    if domain.locale is not None:
        i18n.add_locale_dir(domain.locale)
    if domain.templates is not None:
        render.add_templates(domain.templates)
    for entry in domain.nav:
        render.add_nav(entry.href, entry.label, entry.marker)


def load(domains: Iterable[Domain] | None = None) -> list[Domain]:
    """Load the generic modules and install the domains (the registered ones unless given), once."""
    if _LOADED and domains is None:
        return _LOADED[0]
    for module in GENERIC_MODULES:
        importlib.import_module(module)
    for stage in PAGE_STAGES:
        render.add_templates(stage_folder(stage, "templates"))
    chosen = list(discover() if domains is None else domains)
    for domain in chosen:
        install(domain)
        log.debug("domain %s installed", domain.name)
    if domains is None:
        _LOADED.append(chosen)
    return chosen
