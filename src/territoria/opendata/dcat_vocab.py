"""Controlled vocabularies of the DCAT-AP catalogue: namespaces, EU authority tables and their labels.

Harvesters validate the catalogue on its own, without fetching the vocabularies, so every concept the
catalogue points to is described in it (type and labels): that is what the DCAT-AP range shapes check.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
EU = "http://publications.europa.eu/resource/authority/"
THEME = Namespace(EU + "data-theme/")
FREQ = Namespace(EU + "frequency/")
FILE_TYPE = Namespace(EU + "file-type/")
LANG = Namespace(EU + "language/")
ACCESS = Namespace(EU + "access-right/")
AVAILABILITY = Namespace(EU + "planned-availability/")
LICENCE = Namespace(EU + "licence/")
IANA = "https://www.iana.org/assignments/media-types/"
PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")
LICENCE_TYPE = Namespace("http://purl.org/adms/licencetype/")
INSEE_COMMUNE = "http://id.insee.fr/geo/commune/"

Labels = tuple[str, str]  # (en, fr)

# EU data themes (http://publications.europa.eu/resource/authority/data-theme).
THEMES: dict[str, Labels] = {
    "AGRI": ("Agriculture, fisheries, forestry and food", "Agriculture, pêche, sylviculture et alimentation"),
    "ECON": ("Economy and finance", "Économie et finances"),
    "EDUC": ("Education, culture and sport", "Éducation, culture et sport"),
    "ENER": ("Energy", "Énergie"),
    "ENVI": ("Environment", "Environnement"),
    "GOVE": ("Government and public sector", "Gouvernement et secteur public"),
    "HEAL": ("Health", "Santé"),
    "INTR": ("International issues", "Questions internationales"),
    "JUST": ("Justice, legal system and public safety", "Justice, système juridique et sécurité publique"),
    "REGI": ("Regions and cities", "Régions et villes"),
    "SOCI": ("Population and society", "Population et société"),
    "TECH": ("Science and technology", "Science et technologie"),
    "TRAN": ("Transport", "Transports"),
}
DOMAIN_THEMES: dict[str, tuple[str, ...]] = {
    "electricity": ("ENER",),
    "gas": ("ENER",),
    "energy": ("ENER",),
    "heating": ("ENER",),
    "lighting": ("ENER",),
    "ev_charging": ("TRAN", "ENER"),
    "mobility": ("TRAN",),
    "air_quality": ("ENVI",),
    "water": ("ENVI",),
    "waste": ("ENVI",),
    "telecom": ("TECH",),
    "works": ("REGI",),
    "participation": ("GOVE",),
}
DEFAULT_THEME = "REGI"  # a territory's data is about a region and its cities

# Domain names as keywords, so every dataset has at least one (en, fr).
DOMAIN_KEYWORDS: dict[str, Labels] = {
    "electricity": ("electricity", "électricité"),
    "gas": ("gas", "gaz"),
    "energy": ("energy", "énergie"),
    "heating": ("heating network", "réseau de chaleur"),
    "lighting": ("street lighting", "éclairage public"),
    "ev_charging": ("electric vehicle charging", "recharge de véhicules électriques"),
    "mobility": ("mobility", "mobilité"),
    "air_quality": ("air quality", "qualité de l'air"),
    "water": ("water", "eau"),
    "waste": ("waste", "déchets"),
    "telecom": ("telecommunications", "télécommunications"),
    "works": ("roadworks", "travaux"),
    "participation": ("citizen participation", "participation citoyenne"),
}

# EU frequencies (http://publications.europa.eu/resource/authority/frequency).
FREQUENCIES: dict[str, Labels] = {
    "UPDATE_CONT": ("continuously updated", "mise à jour continue"),
    "15MIN": ("every fifteen minutes", "toutes les quinze minutes"),
    "HOURLY": ("hourly", "toutes les heures"),
    "DAILY": ("daily", "quotidienne"),
    "WEEKLY": ("weekly", "hebdomadaire"),
    "MONTHLY": ("monthly", "mensuelle"),
    "QUARTERLY": ("quarterly", "trimestrielle"),
    "ANNUAL": ("annual", "annuelle"),
    "IRREG": ("irregular", "irrégulière"),
    "AS_NEEDED": ("as needed", "selon les besoins"),
    "NEVER": ("never", "jamais"),
    "UNKNOWN": ("unknown", "inconnue"),
}
# Releases are cut when someone runs `territoria publish`: irregular unless the dataset says otherwise.
DEFAULT_FREQUENCY = "IRREG"

PUBLISHER_TYPES: dict[str, tuple[str, Labels]] = {
    "authority": ("LocalAuthority", ("Local authority", "Autorité locale")),
    "operator": ("Company", ("Company", "Entreprise")),
}
LICENCE_TYPES: dict[str, Labels] = {
    "Attribution": ("Attribution", "Attribution"),
    "ShareAlike": ("Share-alike", "Partage à l'identique"),
    "PublicDomain": ("Public domain", "Domaine public"),
}


@dataclass(frozen=True)
class LicenceInfo:
    """A licence as the catalogue states it: URI, titles, ADMS licence types, a human-readable page."""

    uri: str
    title_en: str
    title_fr: str
    types: tuple[str, ...] = ()
    page: str = ""


# The EU licence table has no entry for the Licence Ouverte: Etalab's page is its usual URI, and its
# title is the one data.gouv.fr matches on when it harvests.
LICENCES: dict[str, LicenceInfo] = {
    "etalab-2.0": LicenceInfo(
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "Open Licence version 2.0 (Etalab)",
        "Licence Ouverte / Open Licence version 2.0",
        ("Attribution",),
        "https://spdx.org/licenses/etalab-2.0.html",
    ),
    "odbl-1.0": LicenceInfo(
        LICENCE + "ODC_BL",
        "Open Data Commons Open Database License (ODbL)",
        "Open Data Commons Open Database License (ODbL)",
        ("Attribution", "ShareAlike"),
        "https://opendatacommons.org/licenses/odbl/1-0/",
    ),
    "odc-by-1.0": LicenceInfo(
        LICENCE + "ODC_BY",
        "Open Data Commons Attribution License 1.0",
        "Open Data Commons Attribution License 1.0",
        ("Attribution",),
        "https://opendatacommons.org/licenses/by/1-0/",
    ),
    "odc-pddl-1.0": LicenceInfo(
        LICENCE + "ODC_PDDL",
        "Open Data Commons Public Domain Dedication and License 1.0",
        "Open Data Commons Public Domain Dedication and License 1.0",
        ("PublicDomain",),
        "https://opendatacommons.org/licenses/pddl/1-0/",
    ),
    "cc-by-4.0": LicenceInfo(
        LICENCE + "CC_BY_4_0",
        "Creative Commons Attribution 4.0 International",
        "Creative Commons Attribution 4.0 International",
        ("Attribution",),
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    "cc0-1.0": LicenceInfo(
        LICENCE + "CC0",
        "Creative Commons CC0 1.0 Universal",
        "Creative Commons CC0 1.0 Universel",
        ("PublicDomain",),
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
}
LICENCE_ALIASES = {
    "etalab": "etalab-2.0",
    "lov2": "etalab-2.0",
    "lo-2.0": "etalab-2.0",
    "fr-lo": "etalab-2.0",
    "odbl": "odbl-1.0",
    "odc-odbl": "odbl-1.0",
    "odc-by": "odc-by-1.0",
    "pddl": "odc-pddl-1.0",
    "odc-pddl": "odc-pddl-1.0",
    "cc-by": "cc-by-4.0",
    "cc0": "cc0-1.0",
}


@dataclass(frozen=True)
class ExportFormat:
    """An export format of the explore API: EU file type, IANA media type, label."""

    name: str
    file_type: str
    media_type: str
    label: str


EXPORT_FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("csv", "CSV", "text/csv", "CSV"),
    ExportFormat("json", "JSON", "application/json", "JSON"),
    ExportFormat("geojson", "GEOJSON", "application/geo+json", "GeoJSON"),
    ExportFormat("parquet", "PARQUET", "application/vnd.apache.parquet", "Apache Parquet"),
)


def licence_info(code: str) -> LicenceInfo:
    """The catalogue's description of a licence code (e.g. "etalab-2.0"); unknown codes point to SPDX."""
    key = (code or "etalab-2.0").strip().lower()
    key = LICENCE_ALIASES.get(key, key)
    if key in LICENCES:
        return LICENCES[key]
    return LicenceInfo(f"https://spdx.org/licenses/{code}.html", code, code)


