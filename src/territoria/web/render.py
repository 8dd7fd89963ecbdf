"""Page rendering: the Jinja environment, the request's language, security headers, static files."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader, pass_context
from jinja2.runtime import Context as JinjaContext
from markupsafe import Markup

from territoria import __version__, i18n
from territoria.context import Context
from territoria.settings import Settings
from territoria.web.basemap import base_layer
from territoria.web.colours import domain_colour

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
# Scripts and styles come from our own files only; the map background's tile server (a setting, see
# territoria.web.basemap) is the one outside origin, and only for images.
CSP_PARTS = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:{tiles}",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def content_security_policy(settings: Settings) -> str:
    """The pages' CSP, allowing images from the configured map background's origin."""
    origin = base_layer(settings.map_base, settings.map_base_attribution).origin()
    return "; ".join(CSP_PARTS).format(tiles=f" {origin}" if origin else "")


def map_tiles(ctx: Context) -> dict[str, Any]:
    """The map background of the settings, as the map scripts take it (`tiles` in their config)."""
    return base_layer(ctx.settings.map_base, ctx.settings.map_base_attribution).config()


LANG_COOKIE_AGE = 365 * 24 * 3600
FALLBACK_CENTRE = (46.6, 2.4)  # maps open on metropolitan France until a territory is loaded

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals.update(colour=domain_colour, version=__version__, domain_nav=[])


@dataclass(frozen=True)
class NavLink:
    """A domain's entry in the main navigation."""

    href: str
    label: str  # message key
    marker: str  # the page's `nav` value that marks it current


def add_nav(href: str, label: str, marker: str) -> None:
    """Add a domain's link to the main navigation of every page (once)."""
    links: list[NavLink] = templates.env.globals["domain_nav"]  # type: ignore[assignment]
    link = NavLink(href, label, marker)
    if link not in links:
        links.append(link)


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


@pass_context
def _dataset_title(context: JinjaContext, ds: Any) -> str:
    """A dataset's title in the page's language (its main title when that language has none)."""
    title_in = getattr(ds, "title_in", None)
    return str(title_in(_lang_of(context))) if callable(title_in) else str(getattr(ds, "title", ds))


@pass_context
def _dataset_description(context: JinjaContext, ds: Any) -> str:
    """A dataset's description in the page's language (its main description when that language has none)."""
    description_in = getattr(ds, "description_in", None)
    if callable(description_in):
        return str(description_in(_lang_of(context)))
    return str(getattr(ds, "description", "") or "")


@pass_context
def _kpi_unit(context: JinjaContext, kpi: Any) -> str:
    """A KPI's unit as written in the page's language."""
    unit_in = getattr(kpi, "unit_in", None)
    return str(unit_in(_lang_of(context))) if callable(unit_in) else str(getattr(kpi, "unit", "") or "")


templates.env.filters.update(dtitle=_dataset_title, ddesc=_dataset_description, kpi_unit=_kpi_unit)


def add_templates(folder: Path) -> None:
    """Let pages find the templates of a stage or a domain (names are unique across folders)."""
    loader = templates.env.loader
    assert isinstance(loader, FileSystemLoader)
    if str(folder) not in loader.searchpath:
        loader.searchpath.append(str(folder))


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

    def when(value: datetime | str | None, with_time: bool = True) -> str:
        """Bound date (and time, UTC) formatting for the template; ISO text is parsed first."""
        if value is None or value == "":
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return i18n.date_time(moment, lang) if with_time else i18n.day_text(moment, lang)

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
        "when": when,
        "lang_links": lang_links(request, lang),
        "demo": ctx.settings.demo,
        "centre": ",".join(map(str, ctx.locator().centre() or FALLBACK_CENTRE)),
        "path": request.url.path,
        **values,
    }
    token = _rendering.set(lang)
    try:  # the template is rendered here, synchronously
        response = templates.TemplateResponse(request, template, context, status_code=status_code)
    finally:
        _rendering.reset(token)
    response.headers["Content-Security-Policy"] = content_security_policy(ctx.settings)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    chosen = request.query_params.get("lang")
    if chosen and chosen.lower() in i18n.langs():
        response.set_cookie(i18n.COOKIE, lang, max_age=LANG_COOKIE_AGE, samesite="lax", httponly=True)
    return response


def mount_static(app: FastAPI, prefix: str, folder: Path) -> None:
    """Serve a stage's or a domain's static files under `/static/<prefix>/` (before the shared ones)."""
    app.mount(f"/static/{prefix}", StaticFiles(directory=folder), name=f"static-{prefix}")


def mount(app: FastAPI) -> None:
    """Serve the shared static files (toolkit scripts, styles and vendored libraries) under `/static`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def private_page(
    request: Request, ctx: Context, template: str, values: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A page about one person's data or rights: never kept by the browser or a proxy."""
    response = render(request, ctx, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def to_login(next_path: str) -> RedirectResponse:
    """Send an anonymous visitor to the login form, coming back here afterwards (our own path only)."""
    return RedirectResponse("/login?" + urlencode({"next": next_path}), status_code=303)
