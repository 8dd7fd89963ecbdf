"""The dashboard in a real browser: Debian's chromium driven by Playwright against a real uvicorn server.

The server runs `territoria serve` on a SQLite file filled by the simulator (a small city, 40 days);
the browser logs in through the real login form as the demo's steering-committee account. Screenshots
go to test-artifacts/screenshots/. Needs /usr/bin/chromium (scripts/browsers.sh installs it).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from rich.console import Console
from sqlalchemy import select

from territoria.catalog.models import Asset
from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.domains.ev.demo import install_ev
from territoria.opendata.policies import set_policy
from territoria.opendata.service import publish
from territoria.quality.scores import refresh_scores
from territoria.settings import Settings
from territoria.simulate.city import build_city
from territoria.simulate.demo_people import DEMO_PASSWORD, install_people
from territoria.simulate.service import install_city, load_history
from territoria.territory.models import Area

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
EMAIL = "elus@metropole.demo"
DAYS = 40
# Map tiles come from the internet, which the test machines cannot reach: the browser gets a blank tile.
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@dataclass
class Site:
    """The running server, the browser, and a logged-in browser context."""

    base: str
    browser: Browser
    context: BrowserContext
    empty_commune: list[str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def migrate(url: str) -> None:
    """An empty schema, for the server to start on."""
    ctx = Context(Settings(database_url=url, demo=True))
    upgrade(ctx.engine)
    ctx.engine.dispose()


def populate(url: str) -> list[str]:
    """The simulated city with its history, demo people and quality scores; communes without assets."""
    ctx = Context(Settings(database_url=url, demo=True))
    city = build_city(150, 6)
    install_city(ctx, city)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    load_history(ctx, city, end - timedelta(days=DAYS), end, seed=6)
    install_people(ctx)
    install_ev(ctx, city, 2, Console(quiet=True))
    with ctx.session(write=True) as s:
        refresh_scores(s, days=3)
    release_open_data(ctx)
    with ctx.session() as s:
        used = set(s.scalars(select(Asset.area_code).where(Asset.area_code.is_not(None))))
        codes = s.scalars(select(Area.code).where(Area.level == "commune").order_by(Area.code))
        empty = [c for c in codes if c not in used]
    ctx.engine.dispose()
    return empty


def release_open_data(ctx: Context) -> None:
    """Electricity under the French energy rules and air quality per station, as the demo does."""
    for slug, policy in (
        ("electricity-meters", {"preset": "fr-energy-by-commune"}),
        ("air-quality", {"preset": "open-measurements", "delay_days": 0}),
    ):
        with ctx.session(write=True) as s:
            ds = get_dataset(s, slug)
            set_policy(s, ds, policy, None)
            assert publish(s, ctx.settings, ds, None).published


def launch_server(url: str, port: int) -> subprocess.Popen[bytes]:
    """`territoria serve` on the database (not waiting for it)."""
    env = {
        **os.environ,
        "TERRITORIA_DATABASE_URL": url,
        "TERRITORIA_SECRET_KEY": "browser-test-" + "k" * 40,
        "TERRITORIA_QUALITY_INTERVAL_S": "0",
        "TERRITORIA_RETENTION_INTERVAL_S": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "territoria.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc


def wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    """Until the server answers its health check."""
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))


def new_context(browser: Browser, base: str, **options: Any) -> BrowserContext:
    """A browser context on the server, French first, with blank map tiles."""
    context = browser.new_context(base_url=base, locale="fr-FR", accept_downloads=True, **options)
    context.route(
        "https://tile.openstreetmap.org/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_PNG),
    )
    return context


def login(context: BrowserContext) -> None:
    """Log in through the real form."""
    page = context.new_page()
    errors = watch(page)
    page.goto("/login")
    page.screenshot(path=str(SHOTS / "login.png"), full_page=True)
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert EMAIL in page.content()
    assert errors == [], errors
    page.close()


def watch(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of a page, as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"exception: {e}"))
    return errors


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/browsers.sh (scripts/test.sh does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('browser')}/t.db"
    migrate(url)
    port = free_port()
    # The server imports its modules while the simulator fills the database: both take seconds.
    server = launch_server(url, port)
    try:
        empty = populate(url)
        wait_ready(server, port)
    except BaseException:
        server.kill()
        raise
    base = f"http://127.0.0.1:{port}"
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = new_context(browser, base, viewport={"width": 1280, "height": 900})
        login(context)
        yield Site(base, browser, context, empty)
        context.close()
        browser.close()
    finally:
        manager.stop()
        server.terminate()
        server.wait(timeout=10)


def visit(
    site: Site, path: str, shot: str, *, context: BrowserContext | None = None
) -> tuple[Page, list[str]]:
    """Open a page, wait until the network is quiet, save a screenshot; returns the page and its errors."""
    page = (context or site.context).new_page()
    errors = watch(page)
    response = page.goto(path, wait_until="networkidle")
    assert response is not None and response.status == 200, (path, response and response.status)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
    return page, errors


PAGES = [
    ("/", "home"),
    ("/kpis/no2_mean", "kpi-no2"),
    ("/kpis/lighting_energy", "kpi-lighting"),
    ("/kpis/water_consumption?period=week", "kpi-water-week"),
    ("/kpis/daily_traffic?period=year", "kpi-traffic-year"),
    ("/communes/06088", "commune-nice"),
    ("/datasets/street-lights", "dataset-street-lights"),
    ("/quality", "quality"),
    ("/agreements", "agreements"),
]


def test_every_page_loads_without_console_errors(site: Site) -> None:
    failures = {}
    for path, shot in PAGES:
        page, errors = visit(site, path, shot)
        page.wait_for_timeout(150)  # late script errors
        if errors:
            failures[path] = errors
        page.close()
    assert failures == {}


def test_the_map_colours_the_163_communes_and_opens_a_commune(site: Site) -> None:
    page, errors = visit(site, "/map?kpi=daily_traffic", "map")
    paths = page.locator(".leaflet-communes-pane path.commune-area")
    page.wait_for_function("() => document.querySelectorAll('path.commune-area').length === 163")
    assert paths.count() == 163
    fills = page.eval_on_selector_all("path.commune-area", "ps => ps.map(p => p.getAttribute('fill'))")
    coloured = [f for f in fills if f and f.startswith("#")]
    assert coloured and len(set(coloured)) > 1 and "url(#no-data-hatch)" in fills
    legend = page.locator("[data-choropleth-legend] li")
    assert legend.count() >= 3 and "Pas de données" in legend.last.inner_text()
    assert "commune(s) avec une valeur" in page.inner_text("[data-choropleth-month]")
    # Another KPI restyles the communes and the legend without reloading the page.
    page.select_option("[data-choropleth-select]", "no2_mean")
    assert "kpi=no2_mean" in page.url
    assert page.get_attribute("[data-choropleth-table]", "href") == "/kpis/no2_mean#communes"
    after = page.eval_on_selector_all("path.commune-area", "ps => ps.map(p => p.getAttribute('fill'))")
    assert after != fills
    # A click inside a commune without any asset (no marker on top) opens the commune's page.
    point = page.evaluate(INSIDE_POINT, site.empty_commune)
    assert point is not None
    with page.expect_navigation():
        page.mouse.click(point["x"], point["y"])
    assert page.url.endswith(f"/communes/{point['code']}")
    assert errors == [], errors
    page.close()


# A point well inside one of the given communes' paths, in page coordinates.
INSIDE_POINT = """codes => {
  for (const code of codes) {
    const path = document.querySelector(`path[data-commune="${code}"]`);
    if (!path) continue;
    const box = path.getBBox(), ctm = path.getScreenCTM();
    if (box.width < 12 || box.height < 12) continue;
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    let best = null;
    for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
      const x = box.x + box.width * i / 12, y = box.y + box.height * j / 12;
      const ok = [[0, 0], [6, 0], [-6, 0], [0, 6], [0, -6]].every(
        ([dx, dy]) => path.isPointInFill(new DOMPoint(x + dx, y + dy)));
      const d = (x - cx) ** 2 + (y - cy) ** 2;
      if (ok && (!best || d < best.d)) best = {x, y, d};
    }
    if (!best) continue;
    const p = new DOMPoint(best.x, best.y).matrixTransform(ctm);
    const hit = document.elementFromPoint(p.x, p.y);
    if (!hit || !document.getElementById('map').contains(hit)) continue;
    return {x: p.x, y: p.y, code};
  }
  return null;
}"""


def test_kpi_charts_render_with_data_and_download(site: Site) -> None:
    page, errors = visit(site, "/kpis/no2_mean", "kpi-no2-charts")
    page.wait_for_function(
        "() => typeof echarts !== 'undefined' && echarts.getInstanceByDom(document.getElementById('chart-time'))"
    )
    series = page.evaluate(
        """() => ['chart-time', 'chart-communes'].map(id => {
            const option = echarts.getInstanceByDom(document.getElementById(id)).getOption();
            return option.series[0].data.map(d => (d !== null && typeof d === 'object') ? d.value : d);
        })"""
    )
    time_values, bar_values = series
    assert len(time_values) == 25 and any(v is not None for v in time_values)
    assert bar_values and all(v is not None for v in bar_values)
    # The canvas is not blank: some pixels differ from the first one.
    assert page.evaluate(
        """() => {
            const canvas = document.querySelector('#chart-time canvas');
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 4; i < data.length; i += 4) if (data[i] !== data[0] || data[i + 1] !== data[1]) return true;
            return false;
        }"""
    )
    # The statistics block shows the API's summaries, the weekly profile as a heatmap.
    page.wait_for_selector("[data-stats-body] h3")
    stats = page.inner_text("[data-stats-body]")
    assert "Tendance" in stats and "Valeurs inhabituelles" in stats
    page.wait_for_function("() => echarts.getInstanceByDom(document.getElementById('chart-profile'))")
    # The correlation picker asks the API and shows its summary.
    page.select_option("#corr-with", "pm10_mean")
    page.click("[data-correlation-form] button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('[data-correlation-result]').textContent.includes('n = ')"
    )
    assert page.is_visible("[data-png='chart-time']")
    with page.expect_download() as png:
        page.click("[data-png='chart-time']")
    assert png.value.suggested_filename == "no2_mean-territory-month.png"
    image = Path(png.value.path()).read_bytes()
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    # The report figure is drawn off screen at 1,200 px (× 2) with its caption, whatever the window.
    assert int.from_bytes(image[16:20], "big") == 2400 and int.from_bytes(image[20:24], "big") >= 1120
    with page.expect_download() as csv:
        page.click("#time-title ~ figure a[download], a[href^='/kpis/no2_mean.csv?level=territory']")
    text = Path(csv.value.path()).read_bytes().decode("utf-8")
    assert text.startswith("\ufeffkpi,area,name,period,value,unit,contributors")
    assert "no2_mean,territory," in text
    assert errors == [], errors
    page.close()


def test_language_switch_changes_the_texts(site: Site) -> None:
    page, errors = visit(site, "/", "home-fr")
    assert page.inner_text("#kpis-title") == "Indicateurs du territoire"
    with page.expect_navigation():
        page.click(".lang-switch a[hreflang=en]")
    assert page.inner_text("#kpis-title") == "Territory indicators"
    assert page.get_attribute("html", "lang") == "en"
    page.screenshot(path=str(SHOTS / "home-en.png"), full_page=True)
    page.goto("/kpis/no2_mean")  # the choice is remembered
    assert "Download CSV" in page.content()
    with page.expect_navigation():
        page.click(".lang-switch a[hreflang=fr]")
    assert "Télécharger le CSV" in page.content()
    assert errors == [], errors
    page.close()


def test_pages_fit_a_phone_screen(site: Site) -> None:
    phone = new_context(
        site.browser, site.base, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    login(phone)
    for path, shot in (
        ("/", "phone-home"),
        ("/kpis/no2_mean", "phone-kpi"),
        ("/communes/06088", "phone-commune"),
    ):
        page, errors = visit(site, path, shot, context=phone)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        assert errors == [], (path, errors)
        page.close()
    phone.close()


def test_open_data_portal_for_an_anonymous_visitor(site: Site) -> None:
    anonymous = new_context(site.browser, site.base, viewport={"width": 1280, "height": 900})
    page, errors = visit(site, "/opendata", "opendata", context=anonymous)
    assert "electricity-meters" in page.content() and "air-quality" in page.content()
    page.close()
    page, errors = visit(site, "/opendata/electricity-meters", "opendata-electricity", context=anonymous)
    page.wait_for_function("() => document.querySelectorAll('#od-map path').length > 0")
    page.wait_for_function("() => document.querySelector('#od-chart canvas') !== null")
    assert "MIN_CONTRIBUTORS" in page.content() or "contributeurs" in page.content()
    assert page.locator("a[href*='/exports/csv']").count() >= 1
    assert errors == [], errors
    page.close()
    page, errors = visit(site, "/opendata/air-quality", "opendata-air-quality", context=anonymous)
    # Stations are drawn on a canvas (many points): the canvas and the legend show they are there.
    page.wait_for_function("() => document.querySelector('#od-map canvas') !== null")
    with page.expect_download() as download:
        page.click("a[href$='/exports/csv']")
    assert download.value.suggested_filename.startswith("air-quality-v1")
    assert errors == [], errors
    page.close()
    anonymous.close()


def test_ev_observatory_map_charts_and_station_timeline(site: Site) -> None:
    # The steering committee reads the private status feed under the concession contract.
    page, errors = visit(site, "/ev?lang=en", "ev")
    # stations are drawn on a canvas (preferCanvas); the legend follows the colour chosen
    page.wait_for_function("() => document.querySelector('#ev-map canvas') !== null")
    page.wait_for_function("() => document.querySelector('#ev-chart-growth canvas') !== null")
    page.wait_for_function("() => document.querySelector('#ev-chart-days canvas') !== null")
    legend = page.locator("[data-ev-class-legend] li")
    assert "Available" in legend.first.inner_text()
    page.select_option("select[name=colour]", "cls")
    assert "kW" in legend.first.inner_text() or "Unknown" in legend.first.inner_text()
    href = page.evaluate(
        "() => JSON.parse(document.getElementById('ev-config').textContent).map.stations[0].href"
    )
    assert errors == [], errors
    page.close()
    page, errors = visit(site, href + "?lang=fr", "ev-station")
    page.wait_for_function("() => document.querySelector('#ev-timeline canvas') !== null")
    assert "Historique des points de la station" in page.content()
    assert errors == [], errors
    page.close()


def test_ev_observatory_keeps_the_private_status_from_anonymous_visitors(site: Site) -> None:
    anonymous = new_context(site.browser, site.base, viewport={"width": 1280, "height": 900})
    page, errors = visit(site, "/ev?lang=en", "ev-anonymous", context=anonymous)
    page.wait_for_function("() => document.querySelector('#ev-map canvas') !== null")
    page.wait_for_function("() => document.querySelector('#ev-chart-growth canvas') !== null")
    assert "Charge point status is private data of" in page.content()
    assert page.locator("#ev-chart-days canvas").count() == 0
    href = page.evaluate(
        "() => JSON.parse(document.getElementById('ev-config').textContent).map.stations[0].href"
    )
    assert errors == [], errors
    page.close()
    page, errors = visit(site, href + "?lang=fr", "ev-station-anonymous", context=anonymous)
    assert page.locator("#ev-timeline canvas").count() == 0
    assert errors == [], errors
    page.close()
    anonymous.close()