def _code_of(value: object, base: str, table: dict[str, Labels]) -> str | None:
    """A vocabulary code from a code ("ener") or its full URI; None when the table does not know it."""
    if not isinstance(value, str):
        return None
    code = value.removeprefix(base).strip().upper()
    return code if code in table else None


def theme_codes(domain: str, configured: object = None) -> list[str]:
    """EU data themes of a dataset: those its DCAT metadata names, else its domain's, else REGI."""
    items = configured if isinstance(configured, list) else [configured]
    codes = [c for c in (_code_of(v, str(THEME), THEMES) for v in items) if c]
    if not codes:
        codes = list(DOMAIN_THEMES.get(domain, (DEFAULT_THEME,)))
    return list(dict.fromkeys(codes))


def frequency_code(configured: object = None) -> str:
    """EU frequency of a dataset: the one its DCAT metadata names if known, else IRREG."""
    return _code_of(configured, str(FREQ), FREQUENCIES) or DEFAULT_FREQUENCY


def add_labels(g: Graph, node: URIRef, labels: Labels, prop: URIRef = SKOS.prefLabel) -> None:
    """English and French labels of a node."""
    g.add((node, prop, Literal(labels[0], lang="en")))
    g.add((node, prop, Literal(labels[1], lang="fr")))


def concept(g: Graph, uri: URIRef, labels: Labels, scheme: str, *types: URIRef) -> URIRef:
    """Describe a concept of a controlled vocabulary (type, scheme, labels) and return its URI."""
    g.add((uri, RDF.type, SKOS.Concept))
    for extra in types:
        g.add((uri, RDF.type, extra))
    g.add((uri, SKOS.inScheme, URIRef(scheme)))
    add_labels(g, uri, labels)
    return uri


