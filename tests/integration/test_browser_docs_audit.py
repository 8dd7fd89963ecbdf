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
