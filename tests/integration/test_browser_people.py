"""People, invitations, tokens, agreements and the publication confirmation in a real browser.

A small world (two organisations, an admin, a dataset) served by `territoria serve`; Debian's chromium
driven by Playwright. Screenshots in French, in English and on a 390 px phone go to
test-artifacts/screenshots/people/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.integration.test_browser import (
    ARGS,
    CHROMIUM,
    SHOTS,
    free_port,
    launch_server,
    migrate,
    new_context,
    wait_ready,
    watch,
)

from territoria.access.users import create_user, set_membership
from territoria.catalog.schemas import DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, create_organisation, get_organisation
from territoria.context import Context
from territoria.opendata.policies import set_policy
from territoria.settings import Settings

pytestmark = pytest.mark.integration
ADMIN = "admin@ville.example"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a test password
HERE = SHOTS / "people"


@dataclass
class Site:
    """The running server and the browser."""

    base: str
    browser: Browser


def populate(url: str) -> None:
    """The city (an authority) with its admin and a street-lights dataset; a water operator."""
    ctx = Context(Settings(database_url=url))
    with ctx.session(write=True) as s:
        city = create_organisation(
            s, OrganisationCreate(slug="ville", name="Ville de Nice", kind="authority")
        )
        create_organisation(s, OrganisationCreate(slug="eau", name="Eau d'Azur", kind="operator"))
        user = create_user(s, ADMIN, password=PASSWORD, actor="test")
        set_membership(s, user, get_organisation(s, "ville"), "admin", actor="test")
        metrics = [
            MetricCreate(name="power", unit="W", description="Puissance appelée"),
            MetricCreate(name="energy", unit="kWh", description="Énergie consommée"),
            MetricCreate(name="on", unit="1", description="Allumé (1) ou éteint (0)"),
        ]
        body = DatasetCreate(
            slug="eclairage", title="Éclairage public", domain="lighting", kind="timeseries", metrics=metrics
        )
        ds = create_dataset(s, body, city)
        set_policy(s, ds, {"preset": "open-measurements", "delay_days": 0}, None)
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/browsers.sh (scripts/test.sh does)")
    HERE.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('people')}/t.db"
    migrate(url)
    port = free_port()
    server = launch_server(url, port)
    try:
        populate(url)
        wait_ready(server, port)
    except BaseException:
        server.kill()
        raise
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield Site(f"http://127.0.0.1:{port}", browser)
        browser.close()
    finally:
        manager.stop()
        server.terminate()
        server.wait(timeout=10)


def logged_in(site: Site, *, width: int = 1280, locale: str = "fr-FR") -> Page:
    """A new browser page, logged in as the city's admin through the form."""
    context = new_context(site.browser, site.base, viewport={"width": width, "height": 900})
    if locale != "fr-FR":
        context.set_extra_http_headers({"Accept-Language": locale})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page


def shot(page: Page, name: str) -> None:
    """A full-page screenshot of what the person sees."""
    page.screenshot(path=str(HERE / f"{name}.png"), full_page=True)


