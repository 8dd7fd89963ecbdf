"""Dashboard pages: KPI cards by theme, KPI and commune pages, CSV downloads, the map's KPI layer."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from territoria.analytics.engine import Scope
from territoria.analytics.periods import period_start
from territoria.analytics.service import SHIPPED
from territoria.app import create_app
from territoria.context import Context
from territoria.dashboard import figures as dash
from territoria.db.migrate import upgrade
from territoria.quality.scores import refresh_scores
from territoria.settings import Settings
from territoria.simulate.city import build_city
from territoria.simulate.demo import history_start
from territoria.simulate.demo_people import DEMO_PASSWORD, install_people
from territoria.simulate.generator import daily_rows
from territoria.simulate.service import install_city, load_history, load_rows
from territoria.web.sparkline import sparkline

OPEN_KPIS = {"daily_traffic", "no2_mean", "pm10_mean", "pm25_mean"}
JSON_BLOCK = r'<script type="application/json" id="{}">(.*?)</script>'


@dataclass
class Site:
    """The steering committee's browser (logged in) and an anonymous one, on one simulated city."""

    elected: TestClient
    anonymous: TestClient


def populate(ctx: Context, assets: int, days: int) -> None:
    """A simulated city with `days` of history up to now, the demo's people and quality scores."""
    upgrade(ctx.engine)
    city = build_city(assets, 6)
    install_city(ctx, city)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=days)).replace(hour=0)
    load_history(ctx, city, start, end, seed=6)
    # Before that, as the demo does: 13 months of one reading a day.
    load_rows(ctx, city, daily_rows(city, history_start(end, 13), start, 6))
    install_people(ctx)
    with ctx.session(write=True) as s:
        refresh_scores(s, days=2)


