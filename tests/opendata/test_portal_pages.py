"""The public open-data portal: catalogue, search and filters, dataset pages, 404s, both languages, no login."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import World

from territoria.catalog.schemas import DatasetCreate, MetricCreate
from territoria.catalog.service import create_dataset, get_dataset, get_organisation
from territoria.opendata import portal
from territoria.opendata.models import Release
from territoria.opendata.pages import router

NICE, CANNES, ANTIBES = "06088", "06029", "06004"
NAMES = {NICE: "Nice", CANNES: "Cannes", ANTIBES: "Antibes"}
DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 3
# (commune, segment, contributors, kWh per day); Antibes has too few households: its cells are secret.
CELLS = [(NICE, "residential", 12, 120.0), (NICE, "tertiary", 5, 80.0), (CANNES, "residential", 14, 150.0),
         (ANTIBES, "residential", 3, 30.0)]  # fmt: skip
SECRET = {ANTIBES}
ENERGY_COLUMNS: list[dict[str, Any]] = [
    {"name": "area_code", "type": "string", "role": "dimension", "title": {"en": "Commune (INSEE code)", "fr": "Commune (code INSEE)"}, "unit": ""},
    {"name": "area_name", "type": "string", "role": "attribute", "title": {"en": "Commune", "fr": "Commune"}, "unit": ""},
    {"name": "period", "type": "datetime", "role": "dimension", "title": {"en": "Day", "fr": "Jour"}, "unit": ""},
    {"name": "segment", "type": "string", "role": "dimension", "title": {"en": "Segment", "fr": "Segment"}, "unit": ""},
    {"name": "total", "type": "string", "role": "attribute", "title": {"en": "Totalled dimensions", "fr": "Dimensions totalisées"}, "unit": ""},
    {"name": "contributors", "type": "integer", "role": "measure", "title": {"en": "Contributors", "fr": "Contributeurs"}, "unit": ""},
    {"name": "energy_kwh_sum", "type": "number", "role": "measure", "title": {"en": "Energy (total)", "fr": "Énergie (total)"}, "unit": "kWh"},
    {"name": "energy_kwh_mean", "type": "number", "role": "measure", "title": {"en": "Energy (mean per contributor)", "fr": "Énergie (moyenne par contributeur)"}, "unit": "kWh"},
    {"name": "secret", "type": "boolean", "role": "flag", "title": {"en": "Statistical secret", "fr": "Secret statistique"}, "unit": ""},
]  # fmt: skip
REPORT: dict[str, Any] = {
    "passed": True,
    "cells": 30,
    "published": 24,
    "secret": 6,
    "suppressed": {"k": 3, "dominance": 0, "secondary": 3},
    "checks": [
        {"code": "MIN_CONTRIBUTORS", "title": {"en": "Every published cell has at least k contributors",
         "fr": "Chaque cellule publiée a au moins k contributeurs"}, "checked": 24, "failures": 0,
         "passed": True, "examples": []},
        {"code": "NO_RECOMPUTATION", "title": {"en": "No secret cell can be recomputed from the totals",
         "fr": "Aucune cellule secrète ne se recalcule à partir des totaux"}, "checked": 6, "failures": 0,
         "passed": True, "examples": []},
    ],
    "policy_version": 2,
    "window": {"start": DAY0.isoformat(), "end": (DAY0 + timedelta(days=DAYS)).isoformat(), "days": 3.0},
    "delay_days": 7,
    "rules": {"k": [3, 10], "p": [85.0, 100.0]},
}  # fmt: skip
CHANGELOG = {"first_release": False, "previous_version": 1, "policy_version": 2, "previous_policy_version": 1,
             "rows_before": 20, "rows_after": 30, "rows_added": 10, "rows_removed": 0, "rows_changed": 2,
             "columns_added": ["energy_kwh_mean"], "columns_removed": []}  # fmt: skip


def energy_rows() -> list[dict[str, Any]]:
    """Detail cells and every total (by commune, by segment, grand total) of three days."""
    rows: list[dict[str, Any]] = []

    def add(
        area: str | None, day: datetime, segment: str | None, total: str, n: int, kwh: float, secret: bool
    ) -> None:
        rows.append({"area_code": area, "area_name": NAMES.get(area or ""), "period": day, "segment": segment,
                     "total": total, "contributors": None if secret else n,
                     "energy_kwh_sum": None if secret else kwh, "energy_kwh_mean": None if secret else kwh / n,
                     "secret": secret})  # fmt: skip

    for d in range(DAYS):
        day = DAY0 + timedelta(days=d)
        for area, segment, n, kwh in CELLS:
            add(area, day, segment, "", n, kwh * (d + 1), area in SECRET)
        for segment in ("residential", "tertiary"):
            part = [c for c in CELLS if c[1] == segment]
            add(
                None,
                day,
                segment,
                "area_code",
                sum(c[2] for c in part),
                sum(c[3] for c in part) * (d + 1),
                False,
            )
        for area in NAMES:
            part = [c for c in CELLS if c[0] == area]
            add(
                area,
                day,
                None,
                "segment",
                sum(c[2] for c in part),
                sum(c[3] for c in part) * (d + 1),
                area in SECRET,
            )
        add(
            None,
            day,
            None,
            "area_code,segment",
            sum(c[2] for c in CELLS),
            sum(c[3] for c in CELLS) * (d + 1),
            False,
        )
    return rows


def grand_total(day: int) -> float:
    """The territory's energy on a day, all segments."""
    return sum(c[3] for c in CELLS) * (day + 1)


