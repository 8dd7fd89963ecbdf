"""Correct and resubmit a quarantined CSV row through its form, in a real browser (Debian's chromium).

A small world (the street-light dataset of tests/conftest.py) gets a CSV file imported as the demo does,
with values out of range; a producer of the operator logs in through the real login form, opens a
rejected row's form, sends a correction that is still wrong (the reason is shown beside the field),
then the natural fix ("99" for "9999"): the row is stored and leaves quarantine. Screenshots in French,
in English and on a 390 px phone go to /tmp/shots-q15b/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import func, select
from tests.conftest import build_world
from tests.integration.test_browser import ARGS, CHROMIUM, free_port, launch_server, wait_ready, watch

from territoria.access.users import create_user, set_membership
from territoria.catalog.service import get_organisation
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.ingest.files import import_file
from territoria.ingest.models import QuarantinedRow
from territoria.settings import Settings
from territoria.timeseries.models import measurement

pytestmark = pytest.mark.integration
SHOTS = Path("/tmp/shots-q15b")
EMAIL = "producteur@lightco.example.org"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a test password
TS = "2026-11-01T00:00:00Z"


@dataclass
class Site:
    """The running server, its database and the browser."""

    base: str
    url: str
    browser: Browser


def prepare(url: str, folder: Path) -> None:
    """The small world, a producer account, and a CSV file imported with two rows out of range."""
    ctx = Context(Settings(database_url=url, demo=True))
    upgrade(ctx.engine)
    build_world(ctx)
    with ctx.session(write=True) as s:
        user = create_user(s, EMAIL, password=PASSWORD)
        set_membership(s, user, get_organisation(s, "lightco"), "producer", actor="test")
    path = folder / "puissance.csv"
    lines = ["asset;metric;ts;value", f"L001;power;{TS};9999", f"L002;power;{TS};12,5", f"L003;power;{TS};-4"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(ctx, path, "lights")
    assert (report.received, report.rejected) == (3, 2)
    ctx.engine.dispose()


def counts(url: str) -> tuple[int, int]:
    """Stored measurements and open quarantined rows."""
    ctx = Context(Settings(database_url=url, demo=True))
    with ctx.session() as s:
        stored = int(s.scalar(select(func.count()).select_from(measurement)) or 0)
        still = select(func.count()).select_from(QuarantinedRow).where(QuarantinedRow.status == "open")
        open_rows = int(s.scalar(still) or 0)
    ctx.engine.dispose()
    return stored, open_rows


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/browsers.sh (scripts/test.sh does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    folder = tmp_path_factory.mktemp("quarantine")
    url = f"sqlite:///{folder}/t.db"
    prepare(url, folder)
    port = free_port()
    server = launch_server(url, port)
    try:
        wait_ready(server, port)
    except BaseException:
        server.kill()
        raise
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield Site(f"http://127.0.0.1:{port}", url, browser)
        browser.close()
    finally:
        manager.stop()
        server.terminate()
        server.wait(timeout=10)


def _login(site: Site, locale: str, width: int = 1280, height: int = 900) -> tuple[BrowserContext, Page]:
    """A logged-in browser context in `locale` and its first page."""
    context = site.browser.new_context(
        base_url=site.base, locale=locale, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return context, page


def test_correct_a_csv_row_through_its_form(site: Site) -> None:
    context, page = _login(site, "fr-FR")
    errors = watch(page)
    stored, open_rows = counts(site.url)
    assert open_rows == 2
    page.goto("/datasets/lights/quarantine?lang=fr")
    page.screenshot(path=str(SHOTS / "quarantine-list-fr.png"), full_page=True)
    page.click("a:has-text('Corriger et renvoyer') >> nth=0")
    page.wait_for_selector("form.correction-form")
    value = page.locator("input[name='cell:value']")
    assert value.input_value() == "9999"
    assert value.get_attribute("aria-invalid") == "true"
    assert page.locator(".field--invalid .field-error").count() == 1
    assert "Nombre" in page.locator(".field--invalid .hint").inner_text()
    page.screenshot(path=str(SHOTS / "correction-fr.png"), full_page=True)
    # Still wrong: the reason is shown, the row stays in quarantine.
    value.fill("beaucoup")
    with page.expect_navigation():
        page.click("form.correction-form button[type=submit]")
    alert = page.locator("[role=alert]").inner_text()
    assert "refusée" in alert and "Valeur :" in alert
    assert page.locator(".field--invalid .field-error").count() == 1
    assert page.locator("input[name='cell:value']").input_value() == "beaucoup"
    page.screenshot(path=str(SHOTS / "correction-refused-fr.png"), full_page=True)
    assert counts(site.url) == (stored, 2)
    # The natural fix of a CSV cell: "99" in a number column is stored and leaves quarantine.
    page.fill("input[name='cell:value']", "99")
    with page.expect_navigation():
        page.click("form.correction-form button[type=submit]")
    assert "/datasets/lights/quarantine" in page.url
    assert "renvoyée" in page.locator("[role=status].notice").inner_text()
    page.screenshot(path=str(SHOTS / "quarantine-after-fr.png"), full_page=True)
    assert counts(site.url) == (stored + 1, 1)
    assert errors == [], errors
    context.close()


def test_the_form_in_english_and_on_a_phone(site: Site) -> None:
    context, page = _login(site, "en-GB")
    page.goto("/datasets/lights/quarantine?lang=en")
    page.click("a:has-text('Correct and resubmit') >> nth=0")
    page.wait_for_selector("form.correction-form")
    assert "came from a CSV file" in page.content()
    page.screenshot(path=str(SHOTS / "correction-en.png"), full_page=True)
    form_url = page.url
    context.close()
    context, page = _login(site, "fr-FR", width=390, height=844)
    page.goto(form_url.replace("lang=en", "") + "?lang=fr")
    page.wait_for_selector("form.correction-form")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(SHOTS / "correction-phone-fr.png"), full_page=True)
    context.close()
