"""Language leaks (issue 15, item 8): per-language dataset texts, coded row reasons, KPI-definition
errors and units in the reader's language."""

from __future__ import annotations

from typing import Any

from tests.analytics.test_engine import lit  # noqa: F401 - the fixture
from tests.analytics.test_kpi_api import CUSTOM
from tests.catalog.test_datasets_api import SMALLEST
from tests.conftest import World

from territoria.analytics.definitions import shipped
from territoria.ingest.validation import MeasurementChecker


def test_titles_and_descriptions_per_language_through_the_api_and_pages(world: World) -> None:
    c = world.client
    body = {
        **SMALLEST,
        "title": "Éclairage",
        "titles": {"fr": "Éclairage public", "en": "Street lighting"},
        "descriptions": {"fr": "Puissance des points lumineux.", "en": "Power of the street lights."},
    }
    r = c.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code == 201, r.text
    assert r.json()["titles"] == body["titles"] and r.json()["descriptions"] == body["descriptions"]
    assert r.json()["title"] == "Éclairage" and r.json()["description"] == ""
    r = c.patch(
        "/api/v1/datasets/lights2",
        json={"titles": {"en": "Public lighting", "pt": ""}},
        headers=world.operator,
    )
    assert r.status_code == 200, r.text
    assert r.json()["titles"] == {"fr": "Éclairage public", "en": "Public lighting"}
    assert (
        c.get("/api/v1/datasets/lights2", headers=world.operator).json()["titles"]["en"] == "Public lighting"
    )
    en = c.get("/datasets/lights2", params={"lang": "en"}, headers=world.operator).text
    fr = c.get("/datasets/lights2", params={"lang": "fr"}, headers=world.operator).text
    assert "Public lighting" in en and "Power of the street lights." in en and "Éclairage public" not in en
    assert "Éclairage public" in fr and "Puissance des points lumineux." in fr
    # A language without a text reads the main one; a bad language code is refused.
    de = c.get("/datasets/lights2", params={"lang": "de"}, headers=world.operator).text
    assert "<h1" in de
    bad = {**body, "slug": "lights3", "titles": {"Not a language!": "x"}}
    assert c.post("/api/v1/datasets", json=bad, headers=world.operator).status_code == 422
    # Existing clients: no titles given, none returned but an empty map.
    plain = c.post("/api/v1/datasets", json={**SMALLEST, "slug": "lights4"}, headers=world.operator).json()
    assert plain["titles"] == {} and plain["descriptions"] == {}


def test_unreadable_timestamps_and_values_have_coded_reasons_in_each_language(world: World) -> None:
    body = "asset,metric,ts,value\nL001,power,2026-13-45T99:00:00Z,12\nL001,power,2026-01-01T00:00:00Z,abc\n"
    r = world.client.post(
        "/api/v1/datasets/lights/measurements",
        content=body,
        headers={**world.operator, "content-type": "text/csv"},
    )
    assert r.status_code < 500, r.text
    text = r.text
    assert "Invalid isoformat" not in text and "could not convert" not in text
    assert "2026-13-45T99:00:00Z" in text and "abc" in text
    errors: list[dict[str, Any]] = r.json()["errors"]
    french = " ".join(str(e.get("message_fr")) for e in errors)
    assert "horodatage invalide « 2026-13-45T99:00:00Z »" in french
    assert "valeur invalide « abc » : un nombre est attendu" in french


def test_the_checker_names_each_unreadable_kind() -> None:
    from datetime import UTC, datetime

    checker = MeasurementChecker({}, datetime.now(UTC), 0)
    codes = []
    for ts, value in (("2026-01-01T00:00:00", 1), (5, 1), ("2026-01-01T00:00:00Z", True), ("x", [1])):
        explained = checker.explain(1, {"asset": "a", "metric": "m", "ts": ts, "value": value}, False, {})
        assert isinstance(explained, list)
        codes += [e["message_code"] for e in explained if e["code"] == "TYPE"]
    assert codes == [
        "finding.TYPE.ts_no_zone",
        "finding.TYPE.ts_not_text",
        "finding.TYPE.value_boolean",
        "finding.TYPE.ts_format",
        "finding.TYPE.value_list",
    ]


def test_kpi_definition_errors_read_in_both_languages(lit: World) -> None:  # noqa: F811
    c = lit.client
    bad = {**CUSTOM, "code": "x_share", "aggregation": "share", "decimals": 9, "colour": "red"}
    r = c.post("/api/v1/kpis", json=bad, headers=lit.operator)
    assert r.status_code == 422, r.text
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert errors["decimals"]["message"] == "must be at most 6"
    assert errors["decimals"]["message_fr"] == "doit valoir au plus 6"
    assert errors["colour"]["message_fr"].startswith("champ inconnu")
    r = c.post(
        "/api/v1/kpis", json={**CUSTOM, "code": "x_share", "aggregation": "share"}, headers=lit.operator
    )
    share = next(e for e in r.json()["errors"] if e["message_code"] == "kpi.err.share_condition")
    assert "condition" in share["message"] and "« share »" in share["message_fr"]
    r = c.post("/api/v1/kpis", json={**CUSTOM, "aggregation": "median"}, headers=lit.operator)
    literal = r.json()["errors"][0]
    assert literal["message_code"] == "pyd.literal_error" and " or " not in literal["message_fr"]


def test_per_inhabitant_units_are_written_in_each_language() -> None:
    kpis = {k.code: k for k in shipped()}
    assert kpis["lighting_energy_per_inhabitant"].unit_in("fr") == "kWh/hab."
    assert kpis["lighting_energy_per_inhabitant"].unit_in("en") == "kWh/inhabitant"
    assert kpis["daily_traffic"].unit_in("en") == "vehicles/day"
    english = [k.unit_in("en") for k in kpis.values()]
    assert not [u for u in english if "hab." in u or "véh" in u or "jour" in u]
