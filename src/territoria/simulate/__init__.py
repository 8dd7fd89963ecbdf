"""Synthetic city on the real Alpes-Maritimes communes: networks, assets, measurements and faults."""

from territoria.simulate.city import Asset, City, build_city
from territoria.simulate.communes import Commune, commune_shapes, load_communes
from territoria.simulate.faults import FUTURE_SHIFT, FaultKind, FaultPlan, FaultRates, InjectedFault
from territoria.simulate.generator import MeasurementRow, live_rows, measurements, rows_count
from territoria.simulate.networks import NETWORKS, ORGANISATIONS, Metric, Network, Organisation, network
from territoria.simulate.signals import water_leaks

__all__ = [
    "FUTURE_SHIFT",
    "NETWORKS",
    "ORGANISATIONS",
    "Asset",
    "City",
    "Commune",
    "FaultKind",
    "FaultPlan",
    "FaultRates",
    "InjectedFault",
    "MeasurementRow",
    "Metric",
    "Network",
    "Organisation",
    "build_city",
    "commune_shapes",
    "live_rows",
    "load_communes",
    "measurements",
    "network",
    "rows_count",
    "water_leaks",
]
