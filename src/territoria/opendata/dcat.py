"""The DCAT-AP 3 catalogue of the open-data releases, harvestable by national portals.

One dcat:Catalog, one dcat:Dataset per dataset with a published release (its latest one), one
dcat:Distribution per export format and one dcat:DataService for the explore API. Every node has a
URI under the public URL (no blank nodes), so the three serialisations are the same graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rdflib import OWL, RDF, RDFS, SKOS, XSD, Graph, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCTERMS, FOAF
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Asset, Dataset, Organisation
from territoria.ingest.models import Record
from territoria.opendata.dcat_vocab import (
    AVAILABILITY,
    DCAT,
    DCATAP,
    DOMAIN_KEYWORDS,
    EU,
    EXPORT_FORMATS,
    FILE_TYPE,
    FREQ,
    FREQUENCIES,
    GSP,
    IANA,
    INSEE_COMMUNE,
    LOCN,
    PUBLISHER_TYPE,
    PUBLISHER_TYPES,
    THEME,
    THEMES,
    VCARD,
    ExportFormat,
    add_labels,
    concept,
    frequency_code,
    language_nodes,
    licence_node,
    public_access,
    theme_codes,
    theme_scheme,
)
from territoria.opendata.models import Release
from territoria.opendata.policies import current_policy
from territoria.opendata.releases import latest_release
from territoria.opendata.sources import domain_sources
from territoria.settings import Settings
from territoria.territory.models import Area

RdfFormat = Literal["turtle", "json-ld", "xml"]
# URL suffix → (rdflib format, media type) of the catalogue's serialisations.
CATALOG_FORMATS: dict[str, tuple[RdfFormat, str]] = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("xml", "application/rdf+xml"),
}
PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "dcatap": DCATAP,
    "foaf": FOAF,
    "vcard": VCARD,
    "skos": SKOS,
    "locn": LOCN,
    "gsp": GSP,
    "owl": OWL,
    "rdfs": RDFS,
    "xsd": XSD,
}
DEFAULT_PUBLISHER = "Territoria — données ouvertes du territoire"
CATALOG_TITLE = ("Open data of the territory", "Données ouvertes du territoire")
CATALOG_DESCRIPTION = (
    "Open data released by the authority and the operators of the territory's networks (energy, "
    "water, lighting, mobility, vehicle charging, waste, air quality), with statistical secrecy applied.",
    "Données ouvertes publiées par la collectivité et les opérateurs des réseaux du territoire (énergie, "
    "eau, éclairage, mobilité, recharge, déchets, qualité de l'air), secret statistique appliqué.",
)
TERRITORY = ("Territory", "Territoire")
SERVICE_TITLE = ("Open data explore API", "API d'exploration des données ouvertes")
SERVICE_DESCRIPTION = (
    "Query the latest release of every open dataset (select, filter, group, sort) and export it.",
    "Interroger la dernière version de chaque jeu de données ouvert (sélection, filtre, regroupement, "
    "tri) et l'exporter.",
)


@dataclass(frozen=True)
class CatalogEntry:
    """A dataset listed in the catalogue: its latest published release and its first release date."""

    dataset: Dataset
    release: Release
    issued: datetime


@dataclass(frozen=True)
class Commune:
    """A commune of the territory: INSEE code, name and bounding box (lon/lat, WGS 84)."""

    code: str
    name: str
    bbox: tuple[float, float, float, float]


def catalog_entries(session: Session) -> list[CatalogEntry]:
    """Datasets with a published release, by slug; failed releases never count."""
    firsts: dict[int, datetime] = {
        row[0]: row[1]
        for row in session.execute(
            select(Release.dataset_id, func.min(Release.created_at))
            .where(Release.status == "published")
            .group_by(Release.dataset_id)
        )
    }
    if not firsts:
        return []
    datasets = session.scalars(select(Dataset).where(Dataset.id.in_(firsts)).order_by(Dataset.slug))
    entries = []
    for ds in datasets:
        release = latest_release(session, ds.id)
        if release is not None:
            entries.append(CatalogEntry(ds, release, firsts[ds.id]))
    return entries


def territory_communes(session: Session) -> dict[str, Commune]:
    """The communes of the territory by INSEE code."""
    rows = session.scalars(select(Area).where(Area.level == "commune").order_by(Area.code))
    return {a.code: Commune(a.code, a.name, (a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in rows}


def covered_codes(session: Session, dataset_id: int) -> set[str]:
    """Communes where a dataset has assets or records (its geographical coverage)."""
    assets = select(Asset.area_code).where(Asset.dataset_id == dataset_id, Asset.area_code.is_not(None))
    records = select(Record.area_code).where(Record.dataset_id == dataset_id, Record.area_code.is_not(None))
    return {code for code in session.scalars(assets.union(records)) if code}


def bbox_wkt(bbox: tuple[float, float, float, float]) -> Lit:
    """A bounding box as a GeoSPARQL WKT polygon (CRS84: longitude first)."""
    w, s, e, n = (round(v, 6) for v in bbox)
    return Lit(f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))", datatype=GSP.wktLiteral)


def union_bbox(communes: Iterable[Commune]) -> tuple[float, float, float, float] | None:
    """The bounding box of several communes, or None for none."""
    boxes = [c.bbox for c in communes]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def dataset_texts(ds: Dataset, release: Release) -> tuple[dict[str, str], dict[str, str]]:
    """Titles and descriptions by language: the dataset's own language (fr unless its DCAT metadata says
    "en"), the other from `title_xx`/`description_xx`; a missing description is written from the release."""
    meta: dict[str, Any] = ds.dcat or {}
    lang = "en" if meta.get("language") == "en" else "fr"
    (other,) = {"fr", "en"} - {lang}
    titles = {lang: ds.title, other: str(meta.get(f"title_{other}") or "")}
    descriptions = {lang: ds.description or "", other: str(meta.get(f"description_{other}") or "")}
    # The dataset's per-language texts win over the main ones and the DCAT metadata's.
    titles.update({k: v for k, v in (ds.titles or {}).items() if k in titles and v})
    descriptions.update({k: v for k, v in (ds.descriptions or {}).items() if k in descriptions and v})
    if not descriptions[lang]:
        names = ", ".join(str(c.get("name", "")) for c in release.columns) or "-"
        generated = {
            "en": f"Open data “{titles['en'] or ds.title}”: {release.rows} rows; columns: {names}.",
            "fr": f"Données ouvertes « {titles['fr'] or ds.title} » : {release.rows} lignes ; "
            f"colonnes : {names}.",
        }
        descriptions = {code: descriptions[code] or generated[code] for code in ("fr", "en")}
    return {k: v for k, v in titles.items() if v}, {k: v for k, v in descriptions.items() if v}


class CatalogBuilder:
    """Builds the catalogue graph; one instance per request (it holds the graph being built)."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.base = settings.public_url.rstrip("/")
        self.g = Graph()
        for prefix, ns in PREFIXES.items():
            self.g.bind(prefix, ns)
        self.communes = territory_communes(session)
        self.orgs = {o.id: o for o in session.scalars(select(Organisation).order_by(Organisation.id))}
        self.authority = next((o for o in self.orgs.values() if o.kind == "authority"), None)
        self.entries = catalog_entries(session)
        self.contact_email = self._default_email()

    def url(self, path: str) -> URIRef:
        """A URI under the public URL."""
        return URIRef(f"{self.base}{path}")

    def _default_email(self) -> str | None:
        """The contact e-mail of the catalogue: the first one a dataset declares, the authority's first."""
        owner_first = sorted(self.entries, key=lambda e: e.dataset.owner.kind != "authority")
        for entry in owner_first:
            email = (entry.dataset.dcat or {}).get("contact_point")
            if isinstance(email, str) and "@" in email:
                return email.removeprefix("mailto:")
        return None

    def agent(self, org: Organisation | None) -> URIRef:
        """A foaf:Agent for an organisation (or the platform's default publisher)."""
        node = self.url(f"/opendata#org-{org.slug}" if org else "/opendata#publisher")
        self.g.add((node, RDF.type, FOAF.Agent))
        self.g.add((node, RDF.type, FOAF.Organization))
        self.g.add((node, FOAF.name, Lit(org.name if org else DEFAULT_PUBLISHER)))
        if org is not None and org.siren:
            self.g.add((node, DCTERMS.identifier, Lit(org.siren)))
        kind = PUBLISHER_TYPES.get(org.kind if org else "authority")
        if kind is not None:
            scheme = str(PUBLISHER_TYPE) + "1.0"
            self.g.add((node, DCTERMS.type, concept(self.g, PUBLISHER_TYPE[kind[0]], kind[1], scheme)))
        return node

    def contact(self, node: URIRef, name: str, email: str | None) -> URIRef:
        """A vcard:Organization contact point; without an e-mail, the portal page to reach us through."""
        self.g.add((node, RDF.type, VCARD.Organization))
        self.g.add((node, RDF.type, VCARD.Kind))  # the DCAT-AP range, stated for validators without vcard
        self.g.add((node, VCARD.fn, Lit(name)))
        if email:
            self.g.add((node, VCARD.hasEmail, URIRef(f"mailto:{email.removeprefix('mailto:')}")))
        else:
            self.g.add((node, VCARD.hasURL, self.url("/opendata")))
        return node

    def document(self, url: str | URIRef) -> URIRef:
        """A web page as a foaf:Document."""
        node = URIRef(str(url))
        self.g.add((node, RDF.type, FOAF.Document))
        return node

    def location(self, node: URIRef, communes: list[Commune], label: tuple[str, str]) -> URIRef:
        """A dct:Location with the communes' bounding box and centroid."""
        self.g.add((node, RDF.type, DCTERMS.Location))
        add_labels(self.g, node, label, RDFS.label)
        bbox = union_bbox(communes)
        if bbox is not None:
            self.g.add((node, DCAT.bbox, bbox_wkt(bbox)))
            lon, lat = round((bbox[0] + bbox[2]) / 2, 6), round((bbox[1] + bbox[3]) / 2, 6)
            self.g.add((node, DCAT.centroid, Lit(f"POINT({lon} {lat})", datatype=GSP.wktLiteral)))
        return node

    def commune(self, commune: Commune) -> URIRef:
        """A commune as a dct:Location named by its INSEE URI."""
        node = URIRef(INSEE_COMMUNE + commune.code)
        self.g.add((node, RDF.type, DCTERMS.Location))
        self.g.add((node, SKOS.prefLabel, Lit(commune.name, lang="fr")))
        self.g.add((node, SKOS.notation, Lit(commune.code)))
        return node

    def build(self, now: datetime | None = None) -> Graph:
        """The whole catalogue graph."""
        catalog = self.url("/opendata#catalog")
        service = self.url("/api/v1/opendata#service")
        self._catalog(catalog, service, now)
        for entry in self.entries:
            ds = self._dataset(entry, service)
            self.g.add((catalog, DCAT.dataset, ds))
            self.g.add((service, DCAT.servesDataset, ds))
        self._service(service)
        return self.g

    def _catalog(self, node: URIRef, service: URIRef, now: datetime | None) -> None:
        """The dcat:Catalog node."""
        g = self.g
        g.add((node, RDF.type, DCAT.Catalog))
        add_labels(g, node, CATALOG_TITLE, DCTERMS.title)
        add_labels(g, node, CATALOG_DESCRIPTION, DCTERMS.description)
        g.add((node, DCTERMS.publisher, self.agent(self.authority)))
        g.add((node, FOAF.homepage, self.document(self.url("/opendata"))))
        for lang in language_nodes(g):
            g.add((node, DCTERMS.language, lang))
        g.add((node, DCTERMS.license, licence_node(g, "etalab-2.0")))
        g.add((node, DCAT.themeTaxonomy, theme_scheme(g)))
        g.add((node, DCAT.service, service))
        territory = self.location(self.url("/opendata#territory"), list(self.communes.values()), TERRITORY)
        g.add((node, DCTERMS.spatial, territory))
        if self.entries:
            g.add((node, DCTERMS.issued, Lit(min(e.issued for e in self.entries))))
            g.add((node, DCTERMS.modified, Lit(max(e.release.created_at for e in self.entries))))
        elif now is not None:
            g.add((node, DCTERMS.modified, Lit(now)))

    def _service(self, node: URIRef) -> None:
        """The dcat:DataService of the explore API."""
        g = self.g
        g.add((node, RDF.type, DCAT.DataService))
        add_labels(g, node, SERVICE_TITLE, DCTERMS.title)
        add_labels(g, node, SERVICE_DESCRIPTION, DCTERMS.description)
        for url in ("/api/v1/opendata", "/api/v1/openapi.json"):
            g.add((self.url(url), RDF.type, RDFS.Resource))  # the DCAT-AP range, stated for validators
        g.add((node, DCAT.endpointURL, self.url("/api/v1/opendata")))
        g.add((node, DCAT.endpointDescription, self.url("/api/v1/openapi.json")))
        g.add((node, DCAT.landingPage, self.document(self.url("/api/docs"))))
        g.add((node, DCTERMS.publisher, self.agent(self.authority)))
        name = self.authority.name if self.authority else DEFAULT_PUBLISHER
        g.add(
            (node, DCAT.contactPoint, self.contact(self.url("/opendata#contact"), name, self.contact_email))
        )
        g.add((node, DCTERMS.accessRights, public_access(g)))

    def _dataset(self, entry: CatalogEntry, service: URIRef) -> URIRef:
        """One dcat:Dataset with its distributions."""
        g, ds, release = self.g, entry.dataset, entry.release
        meta: dict[str, Any] = ds.dcat or {}
        page = f"/opendata/{ds.slug}"
        node = self.url(f"{page}#dataset")
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.identifier, Lit(ds.slug)))
        titles, descriptions = dataset_texts(ds, release)
        for code, text in titles.items():
            g.add((node, DCTERMS.title, Lit(text, lang=code)))
        for code, text in descriptions.items():
            g.add((node, DCTERMS.description, Lit(text, lang=code)))
        owner = self.orgs.get(ds.owner_id)
        g.add((node, DCTERMS.publisher, self.agent(owner)))
        email = meta.get("contact_point") if isinstance(meta.get("contact_point"), str) else None
        name = owner.name if owner else DEFAULT_PUBLISHER
        contact = self.contact(self.url(f"{page}#contact"), name, email or self.contact_email)
        g.add((node, DCAT.contactPoint, contact))
        for code in theme_codes(ds.domain, meta.get("theme")):
            theme = concept(g, THEME[code], THEMES[code], str(THEME).rstrip("/"))
            g.add((node, DCAT.theme, theme))
        self._keywords(node, ds)
        self._spatial(node, ds, page)
        self._temporal(node, release, page)
        freq = frequency_code(meta.get("frequency"))
        frequency = concept(g, FREQ[freq], FREQUENCIES[freq], EU + "frequency", DCTERMS.Frequency)
        g.add((node, DCTERMS.accrualPeriodicity, frequency))
        g.add((node, DCTERMS.conformsTo, self._schema(ds)))
        if standard := self._standard(ds):
            g.add((node, DCTERMS.conformsTo, standard))
        g.add((node, DCAT.landingPage, self.document(meta.get("landing_page") or self.url(page))))
        g.add((node, DCTERMS.issued, Lit(entry.issued)))
        g.add((node, DCTERMS.modified, Lit(release.created_at)))
        g.add((node, OWL.versionInfo, Lit(str(release.version))))
        g.add((node, DCAT.version, Lit(str(release.version))))
        g.add((node, DCTERMS.accessRights, public_access(g)))
        g.add((node, DCTERMS.language, language_nodes(g)[0]))
        for fmt in EXPORT_FORMATS:
            g.add((node, DCAT.distribution, self._distribution(ds, release, fmt, titles, service)))
        return node

    def _keywords(self, node: URIRef, ds: Dataset) -> None:
        """The dataset's keywords and its domain as a keyword in English and French."""
        for word in ds.keywords or []:
            self.g.add((node, DCAT.keyword, Lit(str(word))))
        domain = DOMAIN_KEYWORDS.get(ds.domain, (ds.domain.replace("_", " "),) * 2)
        add_labels(self.g, node, domain, DCAT.keyword)

    def _spatial(self, node: URIRef, ds: Dataset, page: str) -> None:
        """Geographical coverage: the communes the dataset covers (the whole territory if unknown)."""
        codes = covered_codes(self.session, ds.id) & self.communes.keys()
        communes = [self.communes[c] for c in sorted(codes)] or list(self.communes.values())
        if not communes:
            return
        n = len(communes)
        label = TERRITORY if n == len(self.communes) else (f"{n} commune(s)", f"{n} commune(s)")
        self.g.add((node, DCTERMS.spatial, self.location(self.url(f"{page}#coverage"), communes, label)))
        for commune in communes:
            self.g.add((node, DCTERMS.spatial, self.commune(commune)))

    def _temporal(self, node: URIRef, release: Release, page: str) -> None:
        """Temporal coverage of the release as a dct:PeriodOfTime."""
        if release.coverage_start is None and release.coverage_end is None:
            return
        period = self.url(f"{page}#period")
        self.g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if release.coverage_start is not None:
            self.g.add((period, DCAT.startDate, Lit(release.coverage_start)))
        if release.coverage_end is not None:
            self.g.add((period, DCAT.endDate, Lit(release.coverage_end)))
        self.g.add((node, DCTERMS.temporal, period))

    def _schema(self, ds: Dataset) -> URIRef:
        """The release's Frictionless Table Schema as a dct:Standard."""
        node = self.url(f"/api/v1/opendata/{ds.slug}/schema.json")
        self.g.add((node, RDF.type, DCTERMS.Standard))
        labels = (
            f"Table Schema of “{ds.title_in('en')}”",
            f"Schéma (Table Schema) de « {ds.title_in('fr')} »",
        )
        add_labels(self.g, node, labels, DCTERMS.title)
        self.g.add((node, RDFS.seeAlso, URIRef("https://specs.frictionlessdata.io/table-schema/")))
        return node

    def _standard(self, ds: Dataset) -> URIRef | None:
        """The published standard the dataset's releases follow, when its policy's source names one."""
        policy = current_policy(self.session, ds)
        name = (policy.body or {}).get("source") if policy else None
        source = domain_sources().get(name) if isinstance(name, str) else None
        if source is None or source.standard is None:
            return None
        url, title = source.standard
        node = URIRef(url)
        self.g.add((node, RDF.type, DCTERMS.Standard))
        add_labels(self.g, node, (title, title), DCTERMS.title)
        return node

    def _distribution(
        self, ds: Dataset, release: Release, fmt: ExportFormat, titles: dict[str, str], service: URIRef
    ) -> URIRef:
        """One export format of the latest release."""
        g = self.g
        node = self.url(f"/opendata/{ds.slug}#{fmt.name}")
        url = self.url(f"/api/v1/opendata/{ds.slug}/exports/{fmt.name}")
        g.add((node, RDF.type, DCAT.Distribution))
        for code, title in titles.items():
            g.add((node, DCTERMS.title, Lit(f"{title} ({fmt.label})", lang=code)))
        descriptions = (
            f"Export of the latest release in {fmt.label}.",
            f"Export de la dernière version au format {fmt.label}.",
        )
        add_labels(g, node, descriptions, DCTERMS.description)
        g.add((node, DCAT.accessURL, url))
        g.add((node, DCAT.downloadURL, url))
        file_type = FILE_TYPE[fmt.file_type]
        g.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
        g.add((file_type, RDFS.label, Lit(fmt.label)))
        g.add((node, DCTERMS.format, file_type))
        media = URIRef(IANA + fmt.media_type)
        g.add((media, RDF.type, DCTERMS.MediaType))
        g.add((media, RDFS.label, Lit(fmt.media_type)))
        g.add((node, DCAT.mediaType, media))
        g.add((node, DCTERMS.license, licence_node(g, release.licence or ds.licence)))
        g.add((node, DCTERMS.conformsTo, self._schema(ds)))
        g.add((node, DCTERMS.issued, Lit(release.created_at)))
        g.add((node, DCTERMS.modified, Lit(release.created_at)))
        g.add((node, DCAT.accessService, service))
        stable = concept(g, AVAILABILITY.STABLE, ("stable", "stable"), EU + "planned-availability")
        g.add((node, DCATAP.availability, stable))
        return node


def build_catalog(session: Session, settings: Settings, *, now: datetime | None = None) -> Graph:
    """The DCAT-AP 3 graph of the open-data catalogue (catalogue, datasets, distributions, service)."""
    return CatalogBuilder(session, settings).build(now)


def serialize_catalog(graph: Graph, rdf_format: RdfFormat) -> bytes:
    """The graph in Turtle, JSON-LD (compacted on the catalogue's prefixes) or RDF/XML, UTF-8."""
    if rdf_format == "json-ld":
        context = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
        return graph.serialize(format="json-ld", context=context, auto_compact=True, encoding="utf-8")
    return graph.serialize(format=rdf_format, encoding="utf-8")
