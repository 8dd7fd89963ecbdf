"""The FastAPI application factory: routers, error mapping, health check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from territoria import __version__, plugins
from territoria.access import redact
from territoria.access.clients import TrustedProxyHeaders
from territoria.analytics.api import router as kpi_router
from territoria.analytics.steering_api import router as steering_router
from territoria.analytics.steering_pages import router as steering_pages_router
from territoria.context import Context
from territoria.contract import Domain
from territoria.dashboard.data_pages import router as data_pages_router
from territoria.dashboard.exports import router as dataset_export_router
from territoria.dashboard.kpi_pages import router as kpi_pages_router
from territoria.dashboard.pages import router as dashboard_router
from territoria.dashboard.search import router as search_router
from territoria.http import api_docs, errors, security
from territoria.http.deps import flush_refusals
from territoria.http.json_depth import JsonDepthLimit
from territoria.ingest.api import router as ingest_router
from territoria.ingest.records_api import router as records_router
from territoria.opendata.api import router as opendata_router
from territoria.opendata.dcat_api import router as dcat_router
from territoria.opendata.pages import router as opendata_pages_router
from territoria.opendata.publish_api import router as publish_router
from territoria.opendata.publish_pages import router as publish_pages_router
from territoria.quality.api import router as quality_router
from territoria.quality.pages import router as quality_pages_router
from territoria.quality.quarantine_api import router as quarantine_router
from territoria.quality.quarantine_pages import router as quarantine_pages_router
from territoria.registry.access_api import router as access_router
from territoria.registry.account_pages import login_required
from territoria.registry.account_pages import router as access_pages_router
from territoria.registry.admin_pages import router as admin_pages_router
from territoria.registry.audit_api import router as audit_router
from territoria.registry.catalog_api import router as catalog_router
from territoria.registry.link_pages import router as link_pages_router
from territoria.registry.me_api import router as me_router
from territoria.registry.territory_api import router as territory_router
from territoria.settings import Settings
from territoria.timeseries.api import router as timeseries_router
from territoria.web.render import mount as mount_web
from territoria.web.render import mount_static


def create_app(
    settings: Settings | None = None,
    *,
    context: Context | None = None,
    domains: Sequence[Domain] | None = None,
) -> FastAPI:
    """Build the app on a context (or on settings), with the registered domains (or those given)."""
    if context is None:
        context = Context(settings or Settings())
    context.settings.require_real_secret()
    redact.install()
    app = FastAPI(
        title="Territoria",
        version=__version__,
        summary="Public control of the data of a territory's networks",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served offline by api_docs (vendored Swagger UI and ReDoc)
        redoc_url=None,
    )
    app.state.context = context
    installed = plugins.load(domains)
    app.router.on_shutdown.append(lambda: flush_refusals(context))  # counted refusals reach the trail
    errors.install(app, login_page=login_required)
    security.install(app)
    api_docs.install(app)
    self_bounded = tuple(path for domain in installed for path in domain.self_bounded_paths)
    app.add_middleware(JsonDepthLimit, self_bounded=self_bounded)  # before any route parses a JSON body
    # Added last, so outermost: every other middleware and route sees the client and scheme it settles.
    app.add_middleware(TrustedProxyHeaders, context=context)

    @app.get("/healthz", tags=["system"])
    def healthz() -> dict[str, Any]:
        """Liveness and database reachability."""
        with context.session() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": context.engine.dialect.name}

    for router in (catalog_router, quarantine_router, ingest_router, timeseries_router, territory_router):
        app.include_router(router)
    app.include_router(quality_router)
    app.include_router(records_router)
    app.include_router(publish_router)
    app.include_router(opendata_router)
    app.include_router(dcat_router)  # before the portal pages: /opendata/catalog.ttl is not a slug
    app.include_router(kpi_router)
    app.include_router(steering_router)
    app.include_router(steering_pages_router)
    app.include_router(me_router)
    app.include_router(access_router)
    app.include_router(audit_router)
    for domain in installed:  # API routes of the domains, before the generic pages' catch-alls
        for router in domain.routers:
            app.include_router(router)
        if domain.static is not None:
            mount_static(app, domain.name, domain.static)
    for prefix, folder in plugins.stage_static():
        mount_static(app, prefix, folder)
    mount_web(app)
    app.include_router(data_pages_router)  # before the dashboard: /datasets/new is not a slug
    app.include_router(dashboard_router)
    app.include_router(kpi_pages_router)
    app.include_router(dataset_export_router)
    app.include_router(search_router)
    app.include_router(access_pages_router)
    app.include_router(admin_pages_router)
    app.include_router(link_pages_router)
    app.include_router(quarantine_pages_router)
    app.include_router(quality_pages_router)
    app.include_router(publish_pages_router)
    app.include_router(opendata_pages_router)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker servers: settings from the environment."""
    from territoria.process import tune_gc

    app = create_app(Settings())
    tune_gc()
    return app
