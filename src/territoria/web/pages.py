"""HTML routes: home, map and dataset pages, plus the static files they use."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context as JinjaContext
from markupsafe import Markup
from sqlalchemy.orm import Session

from territoria import __version__
from territoria.access.personal import view_of
from territoria.access.principal import Principal
from territoria.api.deps import ContextDep, PrincipalDep, SessionDep
from territoria.catalog.errors import DatasetNotFound
from territoria.catalog.models import Dataset
from territoria.catalog.service import count_assets, dataset_public
from territoria.context import Context
from territoria.opendata.publish_pages import publish_panel
from territoria.web import dashboard_service as dashboard
from territoria.web import i18n, service
from territoria.web.chart import line_chart

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
# Scripts and styles come from our own files only; map tiles are the one outside origin.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https://tile.openstreetmap.org",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
LANG_COOKIE_AGE = 365 * 24 * 3600

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals.update(colour=service.domain_colour, version=__version__)


# The language of the page being rendered: macros imported without context do not see `lang`.
_rendering: ContextVar[str] = ContextVar("rendering_lang", default=i18n.DEFAULT_LANG)


def _lang_of(context: JinjaContext) -> str:
    """The page language: the template's `lang`, else the page being rendered."""
    lang = context.get("lang")
    return lang if isinstance(lang, str) else _rendering.get()


@pass_context
def _gettext(context: JinjaContext, message: str) -> Markup:
    """The message in the page's language; escaped here, as the text came escaped before the catalogs."""
    return Markup.escape(i18n.translations(_lang_of(context)).gettext(message))


@pass_context
def _ngettext(context: JinjaContext, singular: str, plural: str, n: int) -> Markup:
    """The counted message in the page's language (its plural rule picks the form)."""
    return Markup.escape(i18n.translations(_lang_of(context)).ngettext(singular, plural, n))


# Newstyle gettext: `_("key", name=value)` and `ngettext("key", "key.plural", n, n=...)` format the
# catalog's `%(name)s` placeholders and escape the values; the language comes from each page's context.
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
router = APIRouter(tags=["pages"], include_in_schema=False)


def page_lang(request: Request) -> str:
    """The language of this request's page."""
    return i18n.choose_lang(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )


def lang_links(request: Request, current: str) -> list[dict[str, Any]]:
    """Links to the same page in each language."""
    links = []
    for code in i18n.langs():
        query = urlencode({**dict(request.query_params), "lang": code})
        links.append({"code": code, "name": i18n.language_name(code), "href": f"{request.url.path}?{query}"})
    return [{**link, "current": link["code"] == current} for link in links]


