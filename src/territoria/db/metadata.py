"""Import every table module so that Base.metadata is complete (Alembic, tests)."""

from territoria.access import agreement_models, audit_models, user_models
from territoria.access import models as access_models
from territoria.analytics import models as analytics_models
from territoria.catalog import models as catalog_models
from territoria.db.base import Base
from territoria.domains.ev import membership_models as ev_membership_models
from territoria.ingest import models as ingest_models
from territoria.opendata import models as opendata_models
from territoria.quality import models as quality_models
from territoria.territory import models as territory_models
from territoria.timeseries import models as timeseries_models

metadata = Base.metadata

__all__ = [
    "access_models",
    "agreement_models",
    "analytics_models",
    "audit_models",
    "catalog_models",
    "ev_membership_models",
    "ingest_models",
    "metadata",
    "opendata_models",
    "quality_models",
    "territory_models",
    "timeseries_models",
    "user_models",
]
