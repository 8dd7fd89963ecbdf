"""French and English messages of the web pages, and the choice of language for a request."""

from __future__ import annotations

from datetime import datetime

from territoria.web import (
    i18n_access,
    i18n_admin,
    i18n_dashboard,
    i18n_ev,
    i18n_opendata,
    i18n_publish,
    i18n_quarantine,
    i18n_scores,
    i18n_steering,
)

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"
COOKIE = "lang"

FR: dict[str, str] = {
    "platform.tagline": "Le contrôle public des données des réseaux du territoire",
    "skip": "Aller au contenu",
    "nav.label": "Navigation principale",
    "nav.home": "Accueil",
    "nav.map": "Carte",
    "nav.targets": "Objectifs",
    "nav.contracts": "Contrats",
    "nav.api": "Documentation de l'API",
    "lang.label": "Langue",
    "lang.fr": "Français",
    "lang.en": "English",
    "demo.banner": "Mode démonstration : données simulées. Connectez-vous avec un des comptes affichés au "
    "lancement de la démo (par exemple elus@metropole.demo, mot de passe territoria-demo).",
    "home.title": "Tableau de bord",
    "home.datasets": "Jeux de données",
    "home.count": "{n} jeu(x) de données visible(s)",
    "home.empty": "Aucun jeu de données visible pour l'instant.",
    "home.map_link": "Voir tous les objets sur la carte",
    "field.domain": "Domaine",
    "field.kind": "Type",
    "field.access": "Accès",
    "field.owner": "Producteur",
    "field.assets": "Objets",
    "field.metrics": "Mesures",
    "field.licence": "Licence",
    "field.keywords": "Mots-clés",
    "field.slug": "Identifiant",
    "kind.timeseries": "Séries temporelles",
    "kind.records": "Enregistrements",
    "access.open": "Ouvert",
    "access.shared": "Partagé",
    "access.private": "Privé",
    "domain.lighting": "Éclairage public",
    "domain.electricity": "Électricité",
    "domain.gas": "Gaz",
    "domain.ev_charging": "Recharge de véhicules électriques",
    "domain.water": "Eau",
    "domain.sanitation": "Assainissement",
    "domain.waste": "Déchets",
    "domain.mobility": "Mobilité",
    "domain.air_quality": "Qualité de l'air",
    "domain.telecom": "Télécommunications",
    "map.title": "Carte du territoire",
    "map.communes": "Communes",
    "map.legend": "Légende",
    "map.outside": "Hors du territoire (contour pointillé)",
    "map.loading": "Chargement de la carte…",
    "map.error": "Une partie des données de la carte n'a pas pu être chargée.",
    "map.noscript": "La carte a besoin de JavaScript ; la liste des jeux de données reste sur l'accueil.",
    "map.region": "Carte interactive",
    "popup.id": "Identifiant",
    "popup.commune": "Commune",
    "popup.kind": "Type",
    "popup.network": "Réseau",
    "popup.outside": "Hors du territoire",
    "popup.dataset": "Voir le jeu de données",
    "dataset.description": "Description",
    "dataset.no_description": "Pas de description.",
    "dataset.metrics": "Mesures",
    "metric.name": "Nom",
    "metric.unit": "Unité",
    "metric.description": "Description",
    "metric.range": "Plage valide",
    "metric.interval": "Intervalle",
    "dataset.no_metrics": "Ce jeu de données n'a pas de mesures (enregistrements).",
    "dataset.by_commune": "Objets par commune (10 premières)",
    "dataset.commune": "Commune",
    "dataset.code": "Code INSEE",
    "dataset.count": "Objets",
    "dataset.unlocated": "Sans position",
    "dataset.outside": "Hors du territoire",
    "dataset.no_assets": "Aucun objet enregistré.",
    "dataset.map": "Carte des objets",
    "dataset.chart": "Moyenne horaire de « {metric} » sur 7 jours",
    "dataset.chart_period": "Du {start} au {end} (heure de Paris), tous objets confondus.",
    "dataset.chart_summary": "{n} heures, de {min} à {max} {unit}, dernière valeur {last} {unit}.",
    "dataset.no_data": "Pas encore de mesures pour cette métrique.",
    "dataset.chart_table": "Voir les valeurs",
    "dataset.hour": "Heure",
    "dataset.value": "Valeur ({unit})",
    "dataset.api": "Accès par l'API",
    "notfound.title": "Page introuvable",
    "notfound.text": "Le jeu de données « {slug} » n'existe pas ou n'est pas visible.",
    "notfound.back": "Retour à l'accueil",
    "seconds": "{n} s",
}

