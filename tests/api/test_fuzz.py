"""Property-based requests: the whole OpenAPI, the EV domain routes, and hostile inputs: never a 5xx.

The hostile inputs are hypothesis strategies for what broke the API before: dates at the limits of
Python's types, deep nesting (JSON and YAML bodies, explore `where=`), huge fields and every charset in
Content-Type. Concurrent same-Idempotency-Key retries are covered by tests/ingest.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from tests.conftest import build_world, sqlite_context
from tests.domains.ev.irve_factory import irve_csv, pdc_id
from tests.opendata.factories import make_release

from territoria.catalog.service import get_organisation
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.status import ensure_status_dataset, import_dynamic, sync_assets

# Built at import: schemathesis parametrizes tests from the schema when the module is collected.
_TMP = Path(tempfile.mkdtemp(prefix="territoria-fuzz-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
WORLD = build_world(sqlite_context(_TMP), assets=5)
CLIENT = TestClient(WORLD.client.app, raise_server_exceptions=False)
NOW = datetime.now(UTC).replace(microsecond=0)


def _feed_domains() -> None:
    """An open IRVE dataset with live status (the EV routes have something to serve), an open release."""
    body = {"slug": "irve", "title": "irve", "domain": "ev", "kind": "records", "schema": "irve-statique"}
    r = CLIENT.post("/api/v1/datasets", json={**body, "access": "open"}, headers=WORLD.operator)
    assert r.status_code == 201, r.text
    headers = {**WORLD.operator, "content-type": "text/csv"}
    r = CLIENT.post("/api/v1/datasets/irve/records", content=irve_csv().encode(), headers=headers)
    assert r.status_code == 200, r.text
    rows = [
        {"id_pdc_itinerance": pdc_id(s, p), "etat_pdc": "en_service", "occupation_pdc": occupation}
        | {"horodatage": (NOW - timedelta(hours=h)).isoformat()}
        for s in range(3)
        for p in range(2)
        for h, occupation in ((30, "libre"), (5, "occupe"), (1, "libre"))
    ]
    with WORLD.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        sync_assets(s, WORLD.ctx.locator(), ds, consolidate(s).points)
        import_dynamic(s, ds, rows, now=NOW + timedelta(seconds=1))
    make_release(WORLD.ctx)  # 'energy-open', for explore and exports
    kpi = {"code": "lights_power_sum", "dataset": "lights", "metric": "power", "aggregation": "sum"}
    kpi |= {"title": {"fr": "P", "en": "P"}, "description": {"fr": "P", "en": "P"}, "unit": "W"}
    assert CLIENT.post("/api/v1/kpis", json=kpi, headers=WORLD.operator).status_code == 201


_feed_domains()
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", WORLD.client.app)
HEADERS = (WORLD.operator, {}, {"Authorization": "Bearer trt_forged"})
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case: Any) -> None:
    """With the operator's token, anonymously and with a forged token."""
    for headers in HEADERS:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])


@schema.include(path_regex=r"^/api/v1/ev/").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_ev_domain_routes_no_server_error(case: Any) -> None:
    """The EV routes, on a world that has stations and live status to serve."""
    for headers in HEADERS:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])


def _forbidden_case(case: Any) -> bool:
    """Point the case at the operator's private dataset; False when the path names no dataset."""
    params = case.path_parameters or {}
    if "slug" not in params:
        return False
    params["slug"] = "lights"
    return True


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_never_a_success_on_a_forbidden_dataset(case: Any) -> None:
    """Whatever the query, body or method: another operator and anonymous callers never get a 2xx."""
    if not _forbidden_case(case):
        return
    for headers in (WORLD.other, {}, {"Authorization": "Bearer trt_forged"}):
        response = case.call(headers=headers)
        assert response.status_code < 500, response.text
        assert not 200 <= response.status_code < 300, (case.method, case.formatted_path, response.text[:200])


# -- hostile inputs ------------------------------------------------------------------------------------

