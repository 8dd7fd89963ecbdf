"""Findings, quarantined rows' errors and EV checks are message codes, written in the reader's language
from the catalogs: a third language is a catalog folder, with no code change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import World, web_login
from tests.quality.test_quarantine import quality_app, send

from territoria import i18n
from territoria.catalog.models import Metric
from territoria.domains.ev.checks import Finding as EvFinding
from territoria.domains.ev.checks import check_siren_invalid
from territoria.domains.ev.model import ChargePoint
from territoria.ingest.models import QuarantinedRow
from territoria.quality.rules import spike
from territoria.validation.model import Finding, answered_error, error_message
from territoria.validation.rules import latlon_swapped
from territoria.validation.rules import range as range_rule

GERMAN = {
    "finding.LATLON_SWAPPED": "lon %(lon)s, lat %(lat)s liegt außerhalb; vertauscht in Gebiet %(area)s",
    "finding.UNKNOWN_ASSET": "Objekt „%(asset)s“ ist in diesem Datensatz nicht registriert",
    "ev.finding.SIREN_INVALID": "siren_amenageur %(siren)s ist keine gültige SIREN",
    "rule.SPIKE": "Ausreißer",
}


@pytest.fixture
def german(tmp_path: Path) -> Iterator[None]:
    """A German catalog holding a few messages, registered for the test only."""
    po = tmp_path / "locale" / "de" / "LC_MESSAGES" / "territoria.po"
    po.parent.mkdir(parents=True)
    entries = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in GERMAN.items())
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    po.write_text(header + entries, encoding="utf-8")
    i18n.add_locale_dir(po.parents[2])
    try:
        yield
    finally:
        i18n.remove_locale_dir(po.parents[2])


def _swapped() -> Finding:
    """A LATLON_SWAPPED finding: (lon, lat) = (48.85, 2.35) is nowhere, (2.35, 48.85) is in 75056."""
    found = latlon_swapped.check("L1", 48.85, 2.35, lambda lon, lat: "75056" if lon < 10 else None)
    assert found is not None
    return found


def test_a_finding_is_a_code_written_in_each_language() -> None:
    found = _swapped()
    assert found.stored_message() == (
        "finding.LATLON_SWAPPED",
        {"lon": "48.85", "lat": "2.35", "area": "75056"},
    )
    assert found.message("en") == (
        "lon 48.85, lat 2.35 lies outside the territory; exchanged (lon 2.35, lat 48.85) it falls in "
        "area 75056: the coordinates were probably sent as lat, lon"
    )
    assert found.message_fr.startswith("lon 48.85, lat 2.35 est hors du territoire ; inversées")
    error = found.as_error()
    assert error["message"] == found.message_en and error["message_fr"] == found.message_fr
    assert latlon_swapped.RULE.title("fr") == "Latitude et longitude inversées"


def test_a_float_parameter_is_written_as_each_language_writes_numbers() -> None:
    metric = Metric(name="power", unit="W", min_value=0.0, max_value=1000.0)
    ts = np.arange(40, dtype=np.int64) * 3_600_000_000
    values = np.array([100.0 + (i % 3) for i in range(40)])
    values[20] = 900.0
    (found,) = spike.check(ts, values, metric=metric, asset="A")
    assert found.message_code == "finding.SPIKE" and isinstance(found.params["z"], float)
    z = found.params["z"]
    assert f"robust z-score {z:.1f}" in found.message_en
    assert f"z-score robuste {z:.1f}".replace(".", ",") in found.message_fr


def test_table_schema_messages_are_codes_per_constraint() -> None:
    code, params = range_rule.messages("age", "200", "maximum", "150")
    assert code == "finding.RANGE.maximum"
    assert i18n.message(code, params, "en") == "age: 200 is above maximum 150"
    assert i18n.message(code, params, "fr") == "age : 200 est supérieur au maximum 150"


def _charge_point(siren: str) -> ChargePoint:
    """A charge point whose only defect is its SIREN."""
    return ChargePoint(
        "FRABCE1", "FRABCP1", "Station", "Op", "Owner", siren, 2.35, 48.85, None, None, 22.0, None, None
    )


def test_an_ev_check_is_a_code_of_the_ev_catalog() -> None:
    (found,) = check_siren_invalid(_charge_point("123456789"))
    assert isinstance(found, EvFinding)
    assert (found.message_code, found.params) == ("ev.finding.SIREN_INVALID", {"siren": "123456789"})
    assert (
        found.message("en") == "siren_amenageur 123456789 is not a valid SIREN (nine digits, Luhn checksum)"
    )
    assert found.message("fr") == (
        "le siren_amenageur 123456789 n'est pas un SIREN valide (neuf chiffres, clé de Luhn)"
    )


def test_quarantined_errors_keep_codes_and_read_in_the_readers_language(world: World) -> None:
    world.client = TestClient(quality_app(world.ctx))
    send(world, [{"asset": "GHOST", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10}])
    with world.ctx.session() as s:
        (row,) = s.scalars(select(QuarantinedRow)).all()
        (error,) = row.errors
    # Stored: the code and its parameters, no sentence in any language.
    assert error["message_code"] == "finding.UNKNOWN_ASSET" and error["message_params"] == {"asset": "GHOST"}
    assert "message" not in error and "message_fr" not in error
    assert error_message(error, "fr").startswith("l'objet « GHOST » n'est pas enregistré")
    answered = world.client.get("/api/v1/datasets/lights/quarantine", headers=world.operator).json()
    assert answered[0]["errors"][0]["message"].startswith("asset 'GHOST' is not registered")
    assert answered[0]["errors"][0]["message_fr"].startswith("l'objet « GHOST »")
    web_login(world.ctx, world.client, org="lightco", role="producer")
    fr = world.client.get("/datasets/lights/quarantine?lang=fr").text
    en = world.client.get("/datasets/lights/quarantine?lang=en").text
    assert "n&#39;est pas enregistré" in fr and "is not registered" not in fr
    assert "is not registered in this dataset" in en and "enregistré" not in en
    report = world.client.get(f"/batches/{row.batch_id}/report?lang=en").text
    assert "is not registered in this dataset" in report


def test_an_error_stored_before_codes_is_read_as_it_was() -> None:
    old = {"row": 3, "field": "value", "code": "RANGE", "message": "too big", "message_fr": "trop grand"}
    assert error_message(old, "en") == "too big" and error_message(old, "fr") == "trop grand"
    assert error_message(old, "de") == "trop grand"  # a language the old row lacks: French, as the pages
    assert error_message({"code": "PARSE", "message": "bad line"}, "fr") == "bad line"
    assert answered_error(old) == old


@pytest.mark.usefixtures("german")
def test_a_third_language_changes_every_message_with_no_code_change(world: World) -> None:
    found = _swapped()
    assert found.message("de") == "lon 48.85, lat 2.35 liegt außerhalb; vertauscht in Gebiet 75056"
    assert spike.RULE.title("de") == "Ausreißer"
    (ev,) = check_siren_invalid(_charge_point("123456789"))
    assert ev.message("de") == "siren_amenageur 123456789 ist keine gültige SIREN"
    stored = {
        "code": "UNKNOWN_ASSET",
        "message_code": "finding.UNKNOWN_ASSET",
        "message_params": {"asset": "X"},
    }
    assert error_message(stored, "de") == "Objekt „X“ ist in diesem Datensatz nicht registriert"
    # A message German lacks is read in French.
    missing = {"message_code": "finding.REQUIRED.value", "message_params": {}}
    assert error_message(missing, "de") == "valeur manquante"
    world.client = TestClient(quality_app(world.ctx))
    send(world, [{"asset": "GHOST", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 10}])
    web_login(world.ctx, world.client, org="lightco", role="producer")
    page = world.client.get("/datasets/lights/quarantine?lang=de").text
    assert "Objekt „GHOST“ ist in diesem Datensatz nicht registriert" in page
