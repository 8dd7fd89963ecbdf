"""The quality page: operators and datasets with their scores, in French and English, by visibility."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.conftest import World, web_login
from tests.quality.test_scores import D, E, add_open_dataset, load_days

from territoria.app import create_app
from territoria.context import Context
from territoria.quality import scores
from territoria.quality.api import router as quality_api
from territoria.quality.pages import band, duration, sparkline
from territoria.quality.pages import router as quality_pages
from territoria.settings import Settings


def client_for(ctx: Context) -> TestClient:
    """An app on the context with the quality routers mounted (until the lead wires them)."""
    app = create_app(context=ctx)
    app.include_router(quality_api)
    app.include_router(quality_pages)
    return TestClient(app)


def prepared(world: World, role: str = "steward") -> TestClient:
    """Lights (private, two scored days) and meters (open) of LightCo, scored; a client logged in at LightCo."""
    load_days(world.ctx)
    add_open_dataset(world.ctx)
    with world.ctx.session(write=True) as s:
        scores.compute_scores(s, None, [E, D])
    client = client_for(world.ctx)
    web_login(world.ctx, client, org="lightco", role=role)
    return client


def assert_csp_friendly(html: str) -> None:
    """No inline handlers, style attributes or inline scripts."""
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_page_in_french_shows_operators_scores_and_offenders(world: World) -> None:
    client = prepared(world)
    r = client.get("/quality?lang=fr")
    assert r.status_code == 200, r.text
    html = r.text
    assert '<html lang="fr">' in html and "Qualité des données" in html
    assert "LightCo" in html and "Street lights" in html and "Meters" in html
    # Today's row of the silent lights dataset: nothing came, so completeness and overall are 0 (faible).
    assert '0 %</span> <span class="score-band">(faible)' in html
    # The 30-day trend of lights goes from day E to today.
    e_overall = 0.35 * 8 / 96 + 0.30 * 0.8 + 0.20 * 0.0 + 0.15 * 1.0
    assert f"de {round(e_overall * 100)} % à 0 %" in html
    assert "4 sur 60" in html  # rows rejected over 30 days, of rows received
    assert 'href="/datasets/lights/quarantine">Quarantaine (4)</a>' in html
    assert 'href="/datasets/lights/report"' in html
    assert "Points d&#39;attention" in html and "Sources les plus en retard" in html
    assert '<svg class="sparkline"' in html
    assert_csp_friendly(html)


def test_page_in_english_with_the_right_numbers(world: World) -> None:
    client = prepared(world)
    html = client.get("/quality?lang=en").text
    assert '<html lang="en">' in html and "Data quality" in html and "Needs attention" in html
    assert "4 of 60" in html and "Quarantine (4)" in html
    assert "(poor)" in html
    assert "Completeness" in html and "Validity" in html and "Freshness" in html and "Consistency" in html


def test_public_visitors_see_open_datasets_only(world: World) -> None:
    prepared(world)
    public = Context(Settings(database_url=world.ctx.settings.database_url, demo=False, secret_key="s" * 48))
    try:
        html = client_for(public).get("/quality?lang=en").text
    finally:
        public.engine.dispose()
    assert "Meters" in html and "Street lights" not in html and "LightCo" in html


def test_page_pieces() -> None:
    assert band(0.95)[0] == "good" and band(0.8)[0] == "fair" and band(0.1)[0] == "poor"
    assert band(None)[0] == "none"
    assert (
        duration(1800) == ("min", 30) and duration(3 * 3600) == ("h", 3) and duration(3 * 86400) == ("d", 3)
    )
    days = scores.last_days(3)
    s = sparkline(days, {days[0]: 1.0, days[2]: 0.5})
    assert s.path.count("M") == 2 and s.days == 2 and s.first == 1.0 and s.last == 0.5


def test_no_link_to_a_quarantine_the_visitor_may_not_open(world: World) -> None:
    """An analyst reads the scores but not the rejected rows: no link leads to a refusal (issue 15, item 9)."""
    client = prepared(world, role="analyst")
    html = client.get("/quality?lang=fr").text
    assert "Street lights" in html and "/quarantine" not in html and "/report" not in html
    page = client.get("/datasets/lights?lang=fr").text
    assert "/datasets/lights/quarantine" not in page and "/datasets/lights/report" not in page
    refused = client.get("/datasets/lights/report?lang=fr")
    assert refused.status_code == 403
    assert "rapport qualité de « Street lights »" in refused.text and "quarantaine" not in refused.text
    assert "demandez à un administrateur de LightCo" in refused.text
    refused = client.get("/datasets/lights/quarantine?lang=en")
    assert refused.status_code == 403 and "quarantine of “Street lights”" in refused.text
    assert "ask an administrator of LightCo" in refused.text
