"""The EV open-data releases through the open-data stage: consolidated IRVE static file, and availability
per station and day, on SQLite and PostgreSQL; figures checked by hand."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from frictionless import Resource, Schema
from rdflib import Graph, URIRef
from sqlalchemy import update
from tests.conftest import World
from tests.domains.ev.irve_factory import irve_rows, pdc_id
from tests.opendata.test_dcat import BASE, catalogue, shapes, violations  # noqa: F401 - shapes: fixture

from territoria.catalog.service import get_dataset, get_organisation
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.irve_schema import irve_static_schema
from territoria.domains.ev.samples import to_csv
from territoria.domains.ev.status import ensure_status_dataset, import_dynamic, sync_assets
from territoria.errors import Invalid
from territoria.ingest.models import Batch
from territoria.opendata.dcat_vocab import DCAT, DCTERMS
from territoria.opendata.models import Release
from territoria.opendata.policies import set_policy
from territoria.opendata.service import Outcome, publish

pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
DAY = datetime.combine(NOW.date() - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
H = timedelta(hours=1)
OLD, NEW = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
A, B, C, D, E = pdc_id(0, 0), pdc_id(0, 1), pdc_id(1, 0), pdc_id(1, 1), pdc_id(2, 0)
S0, S1, S2 = "FRA68P060000", "FRA68P060001", "FRA68P060002"


def post_irve(world: World, slug: str, rows: list[dict[str, str]], received: datetime) -> None:
    """Create the IRVE dataset if needed, import the rows (all accepted), and date their batch."""
    body = {
        "slug": slug,
        "title": slug,
        "domain": "ev_charging",
        "kind": "records",
        "schema": "irve-statique",
    }
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code in (201, 409), r.text
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post(f"/api/v1/datasets/{slug}/records", content=to_csv(rows).encode(), headers=headers)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
    with world.ctx.session(write=True) as s:
        s.execute(update(Batch).where(Batch.id == r.json()["batch_id"]).values(created_at=received))


def two_sources(world: World) -> list[dict[str, str]]:
    """Operator A's file (5 points: stations 0 and 1 of two points, station 2 of one), received first;
    operator B's later file restates A's first point with a new power and name, and no observations."""
    rows = irve_rows(stations=3, per_station=2)[:5]
    rows[0]["observations"] = "Borne en sous-sol"
    post_irve(world, "irve-a", rows, OLD)
    later = dict(rows[0], puissance_nominale="50", nom_station="Station zéro", observations="")
    post_irve(world, "irve-b", [later], NEW)
    return rows


def policy_and_publish(world: World, slug: str, policy: dict[str, Any]) -> Outcome:
    """Set the policy (console) and publish at NOW."""
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, slug)
        set_policy(s, ds, policy, None)
        return publish(s, world.ctx.settings, ds, None, now=NOW)


def release_file(world: World, release: Release) -> Path:
    """Where a release's Parquet file is."""
    return world.ctx.settings.releases_root() / release.path


