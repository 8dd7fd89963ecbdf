"""The DCAT-AP 3 catalogue: what it lists, its three serialisations, the official SHACL shapes, the routes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pyshacl
import pytest
from rdflib import OWL, RDF, SKOS, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, SH
from tests.conftest import World, build_world

from territoria.catalog.schemas import DatasetCreate, MetricCreate
from territoria.catalog.service import create_dataset, get_dataset, get_organisation
from territoria.context import Context
from territoria.opendata.dcat import build_catalog, serialize_catalog
from territoria.opendata.dcat_api import router
from territoria.opendata.dcat_vocab import DCAT, DCATAP, FREQ, LICENCE, THEME, VCARD
from territoria.opendata.models import Release

# rdflib's own JSON-LD parser still uses its deprecated ConjunctiveGraph.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
SHAPES = Path(__file__).parent / "shapes"
BASE = "http://127.0.0.1:8000"
CATALOG = URIRef(f"{BASE}/opendata#catalog")
LIGHTS = URIRef(f"{BASE}/opendata/lights#dataset")
AIR = URIRef(f"{BASE}/opendata/air#dataset")
JAN, FEB, MAR = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3))
COLUMNS = [
    {"name": "area_code", "type": "string", "role": "dimension", "title": {"en": "Commune", "fr": "Commune"}},
    {
        "name": "power",
        "type": "number",
        "role": "measure",
        "title": {"en": "Power", "fr": "Puissance"},
        "unit": "W",
    },
]
# Property shapes the two official files reference but neither defines (see shapes/README.md).
UNDEFINED_SHAPES = 5
# DCAT-AP 3.0.1 recommended properties, per class (the SHACL files only check the mandatory ones).
RECOMMENDED = {
    DCAT.Catalog: [DCTERMS.spatial, FOAF.homepage, DCTERMS.language, DCTERMS.license, DCTERMS.modified]
    + [DCTERMS.issued, DCAT.themeTaxonomy, DCTERMS.publisher],
    DCAT.Dataset: [DCAT.contactPoint, DCAT.distribution, DCAT.keyword, DCTERMS.publisher, DCTERMS.spatial]
    + [DCTERMS.temporal, DCAT.theme],
    DCAT.Distribution: [DCATAP.availability, DCTERMS.description, DCTERMS.format, DCTERMS.license],
    DCAT.DataService: [DCAT.endpointDescription, DCAT.servesDataset],
    FOAF.Agent: [DCTERMS.type],
    DCTERMS.LicenseDocument: [DCTERMS.type],
}


def _release(dataset_id: int, version: int, status: str, created: datetime, licence: str) -> Release:
    """A release row as the publisher would write it."""
    return Release(
        dataset_id=dataset_id,
        version=version,
        policy_version=1,
        status=status,
        path=f"{dataset_id}/v{version}.parquet" if status == "published" else "",
        rows=42 if status == "published" else 0,
        columns=COLUMNS if status == "published" else [],
        geometry="area",
        coverage_start=datetime(2025, 1, 1, tzinfo=UTC),
        coverage_end=datetime(2025, 12, 31, 23, tzinfo=UTC),
        licence=licence,
        created_at=created,
    )


def _metric_dataset(slug: str, title: str, domain: str) -> DatasetCreate:
    """A small time-series dataset definition."""
    return DatasetCreate(
        slug=slug, title=title, domain=domain, kind="timeseries", metrics=[MetricCreate(name="v", unit="1")]
    )


def seed(ctx: Context) -> World:
    """Lights (operator, 2 published releases and a failed one), air (authority, 1 release),
    water (a failed release only) and waste (no release)."""
    world = build_world(ctx)
    with ctx.session(write=True) as s:
        city, waterco = get_organisation(s, "city"), get_organisation(s, "waterco")
        lights = get_dataset(s, "lights")
        lights.keywords = ["lampadaires"]
        lights.dcat = {"language": "en", "title_fr": "Éclairage public"}
        air = create_dataset(s, _metric_dataset("air", "Qualité de l'air", "air_quality"), city)
        air.description = "Concentrations moyennes de polluants par commune."
        air.dcat = {
            "theme": ["ENVI", "http://publications.europa.eu/resource/authority/data-theme/HEAL"],
            "frequency": "daily",
            "contact_point": "opendata@city.example.org",
            "title_en": "Air quality",
            "description_en": "Mean pollutant concentrations per commune.",
        }
        water = create_dataset(s, _metric_dataset("water", "Water quality", "water"), waterco)
        create_dataset(s, _metric_dataset("waste", "Waste collection", "waste"), city)
        s.flush()
        s.add_all(
            [
                _release(lights.id, 1, "published", JAN, "etalab-2.0"),
                _release(lights.id, 2, "published", FEB, "odbl-1.0"),
                _release(lights.id, 3, "failed", MAR, "odbl-1.0"),
                _release(air.id, 1, "published", FEB, "etalab-2.0"),
                _release(water.id, 1, "failed", FEB, "etalab-2.0"),
            ]
        )
    return world


def catalogue(ctx: Context) -> Graph:
    """The catalogue graph built from the database."""
    with ctx.session() as s:
        return build_catalog(s, ctx.settings)


@pytest.fixture
def seeded(ctx: Context) -> World:
    """The seeded world on each backend."""
    return seed(ctx)


@pytest.fixture(scope="module")
def shapes() -> Graph:
    """Both official shape files in one graph, without the links to shapes neither defines."""
    graph = Graph()
    for name in ("dcat-ap-3.0.1-SHACL.ttl", "dcat-ap-3.0.1-ranges.ttl"):
        graph.parse(SHAPES / name, format="turtle")
    undefined = [(s, o) for s, o in graph.subject_objects(SH.property) if graph.value(o, SH.path) is None]
    assert len(undefined) == UNDEFINED_SHAPES, undefined  # a new release of the shapes: look again
    for link in undefined:
        graph.remove((link[0], SH.property, link[1]))
    return graph


def violations(data: Graph, shapes: Graph) -> tuple[int, int, str]:
    """Validate; (violations, other results, report text)."""
    started = time.perf_counter()
    _conforms, results, text = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", abort_on_first=False, allow_warnings=True
    )
    print(f"pyshacl: {time.perf_counter() - started:.2f} s for {len(data)} triples")
    assert isinstance(results, Graph) and isinstance(text, str)
    severities = [
        results.value(r, SH.resultSeverity) for r in results.subjects(RDF.type, SH.ValidationResult)
    ]
    bad = sum(1 for s in severities if s == SH.Violation)
    return bad, len(severities) - bad, text


def test_lists_the_latest_published_release_of_released_datasets_only(seeded: World) -> None:
    g = catalogue(seeded.ctx)
    assert set(g.objects(CATALOG, DCAT.dataset)) == {LIGHTS, AIR}  # water: failed only; waste: none
    assert g.value(LIGHTS, OWL.versionInfo) == Literal("2")  # v3 failed: v2 is served
    assert g.value(LIGHTS, DCTERMS.issued).toPython() == JAN
    assert g.value(LIGHTS, DCTERMS.modified).toPython() == FEB
    assert g.value(LIGHTS, DCTERMS.identifier) == Literal("lights")
    assert set(g.objects(LIGHTS, DCTERMS.title)) == {
        Literal("Street lights", lang="en"),
        Literal("Éclairage public", lang="fr"),
    }
    assert Literal("Air quality", lang="en") in set(g.objects(AIR, DCTERMS.title))
    assert len(list(g.objects(AIR, DCTERMS.description))) == 2


def test_vocabularies_coverage_and_distributions(seeded: World) -> None:
    g = catalogue(seeded.ctx)
    assert set(g.objects(LIGHTS, DCAT.theme)) == {THEME.ENER}
    assert set(g.objects(AIR, DCAT.theme)) == {THEME.ENVI, THEME.HEAL}
    assert g.value(LIGHTS, DCTERMS.accrualPeriodicity) == FREQ.IRREG
    assert g.value(AIR, DCTERMS.accrualPeriodicity) == FREQ.DAILY
    assert g.value(g.value(AIR, DCAT.contactPoint), VCARD.hasEmail) == URIRef(
        "mailto:opendata@city.example.org"
    )
    publisher = g.value(LIGHTS, DCTERMS.publisher)
    assert g.value(publisher, FOAF.name) == Literal("LightCo")
    assert g.value(g.value(CATALOG, DCTERMS.publisher), FOAF.name) == Literal("City")
    # Lights has assets in Nice only; air has none, so it covers the whole territory.
    lights_places = set(g.objects(LIGHTS, DCTERMS.spatial))
    assert URIRef("http://id.insee.fr/geo/commune/06088") in lights_places and len(lights_places) == 2
    assert len(set(g.objects(AIR, DCTERMS.spatial))) == 1 + 163
    bbox = str(g.value(URIRef(f"{BASE}/opendata/lights#coverage"), DCAT.bbox))
    assert bbox.startswith("POLYGON((7.") and "43." in bbox
    period = g.value(LIGHTS, DCTERMS.temporal)
    assert g.value(period, DCAT.startDate).toPython() == datetime(2025, 1, 1, tzinfo=UTC)
    schema = URIRef(f"{BASE}/api/v1/opendata/lights/schema.json")
    assert g.value(LIGHTS, DCTERMS.conformsTo) == schema and (schema, RDF.type, DCTERMS.Standard) in g
    distributions = set(g.objects(LIGHTS, DCAT.distribution))
    assert {str(g.value(d, DCAT.downloadURL)) for d in distributions} == {
        f"{BASE}/api/v1/opendata/lights/exports/{f}" for f in ("csv", "json", "geojson", "parquet")
    }
    assert {g.value(d, DCTERMS.license) for d in distributions} == {LICENCE.ODC_BL}  # v2's licence
    air_licence = g.value(next(iter(g.objects(AIR, DCAT.distribution))), DCTERMS.license)
    assert air_licence == URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
    assert Literal("Licence Ouverte / Open Licence version 2.0", lang="fr") in set(
        g.objects(air_licence, DCTERMS.title)
    )
    service = URIRef(f"{BASE}/api/v1/opendata#service")
    assert set(g.objects(service, DCAT.servesDataset)) == {LIGHTS, AIR}
    assert g.value(service, DCAT.endpointDescription) == URIRef(f"{BASE}/api/v1/openapi.json")


def test_three_serialisations_are_the_same_graph(seeded: World) -> None:
    g = catalogue(seeded.ctx)
    for rdf_format in ("turtle", "json-ld", "xml"):
        parsed = Graph().parse(data=serialize_catalog(g, rdf_format), format=rdf_format)  # type: ignore[arg-type]
        assert len(parsed) == len(g), rdf_format
        assert isomorphic(parsed, g), rdf_format


def test_conforms_to_dcat_ap_3_shapes_with_recommended_properties(seeded: World, shapes: Graph) -> None:
    data = Graph().parse(data=serialize_catalog(catalogue(seeded.ctx), "turtle"), format="turtle")
    bad, others, text = violations(data, shapes)
    print(f"DCAT-AP 3.0.1: {bad} violation(s), {others} warning(s)/info")
    assert bad == 0, text
    assert others == 0, text
    missing = [
        f"{node} {prop}"
        for cls, props in RECOMMENDED.items()
        for node in data.subjects(RDF.type, cls)
        for prop in props
        if data.value(node, prop) is None
    ]
    assert not missing, missing
    concepts = set(data.subjects(RDF.type, SKOS.Concept))
    assert all(data.value(c, SKOS.prefLabel) is not None for c in concepts)


def test_an_empty_catalogue_conforms_too(ctx: Context, shapes: Graph) -> None:
    bad, _, text = violations(catalogue(ctx), shapes)
    assert bad == 0, text


def test_the_shapes_catch_a_violation(seeded: World, shapes: Graph) -> None:
    data = catalogue(seeded.ctx)
    data.remove((CATALOG, DCTERMS.title, None))  # mandatory
    data.remove((THEME.ENER, SKOS.prefLabel, None))  # a skos:Concept needs a label
    data.remove((LIGHTS, DCTERMS.accrualPeriodicity, None))
    data.add((LIGHTS, DCTERMS.accrualPeriodicity, FREQ.WEEKLY))  # not described: not a dct:Frequency
    bad, _, text = violations(data, shapes)
    assert bad == 3, text


def test_routes_answer_publicly_with_their_media_types(seeded: World) -> None:
    app = seeded.client.app
    if not any(getattr(r, "path", "") == "/opendata/catalog.ttl" for r in app.routes):  # type: ignore[attr-defined]
        app.include_router(router)  # type: ignore[attr-defined]
    for suffix, media_type, rdf_format in (
        ("ttl", "text/turtle", "turtle"),
        ("jsonld", "application/ld+json", "json-ld"),
        ("rdf", "application/rdf+xml", "xml"),
    ):
        answer = seeded.client.get(f"/opendata/catalog.{suffix}")  # no token: public
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(media_type)
        assert answer.headers["cache-control"] == "public, max-age=300"
        graph = Graph().parse(data=answer.content, format=rdf_format)
        assert set(graph.objects(CATALOG, DCAT.dataset)) == {LIGHTS, AIR}


def test_a_release_built_by_publish_is_catalogued_and_conforms(world: World, shapes: Graph) -> None:
    from tests.opendata.energy_world import NOW, add_meters

    from territoria.opendata.policies import set_policy
    from territoria.opendata.service import publish

    add_meters(world)
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "meters")
        ds.dcat = {"theme": "ENER", "frequency": "DAILY", "contact_point": "data@lightco.example.org"}
        set_policy(s, ds, {"preset": "fr-energy-by-commune"}, None)
        assert publish(s, world.ctx.settings, ds, None, now=NOW).published
    graph = catalogue(world.ctx)
    meters = URIRef(f"{BASE}/opendata/meters#dataset")
    assert (CATALOG, DCAT.dataset, meters) in graph
    assert graph.value(meters, DCTERMS.accrualPeriodicity) == FREQ.DAILY
    assert len(list(graph.objects(meters, DCAT.distribution))) >= 4
    bad, _others, text = violations(graph, shapes)
    assert bad == 0, text
