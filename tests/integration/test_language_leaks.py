"""No language leaks on the demo's pages (issue 15, item 8).

A demo-like database (the simulated city with faults, the EV observatory, the demo people, targets and
contracts, open-data releases, and a batch with unreadable timestamps and values) is walked page by page
in French and in English by logged-in demo accounts. A page fails on: an untranslated catalog key, a raw
status code (`off_track`), a rule code shown without its title (`RANGE` alone), a dataset slug used as a
label, Python's English inside a French page (`Invalid isoformat string`, `could not convert`), or a
French abbreviation inside an English page (`kWh/hab.`, `véh./jour`).
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from territoria import i18n
from territoria.access.service import create_token
from territoria.app import create_app
from territoria.catalog.service import get_organisation, list_datasets
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.domains.ev.demo import install_ev
from territoria.quality.scores import refresh_scores
from territoria.settings import Settings
from territoria.simulate.city import build_city
from territoria.simulate.demo_opendata import install_opendata
from territoria.simulate.demo_people import DEMO_PASSWORD, install_people
from territoria.simulate.demo_steering import install_steering
from territoria.simulate.faults import FaultPlan
from territoria.simulate.networks import STREET_LIGHTS
from territoria.simulate.service import install_city, load_history

pytestmark = pytest.mark.integration
DAYS = 4
ACCOUNTS = ("admin@metropole.demo", "elus@metropole.demo", "analyste@observatoire.demo")
PAGES = (
    "/",
    "/map",
    "/datasets/street-lights",
    "/datasets/air-quality",
    "/datasets/ev-status",
    "/datasets/street-lights/quarantine",
    "/datasets/street-lights/report",
    "/kpis/lighting_energy_per_inhabitant",
    "/kpis/daily_traffic",
    "/kpis/water_consumption_per_inhabitant",
    "/communes/06088",
    "/quality",
    "/targets",
    "/contracts",
    "/opendata",
    "/opendata/electricity-meters",
    "/opendata/air-quality",
    "/ev",
    "/agreements",
)
# Codes a page must name with words (statuses, directions, normalisations, EV states).
RAW_CODES = (
    "off_track",
    "on_track",
    "at_risk",
    "not_started",
    "no_data",
    "lower_is_better",
    "higher_is_better",
    "per_inhabitant",
    "en_service",
    "hors_service",
)
ENGLISH_IN_FRENCH = (
    "Invalid isoformat",
    "could not convert",
    "expected a number",
    "has no time zone",
    "Field required",
    "Input should be",
    "charge point status",
    "EVs per commune",
)
FRENCH_IN_ENGLISH = ("/hab.", "véh./jour", "horodatage invalide", "valeur invalide", "statut des points")
KEY = re.compile(
    r"\b(?:od|q|kpi|dash|st|ev|rule|finding|pyd|home|nav|quality|dataset|map|col|denied|export|target|"
    r"contract|plan|popup|fmt|metric|access|kind|domain)\.[a-z_]+(?:\.[A-Za-z_0-9]+)*\b"
)


@dataclass
class Demo:
    """The demo-like database's context, app and dataset slugs with titles."""

    ctx: Context
    app: object
    slugs: list[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    url = f"sqlite:///{tmp_path_factory.mktemp('leaks')}/t.db"
    ctx = Context(Settings(database_url=url, demo=True))
    upgrade(ctx.engine)
    app = create_app(context=ctx)  # registers the domains (EV KPIs, schemas) as the demo's server does
    city = build_city(150, 6)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    faults = FaultPlan.build(city, start, end, 6)
    city = faults.apply_to_city(city)
    install_city(ctx, city)
    load_history(ctx, city, start, end, seed=6, faults=faults)
    with ctx.session(write=True) as s:
        refresh_scores(s, days=DAYS + 1)
    install_people(ctx)
    install_steering(ctx)
    install_opendata(ctx, Console(quiet=True))
    install_ev(ctx, city, 2, Console(quiet=True))
    unreadable_rows(ctx, app)
    with ctx.session() as s:
        slugs = [ds.slug for ds in list_datasets(s)]
    yield Demo(ctx, app, slugs)
    ctx.engine.dispose()


def unreadable_rows(ctx: Context, app: object) -> None:
    """A CSV batch whose timestamps and values Python cannot read (quarantined with their reasons)."""
    with ctx.session(write=True) as s:
        owner = get_organisation(s, STREET_LIGHTS.owner.slug)
        _, token = create_token(s, owner, ["ingest", "read"])
    client = TestClient(app)  # type: ignore[arg-type]
    body = "asset,metric,ts,value\nnope,power,2026-13-45T99:00:00Z,12\nnope,power,2026-01-01T00:00:00Z,abc\n"
    r = client.post(
        "/api/v1/datasets/street-lights/measurements",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert r.status_code < 500, r.text


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, code samples or tags; entities decoded."""
    page = re.sub(r"<(script|style|pre|code|template)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(page))


def leaks(text: str, lang: str, slugs: list[str]) -> list[str]:
    """The language leaks of one page's visible text."""
    found = [f"key {k}" for k in sorted(set(KEY.findall(text)))]
    found += [f"code {c}" for c in RAW_CODES if re.search(rf"\b{c}\b", text)]
    for key in i18n.translations(lang)._catalog:  # noqa: SLF001 - every rule title of the catalog
        if isinstance(key, str) and key.startswith("rule.") and key[5:].isupper():
            code = key[5:]
            if re.search(rf"(?<![\w.-]){code}(?![\w.-])", text) and i18n.t(key, lang) not in text:
                found.append(f"rule code {code} without its title")
    fragments = ENGLISH_IN_FRENCH if lang == "fr" else FRENCH_IN_ENGLISH
    found += [f"fragment {f!r}" for f in fragments if f in text]
    # A domain is named by its label, not its code ("Domaine ev").
    found += [f"domain {d}" for d in re.findall(r"(?:Domaine|Domain) (ev|air-quality|ev-charging)\b", text)]
    # A slug may follow its title in brackets, "Title (slug)", or name a dataset in a command line.
    found += [
        f"slug {s}"
        for s in slugs
        if "-" in s and re.search(rf"(?<![\w/.(-])(?<!policy set ){s}(?![\w/.)-])", text)
    ]
    return found


@pytest.mark.parametrize("email", ACCOUNTS)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_demo_pages_speak_one_language(demo: Demo, email: str, lang: str) -> None:
    client = TestClient(demo.app, client=(f"leaks-{email}", 50000))  # type: ignore[arg-type]
    r = client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    problems: dict[str, list[str]] = {}
    for path in PAGES:
        page = client.get(path, params={"lang": lang})
        if page.status_code >= 500:
            problems[path] = [f"status {page.status_code}"]
            continue
        # A refusal or a missing page may quote the address's slug: only pages shown are checked for slugs.
        found = leaks(visible_text(page.text), lang, demo.slugs if page.status_code == 200 else [])
        if found:
            problems[path] = found
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items())


def test_demo_datasets_have_both_languages(demo: Demo) -> None:
    with demo.ctx.session() as s:
        missing = [
            ds.slug
            for ds in list_datasets(s)
            if set(ds.titles or {}) < {"fr", "en"} or set(ds.descriptions or {}) < {"fr", "en"}
        ]
        assert not missing, missing
        status = next(ds for ds in list_datasets(s) if ds.slug == "ev-status")
        assert "etat_pdc" not in status.description_in("fr") and "etat_pdc" not in status.description_in("en")
        assert status.title_in("en") == "Charge point status"
