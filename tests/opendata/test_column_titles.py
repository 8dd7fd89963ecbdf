"""Release column titles: catalog keys for the platform's own columns, texts for titles given by data;
a release stored before keys is read as it was, and a third language needs only a catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from territoria import i18n
from territoria.opendata.pages_view import check_title
from territoria.opendata.tables import ReleaseColumn


@pytest.fixture
def german(tmp_path: Path) -> Iterator[None]:
    """A German catalog with two column titles, registered for the test only."""
    po = tmp_path / "locale" / "de" / "LC_MESSAGES" / "territoria.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "od.column.area_code"\nmsgstr "Gemeinde (INSEE-Code)"\n\n'
        'msgid "od.column.measure.mean"\nmsgstr "%(title)s (Mittel je Beitragender)"\n',
        encoding="utf-8",
    )
    i18n.add_locale_dir(po.parents[2])
    try:
        yield
    finally:
        i18n.remove_locale_dir(po.parents[2])


def test_a_platform_column_stores_its_key_and_reads_in_each_language() -> None:
    col = ReleaseColumn("area_code", "string", "dimension", "od.column.area_code")
    stored = col.as_json()
    assert stored == {
        "name": "area_code",
        "type": "string",
        "role": "dimension",
        "title_key": "od.column.area_code",
        "unit": "",
    }
    back = ReleaseColumn.from_json(stored)
    assert back.title_in("en") == "Commune (INSEE code)" and back.title_in("fr") == "Commune (code INSEE)"
    assert back.public_json()["title"] == {"fr": "Commune (code INSEE)", "en": "Commune (INSEE code)"}


def test_a_measure_wraps_the_title_its_policy_gives() -> None:
    col = ReleaseColumn(
        "energy_mean",
        "number",
        "measure",
        "od.column.measure.mean",
        "kWh",
        texts={"en": "Energy", "fr": "Énergie"},
    )
    back = ReleaseColumn.from_json(col.as_json())
    assert back.title_in("en") == "Energy (mean per contributor)"
    assert back.title_in("fr") == "Énergie (moyenne par contributeur)"


def test_a_release_stored_before_keys_reads_its_titles() -> None:
    old = {
        "name": "x",
        "type": "number",
        "role": "measure",
        "title": {"en": "Load", "fr": "Charge"},
        "unit": "kW",
    }
    col = ReleaseColumn.from_json(old)
    assert (col.title_in("en"), col.title_in("fr"), col.title_in("de")) == ("Load", "Charge", "Charge")


@pytest.mark.usefixtures("german")
def test_a_third_language_titles_columns_with_no_code_change() -> None:
    area = ReleaseColumn.from_json(
        ReleaseColumn("area_code", "string", "dimension", "od.column.area_code").as_json()
    )
    mean = ReleaseColumn("e_mean", "number", "measure", "od.column.measure.mean", texts={"fr": "Énergie"})
    assert area.title_in("de") == "Gemeinde (INSEE-Code)"
    assert mean.title_in("de") == "Énergie (Mittel je Beitragender)"  # the policy gave no German title
    assert area.titles()["de"] == "Gemeinde (INSEE-Code)"


def test_disclosure_check_titles_are_keys_and_old_reports_keep_theirs() -> None:
    new = {"code": "MIN_CONTRIBUTORS", "title_key": "od.check.MIN_CONTRIBUTORS"}
    assert check_title(new, "en") == "Every published cell has at least k contributors"
    assert check_title(new, "fr") == "Chaque cellule publiée compte au moins k contributeurs"
    dominance = {"code": "DOMINANCE", "title_key": "od.check.DOMINANCE"}
    assert check_title(dominance, "en") == "No contributor exceeds p% of a published cell"
    old = {"code": "NOISE", "title": {"en": "Noise ok", "fr": "Bruit conforme"}}
    assert (check_title(old, "en"), check_title(old, "fr"), check_title(old, "de")) == (
        "Noise ok",
        "Bruit conforme",
        "Bruit conforme",
    )
