"""The normalised charging model shared by consolidation, indicators and pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Provenance:
    """Which source said it, and when it was received."""

    dataset: str  # slug of the records dataset (one per operator feed or file)
    record_key: str
    received_at: datetime | None


@dataclass
class ChargePoint:
    """One consolidated charge point (point de charge), identified by its `id_pdc_itinerance`."""

    id_pdc: str
    id_station: str
    station_name: str
    operator: str  # nom_operateur
    owner: str  # nom_amenageur
    owner_siren: str | None
    lon: float | None
    lat: float | None
    insee_declared: str | None  # code_insee_commune as declared
    area_code: str | None  # commune found from the coordinates (the territory's own locator)
    power_kw: float | None  # puissance_nominale
    implantation: str | None  # implantation_station
    access: str | None  # condition_acces
    connectors: tuple[str, ...] = ()  # among "ef", "type_2", "combo_ccs", "chademo", "autre"
    nbre_pdc: int | None = None
    commissioned: date | None = None  # date_mise_en_service
    sources: list[Provenance] = field(default_factory=list)
