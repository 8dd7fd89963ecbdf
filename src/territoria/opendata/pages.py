"""The public open-data portal: the catalogue of released datasets and one page per released dataset."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from territoria import i18n
from territoria.catalog.models import Dataset
from territoria.errors import NotFound
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.opendata import portal
from territoria.opendata.models import Release
from territoria.opendata.pages_view import dataset_values
from territoria.opendata.releases import released_dataset, table_of
from territoria.settings import Settings
from territoria.territory.models import Area
from territoria.web.render import page_lang, render

MAX_QUERY = 200
INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


class SlugConvertor(Convertor[str]):
    """A dataset slug: `/opendata/catalog.ttl` and its siblings never reach the dataset page."""

    regex = "[a-z0-9][a-z0-9_-]{0,62}"

    def convert(self, value: str) -> str:
        """The slug itself."""
        return value

    def to_string(self, value: str) -> str:
        """The slug itself."""
        return value


register_url_convertor("dataset_slug", SlugConvertor())
router = APIRouter(tags=["pages"], include_in_schema=False)


def fold(text: str) -> str:
    """Text for matching: no accents, no case, hyphens and apostrophes as spaces."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[-'’_]", " ", plain).split())


def day_label(value: datetime | date | None, lang: str) -> str:
    """A day as 05/10/2026 (French) or 2026-10-05 (English); a dash when unknown."""
    if value is None:
        return "—"
    return i18n.day_text(value, lang)


def coverage(release: Release) -> tuple[datetime | None, datetime | None]:
    """First and last day covered (a release window is half-open: its end is the next period's start)."""
    start, end = release.coverage_start, release.coverage_end
    if end is not None and release.report.get("window") and start is not None and end > start:
        end = end - timedelta(microseconds=1)
    return start, end


def released(session: Session) -> list[tuple[Dataset, Release]]:
    """Every dataset with a published release, with its latest one, by title."""
    latest = (
        select(Release.dataset_id, func.max(Release.version).label("version"))
        .where(Release.status == "published")
        .group_by(Release.dataset_id)
        .subquery()
    )
    query = (
        select(Dataset, Release)
        .join(latest, latest.c.dataset_id == Dataset.id)
        .join(Release, and_(Release.dataset_id == Dataset.id, Release.version == latest.c.version))
        .order_by(Dataset.title, Dataset.slug)
    )
    return [(ds, release) for ds, release in session.execute(query).all()]


def communes(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the territory's communes, by name."""
    query = select(Area.code, Area.name).where(Area.level == "commune").order_by(Area.name)
    return [(code, name) for code, name in session.execute(query).all()]


def resolve_commune(known: list[tuple[str, str]], raw: str) -> tuple[str, str] | None:
    """The commune named by an INSEE code or a name (accents and case ignored), or None."""
    text = raw.strip()
    if INSEE.match(text.upper()):
        return next(((c, n) for c, n in known if c == text.upper()), None)
    key = fold(text)
    return next(((c, n) for c, n in known if fold(n) == key), None)


def has_commune(settings: Settings, release: Release, code: str) -> bool:
    """Whether the release file has rows for the commune (read once per release file)."""
    if not any(c.get("name") == "area_code" for c in release.columns):
        return False
    try:
        return code in portal.release_communes(str(settings.releases_root() / release.path))
    except (OSError, pa.ArrowException):
        return False


def matches(ds: Dataset, terms: list[str]) -> bool:
    """Whether every search term appears in the title, description or keywords."""
    texts = [ds.title, ds.description or "", *(ds.titles or {}).values(), *(ds.descriptions or {}).values()]
    haystack = fold(" ".join([*texts, *(ds.keywords or [])]))
    return all(term in haystack for term in terms)


def entry(ds: Dataset, release: Release, lang: str) -> dict[str, Any]:
    """One dataset of the catalogue, ready for the template."""
    start, end = coverage(release)
    return {
        "slug": ds.slug,
        "title": ds.title_in(lang),
        "description": ds.description_in(lang) or "",
        "publisher": ds.owner.name,
        "domain": ds.domain,
        "licence": release.licence or ds.licence,
        "rows": release.rows,
        "version": release.version,
        "released": day_label(release.created_at, lang),
        "start": day_label(start, lang) if start else None,
        "end": day_label(end, lang) if end else None,
        "keywords": list(ds.keywords or []),
    }


def _clip(value: str) -> str:
    """A query parameter bounded in length."""
    return value.strip()[:MAX_QUERY]


@router.get("/opendata", response_class=HTMLResponse)
def catalogue_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    q: str = "",
    domain: str = "",
    licence: str = "",
    commune: str = "",
) -> HTMLResponse:
    """The open-data catalogue: search, filters by domain, licence and commune, and how privacy is kept."""
    lang = page_lang(request)
    q, domain, licence, commune = _clip(q), _clip(domain), _clip(licence), _clip(commune)
    every = released(session)
    known = communes(session)
    chosen = resolve_commune(known, commune) if commune else None
    terms = fold(q).split()

    def keep(ds: Dataset, release: Release, skip: str = "") -> bool:
        """Whether a dataset passes the filters (all but `skip`, for the facet counts)."""
        if terms and not matches(ds, terms):
            return False
        if skip != "domain" and domain and ds.domain != domain:
            return False
        if skip != "licence" and licence and (release.licence or ds.licence) != licence:
            return False
        if commune:
            return chosen is not None and has_commune(ctx.settings, release, chosen[0])
        return True

    shown = [entry(ds, r, lang) for ds, r in every if keep(ds, r)]
    domains = Counter(ds.domain for ds, r in every if keep(ds, r, "domain"))
    licences = Counter(r.licence or ds.licence for ds, r in every if keep(ds, r, "licence"))
    values = {
        "entries": shown,
        "total": len(every),
        "q": q,
        "domain": domain,
        "licence": licence,
        "commune": commune,
        "chosen": chosen,
        "unknown_commune": bool(commune) and chosen is None,
        "domains": sorted({ds.domain for ds, _ in every} | ({domain} if domain else set())),
        "domain_counts": domains,
        "licences": sorted({r.licence or ds.licence for ds, r in every} | ({licence} if licence else set())),
        "licence_counts": licences,
        "communes": known,
        "filtered": bool(q or domain or licence or commune),
        "nav": "opendata",
    }
    return render(request, ctx, "opendata.html", values)


@router.get("/opendata/{slug:dataset_slug}", response_class=HTMLResponse)
def dataset_page(
    slug: str, request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    """A released dataset: metadata, schema, preview, chart, map, downloads, API, privacy report, changes."""
    try:
        ds, release = released_dataset(session, slug)
    except NotFound:
        return render(
            request, ctx, "opendata_dataset.html", {"missing": slug, "nav": "opendata"}, status_code=404
        )
    lang = page_lang(request)
    table = table_of(ctx.settings, ds, release)
    layout = portal.layout_of(table)
    try:
        figures: portal.Figures | None = portal.figures(layout)
    except (OSError, pa.ArrowException):
        figures = None  # the file is gone or damaged: the page still says what the release was
    start, end = coverage(release)
    values = dataset_values(request, ds, release, table, layout, figures, lang)
    values.update(
        start=day_label(start, lang) if start else None,
        end=day_label(end, lang) if end else None,
        released=day_label(release.created_at, lang),
        missing=None,
        nav="opendata",
    )
    return render(request, ctx, "opendata_dataset.html", values)
