"""The maps without internet: every request outside the server is aborted, and the maps still draw the
territory's commune outlines (beneath the assets, the KPI choropleth and the EV stations), a readable
layer list and legend, on a desktop and on a 390 px phone, in French and in English.

The server runs with the Plan IGN background (TERRITORIA_MAP_BASE=plan-ign): its tiles are refused
like any outside request. Screenshots go to test-artifacts/screenshots/maps-offline-*.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from tests.integration.test_browser import (
    ARGS,
    CHROMIUM,
    EMAIL,
    SHOTS,
    free_port,
    migrate,
    populate,
    wait_ready,
)

from territoria.simulate.demo_people import DEMO_PASSWORD

pytestmark = pytest.mark.integration
COMMUNES = 163


@dataclass
class Offline:
    """The running server and a browser whose requests outside it are aborted."""

    base: str
    browser: Browser
    outside: list[str]  # the outside URLs the pages asked for (and did not get)


def launch(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TERRITORIA_DATABASE_URL": url,
        "TERRITORIA_SECRET_KEY": "maps-offline-" + "k" * 40,
        "TERRITORIA_QUALITY_INTERVAL_S": "0",
        "TERRITORIA_RETENTION_INTERVAL_S": "0",
        "TERRITORIA_MAP_BASE": "plan-ign",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "territoria.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/browsers.sh (scripts/test.sh does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('maps')}/t.db"
    migrate(url)
    port = free_port()
    server = launch(url, port)
    try:
        populate(url)
        wait_ready(server, port)
    except BaseException:
        server.kill()
        raise
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield Offline(f"http://127.0.0.1:{port}", browser, [])
        browser.close()
    finally:
        manager.stop()
        server.terminate()
        server.wait(timeout=10)


def context(site: Offline, *, lang: str = "fr", width: int = 1280, height: int = 900) -> BrowserContext:
    """A logged-in browser context that cannot reach anything but the server."""
    ctx = site.browser.new_context(
        base_url=site.base,
        locale="fr-FR" if lang == "fr" else "en-GB",
        viewport={"width": width, "height": height},
    )

    def block(route: Route) -> None:
        site.outside.append(route.request.url)
        route.abort()

    ctx.route(lambda url: not url.startswith(site.base), block)
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    page.close()
    return ctx


def script_errors(page: Page) -> list[str]:
    """Uncaught exceptions and console errors, but the refused outside requests (tiles)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"exception: {e}"))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None
        ),
    )
    return errors


def open_page(ctx: BrowserContext, path: str) -> tuple[Page, list[str]]:
    page = ctx.new_page()
    errors = script_errors(page)
    response = page.goto(path, wait_until="load")
    assert response is not None and response.status == 200, path
    return page, errors


def shot(page: Page, name: str) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"maps-offline-{name}.png"))


def legend_ranges(texts: list[str]) -> list[tuple[str, str]]:
    """The (low, high) bounds written in legend lines such as "0,01 – 0,02 MWh"."""
    out = []
    for text in texts:
        found = re.search(r"([-\d\s\u202f\u00a0.,]+)\s–\s([-\d\s\u202f\u00a0.,]+)", text)
        if found:
            out.append((found.group(1).strip(), found.group(2).strip()))
    return out


def inside_viewport(page: Page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"] + 0.5
        and (box["y"] + box["height"] <= size["height"] + 0.5)
    )


