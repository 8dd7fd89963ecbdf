"""Dashboard pages: home, map and dataset pages, and the assets GeoJSON the maps draw."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access.personal import view_of
from territoria.access.policy import may_handle_quarantine
from territoria.access.principal import Principal
from territoria.catalog.errors import DatasetNotFound
from territoria.catalog.models import Dataset
from territoria.catalog.service import count_assets, dataset_public
from territoria.context import Context
from territoria.dashboard import figures as dashboard
from territoria.dashboard import service
from territoria.dashboard.data_pages import may_create_dataset, may_ingest
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.opendata.publish_pages import publish_panel
from territoria.quality.pages import band
from territoria.web.chart import line_chart
from territoria.web.colours import domain_colour, layer_colour
from territoria.web.render import map_tiles, page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)


def map_config(ctx: Context, datasets: list[Dataset], lang: str, *, single: bool = False) -> dict[str, Any]:
    """What the map script needs: data URLs, background, one distinct colour per layer, the labels."""
    keys = ("id", "commune", "kind", "network", "outside", "dataset")
    tiles = map_tiles(ctx)
    return {
        "areasUrl": "/api/v1/areas?level=commune",
        "tiles": tiles,
        "fit": "assets" if single else "areas",
        "datasets": [
            {
                "slug": ds.slug,
                "title": ds.title_in(lang),
                "colour": domain_colour(ds.domain) if single else layer_colour(i),
                "assetsUrl": f"/datasets/{ds.slug}/assets.geojson",
                "page": f"/datasets/{ds.slug}",
            }
            for i, ds in enumerate(datasets)
        ],
        "labels": {
            **{k: i18n.t(f"popup.{k}", lang) for k in keys},
            "communes": i18n.t("map.communes", lang),
            "error": i18n.t("map.error", lang),
            "loading": i18n.t("map.loading", lang),
            "base": i18n.t(f"map.base.{tiles['name']}", lang),
            "noBase": i18n.t("map.base.none", lang),
        },
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """Home: KPI cards by theme, the data-quality status and the datasets the visitor may see."""
    datasets = service.visible_datasets(session, principal)
    counts = service.asset_counts(session, datasets)
    cards = [{"ds": dataset_public(ds, counts.get(ds.id, 0)), "owner": ds.owner.name} for ds in datasets]
    readable = dashboard.readable_kpis(session, principal)
    figures = dashboard.territory_figures(ctx, readable, dashboard.today())
    values = {
        "cards": cards,
        "themes": dashboard.group_by_theme(figures),
        "quality": dashboard.quality_status(session, datasets, page_lang(request)),
        "band": band,
        "label_of": dashboard.period_label,
        "can_create": may_create_dataset(principal),
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
    visible = service.visible_datasets(session, principal)
    counts = service.asset_counts(session, visible)
    datasets = [ds for ds in visible if counts.get(ds.id, 0)]  # a layer without points draws nothing
    lang = page_lang(request)
    config = map_config(ctx, datasets, lang)
    colours = [d["colour"] for d in config["datasets"]]
    legend = [
        {"ds": ds, "count": counts.get(ds.id, 0), "colour": c}
        for ds, c in zip(datasets, colours, strict=True)
    ]
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
        "config": map_config(ctx, [ds], lang, single=True),
        "publication": publish_panel(session, principal, ds),
        "can_quarantine": may_handle_quarantine(principal, ds),
        "decimal_comma": i18n.decimal_comma(page_lang(request)),
        "can_upload": may_ingest(principal, ds),
        "created": request.query_params.get("created") == "1",
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