def elected_browser(app: object) -> TestClient:
    """A browser logged in through the login form as the demo's steering committee."""
    client = TestClient(app)  # type: ignore[arg-type]
    r = client.post(
        "/login",
        data={"email": "elus@metropole.demo", "password": DEMO_PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One database for the module (the pages only read); 40 days cover the previous month."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dash')}/t.db"
    ctx = Context(Settings(database_url=url, demo=True))
    populate(ctx, 100, 40)
    public = Context(Settings(database_url=url, demo=False, secret_key="s" * 48))
    yield Site(elected_browser(create_app(context=ctx)), TestClient(create_app(context=public)))
    ctx.engine.dispose()
    public.engine.dispose()


@pytest.fixture(autouse=True)
def _french(site: Site) -> None:
    """Each test starts in French (a previous test may have chosen English)."""
    for client in (site.elected, site.anonymous):
        client.cookies.delete("lang")


def json_block(html: str, name: str) -> object:
    found = re.search(JSON_BLOCK.format(name), html, re.S)
    assert found is not None, name
    return json.loads(found.group(1))


def on_the_city() -> set[str]:
    """The shipped KPIs over the simulated city's networks (the EV status feed is the EV domain's demo)."""
    return {code for code, kpi in SHIPPED.items() if kpi.dataset != "ev-status"}


def card_codes(html: str) -> set[str]:
    return set(re.findall(r'<li class="kpi-card" data-kpi="([a-z0-9_]+)"', html))


def assert_csp_friendly(html: str) -> None:
    """No inline handlers, style attributes or executable inline scripts."""
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    for attrs in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs


def last_month() -> date:
    return period_start(period_start(date.today(), "month") - timedelta(days=1), "month")


def test_home_shows_every_readable_kpi_by_theme_with_the_quality_panel(site: Site) -> None:
    html = site.elected.get("/").text
    assert card_codes(html) == on_the_city()  # the committee reads every network under the contracts
    themes = re.findall(r'<h3 id="theme-([a-z]+)">', html)
    assert themes == ["lighting", "energy", "mobility", "water", "waste", "air"]
    assert (
        "Indicateurs du territoire" in html and "Éclairage public" in html and "Qualité de l&#39;air" in html
    )
    assert 'href="/kpis/no2_mean"' in html and "Valeur limite annuelle UE" in html
    assert dash.period_label(last_month(), "month", "fr") in html  # the latest complete month
    assert '<svg class="sparkline"' in html and "Tendance sur 12 mois" in html
    # The quality panel: each visible dataset with its latest overall score.
    assert "Qualité des données" in html and 'href="/quality"' in html
    assert re.search(r'<th scope="row"><a href="/datasets/street-lights">Éclairage public</a></th>', html)
    assert re.search(r'<span class="score-value">\d+ %</span>', html)
    assert "Jeux de données" in html  # the datasets are still listed
    assert_csp_friendly(html)


def test_anonymous_visitors_see_only_the_open_data_kpis(site: Site) -> None:
    html = site.anonymous.get("/").text
    assert card_codes(html) == OPEN_KPIS
    assert "/kpis/lighting_energy" not in html
    assert site.anonymous.get("/kpis/lighting_energy").status_code == 404
    assert site.anonymous.get("/kpis/no2_mean").status_code == 200
    layers = json_block(site.anonymous.get("/map").text, "map-config")["choropleth"]["layers"]  # type: ignore[index]
    assert {layer["code"] for layer in layers} == OPEN_KPIS


def test_home_in_english(site: Site) -> None:
    html = site.elected.get("/?lang=en").text
    assert "Territory indicators" in html and "Street lighting" in html and "Data quality" in html
    assert dash.period_label(last_month(), "month", "en") in html and "12-month trend" in html


def test_kpi_page_draws_its_charts_from_json_blocks(site: Site) -> None:
    r = site.elected.get("/kpis/no2_mean")
    assert r.status_code == 200
    html = r.text
    assert "Dioxyde d&#39;azote" in html and "Plus la valeur est basse, mieux c&#39;est" in html
    assert "Évolution mensuelle sur le territoire (24 derniers mois)" in html
    assert "/static/vendor/echarts/echarts.min.js" in html and "/static/dashboard/dashboard.js" in html
    timeline = json_block(html, "chart-time-data")
    assert timeline["type"] == "line" and len(timeline["values"]) == 25  # type: ignore[index]
    assert timeline["reference"] == {"value": 40.0, "label": "Valeur limite annuelle UE"}  # type: ignore[index]
    assert any(v is not None for v in timeline["values"])  # type: ignore[index]
    bars = json_block(html, "chart-communes-data")
    assert bars["type"] == "bar" and bars["values"] == sorted(bars["values"], reverse=True)  # type: ignore[index]
    assert all(link.startswith("/communes/") for link in bars["links"])  # type: ignore[index]
    assert html.count("Télécharger le CSV") == 2 and html.count("Télécharger l&#39;image PNG") == 2
    assert 'href="/communes/06088"' in html  # the table of all communes
    config = json_block(html, "kpi-config")
    assert config["statsUrl"].startswith("/api/v1/kpis/no2_mean/stats?")  # type: ignore[index]
    assert_csp_friendly(html)
    english = site.elected.get("/kpis/no2_mean?lang=en").text
    assert "Monthly values over the territory (last 24 months)" in english and "Download CSV" in english
    assert "EU annual limit value" in english and "Lower is better" in english


def test_kpi_page_period_switch(site: Site) -> None:
    week = site.elected.get("/kpis/daily_traffic?period=week").text
    assert len(json_block(week, "chart-time-data")["values"]) == 53  # type: ignore[index]
    assert '<a href="?period=week" aria-current="page">Semaine</a>' in week
    year = site.elected.get("/kpis/daily_traffic?period=year").text
    assert len(json_block(year, "chart-time-data")["values"]) == 6  # type: ignore[index]
    odd = site.elected.get("/kpis/daily_traffic?period=fortnight")
    assert odd.status_code == 200 and len(json_block(odd.text, "chart-time-data")["values"]) == 25  # type: ignore[index]


def test_unknown_kpi_is_an_html_404(site: Site) -> None:
    for lang, text in (("fr", "L&#39;indicateur « nope » n&#39;existe pas"), ("en", "The indicator “nope”")):
        r = site.elected.get(f"/kpis/nope?lang={lang}")
        assert r.status_code == 404 and text in r.text


def test_csv_download_has_the_api_rows(site: Site) -> None:
    query = "level=commune&period=month"
    r = site.elected.get(f"/kpis/water_consumption.csv?{query}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="water_consumption-commune-month-' in r.headers["content-disposition"]
    assert not r.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    api = site.elected.get(f"/api/v1/kpis/water_consumption?{query}").json()["rows"]
    assert len(rows) == len(api) > 0
    # Values are rounded to the KPI's decimals (water consumption: whole m³).
    assert [(x["area"], x["name"], x["period"], x["value"], int(x["contributors"])) for x in rows] == [
        (a["area"], a["name"], a["period"], f"{a['value']:.0f}", a["contributors"]) for a in api
    ]
    assert {x["kpi"] for x in rows} == {"water_consumption"} and {x["unit"] for x in rows} == {"m³"}
    nice = site.elected.get(f"/kpis/water_consumption.csv?{query}&area=06088&bom=1")
    assert nice.content.startswith("\ufeffkpi,area,name,period,value,unit,contributors\r\n".encode())
    assert {x["area"] for x in csv.DictReader(io.StringIO(nice.content.decode("utf-8-sig")))} == {"06088"}


def test_csv_for_french_spreadsheets_uses_semicolons_and_decimal_commas(site: Site) -> None:
    """Issue 15, item 12: `decimal=comma` is what French Excel opens as columns; values keep the KPI's decimals."""
    query = "level=commune&period=month&bom=1"
    r = site.elected.get(f"/kpis/no2_mean.csv?{query}&decimal=comma")
    assert r.status_code == 200 and "-fr.csv" in r.headers["content-disposition"]
    text = r.content.decode("utf-8-sig")
    assert text.startswith("kpi;area;name;period;value;unit;contributors\r\n")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    api = site.elected.get("/api/v1/kpis/no2_mean?level=commune&period=month").json()["rows"]
    assert [x["value"] for x in rows] == [f"{a['value']:.1f}".replace(".", ",") for a in api]
    assert any("," in x["value"] for x in rows) and not any("." in x["value"] for x in rows)
    page = site.elected.get("/kpis/no2_mean?lang=fr").text
    assert "decimal=comma" in page and "CSV pour Excel en français" in page


def test_csv_download_follows_the_access_rules(site: Site) -> None:
    assert site.anonymous.get("/kpis/lighting_energy.csv").status_code == 404
    assert site.anonymous.get("/kpis/no2_mean.csv?level=territory").status_code == 200
    assert site.elected.get("/kpis/nope.csv").status_code == 404
    assert site.elected.get("/kpis/no2_mean.csv?period=decade").status_code == 422


def test_commune_page(site: Site) -> None:
    r = site.elected.get("/communes/06088")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Nice" in html and "Population" in html and "hab./km²" in html
    assert set(re.findall(r'<tr data-kpi="([a-z0-9_]+)">', html)) == on_the_city()
    assert "/kpis/no2_mean.csv?level=commune&amp;period=month" in html and "area=06088" in html
    assert_csp_friendly(html)
    anonymous = site.anonymous.get("/communes/06088?lang=en").text
    assert set(re.findall(r'<tr data-kpi="([a-z0-9_]+)">', anonymous)) == OPEN_KPIS
    assert "Indicators of the commune" in anonymous and "12-month trend" in anonymous


def test_unknown_commune_is_an_html_404(site: Site) -> None:
    r = site.elected.get("/communes/99999")
    assert r.status_code == 404 and "La commune « 99999 » n&#39;est pas sur le territoire." in r.text
    r = site.elected.get("/communes/99999?lang=en")
    assert r.status_code == 404 and "The commune “99999” is not in the territory." in r.text
    assert site.elected.get("/communes/%3Cscript%3E").status_code == 404


def test_map_colours_communes_by_any_readable_kpi(site: Site) -> None:
    html = site.elected.get("/map?kpi=no2_mean").text
    config = json_block(html, "map-config")
    choropleth = config["choropleth"]  # type: ignore[index]
    assert choropleth["selected"] == "no2_mean"
    assert {layer["code"] for layer in choropleth["layers"]} == on_the_city()
    no2 = next(layer for layer in choropleth["layers"] if layer["code"] == "no2_mean")
    assert no2["month"] == last_month().isoformat() and no2["values"]
    assert all(re.fullmatch(r"\d[\dAB]\d{3}", code) for code in no2["values"])
    assert 'id="kpi-select"' in html and "Colorer les communes selon" in html and "no-data-hatch" in html
    assert "/static/territoria-choropleth.js" in html
    assert_csp_friendly(html)
    default = json_block(site.elected.get("/map?kpi=nope").text, "map-config")["choropleth"]  # type: ignore[index]
    assert default["selected"] in {layer["code"] for layer in default["layers"] if layer["values"]}


def test_static_dashboard_files(site: Site) -> None:
    for path in (
        "/static/dashboard/dashboard.js",
        "/static/dashboard/dashboard-insights.js",
        "/static/dashboard/dashboard.css",
        "/static/territoria-choropleth.js",
        "/static/vendor/echarts/echarts.min.js",
    ):
        assert site.anonymous.get(path).status_code == 200, path
    vendored = Path(__file__).resolve().parents[2] / "src/territoria/web/static/vendor/echarts"
    assert "5.6.0" in (vendored / "README.md").read_text() and (vendored / "LICENSE").exists()


def test_figures_windows_and_sparklines() -> None:
    start, end = dash.window("month", 24, date(2026, 11, 26))
    assert (start, end) == (date(2024, 11, 1), date(2026, 12, 1))
    scope = Scope("territory", "month", start, end)
    assert len(dash.periods_of(scope)) == 25
    kpi = SHIPPED["no2_mean"]  # lower is better
    assert dash.change_of(kpi, 30.0, 25.0).tone == "worse"
    assert dash.change_of(kpi, 20.0, 25.0).tone == "better"
    assert dash.change_of(kpi, 25.01, 25.0).tone == "stable"
    assert dash.change_of(SHIPPED["street_lights_per_km2"], 2.0, 1.0).tone == "up"  # neutral
    assert dash.change_of(kpi, 1.0, None).tone == "none"
    values = [None] * 22 + [4.0, 5.0, 9.0]
    points = [
        dash.Point(p, v, "partial" if p >= date(2026, 11, 1) else "complete")
        for p, v in zip(dash.periods_of(scope), values, strict=True)
    ]
    fig = dash.figure_of(kpi, points)
    assert fig.latest == dash.Point(date(2026, 10, 1), 5.0) and fig.previous == dash.Point(
        date(2026, 9, 1), 4.0
    )
    assert fig.change.pct == pytest.approx(25.0) and len(fig.points) == 12
    assert dash.period_label(date(2026, 10, 1), "month", "fr") == "octobre 2026"
    assert dash.period_label(date(2026, 10, 5), "week", "en") == "week of 2026-10-05"
    spark = sparkline([1.0, None, 3.0, 2.0])
    assert (
        spark.path.startswith("M3.0,")
        and spark.path.count("M") == 2
        and (spark.low, spark.high) == (1.0, 3.0)
    )
    assert sparkline([None, None]).known == 0 and sparkline([5.0]).path == ""


def test_dashboard_on_each_backend(ctx: Context) -> None:
    populate(ctx, 40, 3)
    client = elected_browser(create_app(context=ctx))
    home = client.get("/")
    assert home.status_code == 200 and card_codes(home.text) == on_the_city()
    assert client.get("/kpis/lighting_energy").status_code == 200
    assert client.get("/communes/06088").status_code == 200
    assert client.get("/map").status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get("/kpis/lighting_energy.csv?level=commune").text)))
    api = client.get("/api/v1/kpis/lighting_energy?level=commune").json()["rows"]
    assert [(x["area"], x["period"]) for x in rows] == [(a["area"], a["period"]) for a in api] and rows