def test_the_asset_map_draws_the_communes_and_one_clustered_layer_offline(offline: Offline) -> None:
    ctx = context(offline)
    page, errors = open_page(ctx, "/map?kpi=lighting_energy")
    page.wait_for_function(f"() => document.querySelectorAll('path.commune-area').length === {COMMUNES}")
    page.wait_for_function("() => document.querySelector('[data-map-status]').hidden")
    # The background is the configured Plan IGN: asked for, refused, credited in the corner.
    assert any("data.geopf.fr" in u and "PLANIGNV2" in u for u in offline.outside)
    assert "IGN" in page.inner_text(".leaflet-control-attribution")
    # One layer on at first, drawn as clusters or points of its own colour; the others are off.
    boxes = page.locator("[data-map-layer]")
    assert boxes.count() >= 2
    checked = page.eval_on_selector_all("[data-map-layer]", "bs => bs.map(b => b.checked)")
    assert checked[0] and not any(checked[1:])
    page.wait_for_function(
        "() => document.querySelectorAll('.asset-cluster').length + "
        "document.querySelectorAll('.leaflet-overlay-pane canvas').length > 0"
    )
    # Each layer has its own colour.
    swatches = page.eval_on_selector_all(
        ".map-layers svg.swatch circle", "cs => cs.map(c => c.getAttribute('fill'))"
    )
    assert len(swatches) == boxes.count() and len(set(swatches)) == len(swatches)
    # Switching a second layer on fetches and draws it.
    second = page.get_attribute("[data-map-layer] >> nth=1", "data-map-layer")
    with page.expect_response(lambda r: f"/datasets/{second}/assets.geojson" in r.url):
        boxes.nth(1).check()
    # The KPI legend's classes have distinct bounds, and the legend fits in the window.
    items = page.locator("[data-choropleth-legend] li").all_inner_texts()
    ranges = legend_ranges(items)
    assert ranges and all(low != high for low, high in ranges), items
    assert inside_viewport(page, "details.legend") and inside_viewport(page, "details.legend--layers")
    shot(page, "map-fr")
    assert errors == [], errors
    page.close()
    # No KPI: the communes are still drawn, as outlines.
    page, errors = open_page(ctx, "/map?lang=en")
    page.wait_for_function(f"() => document.querySelectorAll('path.commune-area').length === {COMMUNES}")
    page.select_option("[data-choropleth-select]", "")
    fills = page.eval_on_selector_all("path.commune-area", "ps => ps.map(p => p.getAttribute('stroke'))")
    assert all(fills)
    assert "Networks shown" in page.inner_text("details.legend--layers")
    shot(page, "map-en")
    assert errors == [], errors
    page.close()
    ctx.close()


def test_the_map_and_its_legend_fit_a_phone_offline(offline: Offline) -> None:
    ctx = context(offline, width=390, height=844)
    page, errors = open_page(ctx, "/map?kpi=daily_traffic")
    page.wait_for_function(f"() => document.querySelectorAll('path.commune-area').length === {COMMUNES}")
    assert page.evaluate("() => [...document.querySelectorAll('details.legend')].map(d => d.open)") == [
        False,
        False,
    ]
    shot(page, "map-phone-folded")
    page.click("details.legend--layers summary")
    assert inside_viewport(page, "details.legend--layers")
    shot(page, "map-phone-layers")
    page.click("details.legend--layers summary")
    page.click("details.legend summary >> nth=0")
    assert inside_viewport(page, "details.legend")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    shot(page, "map-phone-legend")
    assert errors == [], errors
    page.close()
    ctx.close()


def test_the_ev_maps_draw_the_communes_offline(offline: Offline) -> None:
    for lang in ("fr", "en"):
        ctx = context(offline, lang=lang)
        page, errors = open_page(ctx, f"/ev?lang={lang}")
        # The station map: outlines beneath the stations; the commune map: the communes coloured.
        page.wait_for_function(
            f"() => document.querySelectorAll('#ev-map path.commune-outline').length === {COMMUNES}"
        )
        page.wait_for_function(
            f"() => document.querySelectorAll('#ev-choro path.commune-area').length === {COMMUNES}"
        )
        page.wait_for_function("() => document.querySelector('#ev-map canvas') !== null")
        ranges = legend_ranges(page.locator("[data-ev-choro-legend] li").all_inner_texts())
        assert ranges and all(low != high for low, high in ranges)
        page.locator("#ev-map").scroll_into_view_if_needed()
        shot(page, f"ev-map-{lang}")
        page.locator("#ev-choro").scroll_into_view_if_needed()
        shot(page, f"ev-choro-{lang}")
        assert errors == [], errors
        page.close()
        ctx.close()
    ctx = context(offline, width=390, height=844)
    page, errors = open_page(ctx, "/ev")
    page.wait_for_function(
        f"() => document.querySelectorAll('#ev-map path.commune-outline').length === {COMMUNES}"
    )
    page.locator("#ev-map").scroll_into_view_if_needed()
    shot(page, "ev-phone")
    assert errors == [], errors
    page.close()
    ctx.close()
