"""Data work in the browser: the upload page of a dataset and the dataset creation form.

Who may open them (the policy: `ingest` on the dataset, `manage` in the organisation), the CSRF token,
a refused file that says why, a good file whose batch result links to the quarantine and the report,
server-side validation next to the fields, and never a 5xx whatever is posted.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import World, build_world, sqlite_context, web_login

from territoria.catalog.schemas import PACKAGED_SCHEMAS
from territoria.catalog.service import get_dataset

HOUR = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)


def good_csv(rows: int = 3, bad: int = 1) -> bytes:
    """A measurements CSV with `rows` good lines and `bad` out-of-range ones."""
    lines = ["asset,metric,ts,value"]
    for i in range(rows):
        lines.append(f"L00{i},power,{(HOUR + timedelta(minutes=15 * i)).isoformat()},{100 + i}")
    for i in range(bad):
        lines.append(f"L00{i},power,{(HOUR + timedelta(minutes=15 * i)).isoformat()},9999")
    return ("\n".join(lines) + "\n").encode()


def browser(world: World, role: str, org: str = "lightco") -> tuple[TestClient, str]:
    """A browser logged in with a role in an organisation, and its CSRF token."""
    client = TestClient(world.client.app)
    return client, web_login(world.ctx, client, org=org, role=role)


def upload(client: TestClient, csrf: str | None, name: str, data: bytes, slug: str = "lights") -> object:
    """Post the upload form (multipart)."""
    form = {"csrf_token": csrf} if csrf else {}
    return client.post(f"/datasets/{slug}/upload", data=form, files={"file": (name, data, "text/csv")})


def test_the_dataset_page_links_to_the_upload_page_only_for_those_who_may_ingest(world: World) -> None:
    producer, _ = browser(world, "producer")
    assert 'href="/datasets/lights/upload"' in producer.get("/datasets/lights").text
    viewer, _ = browser(world, "viewer")
    assert "/upload" not in viewer.get("/datasets/lights").text
    r = viewer.get("/datasets/lights/upload")
    assert r.status_code == 403 and "Street lights" in r.text and "LightCo" in r.text
    outsider, _ = browser(world, "admin", "waterco")
    assert outsider.get("/datasets/lights/upload").status_code == 404
    anonymous = TestClient(world.client.app)
    assert anonymous.get("/datasets/lights/upload", follow_redirects=False).status_code == 404
    assert producer.get("/datasets/nowhere/upload").status_code == 404


def test_a_good_file_shows_the_batch_result_with_links(world: World) -> None:
    producer, csrf = browser(world, "producer")
    page = producer.get("/datasets/lights/upload?lang=en")
    assert page.status_code == 200 and 'type="file"' in page.text and "asset, metric, ts, value" in page.text
    r = upload(producer, csrf, "readings.csv", good_csv(3, 1))
    assert r.status_code == 200, r.text
    text = r.text
    assert "Result of uploading readings.csv" in text
    counts = [int(n) for n in re.findall(r"<dd>(\d+)</dd>", text)]
    assert counts[:3] == [4, 3, 1]
    batch = re.search(r'/datasets/lights/quarantine\?batch=([0-9a-f-]+)"', text)
    assert batch is not None
    assert f'href="/batches/{batch.group(1)}/report"' in text
    assert "Out of range" in text or "range" in text.lower()
    assert producer.get(f"/datasets/lights/quarantine?batch={batch.group(1)}").status_code == 200
    r = upload(producer, csrf, "relevés.csv", good_csv(2, 0))
    fr = producer.get("/datasets/lights/upload?lang=fr")
    assert fr.status_code == 200 and "Envoyer et contrôler" in fr.text


def test_the_upload_is_in_french_and_english(world: World) -> None:
    producer, csrf = browser(world, "producer")
    producer.cookies.set("lang", "fr")
    r = upload(producer, csrf, "releves.csv", good_csv(2, 1))
    assert "Résultat de l’envoi de releves.csv" in r.text and "Voir les lignes rejetées de ce lot" in r.text
    assert "RANGE" not in re.sub(r"<[^>]+>", "", r.text)


def test_the_upload_needs_the_csrf_token(world: World) -> None:
    producer, _ = browser(world, "producer")
    r = upload(producer, None, "readings.csv", good_csv())
    assert r.status_code == 403
    r = upload(producer, "forged", "readings.csv", good_csv())
    assert r.status_code == 403


def test_refused_files_say_why_and_what_to_do(world: World) -> None:
    producer, csrf = browser(world, "producer")
    producer.cookies.set("lang", "en")
    r = upload(producer, csrf, "sheet.xlsx", b"PK\x03\x04 binary")
    assert r.status_code == 415 and "Save the spreadsheet as CSV" in r.text
    r = upload(producer, csrf, "readings.csv", b"")
    assert r.status_code == 400 and "The file is empty" in r.text
    r = upload(producer, csrf, "readings.csv", b"a,b\n1,2\n")
    assert r.status_code == 422 and "lacks required columns: asset, metric, ts, value" in r.text
    r = upload(producer, csrf, "readings.json", b"{not json")
    assert r.status_code == 422 and "could not be read" in r.text and "line 1" in r.text
    r = upload(producer, csrf, "assets.geojson", b'{"type":"Feature"')
    assert r.status_code == 422 and "could not be read" in r.text
    r = producer.post("/datasets/lights/upload", data={"csrf_token": csrf})
    assert r.status_code == 400 and "No file chosen" in r.text


def test_a_file_over_the_limit_is_refused_with_the_limit(tmp_path: object) -> None:
    ctx = sqlite_context(tmp_path)  # type: ignore[arg-type]
    ctx.settings.max_body_bytes = 1024 * 1024
    world = build_world(ctx, assets=3)
    producer, csrf = browser(world, "producer")
    producer.cookies.set("lang", "en")
    r = upload(producer, csrf, "big.csv", b"asset,metric,ts,value\n" + b"x" * (1024 * 1024 + 10))
    assert r.status_code == 413 and "over the 1 MB limit" in r.text


def test_a_geojson_file_registers_the_assets_of_a_time_series(world: World) -> None:
    producer, csrf = browser(world, "producer")
    producer.cookies.set("lang", "en")
    point = {"type": "Point", "coordinates": [7.27, 43.7]}
    features = [{"type": "Feature", "id": "NEW-1", "geometry": point, "properties": {"name": "New"}}]
    features.append({"type": "Feature", "geometry": point, "properties": {}})  # no id: refused
    doc = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    r = upload(producer, csrf, "lights.geojson", doc)
    assert r.status_code == 200 and re.findall(r"<dd>(\d+)</dd>", r.text)[:3] == ["2", "1", "1"]
    assert "1 asset(s) registered" in r.text and "has no id" in r.text
    line = f"asset,metric,ts,value\nNEW-1,power,{HOUR.isoformat()},12\n".encode()
    r = upload(producer, csrf, "new.csv", line)
    assert re.findall(r"<dd>(\d+)</dd>", r.text)[:3] == ["1", "1", "0"]


def test_a_json_file_goes_through_the_same_service(world: World) -> None:
    producer, csrf = browser(world, "producer")
    body = f'[{{"asset":"L001","metric":"power","ts":"{HOUR.isoformat()}","value":12}}]'.encode()
    r = producer.post(
        "/datasets/lights/upload",
        data={"csrf_token": csrf},
        files={"file": ("r.json", body, "application/json")},
    )
    assert r.status_code == 200 and re.findall(r"<dd>(\d+)</dd>", r.text)[:3] == ["1", "1", "0"]


def test_the_creation_form_is_for_those_who_may_manage(world: World) -> None:
    anonymous = TestClient(world.client.app)
    r = anonymous.get("/datasets/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fdatasets%2Fnew"
    producer, csrf = browser(world, "producer")
    assert 'href="/datasets/new"' not in producer.get("/").text
    assert producer.get("/datasets/new").status_code == 403
    r = producer.post("/datasets/new", data={"csrf_token": csrf, "slug": "x", "title": "X"})
    assert r.status_code == 403
    steward, _ = browser(world, "steward")
    assert 'href="/datasets/new"' in steward.get("/").text
    page = steward.get("/datasets/new?lang=en")
    assert page.status_code == 200
    for name in PACKAGED_SCHEMAS:  # every packaged schema the installed domains registered is offered
        assert f'value="{name}"' in page.text
    assert 'value="timeseries"' in page.text


def test_a_steward_creates_a_time_series_dataset(world: World) -> None:
    steward, csrf = browser(world, "steward")
    form = {
        "csrf_token": csrf,
        "slug": "water-meters",
        "title": "Water meters",
        "description": "District meters",
        "domain": "water",
        "kind": "timeseries",
        "access": "private",
        "licence": "etalab-2.0",
        "preset": "timeseries",
        "metric_name": ["volume", "", ""],
        "metric_unit": ["m3", "", ""],
    }
    r = steward.post("/datasets/new", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/datasets/water-meters?created=1"
    page = steward.get(r.headers["location"])
    assert page.status_code == 200 and 'href="/datasets/water-meters/upload"' in page.text
    with world.ctx.session() as s:
        ds = get_dataset(s, "water-meters")
        assert ds.owner.slug == "lightco" and [m.unit for m in ds.metrics] == ["m3"]
    again = steward.post("/datasets/new?lang=en", data=form)
    assert again.status_code == 422 and "already taken" in again.text


def test_a_packaged_schema_makes_a_records_dataset(world: World) -> None:
    if not PACKAGED_SCHEMAS:
        return
    name = sorted(PACKAGED_SCHEMAS)[0]
    steward, csrf = browser(world, "steward")
    form = {"csrf_token": csrf, "slug": "records-1", "title": "R", "domain": "mobility", "kind": "records"}
    form |= {"access": "open", "licence": "etalab-2.0", "preset": name}
    r = steward.post("/datasets/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    with world.ctx.session() as s:
        assert get_dataset(s, "records-1").table_schema == PACKAGED_SCHEMAS[name]()


def test_validation_errors_are_shown_next_to_the_fields(world: World) -> None:
    steward, csrf = browser(world, "steward")
    steward.cookies.set("lang", "fr")
    form = {"csrf_token": csrf, "slug": "Bad Slug", "title": "", "domain": "water", "kind": "timeseries"}
    form |= {"access": "private", "licence": "etalab-2.0", "preset": "timeseries"}
    r = steward.post("/datasets/new", data=form)
    assert r.status_code == 422
    assert 'id="err-slug"' in r.text and 'id="err-title"' in r.text and 'id="err-metrics"' in r.text
    assert "Minuscules, chiffres" in r.text and "au moins une mesure" in r.text
    assert 'value="Bad Slug"' in r.text  # what was typed is kept
    if PACKAGED_SCHEMAS:
        form |= {"slug": "ok", "title": "T", "preset": sorted(PACKAGED_SCHEMAS)[0]}
        r = steward.post("/datasets/new?lang=en", data=form)
        assert r.status_code == 422 and 'id="err-preset"' in r.text and "describes records" in r.text
    r = steward.post("/datasets/new", data={"slug": "x"})
    assert r.status_code == 403  # no CSRF token


FUZZ_WORLD: list[World] = []


def fuzz_world(tmp_path_factory: object) -> World:
    """One world for every fuzz example."""
    if not FUZZ_WORLD:
        path = tmp_path_factory.mktemp("fuzz")  # type: ignore[attr-defined]
        FUZZ_WORLD.append(build_world(sqlite_context(path), assets=3))
    return FUZZ_WORLD[0]


@given(
    name=st.text(max_size=40),
    data=st.binary(max_size=600) | st.text(max_size=300).map(str.encode),
    ext=st.sampled_from([".csv", ".json", ".ndjson", ".geojson", ".txt", ""]),
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_file_never_5xx(tmp_path_factory: object, name: str, data: bytes, ext: str) -> None:
    world = fuzz_world(tmp_path_factory)
    client = TestClient(world.client.app, raise_server_exceptions=False)
    r = client.post(
        "/datasets/lights/upload",
        headers=world.operator,
        files={"file": ((name + ext) or "f", data, "application/octet-stream")},
    )
    assert r.status_code < 500, r.text


@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "slug",
                "title",
                "description",
                "domain",
                "kind",
                "access",
                "licence",
                "preset",
                "metric_name",
                "metric_unit",
            ]
        ),
        st.text(max_size=80),
        max_size=10,
    )
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_creation_form_never_5xx(tmp_path_factory: object, fields: dict[str, str]) -> None:
    world = fuzz_world(tmp_path_factory)
    client = TestClient(world.client.app, raise_server_exceptions=False)
    r = client.post("/datasets/new", headers=world.operator, data=fields, follow_redirects=False)
    assert r.status_code < 500, r.text