def light_rows() -> list[dict[str, Any]]:
    """A per-asset point release: five lights in Nice, two days."""
    return [
        {"asset": f"L{i:03d}", "name": f"Light {i}", "area_code": NICE, "area_name": "Nice",
         "lon": 7.27 + i * 0.0005, "lat": 43.698, "period": DAY0 + timedelta(days=d), "power": 10.0 * i + d}
        for d in range(2) for i in range(5)
    ]  # fmt: skip


LIGHT_COLUMNS: list[dict[str, Any]] = [
    {"name": "asset", "type": "string", "role": "dimension", "title": {"en": "Asset", "fr": "Équipement"}, "unit": ""},
    {"name": "name", "type": "string", "role": "attribute", "title": {"en": "Name", "fr": "Nom"}, "unit": ""},
    {"name": "area_code", "type": "string", "role": "attribute", "title": {"en": "Commune (INSEE code)", "fr": "Commune (code INSEE)"}, "unit": ""},
    {"name": "area_name", "type": "string", "role": "attribute", "title": {"en": "Commune", "fr": "Commune"}, "unit": ""},
    {"name": "lon", "type": "number", "role": "location", "title": {"en": "Longitude", "fr": "Longitude"}, "unit": ""},
    {"name": "lat", "type": "number", "role": "location", "title": {"en": "Latitude", "fr": "Latitude"}, "unit": ""},
    {"name": "period", "type": "datetime", "role": "dimension", "title": {"en": "Day", "fr": "Jour"}, "unit": ""},
    {"name": "power", "type": "number", "role": "measure", "title": {"en": "Power", "fr": "Puissance"}, "unit": "W"},
]  # fmt: skip


def add_release(world: World, slug: str, version: int, rows: list[dict[str, Any]], **fields: Any) -> Release:
    """Write a release file under the release directory and record it (published unless said otherwise)."""
    root = world.ctx.settings.releases_root()
    path = f"{slug}/v{version}-test.parquet"
    (root / slug).mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows)
    if "period" in table.column_names:
        at = table.column_names.index("period")
        table = table.set_column(at, "period", table.column("period").cast(pa.timestamp("us", tz="UTC")))
    pq.write_table(table, root / path)
    values: dict[str, Any] = {
        "version": version, "policy_version": version, "status": "published", "path": path, "rows": len(rows),
        "geometry": "area", "report": {"passed": True, "checks": []}, "changelog": {"first_release": True},
        "coverage_start": DAY0, "coverage_end": DAY0 + timedelta(days=DAYS), "licence": "etalab-2.0",
        "created_at": datetime(2026, 10, 12, 8, 0, tzinfo=UTC), **fields,
    }  # fmt: skip
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, slug)
        release = Release(dataset_id=ds.id, **values)
        s.add(release)
        s.flush()
        s.expunge(release)
    return release


