"""Message keys of the EV pages built from coded values.

The code reaches these keys through a variable (f"ev.state.{k}", "ev.check." ~ code, a list of keys):
listed here, `pybabel extract` finds them and `pybabel update` keeps their translations
(docs/translating.md). A new coded value needs its key here and its catalog entries.
"""

from __future__ import annotations


def N_(key: str) -> str:  # noqa: N802 - the gettext marker's usual name, known to pybabel
    """Mark a message key for extraction; the key itself."""
    return key


KEYS = (
    N_("ev.ind.cp_per_100k"),
    N_("ev.ind.kw_per_100k"),
    N_("ev.ind.charge_points"),
    N_("ev.ind.installed_kw"),
    N_("ev.ind.fast"),
    N_("ev.severity.error"),
    N_("ev.severity.warning"),
    N_("ev.severity.info"),
    N_("ev.check.LONLAT_SWAPPED"),
    N_("ev.check.INSEE_MISMATCH"),
    N_("ev.check.SIREN_INVALID"),
    N_("ev.check.ID_INCONSISTENT"),
    N_("ev.check.POWER_IMPLAUSIBLE"),
    N_("ev.check.NBRE_PDC_IMPLAUSIBLE"),
    N_("ev.connector.ef"),
    N_("ev.connector.type_2"),
    N_("ev.connector.combo_ccs"),
    N_("ev.connector.chademo"),
    N_("ev.connector.autre"),
    N_("ev.state.available"),
    N_("ev.state.in_service"),
    N_("ev.state.occupied"),
    N_("ev.state.out_of_service"),
    N_("ev.state.unknown"),
    N_("ev.ind.afir"),
    N_("ev.finding.LONLAT_SWAPPED"),
    N_("ev.finding.INSEE_MISMATCH"),
    N_("ev.finding.SIREN_INVALID"),
    N_("ev.finding.ID_INCONSISTENT.station"),
    N_("ev.finding.ID_INCONSISTENT.pdc"),
    N_("ev.finding.ID_INCONSISTENT.prefix"),
    N_("ev.finding.POWER_IMPLAUSIBLE"),
    N_("ev.finding.POWER_IMPLAUSIBLE.watts"),
    N_("ev.finding.NBRE_PDC_IMPLAUSIBLE.range"),
    N_("ev.finding.NBRE_PDC_IMPLAUSIBLE.count"),
    N_("ev.finding.UNKNOWN_PDC"),
    N_("ev.finding.ENUM"),
    N_("ev.finding.BAD_TS"),
    N_("ev.finding.FUTURE_TS"),
    N_("ev.finding.TOO_OLD"),
    N_("ev.column.id_station"),
    N_("ev.column.day"),
    N_("ev.column.nom_station"),
    N_("ev.column.charge_points"),
    N_("ev.column.hours_observed"),
    N_("ev.column.hours_out_of_service"),
    N_("ev.column.availability_rate"),
    N_("ev.column.occupancy_rate"),
    N_("ev.column.secret"),
    N_("ev.release_check.IRVE_ONE_ROW_PER_PDC"),
    N_("ev.release_check.OCCUPANCY_MIN_POINTS"),
    N_("ev.session_row.NAIVE_TS"),
    N_("ev.session_row.END_BEFORE_START"),
    N_("ev.session_row.NEGATIVE_ENERGY"),
    N_("ev.session_row.IMPLAUSIBLE_ENERGY"),
    N_("ev.session_row.UNKNOWN_PDC"),
    N_("ev.session_row.BAD_TS"),
    N_("ev.session_row.BAD_ENERGY"),
)