def test_an_admin_invites_a_person_then_creates_and_revokes_a_token(site: Site) -> None:
    page = logged_in(site)
    errors = watch(page)
    page.goto("/account")
    page.click("a[href='/organisations/ville/people']")
    expect(page.locator("h1")).to_contain_text("Personnes et invitations")
    # A wrong address: the reason stands next to the field, in French.
    page.fill("#invite-email", "pas-une-adresse")
    page.click("form[action='/organisations/ville/people'] button[type=submit]")
    expect(page.locator("#invite-email-error")).to_contain_text("adresse électronique valide")
    page.fill("#invite-email", "nina@ville.example")
    page.select_option("#invite-role", "analyst")
    page.click("form[action='/organisations/ville/people'] button[type=submit]")
    link = page.locator("#invite-url")
    expect(link).to_have_value(re.compile(r"^http://.+/"))
    copy = page.locator("button[data-copy='invite-url']")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_contain_text("Copié")
    shot(page, "people-invited-fr")
    page.goto("/organisations/ville/people")
    expect(page.locator("table")).to_contain_text("nina@ville.example")
    expect(page.locator("#invite-url")).to_have_count(0)  # shown once only
    shot(page, "people-fr")

    # A token: created with a scope, an expiry and a dataset; its secret shown once with a copy button.
    page.goto("/account/tokens")
    page.fill("#token-name", "Passerelle éclairage")
    page.check("input[name=scopes][value=ingest]")
    page.uncheck("input[name=scopes][value=read]")
    page.select_option("#token-ttl", "30")
    page.check("input[name=datasets][value=eclairage]")
    page.click("form[action='/account/tokens'] button[type=submit]")
    secret = page.locator("#token-secret").input_value()
    assert secret.startswith("trt_")
    shot(page, "tokens-created-fr")
    page.goto("/account/tokens")
    assert secret not in page.content()
    row = page.locator("tbody tr", has_text="Passerelle éclairage")
    expect(row).to_contain_text("Actif")
    row.locator("summary").click()  # the confirmation opens; nothing is revoked yet
    shot(page, "tokens-revoke-confirm-fr")
    expect(row).to_contain_text("Actif")
    row.locator("button[type=submit]").click()
    expect(page.locator("[role=status]")).to_contain_text("révoqué")
    expect(page.locator("tbody tr", has_text="Passerelle éclairage")).to_contain_text("Révoqué")
    # The wrong address above was answered 422, as it should: the browser notes it, nothing else.
    assert [e for e in errors if "422" not in e] == [], errors


def test_the_agreement_form_offers_the_datasets_fields(site: Site) -> None:
    page = logged_in(site)
    errors = watch(page)
    page.goto("/agreements")
    page.select_option("#ag-pick", "eclairage")  # the small script reloads the form with its fields
    expect(page.locator("input[name=fields][value=power]")).to_be_visible()
    page.check("input[name=share][value=some]")
    page.check("input[name=fields][value=energy]")
    page.fill("#ag-purpose", "Suivi des économies d'énergie")
    page.fill("#ag-expires", (date.today() + timedelta(days=365)).isoformat())
    shot(page, "agreements-picker-fr")
    page.click("form[action='/agreements'] button[type=submit]")
    expect(page.locator("[role=status]")).to_be_visible()
    expect(page.locator("table")).to_contain_text("energy")
    assert errors == [], errors


def test_english_and_phone_screenshots(site: Site) -> None:
    page = logged_in(site, locale="en")
    for path, name in (
        ("/organisations/ville/people?lang=en", "people-en"),
        ("/account/tokens?lang=en", "tokens-en"),
        ("/agreements?dataset=eclairage&lang=en", "agreements-picker-en"),
    ):
        page.goto(path)
        assert "msgid" not in page.content()
        shot(page, name)
    phone = logged_in(site, width=390)
    for path, name in (
        ("/organisations/ville/people", "people-phone"),
        ("/account/tokens", "tokens-phone"),
        ("/agreements?dataset=eclairage", "agreements-phone"),
    ):
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"{path} is {width} px wide on a 390 px phone"
        shot(phone, name)


def test_publishing_asks_to_confirm_first(site: Site) -> None:
    for width, lang, name in (
        (1280, "fr", "publish-confirm-fr"),
        (1280, "en", "publish-confirm-en"),
        (390, "fr", "publish-confirm-phone"),
    ):
        page = logged_in(site, width=width)
        page.goto(f"/datasets/eclairage?lang={lang}")
        page.click("form[action='/datasets/eclairage/publish'] button[type=submit]")
        expect(page.locator("button[type=submit]", has_text="1")).to_be_visible()  # "Publish version 1"
        expect(page.locator("input[name=confirm]")).to_have_value("yes")
        shot(page, name)
        page.context.close()
