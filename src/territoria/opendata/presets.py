"""Ready-made privacy policies, starting with the French rules for local energy data.

Sources: Code de l'énergie, art. D.111-53 (aggregates of residential consumption: at least 10 delivery
points) and D.111-63 (load curves at a step of 30 minutes or more: at least 100 delivery points per
aggregate for a daily curve, 500 for curves up to 31 days, 5,000 beyond); INSEE's general rule of
statistical secrecy for businesses (at least 3 contributors and none above 85 % of the total).
"""

from __future__ import annotations

import re
from typing import Any

from territoria.catalog.models import Dataset
from territoria.errors import Invalid
from territoria.opendata.sources import domain_sources

RESIDENTIAL_K = 10  # D.111-53
LOAD_CURVE_K = (
    {"max_days": 1, "k": 100},
    {"max_days": 31, "k": 500},
    {"max_days": None, "k": 5000},
)  # D.111-63
BUSINESS_K, BUSINESS_P = 3, 85.0  # INSEE statistical secrecy

UNIT_TO_KW = {"kW": 1.0, "W": 0.001, "MW": 1000.0}


def energy_scale(unit: str, interval_s: int | None) -> tuple[float, str]:
    """Scale turning a sum of power readings into energy (kWh), or 1 and the unit when not a power."""
    if unit in UNIT_TO_KW and interval_s:
        return UNIT_TO_KW[unit] * interval_s / 3600.0, "kWh"
    return 1.0, unit


def _energy_measure(ds: Dataset) -> dict[str, Any]:
    """The energy measure of a metered-power dataset (first metric)."""
    if not ds.metrics:
        raise Invalid(f"dataset '{ds.slug}' has no metric to publish: this preset needs a power metric")
    metric = ds.metrics[0]
    scale, unit = energy_scale(metric.unit, metric.reporting_interval_s or ds.reporting_interval_s)
    name = "energy_kwh" if unit == "kWh" else metric.name
    return {
        "name": name,
        "source": metric.name,
        "per_contributor": "sum",
        "scale": scale,
        "unit": unit,
        "title": {
            "en": "Energy" if unit == "kWh" else metric.name,
            "fr": "Énergie" if unit == "kWh" else metric.name,
        },
    }


def _segment_rules() -> list[dict[str, Any]]:
    """Residential points follow D.111-53; tertiary points follow the business secrecy rule."""
    return [
        {
            "field": "segment",
            "value": "residential",
            "k": RESIDENTIAL_K,
            "reason": "Code de l'énergie D.111-53",
        },
        {
            "field": "segment",
            "value": "tertiary",
            "k": BUSINESS_K,
            "dominance_p": BUSINESS_P,
            "reason": "secret statistique (INSEE): 3 contributeurs, aucun au-delà de 85 %",
        },
    ]


def energy_by_commune(ds: Dataset) -> dict[str, Any]:
    """Daily energy per commune and segment (residential / tertiary), with commune and segment totals."""
    return {
        "description": "Consommation quotidienne par commune et secteur (D.111-53, secret statistique).",
        "personal_data": True,
        "time": {"to": "day"},
        "location": {"to": "commune"},
        "measures": [_energy_measure(ds)],
        "aggregate": {
            "categories": ["segment"],
            "totals": ["area_code", "segment"],
        },
        "k": RESIDENTIAL_K,
        "rules": _segment_rules(),
        "delay_days": 1,
        "licence": "etalab-2.0",
    }


def load_curve(ds: Dataset) -> dict[str, Any]:
    """Hourly load curves per commune, with the D.111-63 thresholds by span of the published curve."""
    return {
        "description": "Courbes de charge horaires par commune (D.111-63).",
        "personal_data": True,
        "time": {"to": "hour"},
        "location": {"to": "commune"},
        "measures": [_energy_measure(ds)],
        "aggregate": {"totals": ["area_code"]},
        "k": RESIDENTIAL_K,
        "k_by_span": list(LOAD_CURVE_K),
        "delay_days": 1,
        "licence": "etalab-2.0",
    }


def open_measurements(ds: Dataset) -> dict[str, Any]:
    """Hourly means per asset of a dataset with no personal data (air quality, traffic, lighting)."""
    measures = [
        {
            "name": re.sub(r"[^a-z0-9_]", "_", m.name.lower()).lstrip("_0123456789")[:40] or "value",
            "source": m.name,
            "per_contributor": "mean",
            "unit": m.unit,
            "title": {"en": m.description or m.name, "fr": m.description or m.name},
        }
        for m in ds.metrics
    ]
    return {
        "description": "Moyennes horaires par équipement (pas de donnée personnelle).",
        "personal_data": False,
        "time": {"to": "hour"},
        "measures": measures,
        "licence": "etalab-2.0",
    }


PRESETS = {
    "fr-energy-by-commune": energy_by_commune,
    "fr-load-curve": load_curve,
    "open-measurements": open_measurements,
}


def expand(ds: Dataset, body: dict[str, Any]) -> dict[str, Any]:
    """The policy body with its preset's defaults filled in (explicit keys win)."""
    name = body.get("preset")
    if not name:
        return body
    # Domain sources (a domain's consolidation) are presets too: their preset names the source.
    known = {**PRESETS, **{n: s.preset for n, s in domain_sources().items()}}
    if name not in known:
        raise Invalid(f"unknown preset '{name}': choose one of {', '.join(sorted(known))}")
    return {**known[name](ds), **body}
