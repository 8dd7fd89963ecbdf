"""The FastAPI application factory: routers, error mapping, health check."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from territoria import __version__
from territoria.access import redact
from territoria.access.admin_pages import router as admin_pages_router
from territoria.access.api import router as access_router
from territoria.access.audit_api import router as audit_router
from territoria.access.link_pages import router as link_pages_router
from territoria.access.me_api import router as me_router
from territoria.access.pages import router as access_pages_router
from territoria.analytics.api import router as kpi_router
from territoria.analytics.steering_api import router as steering_router
from territoria.analytics.steering_pages import router as steering_pages_router
from territoria.api import errors, security
from territoria.api.deps import flush_refusals
from territoria.api.json_depth import JsonDepthLimit
from territoria.catalog.api import router as catalog_router
from territoria.context import Context
from territoria.domains.ev import LOCALE_DIR as EV_LOCALE_DIR
from territoria.domains.ev.api import router as ev_router
from territoria.domains.ev.api_history import router as ev_history_router
from territoria.domains.ev.api_import import SELF_BOUNDED_PATHS as EV_SELF_BOUNDED
from territoria.domains.ev.api_import import router as ev_import_router
from territoria.domains.ev.pages import router as ev_pages_router
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
from territoria.settings import Settings
from territoria.territory.api import router as territory_router
from territoria.timeseries.api import router as timeseries_router
from territoria.web import i18n
from territoria.web.dashboard_pages import router as dashboard_pages_router
from territoria.web.pages import mount as mount_web


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    """Build the app on a context (or on settings, building the context)."""
    if context is None:
        context = Context(settings or Settings())
    context.settings.require_real_secret()
    redact.install()
    app = FastAPI(
        title="Territoria",
        version=__version__,
        summary="Public control of the data of a territory's networks",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.context = context
    app.router.on_shutdown.append(lambda: flush_refusals(context))  # counted refusals reach the trail
    errors.install(app)
    security.install(app)
    app.add_middleware(JsonDepthLimit, self_bounded=EV_SELF_BOUNDED)  # before any route parses a JSON body

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
    app.include_router(ev_router)
    app.include_router(ev_history_router)
    app.include_router(ev_import_router)
    app.include_router(dcat_router)  # before the portal pages: /opendata/catalog.ttl is not a slug
    app.include_router(kpi_router)
    app.include_router(steering_router)
    app.include_router(steering_pages_router)
    app.include_router(me_router)
    app.include_router(access_router)
    app.include_router(audit_router)
    mount_web(app)
    app.include_router(dashboard_pages_router)
    app.include_router(access_pages_router)
    app.include_router(admin_pages_router)
    app.include_router(link_pages_router)
    app.include_router(quarantine_pages_router)
    app.include_router(quality_pages_router)
    app.include_router(publish_pages_router)
    app.include_router(opendata_pages_router)
    app.include_router(ev_pages_router)
    i18n.add_locale_dir(EV_LOCALE_DIR)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker servers: settings from the environment."""
    from territoria.process import tune_gc

    app = create_app(Settings())
    tune_gc()
    return app