def render(
    request: Request, ctx: Context, template: str, values: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a page in the visitor's language, with the security headers and the language cookie."""
    lang = page_lang(request)

    def label(prefix: str, value: str) -> str:
        """Bound coded-value label for the template."""
        return i18n.label(prefix, value, lang)

    def num(value: float, decimals: int | None = None) -> str:
        """Bound number formatting for the template."""
        return i18n.number(value, lang, decimals)

    # Set by PrincipalDep; pages that resolve no principal (login, one-time links) show a visitor.
    viewer = getattr(request.state, "principal", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context = {
        "viewer": viewer,
        "csrf_token": getattr(viewer, "csrf_token", None),
        "login_href": "/login" if here == "/" else "/login?" + urlencode({"next": here}),
        "lang": lang,
        "label": label,
        "num": num,
        "lang_links": lang_links(request, lang),
        "demo": ctx.settings.demo,
        "path": request.url.path,
        **values,
    }
    token = _rendering.set(lang)
    try:  # the template is rendered here, synchronously
        response = templates.TemplateResponse(request, template, context, status_code=status_code)
    finally:
        _rendering.reset(token)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    chosen = request.query_params.get("lang")
    if chosen and chosen.lower() in i18n.langs():
        response.set_cookie(i18n.COOKIE, lang, max_age=LANG_COOKIE_AGE, samesite="lax", httponly=True)
    return response


def map_config(datasets: list[Dataset], lang: str, *, single: bool = False) -> dict[str, Any]:
    """What the map script needs: data URLs, tiles, colours and the popup labels."""
    keys = ("id", "commune", "kind", "network", "outside", "dataset")
    return {
        "areasUrl": "/api/v1/areas?level=commune",
        "tiles": {"url": TILES_URL, "attribution": TILES_ATTRIBUTION},
        "fit": "assets" if single else "areas",
        "datasets": [
            {
                "slug": ds.slug,
                "title": ds.title,
                "colour": service.domain_colour(ds.domain),
                "assetsUrl": f"/datasets/{ds.slug}/assets.geojson",
                "page": f"/datasets/{ds.slug}",
            }
            for ds in datasets
        ],
        "labels": {
            **{k: i18n.t(f"popup.{k}", lang) for k in keys},
            "communes": i18n.t("map.communes", lang),
            "error": i18n.t("map.error", lang),
        },
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """Home: KPI cards by theme, the data-quality status and the datasets the visitor may see."""
    # quality.pages renders through this module: imported here, once both are loaded.
    from territoria.quality.pages import band

    datasets = service.visible_datasets(session, principal)
    counts = service.asset_counts(session, datasets)
    cards = [{"ds": dataset_public(ds, counts.get(ds.id, 0)), "owner": ds.owner.name} for ds in datasets]
    readable = dashboard.readable_kpis(session, principal)
    figures = dashboard.territory_figures(ctx, readable, dashboard.today())
    values = {
        "cards": cards,
        "themes": dashboard.group_by_theme(figures),
        "quality": dashboard.quality_status(session, datasets),
        "band": band,
        "label_of": dashboard.period_label,
        "nav": "home",
    }
    return render(request, ctx, "home.html", values)


def choropleth_config(
    request: Request, ctx: Context, session: Session, principal: Principal, lang: str
) -> dict[str, Any] | None:
    """The KPI layer of the map: every readable KPI's commune values, and the one shown first."""
    readable = dashboard.readable_kpis(session, principal)
    if not readable:
        return None
    names = service.commune_names(session)
    layers = dashboard.choropleth(ctx, readable, names, lang, dashboard.today())
    asked = request.query_params.get("kpi")
    codes = [layer["code"] for layer in layers]
    with_data = [layer["code"] for layer in layers if layer["values"]]
    selected = asked if asked in codes else (with_data or codes)[0]
    keys = ("map.no_data", "map.kpi_count", "map.kpi_no_month")
    return {
        "layers": layers,
        "selected": selected,
        "labels": {k.split(".", 1)[1]: i18n.t(k, lang) for k in keys},
        "lang": lang,
    }


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """Full-page map: communes coloured by a KPI, and one layer of assets per visible dataset."""
    datasets = service.visible_datasets(session, principal)
    counts = service.asset_counts(session, datasets)
    legend = [{"ds": ds, "count": counts.get(ds.id, 0)} for ds in datasets]
    lang = page_lang(request)
    config = map_config(datasets, lang)
    choropleth = choropleth_config(request, ctx, session, principal, lang)
    if choropleth is not None:
        config["choropleth"] = choropleth
    values = {"legend": legend, "config": config, "choropleth": choropleth, "nav": "map"}
    return render(request, ctx, "map.html", values)


@router.get("/datasets/{slug}", response_class=HTMLResponse)
def dataset_page(
    slug: str, request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """A dataset: description, metrics, assets per commune, a map and the last week of its first metric."""
    ds = service.visible_dataset(session, principal, slug)
    if ds is None:
        return render(request, ctx, "not_found.html", {"slug": slug}, status_code=404)
    lang = page_lang(request)
    # The chart shows the first metric the visitor may read (an agreement may leave some out).
    shown = view_of(principal, ds, ctx.settings.secret_key)
    first = next((m for m in ds.metrics if shown.shows(m.name)), None)
    chart = line_chart(service.hourly_average(session, first), lang) if first is not None else None
    public = dataset_public(ds, count_assets(session, ds))
    values = {
        "ds": public,
        "chart_metric": next((m for m in public.metrics if first is not None and m.name == first.name), None),
        "owner": ds.owner.name,
        "spread": service.asset_spread(session, ds),
        "chart": chart,
        "config": map_config([ds], lang, single=True),
        "publication": publish_panel(session, principal, ds),
        "published": request.query_params.get("published", ""),
        "publish_error": request.query_params.get("publish_error", ""),
        "failed_version": request.query_params.get("version", ""),
        "nav": "",
    }
    return render(request, ctx, "dataset.html", values)


@router.get("/datasets/{slug}/assets.geojson")
def dataset_assets_geojson(
    slug: str, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Located assets of a visible dataset for the maps (same visibility rule as the pages)."""
    ds = service.visible_dataset(session, principal, slug)
    if ds is None:
        raise DatasetNotFound(slug)
    view = view_of(principal, ds, ctx.settings.secret_key)
    body = orjson.dumps(service.asset_features(session, ds, view=view))
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "no-cache"})


def mount(app: FastAPI) -> None:
    """Add the pages and the static files to the app."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)
