"""KPI providers: a KPI whose partial aggregates a domain computes itself (aggregation `provided`).

Some indicators cannot come from the daily rollups: a charge point's availability is the time between
two status reports, not a mean of readings. A domain registers a provider under a name (through its
contract, `Domain.kpi_providers`); a KPI definition names it (`aggregation: provided`, `provider:`), and
the engine then takes the provider's partials per (commune, period) and combines, caches and judges them
like any other KPI's, so the KPI pages, the home cards, targets and contract clauses all read one value.

A provider answers, for each commune and period start of the scope, a `Partial` whose `total` is the
numerator and `weight` the denominator of the value (`total / weight`, then the KPI's `scale`), and
whose `contributors` are the assets behind it (an asset sits in one commune, so they add up).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from territoria.errors import Invalid

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from territoria.analytics.definitions import KpiDefinition
    from territoria.analytics.engine import Partial, Scope
    from territoria.catalog.models import Dataset

KpiProvider = Callable[["Session", "Dataset", "KpiDefinition", "Scope"], "dict[tuple[str, date], Partial]"]
_PROVIDERS: dict[str, KpiProvider] = {}


def register_provider(name: str, provider: KpiProvider) -> None:
    """Make a provider available to the KPI definitions that name it."""
    _PROVIDERS[name] = provider


def provider(name: str) -> KpiProvider:
    """The registered provider, or an error naming the ones there are."""
    found = _PROVIDERS.get(name)
    if found is None:
        known = ", ".join(sorted(_PROVIDERS)) or "none"
        raise Invalid(f"no KPI provider '{name}' is registered (registered: {known})")
    return found


def names() -> list[str]:
    """The registered providers' names."""
    return sorted(_PROVIDERS)
