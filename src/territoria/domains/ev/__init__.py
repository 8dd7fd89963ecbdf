"""EV charging observatory: IRVE static and dynamic data, consolidation, indicators, coverage, pages."""

from pathlib import Path

# Importing the package registers the records observer that keeps the station-membership history.
from territoria.domains.ev import membership as _membership  # noqa: F401

# The EV pages' messages: a gettext catalog folder the composition root registers with the web i18n.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