def test_the_change_reads_with_arrow_percentage_and_words() -> None:
    from functools import partial

    from territoria import i18n
    from territoria.web.render import templates

    macros = templates.env.get_template("_dashboard.html").module
    kpi = SHIPPED["no2_mean"]
    points = [dash.Point(date(2026, 9, 1), 20.0), dash.Point(date(2026, 10, 1), 25.0)]
    fig = dash.figure_of(kpi, points)
    for lang, figure, words, month in (
        ("fr", "+25,0 %", "en dégradation", "septembre 2026"),
        ("en", "+25.0 %", "worsening", "September 2026"),
    ):

        def translate(key: str, lang: str = lang, **values: object) -> str:
            return i18n.t(key, lang, **values)

        def label(prefix: str, value: str, lang: str = lang) -> str:
            return i18n.label(prefix, value, lang)

        num = partial(lambda value, decimals=None, lang="fr": i18n.number(value, lang, decimals), lang=lang)
        html = str(macros.change(fig, num, translate, label, dash.period_label, lang))  # type: ignore[attr-defined]
        assert "kpi-change--worse" in html and "↗" in html
        assert figure in html and words in html and month in html


def test_home_cards_name_a_complete_month_with_a_full_12_month_trend(site: Site) -> None:
    html = site.elected.get("/").text
    card = html.split('data-kpi="electricity_per_inhabitant"')[1].split("</li>")[0]
    # The data covers last month from its first day to its last: it is complete, and named.
    assert f'data-state="complete">{dash.period_label(last_month(), "month", "fr")}</p>' in card
    assert "mois partiel" not in card
    assert 'aria-label="Tendance sur 12 mois' in card
    english = site.elected.get("/", cookies={"lang": "en"}).text
    card = english.split('data-kpi="electricity_per_inhabitant"')[1].split("</li>")[0]
    assert dash.period_label(last_month(), "month", "en") in card and "12-month trend" in card


def test_kpi_page_has_13_complete_months_and_draws_the_running_one_as_partial(site: Site) -> None:
    html = site.elected.get("/kpis/electricity_per_inhabitant").text
    chart = json_block(html, "chart-time-data")
    assert isinstance(chart, dict)
    values, partial = chart["values"], chart["partial"]
    complete = [v for v, p in zip(values, partial, strict=True) if v is not None and not p]
    assert len(complete) == 13  # 13 whole months of history, each covered by the data
    assert partial[-1] is True and values[-1] is not None  # the running month: drawn dashed
    assert chart["partialLabel"] == "Période partielle"
    current = dash.period_label(period_start(date.today(), "month"), "month", "fr")
    assert f"{current} (partiel)" in html  # and named so in the values table
    assert "Une période est complète quand elle est terminée" in html
    # Per inhabitant and per month: the order of magnitude of French consumption (docs/demo-calibration.md).
    assert all(150 <= v <= 900 for v in complete)
    english = site.elected.get("/kpis/electricity_per_inhabitant", cookies={"lang": "en"}).text
    assert (
        "(partial)" in english and json_block(english, "chart-time-data")["partialLabel"] == "Partial period"
    )