def theme_scheme(g: Graph) -> URIRef:
    """The EU data-theme concept scheme (the catalogue's theme taxonomy)."""
    scheme = URIRef(EU + "data-theme")
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    add_labels(g, scheme, ("Data theme", "Thème des données"), DCTERMS.title)
    return scheme


def licence_node(g: Graph, code: str) -> URIRef:
    """A dct:LicenseDocument for a licence code, with titles and ADMS licence types."""
    info = licence_info(code)
    node = URIRef(info.uri)
    g.add((node, RDF.type, DCTERMS.LicenseDocument))
    g.add((node, DCTERMS.title, Literal(info.title_en, lang="en")))
    g.add((node, DCTERMS.title, Literal(info.title_fr, lang="fr")))
    # Harvesters such as data.gouv.fr read rdfs:label to recognise the licence.
    g.add((node, RDFS.label, Literal(info.title_fr)))
    if info.page:
        g.add((node, RDFS.seeAlso, URIRef(info.page)))
    for kind in info.types:
        g.add((node, DCTERMS.type, concept(g, LICENCE_TYPE[kind], LICENCE_TYPES[kind], LICENCE_TYPE + "1.0")))
    return node


def language_nodes(g: Graph) -> list[URIRef]:
    """French and English as dct:LinguisticSystem (EU language table)."""
    nodes = []
    for code, labels in (("FRA", ("French", "français")), ("ENG", ("English", "anglais"))):
        node = concept(g, LANG[code], labels, EU + "language", DCTERMS.LinguisticSystem)
        nodes.append(node)
    return nodes


def public_access(g: Graph) -> URIRef:
    """The EU access right PUBLIC as a dct:RightsStatement."""
    return concept(g, ACCESS.PUBLIC, ("public", "public"), EU + "access-right", DCTERMS.RightsStatement)
