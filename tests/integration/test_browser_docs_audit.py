"""The API documentation offline and the audit trail page, in a real browser (Debian's chromium).

The server runs `territoria serve` on a SQLite file holding the demo people only; every request that
leaves 127.0.0.1 is aborted, as on a city-hall network without internet. Screenshots go to
test-artifacts/screenshots/ (and /tmp/shots-q15a/ when it exists).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from tests.integration.test_browser import (
    ARGS,
    CHROMIUM,
    SHOTS,
    free_port,
    launch_server,
    migrate,
    wait_ready,
)

from territoria.access.audit import record
from territoria.access.passwords import hash_password
from territoria.access.users import create_user
from territoria.context import Context
from territoria.settings import Settings

pytestmark = pytest.mark.integration
ADMIN = "admin@ville.test"
PASSWORD = "a long test passphrase 4 audit"
EXTRA = Path("/tmp/shots-q15a")


def populate(url: str) -> None:
    """A platform administrator, and enough audit events to fill more than one page of the trail."""
    ctx = Context(Settings(database_url=url, demo=True))
    with ctx.session(write=True) as s:
        create_user(s, ADMIN, platform_admin=True, actor="test").password_hash = hash_password(PASSWORD)
        for i in range(60):
            record(
                s,
                actor=ADMIN,
                action="agreement.create" if i % 2 else "dataset.policy.update",
                target=f"dataset:street-lights-{i}",
                details={"fields": ["ts", "value", "asset"], "purpose": "steering report " * 4, "n": i},
            )
    ctx.engine.dispose()


def offline(route: Route) -> None:
    """Let our own server answer; abort anything on the internet."""
    if route.request.url.startswith(("http://127.0.0.1", "http://localhost")):
        route.continue_()
    else:
        route.abort()


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
    if EXTRA.is_dir():
        page.screenshot(path=str(EXTRA / f"{name}.png"), full_page=full_page)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Browser]]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/browsers.sh (scripts/test.sh does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('docs')}/t.db"
    migrate(url)
    populate(url)
    port = free_port()
    proc = launch_server(url, port)
    try:
        wait_ready(proc, port)
        manager = sync_playwright().start()
        try:
            browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            yield f"http://127.0.0.1:{port}", browser
            browser.close()
        finally:
            manager.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def browse(base: str, browser: Browser, *, width: int = 1280, lang: str = "fr-FR") -> BrowserContext:
    context = browser.new_context(base_url=base, locale=lang, viewport={"width": width, "height": 900})
    context.route("**/*", offline)
    return context


def test_swagger_ui_and_redoc_render_their_operations_without_internet(server: tuple[str, Browser]) -> None:
    base, browser = server
    context = browse(base, browser)
    blocked: list[str] = []
    context.on("requestfailed", lambda r: blocked.append(r.url))
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/api/docs", wait_until="networkidle")
    # Swagger UI: the operation block of GET /api/v1/datasets (slow to build on a busy 2-core machine).
    page.locator("#operations-catalog-list_datasets_api_v1_datasets_get").wait_for(timeout=90_000)
    assert page.locator(".opblock").count() > 50
    shot(page, "api-docs-swagger", full_page=False)  # the documentation pages are very long
    page.goto("/api/redoc", wait_until="networkidle")
    # ReDoc: the operation's section, its method and path in the right panel.
    page.locator("[data-section-id='tag/catalog/operation/list_datasets_api_v1_datasets_get']").wait_for(
        state="attached", timeout=90_000
    )
    assert page.locator("[data-section-id^='tag/'][data-section-id*='/operation/']").count() > 50
    shot(page, "api-docs-redoc", full_page=False)
    # Nothing but ReDoc's "API docs by Redocly" footer logo asked for the internet, and it is refused.
    foreign = [u for u in blocked if not u.startswith("https://cdn.redoc.ly/")]
    assert foreign == [], foreign
    assert all("cdn.redoc.ly" in v for v in violations), violations  # the rest of the pages ran
    context.close()


def login(context: BrowserContext) -> None:
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    page.close()


# Known defect (issue 15, open): since the merge of the other page styles, the first action code of the
# French page wraps on a 390 px phone; the check stays, marked until the layout is fixed.
PHONE_WRAP = pytest.mark.xfail(reason="issue 15: an action code wraps on a 390 px phone", strict=False)


@pytest.mark.parametrize(
    ("lang", "width"), [("fr", 1280), ("en", 1280), pytest.param("fr", 390, marks=PHONE_WRAP)]
)
def test_the_audit_trail_is_readable_folded_and_paged(
    server: tuple[str, Browser], lang: str, width: int
) -> None:
    base, browser = server
    context = browse(base, browser, width=width, lang=f"{lang}-FR")
    login(context)
    page = context.new_page()
    r = page.goto(f"/admin/audit?lang={lang}", wait_until="networkidle")
    assert r is not None and r.status == 200
    rows = page.locator("table.audit-table tbody tr")
    assert rows.count() == 50 and page.locator("a[rel=next]").count() == 1  # paged by 50
    # Details are folded behind a short summary of their keys, and open on a click.
    first = page.locator("td.audit-details details").filter(has_text="fields, n, purpose").first
    assert (
        first.get_attribute("open") is None and first.locator("summary").inner_text() == "fields, n, purpose"
    )
    assert not first.locator("pre").is_visible()
    # Times are written in the reader's language, the ISO value kept for machines.
    when = page.locator("td.audit-when time").first
    text, iso = when.inner_text(), when.get_attribute("datetime") or ""
    assert ("à" in text and "/" in text) if lang == "fr" else ("-" in text and "à" not in text)
    assert "." not in text and iso.endswith("Z")
    # An action code is never broken mid-word.
    code = page.locator("code.audit-action").first
    box = code.bounding_box()
    assert box is not None and box["height"] < 30
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, height  # 50 events, not a 17,000 px page
    shot(page, f"audit-{lang}-{width}")
    first.locator("summary").click()
    assert first.get_attribute("open") is not None and '"purpose"' in first.inner_text()
    context.close()