EN: dict[str, str] = {
    "platform.tagline": "Public control of the data of the territory's networks",
    "skip": "Skip to content",
    "nav.label": "Main navigation",
    "nav.home": "Home",
    "nav.map": "Map",
    "nav.targets": "Targets",
    "nav.contracts": "Contracts",
    "nav.api": "API documentation",
    "lang.label": "Language",
    "lang.fr": "Français",
    "lang.en": "English",
    "demo.banner": "Demo mode: simulated data. Log in with one of the accounts printed when the demo "
    "started (for instance elus@metropole.demo, password territoria-demo).",
    "home.title": "Dashboard",
    "home.datasets": "Datasets",
    "home.count": "{n} visible dataset(s)",
    "home.empty": "No visible dataset yet.",
    "home.map_link": "See every asset on the map",
    "field.domain": "Domain",
    "field.kind": "Kind",
    "field.access": "Access",
    "field.owner": "Owner",
    "field.assets": "Assets",
    "field.metrics": "Metrics",
    "field.licence": "Licence",
    "field.keywords": "Keywords",
    "field.slug": "Identifier",
    "kind.timeseries": "Time series",
    "kind.records": "Records",
    "access.open": "Open",
    "access.shared": "Shared",
    "access.private": "Private",
    "domain.lighting": "Street lighting",
    "domain.electricity": "Electricity",
    "domain.gas": "Gas",
    "domain.ev_charging": "Electric vehicle charging",
    "domain.water": "Water",
    "domain.sanitation": "Sanitation",
    "domain.waste": "Waste",
    "domain.mobility": "Mobility",
    "domain.air_quality": "Air quality",
    "domain.telecom": "Telecom",
    "map.title": "Map of the territory",
    "map.communes": "Communes",
    "map.legend": "Legend",
    "map.outside": "Outside the territory (dashed outline)",
    "map.loading": "Loading the map…",
    "map.error": "Part of the map data could not be loaded.",
    "map.noscript": "The map needs JavaScript; the list of datasets is on the home page.",
    "map.region": "Interactive map",
    "popup.id": "Identifier",
    "popup.commune": "Commune",
    "popup.kind": "Kind",
    "popup.network": "Network",
    "popup.outside": "Outside the territory",
    "popup.dataset": "See the dataset",
    "dataset.description": "Description",
    "dataset.no_description": "No description.",
    "dataset.metrics": "Metrics",
    "metric.name": "Name",
    "metric.unit": "Unit",
    "metric.description": "Description",
    "metric.range": "Valid range",
    "metric.interval": "Interval",
    "dataset.no_metrics": "This dataset has no metrics (records).",
    "dataset.by_commune": "Assets per commune (top 10)",
    "dataset.commune": "Commune",
    "dataset.code": "INSEE code",
    "dataset.count": "Assets",
    "dataset.unlocated": "Without position",
    "dataset.outside": "Outside the territory",
    "dataset.no_assets": "No asset registered.",
    "dataset.map": "Map of the assets",
    "dataset.chart": "Hourly average of “{metric}” over 7 days",
    "dataset.chart_period": "From {start} to {end} (Paris time), all assets together.",
    "dataset.chart_summary": "{n} hours, from {min} to {max} {unit}, last value {last} {unit}.",
    "dataset.no_data": "No measurements for this metric yet.",
    "dataset.chart_table": "Show the values",
    "dataset.hour": "Hour",
    "dataset.value": "Value ({unit})",
    "dataset.api": "Access through the API",
    "notfound.title": "Page not found",
    "notfound.text": "The dataset “{slug}” does not exist or is not visible.",
    "notfound.back": "Back to the home page",
    "seconds": "{n} s",
}

# Pages of other stages keep their texts in their own modules, merged here.
FR.update(i18n_quarantine.FR | i18n_scores.FR)
EN.update(i18n_quarantine.EN | i18n_scores.EN)
FR.update(i18n_access.FR)
EN.update(i18n_access.EN)
FR.update(i18n_admin.FR)
EN.update(i18n_admin.EN)
FR.update(i18n_dashboard.FR)
EN.update(i18n_dashboard.EN)
FR.update(i18n_steering.FR)
EN.update(i18n_steering.EN)
FR.update(i18n_opendata.FR)
EN.update(i18n_opendata.EN)
FR.update(i18n_publish.FR)
EN.update(i18n_publish.EN)
FR.update(i18n_ev.FR)
EN.update(i18n_ev.EN)
CATALOGUES: dict[str, dict[str, str]] = {"fr": FR, "en": EN}


def t(key: str, lang: str, **values: object) -> str:
    """The message `key` in `lang` (French, then the key itself, when missing), formatted with values."""
    text = CATALOGUES.get(lang, FR).get(key) or FR.get(key) or key
    return text.format(**values) if values else text


def label(prefix: str, value: str, lang: str) -> str:
    """A translated label for a coded value (domain, kind, access); the raw value when unknown."""
    return CATALOGUES.get(lang, FR).get(f"{prefix}.{value}", value)


def _from_accept_language(header: str) -> str | None:
    """The best supported language of an Accept-Language header, by q-value."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > 0:
            choices.append((-q, position, primary))
    return min(choices)[2] if choices else None


def choose_lang(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: `?lang=`, then the `lang` cookie, then Accept-Language, then French."""
    for candidate in (query, cookie):
        if candidate and candidate.lower() in LANGS:
            return candidate.lower()
    return _from_accept_language(accept_language or "") or DEFAULT_LANG


def short_date(value: datetime, lang: str) -> str:
    """A day as 24/11 (French) or Nov 24 (English)."""
    if lang == "en":
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return f"{months[value.month - 1]} {value.day}"
    return f"{value.day:02d}/{value.month:02d}"


def number(value: float, lang: str, decimals: int | None = None) -> str:
    """A number as each language writes it: 1,383,211.5 in English, 1 383 211,5 in French."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}"
    if lang == "fr":
        # French groups digits with a narrow no-break space and uses a decimal comma.
        return text.replace(",", "\u202f").replace(".", ",")
    return text
