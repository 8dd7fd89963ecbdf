"""Catalogue of the simulated networks: one time-series dataset definition per network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OrganisationKind = Literal["authority", "operator", "partner", "public"]
Access = Literal["private", "shared", "open"]

QUARTER_HOUR = 900
HALF_HOUR = 1800
HOUR = 3600


@dataclass(frozen=True)
class Organisation:
    """An organisation owning simulated datasets (the authority or a network operator)."""

    slug: str
    name: str
    kind: OrganisationKind
    siren: str | None = None


@dataclass(frozen=True)
class Metric:
    """One measured quantity of a network, with its unit, valid range and reporting interval."""

    name: str
    unit: str
    min: float
    max: float
    interval_s: int
    description: str
    description_fr: str = ""
    # Values normally stay under usual_max; spikes are drawn between it and max.
    usual_max: float = 0.0
    # False for codes, flags and counts: repeated values are normal there, so no stuck-sensor fault.
    continuous: bool = True
    decimals: int = 2
    # What one reading of the coarse (older) history carries for a day: the day's mean ("mean"),
    # the most frequent value ("mode", for codes and flags), or two readings ("min_mean": the
    # night minimum, then the value that makes the two average to the day's mean).
    daily: Literal["mean", "mode", "min_mean"] = "mean"


@dataclass(frozen=True)
class Network:
    """A simulated network: one time-series dataset, its owner, its asset kind and its metrics."""

    slug: str
    title_en: str
    title_fr: str
    domain: str
    owner: Organisation
    access: Access
    interval_s: int
    asset_kind: str
    id_prefix: str
    asset_label_fr: str
    metrics: tuple[Metric, ...]
    # Share of the city's assets that belong to this network.
    share: float
    kind: Literal["timeseries"] = "timeseries"
    description_en: str = ""
    description_fr: str = ""

    def metric(self, name: str) -> Metric:
        """The metric called name (KeyError if the network has none)."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)


METROPOLE = Organisation("metropole", "Métropole Nice Côte d'Azur (démo)", "authority")
ELECTRICITY_OPERATOR = Organisation("reseau-electrique-demo", "Réseau Électrique Démo", "operator")
EV_OPERATOR = Organisation("recharge-azur-demo", "Recharge Azur (démo)", "operator")
WATER_OPERATOR = Organisation("eau-azur-demo", "Eau d'Azur (démo)", "operator")
WASTE_OPERATOR = Organisation("collecte-azur-demo", "Collecte Azur (démo)", "operator")
MOBILITY_OPERATOR = Organisation("mobilite-azur-demo", "Mobilité Azur (démo)", "operator")

STREET_LIGHTS = Network(
    slug="street-lights",
    title_en="Street lights",
    title_fr="Éclairage public",
    domain="lighting",
    owner=METROPOLE,
    access="private",
    interval_s=QUARTER_HOUR,
    asset_kind="street_light",
    id_prefix="LUM",
    asset_label_fr="Armoire d'éclairage",
    share=0.12,
    description_en=(
        "Power draw and on/off state of the street-lighting cabinets (each feeds the light points of a"
        " district), dusk to dawn with night dimming."
    ),
    description_fr=(
        "Puissance et état des armoires d'éclairage public (chacune alimente les points lumineux d'un"
        " quartier), du crépuscule à l'aube, abaissement nocturne."
    ),
    metrics=(
        Metric(
            "power",
            "kW",
            0,
            25_000,
            QUARTER_HOUR,
            "Electrical power drawn by the cabinet's light points",
            "Puissance électrique appelée par les points lumineux de l'armoire",
            usual_max=10_000,
            decimals=2,
        ),
        Metric(
            "on",
            "1",
            0,
            1,
            QUARTER_HOUR,
            "Light state: 1 = on, 0 = off",
            "État : 1 = allumé, 0 = éteint",
            usual_max=1,
            continuous=False,
            decimals=0,
            daily="mode",
        ),
    ),
)

ELECTRICITY_METERS = Network(
    slug="electricity-meters",
    title_en="Electricity meters",
    title_fr="Compteurs électriques",
    domain="electricity",
    owner=ELECTRICITY_OPERATOR,
    access="private",
    interval_s=HALF_HOUR,
    asset_kind="electricity_meter",
    id_prefix="ELEC",
    asset_label_fr="Compteur électrique",
    share=0.49,
    description_en=(
        "Half-hourly load curves of the low-voltage feeders, residential or tertiary (each adds up the"
        " smart meters it serves)."
    ),
    description_fr=(
        "Courbes de charge à la demi-heure des départs basse tension, résidentiels ou tertiaires"
        " (chacun additionne les compteurs communicants qu'il dessert)."
    ),
    metrics=(
        Metric(
            "active_power",
            "kW",
            0,
            500_000,
            HALF_HOUR,
            "Mean active power drawn over the half hour",
            "Puissance active moyenne soutirée sur la demi-heure",
            usual_max=200_000,
            decimals=2,
        ),
    ),
)