LIMIT_DATES = st.sampled_from(
    [
        "0001-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999-23:59",
        "0000-01-01",
        "10000-01-01",
        "-0001-01-01",
        "+275760-09-13",
        "99999999-01-01",
        "1969-12-31T23:59:59-00:01",
        "2026-02-30",
        "2026-13-01",
        "",
    ]
)
DATES = st.one_of(
    LIMIT_DATES,
    st.dates().map(str),
    st.datetimes(timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
    st.tuples(st.dates(), st.integers(-23, 23), st.integers(0, 59)).map(
        lambda t: f"{t[0].isoformat()}T00:00:00{'+' if t[1] >= 0 else '-'}{abs(t[1]):02d}:{t[2]:02d}"
    ),
    st.integers(-(10**12), 10**12).map(str),
)
# Every route taking a date or an instant in its query, with the names of those parameters.
DATE_ROUTES = [
    ("/api/v1/kpis/lights_power_sum", ("start", "end")),
    ("/api/v1/kpis/lights_power_sum/correlation?with=lights_power_sum", ("start", "end")),
    ("/kpis/lights_power_sum.csv", ("start", "end")),
    ("/datasets/lights/export.csv", ("start", "end")),
    ("/api/v1/datasets/lights/quality", ("start", "end")),
    ("/api/v1/datasets/lights/report", ("start", "end")),
    ("/datasets/lights/report", ("start", "end")),
    ("/api/v1/datasets/lights/measurements", ("start", "end")),
    ("/api/v1/datasets/lights/measurements?resolution=month", ("start", "end")),
    ("/api/v1/contracts/1/compliance", ("start", "end")),
    ("/api/v1/audit", ("since", "until")),
    ("/api/v1/audit/export", ("since", "until")),
    ("/admin/audit", ("since", "until")),
    ("/api/v1/datasets/lights/quarantine", ("since", "until")),
]


def _no_5xx(response: Any, *where: object) -> None:
    """The answer is not a server error."""
    assert response.status_code < 500, (*where, response.status_code, response.text[:300])


@FUZZ
@given(route=st.sampled_from(DATE_ROUTES), first=DATES, second=DATES, auth=st.sampled_from(HEADERS[:2]))
def test_dates_at_the_type_limits_never_5xx(
    route: tuple[str, tuple[str, ...]], first: str, second: str, auth: dict[str, str]
) -> None:
    path, (a, b) = route
    params = {a: first, b: second}
    _no_5xx(CLIENT.get(path, params=params, headers=auth), path, params)
    _no_5xx(CLIENT.get(path, params={a: first}, headers=auth), path, first)


def _nested_json(depth: int, leaf: str) -> str:
    """A value nested `depth` levels deep, alternating arrays and objects."""
    text = leaf
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"v": {text}}}'
    return text


JSON_TARGETS = [
    "/api/v1/datasets/lights/measurements",
    "/api/v1/datasets/irve/records",
    "/api/v1/datasets",
    "/api/v1/datasets/lights/assets",
    "/api/v1/kpis",
    "/api/v1/ev/status",
    "/api/v1/ev/ocpi/locations",
]


@FUZZ
@given(
    path=st.sampled_from(JSON_TARGETS),
    depth=st.one_of(st.integers(1, 40), st.integers(200, 3000)),
    where=st.sampled_from(["value", "ts", "top", "properties"]),
)
def test_deeply_nested_json_bodies_never_5xx(path: str, depth: int, where: str) -> None:
    inner = _nested_json(depth, "1")
    body = {
        "value": f'[{{"asset": "L000", "metric": "power", "ts": "2026-10-01T00:00:00Z", "value": {inner}}}]',
        "ts": f'[{{"asset": "L000", "metric": "power", "ts": {inner}, "value": 1}}]',
        "top": inner,
        "properties": f'[{{"id": "X1", "kind": "light", "lon": 7.27, "lat": 43.7, "properties": {inner}}}]',
    }[where]
    for content_type in ("application/json", "application/x-ndjson"):
        headers = {**WORLD.operator, "Content-Type": content_type}
        _no_5xx(CLIENT.post(path, content=body.encode(), headers=headers), path, depth, where)


@FUZZ
@given(
    depth=st.one_of(st.integers(1, 40), st.integers(100, 700)),
    style=st.sampled_from(["flow", "block", "anchors", "mixed"]),
)
def test_deeply_nested_yaml_kpis_never_5xx(depth: int, style: str) -> None:
    if style == "flow":
        doc = "- code: x\n  extra: " + "[" * depth + "]" * depth
    elif style == "block":
        doc = "- code: x\n  extra:\n" + "".join("  " * (i + 2) + "a:\n" for i in range(depth))
    elif style == "anchors":
        doc = "- &a [1, 2]\n" + "".join(f"- &a{i} [*a, *a, *a]\n" for i in range(min(depth, 100)))
    else:
        doc = "- code: x\n  extra: " + "{a: [" * depth + "]}" * depth
    for content_type in ("application/yaml", "application/yaml; charset=utf-16", "application/x-yaml"):
        headers = {**WORLD.operator, "Content-Type": content_type}
        _no_5xx(CLIENT.post("/api/v1/kpis", content=doc.encode(), headers=headers), style, depth)


WHERE_PATHS = ["/api/v1/opendata/energy-open/records", "/api/v1/opendata/energy-open/exports/csv"]


@FUZZ
@given(
    depth=st.one_of(st.integers(1, 60), st.integers(300, 1000)),
    shape=st.sampled_from(["parens", "not", "mixed", "unbalanced", "date"]),
    path=st.sampled_from(WHERE_PATHS),
    date=LIMIT_DATES,
)
def test_deep_where_expressions_never_5xx(depth: int, shape: str, path: str, date: str) -> None:
    leaf = "area_code = '06088'"
    where = {
        "parens": "(" * depth + leaf + ")" * depth,
        "not": "not " * depth + leaf,
        "mixed": "(not " * depth + leaf + ")" * depth,
        "unbalanced": "(" * depth + leaf,
        "date": f"period >= '{date}' and year(period) = {date[:5].strip('-') or 0}",
    }[shape]
    _no_5xx(CLIENT.get(path, params={"where": where}), path, shape, depth)


