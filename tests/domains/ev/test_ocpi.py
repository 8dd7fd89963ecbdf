"""OCPI 2.2.1 Locations -> IRVE static rows and IRVE status rows; the import-ocpi command."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from tests.conftest import World, build_world, sqlite_context
from typer.testing import CliRunner

import territoria.domains.ev.cli_import  # noqa: F401 - registers the commands on ev_app
from territoria.catalog.models import Asset
from territoria.catalog.service import get_dataset
from territoria.domains.ev.cli import ev_app
from territoria.domains.ev.ocpi import (
    NOT_ROAMING,
    Unmapped,
    connector_kw,
    horaires,
    locations_of,
    map_locations,
    normalise_id,
)
from territoria.errors import Invalid, Unparseable
from territoria.ingest.models import QuarantinedRow, Record
from territoria.ingest.parsers import BadRow
from territoria.validation.model import error_message, stored_error

FILE = Path(__file__).parent / "data" / "ocpi_locations.json"
DEFAULTS = {
    "contact_operateur": "contact@azur-recharge.fr",
    "restriction_gabarit": "Aucune restriction",
    "paiement_acte": "false",
}


def _doc() -> dict[str, Any]:
    return dict(json.loads(FILE.read_text(encoding="utf-8")))


def _rows(defaults: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    mapping = map_locations(locations_of(FILE.read_bytes()), DEFAULTS if defaults is None else defaults)
    return {r["id_pdc_itinerance"]: r for _, r in mapping.static_rows if isinstance(r, dict)}


def test_power_rules() -> None:
    assert connector_kw({"max_electric_power": 150000, "power_type": "DC"}) == 150
    three = connector_kw({"power_type": "AC_3_PHASE", "max_voltage": 230, "max_amperage": 32})
    assert three == pytest.approx(22.08)  # line to neutral, as OCPI 2.2.1 says: x3
    assert connector_kw(
        {"power_type": "AC_3_PHASE", "max_voltage": 400, "max_amperage": 32}
    ) == pytest.approx(math.sqrt(3) * 12.8)  # line to line: x√3
    assert connector_kw(
        {"power_type": "AC_1_PHASE", "max_voltage": 230, "max_amperage": 16}
    ) == pytest.approx(3.68)
    assert connector_kw({"power_type": "DC", "max_voltage": "x", "max_amperage": 10}) is None
    assert connector_kw({"power_type": "AC_9_PHASE", "max_voltage": 230, "max_amperage": 10}) is None


def test_ids_hours_and_envelopes() -> None:
    assert normalise_id("FR*ABC*E123") == "FRABCE123" and normalise_id("fr-abc-e 1") == "FRABCE1"
    assert horaires({"twentyfourseven": True}) == "24/7" and horaires(None) is None
    hours = {"regular_hours": [{"weekday": 7, "period_begin": "10:00", "period_end": "12:00"}]}
    assert horaires(hours) == "Su 10:00-12:00"
    assert len(locations_of(FILE.read_bytes())) == 5
    assert len(locations_of(json.dumps(_doc()["data"]).encode())) == 5  # a bare list
    assert len(locations_of(json.dumps(_doc()["data"][0]).encode())) == 1  # one location
    with pytest.raises(Unparseable):
        locations_of(b"{not json")
    with pytest.raises(Invalid, match="reports an error"):
        locations_of(b'{"data": null, "status_code": 2001, "status_message": "Invalid"}')
    with pytest.raises(Invalid, match="expected OCPI Locations"):
        locations_of(b'"hello"')
    with pytest.raises(Invalid, match="not IRVE static field"):
        map_locations([], {"colour": "blue"})


def test_mapping_of_the_example() -> None:
    mapping = map_locations(locations_of(FILE.read_bytes()), DEFAULTS)
    assert (mapping.locations, mapping.evses) == (5, 10)
    rows = _rows()
    assert sorted(rows) == ["FRA68E06LOC11", "FRA68E06LOC12", "FRA68E06LOC27", "FRA68E06LOC29"]
    ac = rows["FRA68E06LOC11"]
    assert ac["id_station_itinerance"] == "FRA68P06LOC1" and ac["id_station_local"] == "FR*A68*P06LOC1"
    assert (ac["puissance_nominale"], ac["prise_type_2"], ac["cable_t2_attache"]) == ("22.08", "true", "true")
    assert (ac["reservation"], ac["paiement_acte"], ac["paiement_cb"]) == ("true", "true", "true")
    assert ac["nbre_pdc"] == "2" and ac["coordonneesXY"] == "[7.27, 43.697]" and ac["horaires"] == "24/7"
    assert (ac["implantation_station"], ac["condition_acces"]) == ("Voirie", "Accès libre")
    assert (ac["nom_operateur"], ac["nom_amenageur"], ac["nom_enseigne"]) == (
        "Azur Recharge",
        "Ville de Nice",
        "Azur Recharge",
    )
    assert ac["date_maj"] == "2025-01-15" and ac["code_insee_commune"] == ""
    dc = rows["FRA68E06LOC12"]
    assert (dc["puissance_nominale"], dc["prise_type_combo_ccs"], dc["prise_type_chademo"]) == (
        "150.00",
        "true",
        "true",
    )
    assert (dc["prise_type_2"], dc["cable_t2_attache"], dc["paiement_acte"]) == (
        "false",
        "",
        "false",
    )  # the default
    ef = rows["FRA68E06LOC27"]
    assert ef["id_station_itinerance"] == NOT_ROAMING and ef["id_station_local"] == "loc-2"
    assert (ef["prise_type_ef"], ef["accessibilite_pmr"], ef["condition_acces"]) == (
        "true",
        "Réservé PMR",
        "Accès réservé",
    )
    assert ef["nom_station"] == "12 boulevard de la Croisette Cannes" and ef["nbre_pdc"] == "5"
    assert ef["horaires"] == "Mo 08:00-20:00,Sa 09:00-12:00"
    assert ef["implantation_station"] == "Parking privé à usage public"
    assert rows["FRA68E06LOC29"]["implantation_station"] == "Parking privé réservé à la clientèle"
    codes = {(u.evse_uid or u.location_id, u.code) for u in mapping.unmapped}
    assert codes == {
        ("u3", "PLANNED"),
        ("u4", "REMOVED"),
        ("u5", "NO_EVSE_ID"),
        ("u6", "BAD_EVSE_ID"),
        ("u8", "NO_POWER"),
        ("u10", "BAD_COORDINATES"),
        ("empty-loc", "NO_EVSE"),
        ("", "NOT_LOCATION"),
    }
    bad = [r.code for _, r in mapping.static_rows if isinstance(r, BadRow)]
    assert sorted(bad) == ["BAD_COORDINATES", "BAD_EVSE_ID", "NOT_LOCATION", "NO_EVSE_ID", "NO_POWER"]
    status = {r["id_pdc_itinerance"]: (r["etat_pdc"], r["occupation_pdc"]) for r in mapping.status_rows}
    assert status == {
        "FRA68E06LOC11": ("en_service", "libre"),
        "FRA68E06LOC12": ("en_service", "occupe"),
        "FRA68E06LOC27": ("en_service", "occupe"),  # BLOCKED: the bay is taken
        "FRA68E06LOC28": ("en_service", "libre"),
        "FRA68E06LOC29": ("hors_service", "inconnu"),
        "FRA68E06LOC31": ("inconnu", "inconnu"),
    }
    assert {u.code for u in mapping.status_skipped} == {"PLANNED", "REMOVED", "NO_EVSE_ID"}


def test_required_fields_without_source_are_reported_not_invented() -> None:
    mapping = map_locations(locations_of(FILE.read_bytes()), {})
    assert not [r for _, r in mapping.static_rows if isinstance(r, dict)]
    assert mapping.missing_fields == ["contact_operateur", "paiement_acte", "restriction_gabarit"]
    missing = [u for u in mapping.unmapped if u.code == "MISSING_FIELDS"]
    assert len(missing) == 4 and all(isinstance(u, Unmapped) for u in missing)
    # With a card terminal, paiement_acte comes from OCPI; the others still need a value.
    first = next(u for u in missing if u.evse_uid == "u1")
    assert first.reason.endswith("contact_operateur, restriction_gabarit")
    assert first.text("fr") == (
        "champ(s) IRVE obligatoire(s) sans valeur : contact_operateur, restriction_gabarit"
    )
    # The quarantined row keeps the code and its parameters, not sentences (docs/translating.md).
    bad = next(r for _, r in mapping.static_rows if isinstance(r, BadRow) and r.code == "MISSING_FIELDS")
    error = stored_error(bad.errors(1)[0])
    assert (error["message_code"], set(error)) == (
        "ev.ocpi_row.MISSING_FIELDS",
        {"row", "field", "code", "message_code", "message_params"},
    )
    assert error_message(error, "fr").startswith(
        "MISSING_FIELDS : champ(s) IRVE obligatoire(s) sans valeur : "
    )
    assert error_message(error, "en").startswith("MISSING_FIELDS: required IRVE field(s) without a value: ")


def _recent(doc: dict[str, Any]) -> dict[str, Any]:
    """The example with every last_updated an hour ago (status rows older than 90 days are refused)."""
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    text = json.dumps(doc).replace("2025-01-15T09:00:00Z", at)
    return dict(json.loads(text))


def test_cli_import_ocpi_with_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world: World = build_world(sqlite_context(tmp_path))
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", world.ctx.engine.url.render_as_string(hide_password=False))
    path = tmp_path / "locations.json"
    path.write_text(json.dumps(_recent(_doc())), encoding="utf-8")
    app = typer.Typer()
    app.add_typer(ev_app, name="ev")
    sets = [a for k, v in DEFAULTS.items() for a in ("--set", f"{k}={v}")]
    args = ["ev", "import-ocpi", str(path), "--dataset", "irve-ocpi", "--owner", "lightco", "--status", *sets]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert (out["received"], out["accepted"], out["rejected"]) == (9, 4, 5)
    assert out["rejected_by_code"] == {
        "BAD_COORDINATES": 1,
        "BAD_EVSE_ID": 1,
        "NOT_LOCATION": 1,
        "NO_EVSE_ID": 1,
        "NO_POWER": 1,
    }
    assert len(out["unmapped"]) == 8
    # Statuses: the four mapped points are known; the two others have no static row, so no asset.
    assert (out["status"]["received"], out["status"]["accepted"]) == (6, 4)
    assert out["status"]["rejected_by_code"] == {"UNKNOWN_PDC": 2}
    with world.ctx.session() as s:
        ds = get_dataset(s, "irve-ocpi")
        assert ds.access == "private"
        keys = {
            r.data["id_pdc_itinerance"] for r in s.scalars(select(Record).where(Record.dataset_id == ds.id))
        }
        assets = {
            a.external_id: a.area_code
            for a in s.scalars(select(Asset).where(Asset.dataset_id == get_dataset(s, "ev-status").id))
        }
    assert keys == {"FRA68E06LOC11", "FRA68E06LOC12", "FRA68E06LOC27", "FRA68E06LOC29"}
    # The quarantined reasons are catalog codes: the quarantine page reads them in French or English.
    with world.ctx.session() as s:
        ds = get_dataset(s, "irve-ocpi")
        quarantined = list(s.scalars(select(QuarantinedRow).where(QuarantinedRow.dataset_id == ds.id)))
    errors = {e["code"]: e for q in quarantined for e in q.errors}
    assert set(errors) == {"BAD_COORDINATES", "BAD_EVSE_ID", "NOT_LOCATION", "NO_EVSE_ID", "NO_POWER"}
    no_id = errors["NO_EVSE_ID"]
    assert no_id["message_code"] == "ev.ocpi_row.NO_EVSE_ID" and "message_fr" not in no_id
    assert error_message(no_id, "fr") == (
        "NO_EVSE_ID : le point de recharge (EVSE) n'a pas d'evse_id : l'IRVE exige un id_pdc_itinerance "
        "(station 'loc-2')"
    )
    assert error_message(no_id, "en") == (
        "NO_EVSE_ID: the EVSE has no evse_id: IRVE needs id_pdc_itinerance (location 'loc-2')"
    )
    assert error_message(errors["BAD_EVSE_ID"], "fr") == (
        "BAD_EVSE_ID : l'evse_id 'bad id!' n'est pas un identifiant eMI3 (station 'loc-2')"
    )
    for error in errors.values():  # every reason has its own French text
        assert error_message(error, "fr") != error_message(error, "en"), error
    assert assets["FRA68E06LOC11"] == "06088" and assets["FRA68E06LOC27"] == "06029"
    # Without the required defaults nothing is imported, and the command says which ones to give.
    result = CliRunner().invoke(app, ["ev", "import-ocpi", str(path), "--dataset", "irve-ocpi"])
    assert result.exit_code == 0
    assert "--set contact_operateur=…" in " ".join(result.stderr.split())
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    result = CliRunner().invoke(app, ["ev", "import-ocpi", str(bad), "--dataset", "irve-ocpi"])
    assert result.exit_code == 1 and "invalid JSON" in result.stderr