EV_CHARGE_POINTS = Network(
    slug="ev-charge-points",
    title_en="EV charge points",
    title_fr="Points de recharge pour véhicules électriques",
    domain="ev_charging",
    owner=EV_OPERATOR,
    access="private",
    interval_s=QUARTER_HOUR,
    asset_kind="charge_point",
    id_prefix="IRVE",
    asset_label_fr="Point de recharge",
    share=0.05,
    description_en="Status and delivered power of public charge points.",
    description_fr="État et puissance délivrée des points de recharge ouverts au public.",
    metrics=(
        Metric(
            "status",
            "code",
            0,
            2,
            QUARTER_HOUR,
            "Charge point status: 0 = available, 1 = occupied, 2 = out of order",
            "État du point de recharge : 0 = disponible, 1 = occupé, 2 = hors service",
            usual_max=2,
            continuous=False,
            decimals=0,
            daily="mode",
        ),
        Metric(
            "power_kw",
            "kW",
            0,
            400,
            QUARTER_HOUR,
            "Power delivered to the vehicle",
            "Puissance délivrée au véhicule",
            usual_max=160,
            decimals=2,
        ),
    ),
)

WATER_METERS = Network(
    slug="water-meters",
    title_en="Water meters",
    title_fr="Compteurs d'eau",
    domain="water",
    owner=WATER_OPERATOR,
    access="private",
    interval_s=HOUR,
    asset_kind="water_meter",
    id_prefix="EAU",
    asset_label_fr="Compteur de secteur",
    share=0.16,
    description_en="Hourly flow of the district water meters (each meters the households of a district).",
    description_fr="Débit horaire des compteurs de sectorisation (chacun mesure les logements d'un secteur).",
    metrics=(
        Metric(
            "flow",
            "m³/h",
            0,
            25_000,
            HOUR,
            "Mean water flow over the hour",
            "Débit moyen d'eau sur l'heure",
            usual_max=10_000,
            decimals=3,
            daily="min_mean",
        ),
    ),
)

WASTE_CONTAINERS = Network(
    slug="waste-containers",
    title_en="Waste containers",
    title_fr="Conteneurs de déchets",
    domain="waste",
    owner=WASTE_OPERATOR,
    access="private",
    interval_s=HOUR,
    asset_kind="waste_container",
    id_prefix="DEC",
    asset_label_fr="Conteneur",
    share=0.10,
    description_en="Fill level of connected waste containers, emptied on collection days.",
    description_fr="Taux de remplissage des conteneurs connectés, vidés les jours de collecte.",
    metrics=(
        Metric(
            "fill_level",
            "%",
            0,
            100,
            HOUR,
            "Fill level of the container",
            "Taux de remplissage du conteneur",
            usual_max=100,
            decimals=1,
        ),
    ),
)

TRAFFIC_COUNTERS = Network(
    slug="traffic-counters",
    title_en="Traffic counters",
    title_fr="Compteurs routiers",
    domain="mobility",
    owner=MOBILITY_OPERATOR,
    access="open",
    interval_s=QUARTER_HOUR,
    asset_kind="traffic_counter",
    id_prefix="TRAF",
    asset_label_fr="Compteur routier",
    share=0.06,
    description_en="Vehicles counted per quarter hour by road counters.",
    description_fr="Véhicules comptés par quart d'heure par les compteurs routiers.",
    metrics=(
        Metric(
            "vehicles",
            "veh/15min",
            0,
            3000,
            QUARTER_HOUR,
            "Vehicles counted over the quarter hour, all lanes",
            "Véhicules comptés sur le quart d'heure, toutes voies",
            usual_max=1200,
            continuous=False,
            decimals=0,
        ),
    ),
)

AIR_QUALITY_STATIONS = Network(
    slug="air-quality",
    title_en="Air quality stations",
    title_fr="Stations de mesure de la qualité de l'air",
    domain="air_quality",
    owner=METROPOLE,
    access="open",
    interval_s=HOUR,
    asset_kind="air_quality_station",
    id_prefix="AIR",
    asset_label_fr="Station qualité de l'air",
    share=0.02,
    description_en="Hourly concentrations of NO2, PM10 and PM2.5.",
    description_fr="Concentrations horaires de NO2, PM10 et PM2,5.",
    metrics=(
        Metric(
            "no2",
            "µg/m³",
            0,
            1000,
            HOUR,
            "Nitrogen dioxide concentration, hourly mean",
            "Concentration en dioxyde d'azote, moyenne horaire",
            usual_max=200,
            decimals=1,
        ),
        Metric(
            "pm10",
            "µg/m³",
            0,
            1000,
            HOUR,
            "PM10 particulate matter concentration, hourly mean",
            "Concentration en particules PM10, moyenne horaire",
            usual_max=100,
            decimals=1,
        ),
        Metric(
            "pm25",
            "µg/m³",
            0,
            1000,
            HOUR,
            "PM2.5 particulate matter concentration, hourly mean",
            "Concentration en particules PM2,5, moyenne horaire",
            usual_max=60,
            decimals=1,
        ),
    ),
)

NETWORKS: tuple[Network, ...] = (
    STREET_LIGHTS,
    ELECTRICITY_METERS,
    EV_CHARGE_POINTS,
    WATER_METERS,
    WASTE_CONTAINERS,
    TRAFFIC_COUNTERS,
    AIR_QUALITY_STATIONS,
)

ORGANISATIONS: tuple[Organisation, ...] = tuple(dict.fromkeys(n.owner for n in NETWORKS))


def network(slug: str) -> Network:
    """The simulated network whose slug (or domain) is slug; KeyError if unknown."""
    for candidate in NETWORKS:
        if slug in (candidate.slug, candidate.domain):
            return candidate
    raise KeyError(slug)
