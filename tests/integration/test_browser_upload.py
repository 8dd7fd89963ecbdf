"""Data work in a real browser: a steward creates a dataset with the form, then uploads a CSV to it and
to the water meters with the progress-bar script, and sees the batch result with its links.

Debian's chromium driven by Playwright against `territoria serve` on a SQLite file holding the simulated
city (no history: the pages under test write their own data). Screenshots in French, in English and on
a 390 px phone go to test-artifacts/screenshots/data-work/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.integration.test_browser import (
    ARGS,
    CHROMIUM,
    free_port,
    launch_server,
    migrate,
    new_context,
    wait_ready,
    watch,
)

from territoria.context import Context
from territoria.settings import Settings
from territoria.simulate.city import build_city
from territoria.simulate.demo_people import DEMO_PASSWORD, install_people
from territoria.simulate.service import install_city

pytestmark = pytest.mark.integration
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "data-work"
STEWARD = "exploitation@eau-azur.demo"  # the water operator's data steward


METERS = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": f"EAU-TEST-{i}",
                "geometry": {"type": "Point", "coordinates": [7.26 + i * 0.01, 43.70]},
                "properties": {"name": f"Secteur {i}", "kind": "water_meter"},
            }
            for i in range(3)
        ],
    }
).encode()


def populate(url: str) -> None:
    """The simulated city's organisations, datasets and assets, and the demo's people."""
    ctx = Context(Settings(database_url=url, demo=True))
    install_city(ctx, build_city(60, 6))
    install_people(ctx)
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/browsers.sh (scripts/test.sh does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('upload')}/t.db"
    migrate(url)
    port = free_port()
    proc = launch_server(url, port)
    try:
        populate(url)
        wait_ready(proc, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()
    finally:
        manager.stop()


def steward_page(browser: Browser, base: str, lang: str, width: int = 1280) -> Page:
    """A page logged in as the water operator's steward, in a language, at a width."""
    context = new_context(browser, base, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"/login?lang={lang}")
    page.fill("input[name=email]", STEWARD)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page


def readings(slug_metric: str, rows: int, bad: int) -> bytes:
    """A CSV of measurements (`bad` of them not numbers), the way a French spreadsheet exports it."""
    start = (datetime.now(UTC) - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    lines = ["asset;metric;ts;value"]
    for i in range(rows + bad):
        value = "erreur" if i >= rows else f"{120 + i}.5"
        lines.append(f"EAU-TEST-{i % 3};{slug_metric};{(start + timedelta(hours=i % 5)).isoformat()};{value}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def counts(page: Page) -> list[str]:
    """Received, accepted, rejected as shown."""
    return [re.sub(r"\D", "", t) for t in page.locator(".counts dd").all_inner_texts()][:3]


@pytest.mark.parametrize(("lang", "width"), [("fr", 1280), ("en", 1280), ("fr", 390)])
def test_create_a_dataset_then_upload_a_csv(server: str, browser: Browser, lang: str, width: int) -> None:
    page = steward_page(browser, server, lang, width)
    errors = watch(page)
    tag = f"{lang}-{width}"
    slug = f"compteurs-{lang}-{width}"

    # The home page offers the creation form to a steward.
    page.goto("/")
    page.click("a[href='/datasets/new']")
    expect(page.locator("h1")).to_have_text("Créer un jeu de données" if lang == "fr" else "Create a dataset")
    # A first try with a bad identifier and no metric: the reasons stand next to the fields.
    page.fill("#ds-title", "Sectorisation réseau")
    page.fill("#ds-slug", "Mauvais Identifiant")
    page.fill("#ds-domain", "water")
    with page.expect_navigation():
        page.click("form.dataset-form button[type=submit]")
    expect(page.locator("#err-slug")).to_be_visible()
    expect(page.locator("#err-metrics")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"new-errors-{tag}.png"), full_page=True)
    page.fill("#ds-slug", slug)
    page.fill("#ds-description", "Débits des compteurs de sectorisation.")
    page.locator("input[name=metric_name]").first.fill("flow")
    page.locator("input[name=metric_unit]").first.fill("L/h")
    with page.expect_navigation():
        page.click("form.dataset-form button[type=submit]")
    assert page.url.endswith(f"/datasets/{slug}?created=1"), page.url
    expect(page.locator("p[role=status]").first).to_contain_text(slug)

    # From the dataset page, the upload page: first the meters (GeoJSON), then their readings (CSV).
    page.click(f"a[href='/datasets/{slug}/upload']")
    page.screenshot(path=str(SHOTS / f"upload-form-{tag}.png"), full_page=True)
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "compteurs.geojson", "mimeType": "application/geo+json", "buffer": METERS}],
    )
    page.click("form[data-upload-form] button[type=submit]")
    expect(page.locator("[data-upload-result]")).to_be_visible(timeout=30_000)
    assert counts(page) == ["3", "3", "0"]
    page.screenshot(path=str(SHOTS / f"upload-assets-{tag}.png"), full_page=True)
    # A CSV with two bad rows goes with the progress bar (the form shown after a result works too).
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "releves.csv",
                "mimeType": "text/csv",
                "buffer": readings("flow", 8, 2),
            }
        ],
    )
    page.click("form[data-upload-form] button[type=submit]")
    result = page.locator("[data-upload-result]")
    expect(page.locator(".counts dd").first).to_have_text("10", timeout=30_000)
    assert counts(page) == ["10", "8", "2"]
    assert page.url.endswith(f"/datasets/{slug}/upload")  # the script showed the answer in place
    page.screenshot(path=str(SHOTS / f"upload-result-{tag}.png"), full_page=True)
    text = result.inner_text()
    assert "TYPE" not in text and "row" not in text.split("\n")[0]
    assert ("ligne 9" if lang == "fr" else "row 9") in text  # the first bad row, in the reader's words

    # The links lead to this batch's rejected rows and to its report.
    with page.expect_navigation():
        page.click("a[href*='/quarantine?batch=']")
    assert "/quarantine?batch=" in page.url
    assert page.locator("tbody tr").count() >= 2
    page.go_back()
    expect(page.locator("h1")).to_be_visible()

    # Another file after the result, refused with a reason: the form stays usable.
    page.goto(f"/datasets/{slug}/upload")
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "tableur.xlsx",
                "mimeType": "application/octet-stream",
                "buffer": b"PK\x03\x04",
            }
        ],
    )
    page.click("form[data-upload-form] button[type=submit]")
    expect(page.locator("[data-upload-error]")).to_be_visible(timeout=15_000)
    page.screenshot(path=str(SHOTS / f"upload-refused-{tag}.png"), full_page=True)
    assert ".csv" in page.locator("[data-upload-error]").inner_text()
    # The refused form and file answer 422 and 415 on purpose (the browser logs them): nothing else.
    assert [e for e in errors if "status of 4" not in e] == [], errors
    page.context.close()


def test_the_upload_works_without_javascript(server: str, browser: Browser) -> None:
    context = browser.new_context(base_url=server, locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", STEWARD)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    page.goto("/datasets/water-meters/upload")
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "compteurs.geojson", "mimeType": "application/geo+json", "buffer": METERS}],
    )
    with page.expect_navigation():
        page.click("form[data-upload-form] button[type=submit]")
    assert counts(page) == ["3", "3", "0"]
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "eau.csv",
                "mimeType": "text/csv",
                "buffer": readings("flow", 4, 1),
            }
        ],
    )
    with page.expect_navigation():
        page.click("form[data-upload-form] button[type=submit]")
    assert counts(page) == ["5", "4", "1"]
    context.close()