def make_dataset(world: World, slug: str, title: str, domain: str, **extra: Any) -> None:
    """A dataset owned by LightCo."""
    with world.ctx.session(write=True) as s:
        metrics = [MetricCreate(name="value", unit="1")]
        body = DatasetCreate(
            slug=slug,
            title=title,
            domain=domain,
            kind="timeseries",
            access="private",
            metrics=metrics,
            **extra,
        )
        create_dataset(s, body, get_organisation(s, "lightco"))


@pytest.fixture
def portal_world(world: World) -> World:
    """Meters (two releases, secrets), lights (a point release, ODbL), a failed one and an unreleased one."""
    make_dataset(world, "meters", "Consommation d'électricité", "electricity",
                 description="Énergie des compteurs communicants par commune et par jour.", keywords=["énergie"])  # fmt: skip
    make_dataset(world, "water", "Water leaks", "water")
    make_dataset(world, "air", "Air quality", "air_quality")
    rows = energy_rows()
    add_release(world, "meters", 1, rows[:20], columns=ENERGY_COLUMNS)
    add_release(world, "meters", 2, rows, columns=ENERGY_COLUMNS, report=REPORT, changelog=CHANGELOG)
    add_release(world, "lights", 1, light_rows(), columns=LIGHT_COLUMNS, geometry="point", licence="odbl-1.0",
                coverage_end=DAY0 + timedelta(days=2))  # fmt: skip
    add_release(world, "water", 1, [], status="failed", path="", columns=[], report={"passed": False})
    return world


def config_of(html: str) -> dict[str, Any]:
    """The JSON block the page's script reads."""
    found = re.search(r'<script type="application/json" id="opendata-config">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def listed(html: str) -> set[str]:
    """Slugs of the datasets the catalogue lists."""
    return set(re.findall(r'<a href="/opendata/([a-z0-9_-]+)">', html))


def test_catalogue_lists_released_datasets_only_without_login(portal_world: World) -> None:
    r = portal_world.client.get("/opendata")
    assert r.status_code == 200 and "Content-Security-Policy" in r.headers
    html = r.text
    assert listed(html) == {"meters", "lights"}
    assert "Consommation d&#39;électricité" in html and "LightCo" in html and "Licence Ouverte 2.0" in html
    assert "ODbL 1.0" in html and "version 2 du 12/10/2026" in html and "du 01/10/2026 au 03/10/2026" in html
    for suffix in ("ttl", "jsonld", "rdf"):
        assert f'href="/opendata/catalog.{suffix}"' in html
    assert "Comment la vie privée est protégée" in html and "secret secondaire" in html
    assert '<a href="/opendata" aria-current="page">Données ouvertes</a>' in html
    assert "2 jeux de données publiés" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=compteurs", {"meters"}),
        ("q=ENERGIE", {"meters"}),  # keywords, accents and case ignored
        ("q=street+lights", {"lights"}),
        ("q=nothing+like+this", set()),
        ("domain=lighting", {"lights"}),
        ("licence=odbl-1.0", {"lights"}),
        ("licence=etalab-2.0&domain=electricity", {"meters"}),
        ("commune=antibes", {"meters"}),
        ("commune=06004", {"meters"}),
        ("commune=Nice", {"meters", "lights"}),
        ("commune=Cannes&domain=lighting", set()),
    ],
)
def test_search_and_filters_narrow_the_list(portal_world: World, query: str, expected: set[str]) -> None:
    html = portal_world.client.get(f"/opendata?{query}").text
    assert listed(html) == expected
    assert f"{len(expected)} jeu(x) de données sur 2" in html


