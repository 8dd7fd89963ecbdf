"""HTTP routes of the DCAT-AP catalogue: Turtle, JSON-LD and RDF/XML, public and cacheable."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from territoria.context import Context
from territoria.http.deps import ContextDep, SessionDep
from territoria.opendata.dcat import CATALOG_FORMATS, build_catalog, serialize_catalog

router = APIRouter(tags=["opendata"])
CACHE_CONTROL = "public, max-age=300"  # harvesters poll; five minutes of staleness is harmless


def catalog_response(ctx: Context, session: Session, suffix: str) -> Response:
    """The catalogue serialised for a URL suffix ("ttl", "jsonld", "rdf")."""
    rdf_format, media_type = CATALOG_FORMATS[suffix]
    body = serialize_catalog(build_catalog(session, ctx.settings), rdf_format)
    return Response(body, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})


def _doc(media_type: str) -> dict[int | str, dict[str, object]]:
    """OpenAPI description of a catalogue answer."""
    return {200: {"content": {media_type: {}}, "description": "The DCAT-AP 3 catalogue"}}


@router.get("/opendata/catalog.ttl", response_class=Response, responses=_doc("text/turtle"))
def catalog_turtle(ctx: ContextDep, session: SessionDep) -> Response:
    """The open-data catalogue (DCAT-AP 3) in Turtle."""
    return catalog_response(ctx, session, "ttl")


@router.get("/opendata/catalog.jsonld", response_class=Response, responses=_doc("application/ld+json"))
def catalog_jsonld(ctx: ContextDep, session: SessionDep) -> Response:
    """The open-data catalogue (DCAT-AP 3) in JSON-LD."""
    return catalog_response(ctx, session, "jsonld")


@router.get("/opendata/catalog.rdf", response_class=Response, responses=_doc("application/rdf+xml"))
def catalog_rdfxml(ctx: ContextDep, session: SessionDep) -> Response:
    """The open-data catalogue (DCAT-AP 3) in RDF/XML."""
    return catalog_response(ctx, session, "rdf")
