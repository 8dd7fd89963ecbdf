"""The public EV observatory pages on imported IRVE static data, in French and English."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from tests.conftest import World
from tests.domains.ev.irve_factory import irve_csv, pdc_id

from territoria import i18n
from territoria.app import create_app

IRVE = {
    "slug": "irve",
    "title": "IRVE",
    "domain": "ev",
    "kind": "records",
    "schema": "irve-statique",
    "access": "open",
}


def load_irve(world: World, csv: str) -> TestClient:
    """Create the IRVE dataset, import `csv` into it, and return a client without any token."""
    assert world.client.post("/api/v1/datasets", json=IRVE, headers=world.operator).status_code == 201
    headers = {**world.operator, "content-type": "text/csv"}
    res = world.client.post("/api/v1/datasets/irve/records", content=csv.encode(), headers=headers)
    assert res.status_code == 200 and res.json()["rejected"] == 0, res.text
    return TestClient(create_app(context=world.ctx))


def figures(html: str) -> dict[str, str]:
    """The headline figures of the page, by name, as displayed."""
    found = re.findall(r'<dd data-figure="(\w+)">(.*?)</dd>', html, re.S)
    return {name: unescape(re.sub(r"<[^>]+>", "", text)).strip() for name, text in found}


def config(html: str) -> dict[str, object]:
    """The JSON block the page script reads."""
    match = re.search(r'<script type="application/json" id="ev-config">(.*?)</script>', html, re.S)
    assert match
    return dict(json.loads(match.group(1)))


@pytest.fixture
def loaded(world: World) -> TestClient:
    """Ten stations of two points each; station 1's second point has a power in W, station 2 a bad SIREN."""
    return load_irve(world, irve_csv(10, 2, {"POWER_IMPLAUSIBLE": 3, "SIREN_INVALID": 5}))


def test_observatory_in_french_and_english_matches_the_api(loaded: TestClient) -> None:
    [terr] = loaded.get("/api/v1/ev/indicators", params={"level": "territory"}).json()["rows"]
    cover = loaded.get("/api/v1/ev/coverage").json()
    for lang in ("fr", "en"):
        res = loaded.get("/ev", params={"lang": lang})
        assert res.status_code == 200, res.text
        assert res.headers["content-language"] == lang
        assert "Content-Security-Policy" in res.headers and "<script>" not in res.text
        html = res.text
        assert i18n.t("ev.title", lang) in html and i18n.t("nav.ev", lang) in html
        shown = figures(html)
        assert shown["charge_points"] == i18n.number(terr["charge_points"], lang)
        assert shown["stations"] == i18n.number(terr["stations"], lang)
        assert shown["installed_kw"] == i18n.number(terr["installed_kw"], lang, 1)
        assert shown["per_100k"] == i18n.number(terr["per_100k"]["charge_points"], lang, 1)
        assert shown["fast_chargers"] == i18n.number(terr["fast_chargers"], lang)
        assert shown["uncovered"].startswith(i18n.number(cover["uncovered_share"] * 100, lang, 1))
        # the defects: counted by code with the explanation in the visitor's language, and a proposed fix
        assert i18n.t("ev.check.POWER_IMPLAUSIBLE", lang) in unescape(html)
        assert i18n.t("ev.check.SIREN_INVALID", lang) in unescape(html)
        assert "puissance_nominale = 22.0" in html
        assert "/ev/stations/FRA68P060001" in html  # the map links each station to its page
    assert terr["charge_points"] == 20 and terr["stations"] == 10


def test_map_config_has_one_marker_per_station_and_every_commune(loaded: TestClient) -> None:
    cfg = config(loaded.get("/ev", params={"lang": "en"}).text)
    spec = cfg["map"]
    assert isinstance(spec, dict)
    stations = spec["stations"]
    assert len(stations) == 10 and len({s["id"] for s in stations}) == 10
    bad = next(s for s in stations if s["id"] == "FRA68P060001")
    assert bad["kw"] == pytest.approx(22 + 22000) and bad["cls"] == "350+" and bad["n"] == 2
    communes = spec["communes"]
    assert len(communes) == 163
    assert communes["06088"]["cp"] > 0 and communes["06088"]["cp_per_100k"] > 0
    assert any(row["cp"] == 0 for row in communes.values())  # communes with no charger are there too
    chart = cfg["chart"]
    assert isinstance(chart, dict) and sum(chart["classCounts"]) == 20


def test_station_page_and_404(loaded: TestClient) -> None:
    res = loaded.get("/ev/stations/FRA68P060001", params={"lang": "en"})
    assert res.status_code == 200, res.text
    assert pdc_id(1, 0) in res.text and pdc_id(1, 1) in res.text
    assert "POWER_IMPLAUSIBLE" in res.text and "puissance_nominale = 22.0" in res.text
    assert "<code>irve</code>" in res.text  # provenance
    clean = loaded.get("/ev/stations/FRA68P060000", params={"lang": "fr"})
    assert clean.status_code == 200 and i18n.t("ev.station.no_defect", "fr") in unescape(clean.text)
    missing = loaded.get("/ev/stations/NOPE", params={"lang": "en"})
    assert missing.status_code == 404 and "NOPE" in missing.text


def test_empty_state_explains_how_to_load_irve(world: World) -> None:
    client = TestClient(create_app(context=world.ctx))
    for lang in ("fr", "en"):
        res = client.get("/ev", params={"lang": lang})
        assert res.status_code == 200
        assert i18n.t("ev.empty.title", lang) in unescape(res.text)
        assert "territoria import" in res.text and "irve-statique" in res.text
        assert 'id="ev-config"' not in res.text
    assert client.get("/ev/stations/X").status_code == 404