def test_unknown_commune_says_so(portal_world: World) -> None:
    html = portal_world.client.get("/opendata?commune=Atlantis").text
    assert listed(html) == set() and "Commune inconnue" in html
    html = portal_world.client.get("/opendata?commune=Antibes").text
    assert "avec des données pour Antibes (06004)" in html


def test_dataset_page_shows_schema_preview_downloads_api_report_and_changes(portal_world: World) -> None:
    r = portal_world.client.get("/opendata/meters")
    assert r.status_code == 200
    html = r.text
    # Schema: names, French titles, types and units.
    assert "<code>energy_kwh_sum</code>" in html and "Énergie (moyenne par contributeur)" in html
    assert "kWh" in html and "date et heure" in html
    # Preview: published cells first, the latest day first; why the others are secret, with the thresholds.
    table = html.split('<table class="od-preview">')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == 20 and not any("od-secret" in row for row in rows)
    assert all("2026-10-03" in row for row in rows[:8]) and "2026-10-03" not in rows[8]
    assert "Les 20 premières lignes sur 30." in html
    assert "Les cellules publiées viennent d&#39;abord" in html
    assert (
        "6 des 30 cellules sont secrètes : une cellule n&#39;est publiée que si au moins 3 (10 pour certaines "
        "catégories) contributeurs y participent et qu&#39;aucun ne pèse plus de 85 % de son total"
    ) in html
    # Licence link, release, downloads.
    assert 'href="https://www.etalab.gouv.fr/licence-ouverte-open-licence/"' in html
    for href in ("csv", "csv?bom=true", "json", "geojson", "parquet"):
        assert f'href="/api/v1/opendata/meters/exports/{href}"' in html
    assert "30 lignes" in html
    # API examples use the real columns and a real value.
    assert (
        "/api/v1/opendata/meters/records" in html
        and "where=area_code = &#39;06088&#39; and secret = false" in html
    )
    assert "group_by=period" in html and "sum(energy_kwh_sum)" in html
    # Disclosure-control report and change log.
    assert "Chaque cellule publiée a au moins k contributeurs" in html and "✓" in html
    assert "Secret secondaire" in html and "Seuil k" in html and "Version de la politique" in html
    assert "7 jours" in html and "du 01/10/2026 au 03/10/2026 (3 jours)" in html
    assert "Par rapport à la version 1" in html and "Lignes ajoutées" in html and "energy_kwh_mean" in html


def test_dataset_chart_and_map_come_from_the_release_file(portal_world: World) -> None:
    config = config_of(portal_world.client.get("/opendata/meters").text)
    chart = config["chart"]
    assert chart["categories"] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert chart["values"] == [grand_total(d) for d in range(DAYS)] and chart["unit"] == "kWh"
    area = config["map"]
    assert area["kind"] == "area" and area["secret"] == [ANTIBES]
    assert area["values"] == {NICE: 200.0 * 3, CANNES: 150.0 * 3}  # the latest day
    lights = config_of(portal_world.client.get("/opendata/lights?lang=en").text)
    assert lights["map"]["kind"] == "point" and len(lights["map"]["points"]) == 5
    assert lights["chart"]["values"] == [20.0, 21.0]  # row-level values are averaged, not summed
    assert lights["map"]["points"][0][:3] == [7.27, 43.698, "Light 0"]


def test_point_release_page_in_english(portal_world: World) -> None:
    r = portal_world.client.get("/opendata/lights?lang=en")
    html = r.text
    assert r.status_code == 200 and '<html lang="en">' in html
    assert "Downloads" in html and "Statistical disclosure control" in html and "Power" in html
    assert 'href="https://opendatacommons.org/licenses/odbl/1-0/"' in html
    assert "First release of this dataset." in html and "CSV for Excel" in html
    assert "leaflet.js" in html and "echarts.min.js" in html and "<script>" not in html


