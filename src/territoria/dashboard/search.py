"""One search box over what the visitor may see: datasets, indicators and communes (accents ignored)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from territoria.dashboard import figures as dash
from territoria.dashboard import service
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.territory.models import Area
from territoria.web.render import page_lang, render

router = APIRouter(tags=["pages"], include_in_schema=False)
MAX_HITS = 50  # per kind: a longer list means the words should be more precise


def plain(text: str) -> str:
    """Text without accents, case folded: « Écl » finds « éclairage »."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def matches(words: list[str], texts: Iterable[str | None]) -> bool:
    """Every word appears in one of the texts."""
    haystack = " ".join(plain(t) for t in texts if t)
    return all(w in haystack for w in words)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Datasets, indicators and communes whose names or descriptions hold every word of `q`."""
    lang = page_lang(request)
    words = plain(q).split()[:10]
    datasets, indicators, communes = [], [], []
    if words:
        datasets = [
            ds
            for ds in service.visible_datasets(session, principal)
            if matches(words, [ds.title, ds.description, ds.slug, ds.owner.name, *ds.keywords])
        ][:MAX_HITS]
        indicators = [
            k
            for k in dash.readable_kpis(session, principal)
            if matches(words, [k.code, k.title.fr, k.title.en, k.description.fr, k.description.en])
        ][:MAX_HITS]
        areas = session.scalars(select(Area).where(Area.level == "commune").order_by(Area.name))
        communes = [a for a in areas if matches(words, [a.name, a.code])][:MAX_HITS]
    values = {
        "q": q,
        "searched": bool(words),
        "datasets": datasets,
        "indicators": indicators,
        "communes": communes,
        "lang": lang,
        "nav": "search",
    }
    return render(request, ctx, "search.html", values)
