"""EV charging observatory: IRVE static and dynamic data, consolidation, indicators, coverage, pages."""

# Importing the package registers the records observer that keeps the station-membership history.
from territoria.domains.ev import membership as _membership  # noqa: F401