def test_consolidated_irve_release_in_the_national_format(world: World, shapes: Graph) -> None:  # noqa: F811
    rows = two_sources(world)
    outcome = policy_and_publish(world, "irve-a", {"preset": "irve-consolidated"})
    rel = outcome.release
    assert outcome.published and rel.rows == 5 and rel.geometry == "point"
    schema = irve_static_schema()
    table = pq.read_table(release_file(world, rel))
    assert table.column_names == [f["name"] for f in schema["fields"]]  # exactly, in schema order
    got = {r["id_pdc_itinerance"]: r for r in table.to_pylist()}
    assert sorted(got) == sorted(r["id_pdc_itinerance"] for r in rows)
    # Sources disagree on A: the most recent non-null value wins, field by field.
    assert (got[A]["puissance_nominale"], got[A]["nom_station"]) == (50.0, "Station zéro")
    assert got[A]["observations"] == "Borne en sous-sol"  # B left it empty: A's value stays
    assert got[B]["puissance_nominale"] == 22.0 and got[B]["nom_station"] == "Station 0"
    assert got[B]["coordonneesXY"] == "[7.2621, 43.703]" and got[C]["coordonneesXY"] == "[7.0049, 43.5519]"
    assert got[A]["date_maj"] == date.fromisoformat(rows[0]["date_maj"]) and got[A]["prise_type_2"] is True
    assert got[A]["telephone_operateur"] == rows[0]["telephone_operateur"]  # business contact, kept
    codes = {c["code"]: c["passed"] for c in rel.report["checks"]}
    assert codes == {"NO_PERSONAL_DATA": True, "DROPPED_FIELDS_ABSENT": True, "IRVE_ONE_ROW_PER_PDC": True}
    assert rel.changelog["first_release"] is True

    # The released file, read back and written as CSV, is a valid IRVE static file.
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    report = Resource(data=buffer.getvalue(), format="csv", schema=Schema.from_descriptor(schema)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    # So is the CSV export users download, and the GeoJSON places each point at its coordonneesXY.
    export = world.client.get("/api/v1/opendata/irve-a/exports/csv")
    assert export.status_code == 200
    report = Resource(data=export.content, format="csv", schema=Schema.from_descriptor(schema)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    features = world.client.get("/api/v1/opendata/irve-a/exports/geojson").json()["features"]
    where = {f["properties"]["id_pdc_itinerance"]: f["geometry"]["coordinates"] for f in features}
    assert where[B] == [7.2621, 43.703]
    geo = pq.read_table(io.BytesIO(world.client.get("/api/v1/opendata/irve-a/exports/parquet").content))
    assert geo.column_names[-1] == "geometry" and b"geo" in (geo.schema.metadata or {})

    # Operator B sends a new power for A: the next release logs exactly that row as changed.
    post_irve(world, "irve-b", [dict(rows[0], puissance_nominale="150", observations="")], NEW + H)
    with world.ctx.session(write=True) as s:
        second = publish(s, world.ctx.settings, get_dataset(s, "irve-a"), None, now=NOW).release
        log = second.changelog
    assert (log["rows_added"], log["rows_removed"], log["rows_changed"]) == (0, 0, 1)
    assert log["examples"]["changed"] == [A] and log["previous_version"] == 1

    answer = world.client.get(
        "/api/v1/opendata/irve-a/records",
        params={
            "select": "id_pdc_itinerance, puissance_nominale, nbre_pdc",
            "where": "puissance_nominale > 40",  # v2 is served
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == [{"id_pdc_itinerance": A, "puissance_nominale": 150.0, "nbre_pdc": 2}]
    page = world.client.get("/opendata/irve-a")  # anonymous
    assert page.status_code == 200 and "coordonneesXY" in page.text and "IRVE_ONE_ROW_PER_PDC" in page.text
    # the portal map places each charge point from its "[lon, lat]" text
    config = re.search(
        r'<script type="application/json" id="opendata-config">(.*?)</script>', page.text, re.S
    )
    assert config is not None
    points = json.loads(config.group(1))["map"]["points"]
    assert len(points) == 5 and all(isinstance(p[0], float) and isinstance(p[1], float) for p in points)
    graph = catalogue(world.ctx)
    assert (
        URIRef(f"{BASE}/opendata#catalog"),
        DCAT.dataset,
        URIRef(f"{BASE}/opendata/irve-a#dataset"),
    ) in graph
    # data.gouv.fr's harvester matches IRVE datasets to the national schema through dct:conformsTo
    irve_schema_url = URIRef("https://schema.data.gouv.fr/etalab/schema-irve-statique/")
    assert (URIRef(f"{BASE}/opendata/irve-a#dataset"), DCTERMS.conformsTo, irve_schema_url) in graph
    bad, _others, text = violations(graph, shapes)
    assert bad == 0, text


def test_irve_policy_refusals(world: World) -> None:
    two_sources(world)
    with world.ctx.session(write=True) as s:
        ds = get_dataset(s, "irve-a")
        with pytest.raises(Invalid) as dropped:
            set_policy(s, ds, {"preset": "irve-consolidated", "drop": ["telephone_operateur"]}, None)
        assert [e["code"] for e in dropped.value.errors] == ["FIXED_COLUMNS"]
        with pytest.raises(Invalid, match="builds its own table: time"):
            set_policy(s, ds, {"preset": "irve-consolidated", "time": {"to": "day"}}, None)
        with pytest.raises(Invalid) as unknown:
            set_policy(s, ds, {"personal_data": False, "source": "no-such-source"}, None)
        assert [e["code"] for e in unknown.value.errors] == ["UNKNOWN_SOURCE"]
        lights = get_dataset(s, "lights")
        with pytest.raises(Invalid) as wrong:
            set_policy(s, lights, {"preset": "irve-consolidated"}, None)
        assert [e["code"] for e in wrong.value.errors] == ["NOT_IRVE"]
        with pytest.raises(Invalid) as status:
            set_policy(s, lights, {"preset": "ev-station-availability"}, None)
        assert [e["code"] for e in status.value.errors] == ["NOT_EV_STATUS"]


def dyn(pdc: str, at: datetime, etat: str = "en_service", occupation: str = "libre") -> dict[str, str]:
    """One IRVE dynamic row."""
    return {
        "id_pdc_itinerance": pdc,
        "etat_pdc": etat,
        "occupation_pdc": occupation,
        "horodatage": at.isoformat(),
    }


STATUS = [
    dyn(E, DAY - 2 * H, "hors_service", "inconnu"),  # the day before: partial, not published
    dyn(A, DAY),
    dyn(A, DAY + 6 * H, occupation="occupe"),
    dyn(A, DAY + 12 * H, "hors_service", "inconnu"),
    dyn(A, DAY + 30 * H),
    dyn(B, DAY),
    dyn(B, DAY + 3 * H, occupation="occupe"),
    dyn(B, DAY + 5 * H, "inconnu", "inconnu"),
    dyn(B, DAY + 20 * H, occupation="reserve"),
    dyn(C, DAY, occupation="occupe"),
    dyn(C, DAY + 24 * H),
    dyn(E, DAY + 10 * H, "hors_service", "inconnu"),
    dyn(E, DAY + 13 * H, occupation="occupe"),
    dyn(E, DAY + 32 * H),
    dyn(A, DAY + 50 * H, occupation="occupe"),  # day 3: after the delay, not published
]
D0, D1 = DAY, DAY + 24 * H
# Hand computation (states last until the next report, at most 6 h; hours per station and UTC day):
# A day 0: 00-06 ES libre, 06-12 ES occupé, 12-18 HS (6 h cap), 18-24 unknown -> ES 12, HS 6, occ 6/12
# B day 0: 00-03 ES libre, 03-05 ES occupé, 05-20 inconnu, 20-24 ES réservé     -> ES 9, occ 2/9
#   station 0 day 0: observed 27 h, HS 6 h, availability 21/27, occupancy 8/21 (2 points observed)
# A day 1: 00-06 unknown (HS ended at 18:00), 06-12 ES libre; B day 1: 00-02 ES réservé
#   station 0 day 1: observed 8 h, availability 1, occupancy 0/8 = 0 (a real zero: 2 points observed)
# C day 0: 00-06 ES occupé; D never reports -> station 1: observed 6 h, occupancy withheld (1 point)
# C day 1: 00-06 ES libre                     -> station 1: observed 6 h, withheld
# E day 0: 00-04 HS (from 22:00 the day before), 10-13 HS, 13-19 ES occupé -> observed 13 h, HS 7 h,
#   availability 6/13, withheld (a single charge point); E day 1: 08-14 ES libre -> 6 h, withheld
EXPECTED = [
    (S0, D0, 2, 27.0, 6.0, round(21 / 27, 4), round(8 / 21, 4), False),
    (S0, D1, 2, 8.0, 0.0, 1.0, 0.0, False),
    (S1, D0, 2, 6.0, 0.0, 1.0, None, True),
    (S1, D1, 2, 6.0, 0.0, 1.0, None, True),
    (S2, D0, 1, 13.0, 7.0, round(6 / 13, 4), None, True),
    (S2, D1, 1, 6.0, 0.0, 1.0, None, True),
]


def test_availability_per_station_and_day(world: World) -> None:
    two_sources(world)
    with world.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        sync_assets(s, world.ctx.locator(), ds, consolidate(s).points)
        report = import_dynamic(s, ds, STATUS, now=NOW)
        assert report.rejected == 0, report.rejected_by_code
    outcome = policy_and_publish(world, "ev-status", {"preset": "ev-station-availability"})
    rel = outcome.release
    assert outcome.published and rel.geometry == "point"
    assert (rel.coverage_start, rel.coverage_end) == (D0, D0 + 48 * H)  # whole days older than 1 day
    table = pq.read_table(release_file(world, rel))
    assert table.column_names[:6] == ["id_station_itinerance", "period", "nom_station", "area_code"] + [
        "area_name",
        "lon",
    ]
    names = ["id_station_itinerance", "period", "charge_points", "hours_observed", "hours_out_of_service"]
    names += ["availability_rate", "occupancy_rate", "secret"]
    got = [tuple(r[n] for n in names) for r in table.to_pylist()]
    assert got == EXPECTED
    first = table.to_pylist()[0]
    assert (first["area_code"], first["area_name"], first["lon"], first["lat"]) == (
        "06088",
        "Nice",
        7.26205,
        43.703,
    )
    assert rel.report["secret"] == 4 and rel.report["passed"]
    check = next(c for c in rel.report["checks"] if c["code"] == "OCCUPANCY_MIN_POINTS")
    assert (check["checked"], check["failures"]) == (6, 0)
    page = world.client.get("/opendata/ev-status")  # anonymous
    assert page.status_code == 200 and "OCCUPANCY_MIN_POINTS" in page.text
    answer = world.client.get(
        "/api/v1/opendata/ev-status/records",
        params={"select": "id_station_itinerance, occupancy_rate", "where": "secret = false"},
    )
    assert answer.status_code == 200, answer.text
    assert {r["id_station_itinerance"] for r in answer.json()["results"]} == {S0}


def test_nothing_to_publish_before_a_whole_day(world: World) -> None:
    two_sources(world)
    with world.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        sync_assets(s, world.ctx.locator(), ds, consolidate(s).points)
        import_dynamic(s, ds, [dyn(A, NOW - 5 * H)], now=NOW)
        set_policy(s, ds, {"preset": "ev-station-availability"}, None)
        with pytest.raises(Invalid, match="no whole day of status reports"):
            publish(s, world.ctx.settings, ds, None, now=NOW)