def test_catalogue_in_english(portal_world: World) -> None:
    html = portal_world.client.get("/opendata", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert '<html lang="en">' in html and "How privacy is protected" in html
    assert "version 2 of 2026-10-12" in html and "2 published datasets" in html


@pytest.mark.parametrize("slug", ["nope", "water", "air"])
def test_unknown_failed_or_unreleased_dataset_is_a_404_page(portal_world: World, slug: str) -> None:
    for lang, text in (("fr", "pas encore de publication"), ("en", "has no open-data release yet")):
        r = portal_world.client.get(f"/opendata/{slug}?lang={lang}")
        assert r.status_code == 404 and "text/html" in r.headers["content-type"]
        assert text in r.text and 'href="/opendata"' in r.text


def test_catalogue_files_are_not_dataset_slugs() -> None:
    page = next(r for r in router.routes if getattr(r, "path", "").startswith("/opendata/"))
    assert page.path_regex.match("/opendata/catalog.ttl") is None  # type: ignore[attr-defined]
    assert page.path_regex.match("/opendata/meters") is not None  # type: ignore[attr-defined]


def test_missing_release_file_still_renders(portal_world: World) -> None:
    release = add_release(portal_world, "air", 1, light_rows(), columns=LIGHT_COLUMNS, geometry="point")
    (portal_world.ctx.settings.releases_root() / release.path).unlink()
    r = portal_world.client.get("/opendata/air")
    assert r.status_code == 200 and "momentanément indisponible" in r.text


def test_release_reads_are_cached_per_file(portal_world: World) -> None:
    portal.figures.cache_clear()
    for _ in range(3):
        assert portal_world.client.get("/opendata/meters").status_code == 200
    info = portal.figures.cache_info()
    assert info.misses == 1 and info.hits == 2


def test_row_level_records_release_maps_row_counts(portal_world: World) -> None:
    from datetime import date

    columns = [
        {
            "name": "key",
            "type": "string",
            "role": "dimension",
            "title": {"en": "Key", "fr": "Clé"},
            "unit": "",
        },
        {
            "name": "area_code",
            "type": "string",
            "role": "attribute",
            "title": {"en": "Commune", "fr": "Commune"},
        },
        {"name": "opened", "type": "date", "role": "attribute", "title": {"en": "Opened", "fr": "Ouverture"}},
    ]
    rows = [
        {"key": f"S{i}", "area_code": NICE if i < 3 else CANNES, "opened": date(2026, 1, 1 + i)}
        for i in range(5)
    ]
    add_release(portal_world, "air", 1, rows, columns=columns, coverage_start=None, coverage_end=None)
    html = portal_world.client.get("/opendata/air").text
    config = config_of(html)
    assert "chart" not in config and config["map"]["values"] == {NICE: 3, CANNES: 2}
    assert "Nombre de lignes par commune." in html and "2026-01-05" in html
    assert "where=key = &#39;S0&#39;" in html and "group_by=opened" in html


def test_preview_shows_secret_cells_last_and_never_as_zero(tmp_path: Any) -> None:
    """A release with few published cells: they come first, then the secret ones, shown as « secret »."""
    rows = energy_rows()
    path = tmp_path / "cells.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    layout = portal.Layout(str(path), "area", "period", "energy_kwh_sum", "area_code", True, "area_name",
                           tuple(rows[0]))  # fmt: skip
    first = portal.preview(layout)
    secret = [r for r in first if r["secret"]]
    assert len(first) == portal.PREVIEW_ROWS and not secret  # 24 published rows: enough for the preview
    published = [r for r in rows if not r["secret"]]
    pq.write_table(pa.Table.from_pylist([*[r for r in rows if r["secret"]], *published[:3]]), path)
    portal.figures.cache_clear()
    mixed = portal.preview(layout)
    assert [r["secret"] for r in mixed] == [False] * 3 + [True] * 6
    assert all(r["energy_kwh_sum"] is None for r in mixed[3:])
