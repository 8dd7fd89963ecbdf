"""HTML pages: home, map, dataset and 404, in French and English, with the visibility rule."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import web_login

from territoria.access.service import create_token
from territoria.access.websessions import COOKIE
from territoria.app import create_app
from territoria.catalog.schemas import AssetIn, DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, upsert_assets
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.batches import Origin
from territoria.ingest.service import ingest_measurements
from territoria.settings import Settings
from territoria.territory.service import load_areas

TERRITORY = Path(__file__).resolve().parents[2] / "src" / "territoria" / "data" / "territory"
HOURS = 72


@dataclass
class Site:
    """Two apps on one database: the demo with a logged-in analyst of the operator, and an anonymous visitor
    of a production-like (non-demo) server."""

    demo: TestClient
    public: TestClient
    owner_token: str
    session_cookie: str


def _populate(ctx: Context) -> str:
    """Territory, two organisations, a private and an open dataset with assets and measurements."""
    with ctx.session(write=True) as s:
        load_areas(
            s,
            TERRITORY / "communes-06-alpes-maritimes.geojson",
            population=TERRITORY / "communes-06-population.csv",
        )
    ctx.forget_locator()
    with ctx.session(write=True) as s:
        city = create_organisation(
            s, OrganisationCreate(slug="metropole", name="Métropole", kind="authority")
        )
        op = create_organisation(s, OrganisationCreate(slug="lightco", name="LightCo", kind="operator"))
        _, secret = create_token(s, op, ["read"])
        lights = create_dataset(
            s,
            DatasetCreate(
                slug="lights",
                title="Éclairage <b>Nice</b>",
                description="Puissance des points lumineux.",
                domain="lighting",
                kind="timeseries",
                access="private",
                reporting_interval_s=900,
                metrics=[
                    MetricCreate(name="power", unit="W", min=0, max=400, description="Puissance"),
                    MetricCreate(name="on", unit="1", min=0, max=1),
                ],
            ),
            op,
        )
        air = create_dataset(
            s,
            DatasetCreate(
                slug="air",
                title="Air quality",
                domain="air_quality",
                kind="timeseries",
                access="open",
                metrics=[MetricCreate(name="no2", unit="µg/m³", min=0, max=1000)],
            ),
            city,
        )
        items = [AssetIn(id=f"L{i:02d}", kind="light", lon=7.27 + i * 0.0005, lat=43.698) for i in range(12)]
        items.append(AssetIn(id="PARIS", kind="light", name="Lost light", lon=2.3522, lat=48.8566))
        items.append(AssetIn(id="NOWHERE", kind="light"))
        upsert_assets(s, lights, items, ctx.locator())
        upsert_assets(s, air, [AssetIn(id="A1", kind="station", lon=7.0128, lat=43.5513)], ctx.locator())
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        rows = [
            (
                n,
                {
                    "asset": "L00",
                    "metric": "power",
                    "ts": (end - timedelta(hours=n)).isoformat(),
                    "value": 100.0 + n,
                },
            )
            for n in range(HOURS)
        ]
        result = ingest_measurements(
            s, lights, rows, Origin(source="file"), checksum="t", future_tolerance_s=300
        )
        assert result.rejected == 0, result.errors
    return secret


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One database built once for the module (the pages only read)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web')}/t.db"
    demo_ctx = Context(Settings(database_url=url, demo=True))
    upgrade(demo_ctx.engine)
    secret = _populate(demo_ctx)
    public_ctx = Context(Settings(database_url=url, demo=False, secret_key="s" * 48))
    demo = TestClient(create_app(context=demo_ctx))
    web_login(demo_ctx, demo, org="lightco", role="analyst")
    cookie = demo.cookies[COOKIE]
    yield Site(demo, TestClient(create_app(context=public_ctx)), secret, cookie)
    demo_ctx.engine.dispose()
    public_ctx.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_cookies(site: Site) -> None:
    """Each test starts without the language cookie a previous test may have set (still logged in)."""
    site.demo.cookies.clear()
    site.public.cookies.clear()
    site.demo.cookies.set(COOKIE, site.session_cookie)


def assert_csp_friendly(html: str) -> None:
    """No inline handlers, style attributes or executable inline scripts."""
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    for attrs in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs


def test_home_lists_visible_datasets_in_french_by_default(site: Site) -> None:
    r = site.demo.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert '<html lang="fr">' in html and "Accueil" in html and "Carte" in html and "/api/docs" in html
    assert 'href="/datasets/lights"' in html and 'href="/datasets/air"' in html and 'href="/map"' in html
    assert (
        "Éclairage public" in html and "Qualité de l&#39;air" in html and "Privé" in html and "Ouvert" in html
    )
    assert "LightCo" in html and "power" in html and "(W)" in html and "(µg/m³)" in html
    assert "Éclairage &lt;b&gt;Nice&lt;/b&gt;" in html  # titles are escaped
    assert "Mode démonstration" in html
    assert_csp_friendly(html)


def test_home_in_english_sets_the_language_cookie(site: Site) -> None:
    r = site.demo.get("/?lang=en")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text and "Home" in r.text and "Street lighting" in r.text
    assert "lang=en" in r.headers["set-cookie"]
    assert 'href="/?lang=fr"' in r.text
    client = TestClient(site.demo.app)
    client.cookies.set("lang", "en")
    assert '<html lang="en">' in client.get("/").text
    # The query wins over the cookie, the cookie over Accept-Language.
    assert '<html lang="fr">' in client.get("/?lang=fr").text


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("de-DE, en;q=0.5, fr;q=0.4", "en"),
        ("de", "fr"),
        ("fr-FR", "fr"),
        ("", "fr"),
    ],
)
def test_accept_language_chooses_the_page_language(site: Site, header: str, lang: str) -> None:
    r = TestClient(site.demo.app).get("/", headers={"Accept-Language": header})
    assert f'<html lang="{lang}">' in r.text
    assert r.headers["content-language"] == lang


def test_map_page_configures_one_layer_per_dataset(site: Site) -> None:
    for lang, word in (("fr", "Réseaux affichés"), ("en", "Networks shown")):
        r = site.demo.get(f"/map?lang={lang}")
        assert r.status_code == 200 and word in r.text
        html = r.text
        assert "/static/vendor/leaflet/leaflet.js" in html and "/static/vendor/leaflet/leaflet.css" in html
        assert "/static/territoria-map.js" in html and "unpkg" not in html and "cdn" not in html.lower()
        assert_csp_friendly(html)
        raw = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S)
        assert raw is not None
        config = json.loads(raw.group(1))
        assert config["areasUrl"] == "/api/v1/areas?level=commune"
        assert {d["slug"] for d in config["datasets"]} == {"lights", "air"}
        lights = next(d for d in config["datasets"] if d["slug"] == "lights")
        assert lights["title"] == "Éclairage <b>Nice</b>" and lights["colour"].startswith("#")
        assert "<b>" not in raw.group(1)  # JSON in the page cannot close the script element
    assert config["labels"]["commune"] == "Commune" and config["labels"]["outside"] == "Outside the territory"


def test_map_data_for_assets_and_communes(site: Site) -> None:
    r = site.demo.get("/datasets/lights/assets.geojson")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    features = {f["id"]: f for f in r.json()["features"]}
    assert len(features) == 13  # the asset without position is not drawn
    assert features["L00"]["properties"]["commune"] == "Nice"
    assert features["L00"]["properties"]["area_code"] == "06088"
    assert features["PARIS"]["properties"]["in_territory"] is False
    areas = site.demo.get("/api/v1/areas?level=commune").json()
    assert len(areas["features"]) == 163


def test_dataset_page_in_french(site: Site) -> None:
    r = site.demo.get("/datasets/lights")
    assert r.status_code == 200
    html = r.text
    assert "Puissance des points lumineux." in html
    assert "Plage valide" in html and "0 – 400" in html and "900 s" in html
    assert re.search(r"<th scope=\"row\">Nice</th><td>06088</td><td class=\"num\">12</td>", html)
    assert "Hors du territoire" in html and "Sans position" in html
    assert "Moyenne horaire de « power » sur 7 jours" in html
    assert '<svg class="chart-svg"' in html and re.search(
        r'<path class="chart-line" d="M[\d.]+,[\d.]+ L', html
    )
    assert f"{HOURS} heures" in html
    assert 'data-map-config="map-config"' in html
    assert_csp_friendly(html)


def test_dataset_page_in_english_and_without_data(site: Site) -> None:
    r = site.demo.get("/datasets/lights?lang=en")
    assert r.status_code == 200
    assert "Hourly average of “power” over 7 days" in r.text and "Valid range" in r.text
    assert "Assets per commune (top 10)" in r.text and "Outside the territory" in r.text
    r = site.demo.get("/datasets/air?lang=en")
    assert r.status_code == 200 and "No measurements for this metric yet." in r.text
    assert "Cannes" in r.text


def test_unknown_dataset_is_an_html_404(site: Site) -> None:
    for lang, text in (("fr", "Page introuvable"), ("en", "Page not found")):
        r = site.demo.get(f"/datasets/nope?lang={lang}")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert text in r.text and f'<html lang="{lang}">' in r.text
    r = site.demo.get("/datasets/%3Cscript%3E")
    assert r.status_code == 404 and "<script>" not in r.text
    assert site.demo.get("/datasets/nope/assets.geojson").status_code == 404


def test_anonymous_visitor_outside_the_demo_sees_open_datasets_only(site: Site) -> None:
    home = site.public.get("/")
    assert home.status_code == 200
    assert 'href="/datasets/air"' in home.text and "/datasets/lights" not in home.text
    assert "Mode démonstration" not in home.text
    assert "lights" not in site.public.get("/map").text
    assert site.public.get("/datasets/lights").status_code == 404
    assert site.public.get("/datasets/lights/assets.geojson").status_code == 404
    assert site.public.get("/datasets/air").status_code == 200
    # A token of the owner sees its private dataset, as on the API.
    auth = {"Authorization": f"Bearer {site.owner_token}"}
    assert site.public.get("/datasets/lights", headers=auth).status_code == 200


def test_static_files_are_served(site: Site) -> None:
    css = site.demo.get("/static/territoria.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for path in (
        "/static/territoria-map.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/leaflet/images/layers.png",
    ):
        assert site.demo.get(path).status_code == 200, path
    assert site.demo.get("/static/nope.js").status_code == 404


def test_a_readable_dataset_downloads_from_its_page(site: Site) -> None:
    """Issue 15, item 15: a logged-in (non-open) dataset exports from its page, under the access rules."""
    page = site.demo.get("/datasets/lights?lang=fr").text
    assert 'action="/datasets/lights/export.csv"' in page and "Moyennes journalières" in page
    assert '<option value="comma" selected>' in page  # French spreadsheets by default on a French page
    r = site.demo.get("/datasets/lights/export.csv?resolution=hour")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="lights-hour-' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["asset", "metric", "time", "value"]
    hourly = [row for row in rows[1:] if row[1] == "power"]
    assert len(hourly) == HOURS and {row[0] for row in hourly} == {"L00"}
    assert sorted(float(row[3]) for row in hourly) == [100.0 + n for n in range(HOURS)]
    french = site.demo.get("/datasets/lights/export.csv?resolution=hour&decimal=comma")
    text = french.content.decode("utf-8-sig")
    assert text.startswith("asset;metric;time;value\r\n") and ";100,0\r\n" in text
    # Someone who may not read it gets what the API would answer: as if the dataset did not exist.
    assert site.public.get("/datasets/lights/export.csv").status_code == 404
    assert site.public.get("/datasets/air/export.csv").status_code == 200


def test_search_finds_datasets_indicators_and_communes_the_visitor_may_see(site: Site) -> None:
    """Issue 15, item 15: one search box outside the open-data portal, accents and case ignored."""
    html = site.demo.get("/search?q=eclairage&lang=fr").text
    assert 'href="/datasets/lights"' in html and "1 résultat pour « eclairage »" in html
    html = site.demo.get("/search?q=cannes&lang=en").text
    assert 'href="/communes/06029"' in html and "Cannes" in html
    assert 'href="/search"' in html  # the navigation leads to it from every page
    # A visitor of the public server does not find the private lighting dataset.
    public = site.public.get("/search?q=eclairage&lang=fr").text
    assert 'href="/datasets/lights"' not in public and "Rien de ce que vous pouvez voir" in public
    assert site.public.get("/search?q=" + "x" * 201).status_code == 422