CHARSETS = st.sampled_from(
    ["utf-8", "utf-16", "utf-16-le", "utf-32", "latin-1", "iso-8859-15", "cp1252", "ascii", "utf-8-sig"]
    + ["unknown", "x" * 300, "", '"utf-8"', "utf-7", "ebcdic-cp-be"]
)
BODIES = st.sampled_from(
    [
        "asset,metric,ts,value\nL000,power,2026-10-01T00:00:00Z,1\n",
        "asset,metric,ts,value\nL000,power,2026-10-01T00:00:00Z,é€\n",
        "asset,m\xe9tric,ts,value\nL000,power,2026-10-01T00:00:00Z,1\n",
        '[{"asset": "L000", "metric": "power", "ts": "2026-10-01T00:00:00Z", "value": 1}]',
        "\ufeff" + '[{"asset": "L000", "metric": "power", "ts": "2026-10-01T00:00:00Z", "value": 1}]',
    ]
)


@FUZZ
@example(  # utf-16 declared, no byte-order mark: the incremental decoder raised a bare UnicodeError (500)
    body="asset,metric,ts,value\nL000,power,2026-10-01T00:00:00Z,1\n",
    charset="utf-16",
    encoding="utf-8",
    media="text/csv",
    path="/api/v1/datasets/lights/measurements",
    garbage=b"",
)
@given(
    body=BODIES,
    charset=CHARSETS,
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "raw"]),
    media=st.sampled_from(["text/csv", "application/json", "application/x-ndjson", "application/yaml"]),
    path=st.sampled_from(
        ["/api/v1/datasets/lights/measurements", "/api/v1/datasets/irve/records", "/api/v1/kpis"]
    ),
    garbage=st.binary(max_size=64),
)
def test_every_charset_in_content_type_never_5xx(
    body: str, charset: str, encoding: str, media: str, path: str, garbage: bytes
) -> None:
    if encoding == "raw":
        data = garbage + body.encode("utf-8", "surrogatepass") + b"\x1f\x8b\x08\x00\xff\xfe"
    else:
        data = body.encode(encoding, errors="replace")
    headers = {**WORLD.operator, "Content-Type": f"{media}; charset={charset}" if charset else media}
    _no_5xx(CLIENT.post(path, content=data, headers=headers), path, media, charset, encoding)


@FUZZ
@given(
    size=st.sampled_from([1_000, 131_073, 400_000]),
    where=st.sampled_from(["csv_value", "csv_asset", "json_asset", "query_asset", "query_where", "header"]),
)
def test_huge_fields_never_5xx(size: int, where: str) -> None:
    big = "x" * size
    in_url = big[:60_000]  # the client refuses longer URLs; the server bounds each parameter anyway
    measurements = "/api/v1/datasets/lights/measurements"
    csv_headers = {**WORLD.operator, "Content-Type": "text/csv"}
    if where == "csv_value":
        r = CLIENT.post(
            measurements, content=f"asset,metric,ts,value\nL000,power,2026-10-01,{big}\n", headers=csv_headers
        )
    elif where == "csv_asset":
        r = CLIENT.post(
            measurements, content=f"asset,metric,ts,value\n{big},power,2026-10-01,1\n", headers=csv_headers
        )
    elif where == "json_asset":
        r = CLIENT.post(
            measurements,
            json=[{"asset": big, "metric": "power", "ts": "2026-10-01", "value": 1}],
            headers=WORLD.operator,
        )
    elif where == "query_asset":
        r = CLIENT.get(measurements, params={"asset": in_url, "cursor": big[:100]}, headers=WORLD.operator)
    elif where == "query_where":
        r = CLIENT.get(WHERE_PATHS[0], params={"where": f"area_code = '{in_url}'"})
    else:
        r = CLIENT.get(measurements, headers={**WORLD.operator, "Idempotency-Key": big[:8000]})
    _no_5xx(r, where, size)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    station=st.one_of(
        st.integers(0, 6).map(lambda s: f"FRA68P06{s:04d}"),
        st.text(min_size=1, max_size=300).filter(lambda t: "/" not in t and t not in (".", "..")),
    ),
    query=st.dictionaries(
        st.sampled_from(["lang", "level", "days", "day", "start", "end", "commune", "tz"]),
        st.one_of(LIMIT_DATES, st.text(max_size=50)),
        max_size=3,
    ),
    auth=st.sampled_from(HEADERS),
)
def test_ev_pages_never_5xx(station: str, query: dict[str, str], auth: dict[str, str]) -> None:
    """The observatory's HTML pages, which are outside the OpenAPI, with any station id and query."""
    for path in ("/ev", f"/ev/stations/{quote(station, safe='')}"):
        _no_5xx(CLIENT.get(path, params=query, headers=auth), path, query)
