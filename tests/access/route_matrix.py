"""The world of the route matrix: six kinds of caller, and a sample request for every route of the app.

`lights` is lightco's private time series; `irve` its open IRVE static file and `ev-status` its private
status history; `partnerco` (a partner) holds agreements on `lights` and `ev-status`, `partner2` (a
partner) and `waterco` (another operator) hold none; `city` is the authority, whose admin token is a
platform administrator's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.routing import APIRoute, _IncludedRouter
from starlette.routing import BaseRoute, Mount, Route
from tests.conftest import World, bearer
from tests.domains.ev.irve_factory import irve_csv

from territoria.access.agreement_models import Agreement
from territoria.access.service import create_token
from territoria.catalog.schemas import OrganisationCreate
from territoria.catalog.service import create_organisation, get_dataset, get_organisation
from territoria.domains.ev.consolidation import consolidate
from territoria.domains.ev.status import ensure_status_dataset, import_dynamic, sync_assets

KINDS = ("anonymous", "other operator", "partner without agreement", "partner", "owner", "admin")
POINT = [{"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 1}]
STATION = "FRA68P060000"
PDC = "FRA68E0600000"


def flat_routes(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers unfolded (HEAD left out)."""
    for r in routes:
        if isinstance(r, _IncludedRouter):
            yield from flat_routes(list(r.effective_candidates()))  # type: ignore[arg-type]
            continue
        path = getattr(r, "path_format", None) or getattr(r, "path", "")
        if isinstance(r, Mount):
            yield "GET", path
            continue
        methods = getattr(r, "methods", None) or set()
        if isinstance(r, APIRoute | Route) or methods:
            for m in sorted(set(methods) - {"HEAD"}):
                yield m, path


@dataclass
class Setup:
    """The world, one header set per kind of caller, and the identifiers the sample requests use."""

    world: World
    headers: dict[str, dict[str, str]]
    batch: str
    agreement: int  # an agreement the revoke route may revoke (on the open IRVE file)
    spare_token: int
    kpi: str


def _share(world: World, slug: str, org: str) -> int:
    """An agreement on a dataset for an organisation; its id."""
    now = datetime.now(UTC)
    with world.ctx.session(write=True) as s:
        a = Agreement(
            dataset_id=get_dataset(s, slug).id,
            organisation_id=get_organisation(s, org).id,
            purpose="matrix",
            starts_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=30),
        )
        s.add(a)
        s.flush()
        return a.id


def setup(world: World) -> Setup:
    """Datasets, agreements, a batch and tokens for the six kinds of caller."""
    c, op = world.client, world.operator
    irve = {"slug": "irve", "title": "IRVE", "domain": "ev", "kind": "records", "schema": "irve-statique"}
    assert c.post("/api/v1/datasets", json={**irve, "access": "open"}, headers=op).status_code == 201
    r = c.post(
        "/api/v1/datasets/irve/records",
        content=irve_csv().encode(),
        headers={**op, "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    now = datetime.now(UTC).replace(microsecond=0)
    with world.ctx.session(write=True) as s:
        ds = ensure_status_dataset(s, get_organisation(s, "lightco"))
        sync_assets(s, world.ctx.locator(), ds, consolidate(s).points)
        row = {"id_pdc_itinerance": PDC, "etat_pdc": "en_service", "occupation_pdc": "libre"}
        import_dynamic(s, ds, [{**row, "horodatage": (now - timedelta(hours=1)).isoformat()}], now=now)
        partner = create_organisation(s, OrganisationCreate(slug="partnerco", name="P", kind="partner"))
        lonely = create_organisation(s, OrganisationCreate(slug="partner2", name="P2", kind="partner"))
        _, partner_token = create_token(s, partner, ["admin", "read", "ingest"])
        _, lonely_token = create_token(s, lonely, ["admin", "read", "ingest"])
        spare, _ = create_token(s, get_organisation(s, "lightco"), ["read"])
        spare_id = spare.id
    _share(world, "lights", "partnerco")
    _share(world, "ev-status", "partnerco")
    spare_agreement = _share(world, "irve", "partnerco")  # the one the revoke route may revoke
    r = c.post("/api/v1/datasets/lights/measurements", json=POINT, headers=op)
    assert r.status_code == 200, r.text
    policy = {"preset": "open-measurements", "delay_days": 0}
    assert c.put("/api/v1/datasets/lights/privacy-policy", json=policy, headers=op).status_code == 200
    assert c.post("/api/v1/datasets/lights/releases", headers=op).status_code == 201
    assert c.post("/api/v1/kpis", json=KPI, headers=op).status_code == 201
    headers = {
        "anonymous": {},
        "other operator": world.other,
        "partner without agreement": bearer(lonely_token),
        "partner": bearer(partner_token),
        "owner": op,
        "admin": world.admin,
    }
    return Setup(world, headers, r.json()["batch_id"], spare_agreement, spare_id, KPI["code"])


def sample(s: Setup, method: str, path: str) -> tuple[str, Any]:
    """A concrete URL and body for a route."""
    values = {
        "slug": "lights",
        "batch_id": s.batch,
        "code": s.kpi if path.startswith(("/api/v1/kpis", "/kpis")) else "06088",
        "target_id": "999",
        "contract_id": "999",
        "agreement_id": str(s.agreement),
        "org": "lightco",
        "email": "matrix@lightco.example.org",
        "token_id": str(s.spare_token),
        "secret": "not-a-secret",
        "id_station": STATION,
        "fmt": "csv",
        "path": "territoria.css",
        "answer": "decline",
        "row_id": "999",
    }
    values["path"] = STATIC_FILES.get(path, "territoria.css")
    url = path.format(**values) + QUERIES.get((method, path), "")
    return url, BODIES.get((method, path))


# One real file of each static mount (stages and domains serve their own under /static/<name>/).
STATIC_FILES = {
    "/static/analytics/{path}": "steering.css",
    "/static/dashboard/{path}": "dashboard.css",
    "/static/ev/{path}": "ev.css",
    "/static/opendata/{path}": "opendata.css",
}

KPI: dict[str, Any] = {
    "code": "lights_power_sum",
    "title": {"fr": "Puissance cumulée", "en": "Summed power"},
    "description": {"fr": "Somme des puissances relevées.", "en": "Sum of the power readings."},
    "dataset": "lights",
    "metric": "power",
    "aggregation": "sum",
    "unit": "W",
}
QUERIES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/ev/ocpi/locations"): "?dataset=irve",
    ("GET", "/api/v1/kpis/{code}/correlation"): "?with=lights_power_sum",
}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/kpis"): {**KPI, "code": "lights_power_max", "aggregation": "max"},
    ("POST", "/api/v1/datasets"): {
        "slug": "matrix",
        "title": "Matrix",
        "domain": "lighting",
        "kind": "timeseries",
        "access": "private",
        "metrics": [{"name": "power", "unit": "W", "min": 0, "max": 400}],
    },
    ("PATCH", "/api/v1/datasets/{slug}"): {"title": "Street lights"},
    ("POST", "/api/v1/datasets/{slug}/assets"): [{"id": "L000", "kind": "light", "lon": 7.27, "lat": 43.698}],
    ("POST", "/api/v1/datasets/{slug}/measurements"): POINT,
    ("POST", "/api/v1/datasets/{slug}/records"): [{"id": "x"}],
    ("POST", "/api/v1/datasets/{slug}/quarantine/resubmit"): [{"id": 1}],
    ("POST", "/api/v1/datasets/{slug}/quarantine/discard"): {"ids": [1], "reason": "test"},
    ("PUT", "/api/v1/datasets/{slug}/privacy-policy"): {"preset": "open-measurements"},
    ("POST", "/api/v1/tokens"): {"scopes": ["read"]},
    ("PUT", "/api/v1/organisations/{org}/members/{email}"): {"role": "viewer"},
}


# Every route of the app and what each kind of caller gets, in KINDS order: a refusal (401 log in, 403
# not allowed, 404 as if it did not exist) or "ok" (anything else below 500: an answer, a redirect, a
# validation error of the sample body). A route missing here fails `test_every_route_is_in_the_matrix`:
# decide who may call it before shipping it.
#                                                               anon other p-no partner owner admin
MATRIX_TEXT = """
DELETE /api/v1/organisations/{org}/members/{email}          401 403 403 403 404 404
DELETE /api/v1/targets/{target_id}                          401 403 403 403 403 404
GET    /                                                     ok  ok  ok  ok  ok  ok
GET    /account                                              ok  ok  ok  ok  ok  ok
GET    /admin/audit                                          ok 403 403 403 403  ok
GET    /agreements                                           ok  ok  ok  ok  ok  ok
GET    /api/docs                                             ok  ok  ok  ok  ok  ok
GET    /api/redoc                                            ok  ok  ok  ok  ok  ok
GET    /api/v1/agreements                                   401  ok  ok  ok  ok  ok
GET    /api/v1/agreements/{agreement_id}                    401 404 404  ok  ok  ok
GET    /api/v1/areas                                         ok  ok  ok  ok  ok  ok
GET    /api/v1/audit                                        401  ok  ok  ok  ok  ok
GET    /api/v1/audit/export                                 401  ok  ok  ok  ok  ok
GET    /api/v1/audit/verify                                 401 403 403 403 403  ok
GET    /api/v1/batches/{batch_id}                           404 404 404 403  ok 404
GET    /api/v1/batches/{batch_id}/report                    404 404 404 403  ok 404
GET    /api/v1/contracts                                    401  ok  ok  ok  ok  ok
GET    /api/v1/contracts/{contract_id}                      401 404 404 404 404 404
GET    /api/v1/contracts/{contract_id}/compliance           401 404 404 404 404 404
GET    /api/v1/datasets                                      ok  ok  ok  ok  ok  ok
GET    /api/v1/datasets/{slug}                              404 404 404  ok  ok 404
GET    /api/v1/datasets/{slug}/assets                       404 404 404  ok  ok 404
GET    /api/v1/datasets/{slug}/measurements                 404 404 404  ok  ok 404
GET    /api/v1/datasets/{slug}/privacy-policy               404 404 404  ok  ok 404
GET    /api/v1/datasets/{slug}/quality                      404 404 404  ok  ok 404
GET    /api/v1/datasets/{slug}/quarantine                   404 404 404 403  ok 404
GET    /api/v1/datasets/{slug}/quarantine.csv               404 404 404 403  ok 404
GET    /api/v1/datasets/{slug}/quarantine/totals            404 404 404 403  ok 404
GET    /api/v1/datasets/{slug}/records                      404 404 404  ok  ok 404
GET    /api/v1/datasets/{slug}/releases                     404 404 404 403  ok 404
GET    /api/v1/datasets/{slug}/report                       404 404 404 403  ok 404
GET    /api/v1/ev/availability                              404 404 404  ok  ok 404
GET    /api/v1/ev/availability/daily                        404 404 404  ok  ok 404
GET    /api/v1/ev/coverage                                   ok  ok  ok  ok  ok  ok
GET    /api/v1/ev/indicators                                 ok  ok  ok  ok  ok  ok
GET    /api/v1/ev/indicators/history                         ok  ok  ok  ok  ok  ok
GET    /api/v1/ev/live                                      404 404 404  ok  ok 404
GET    /api/v1/ev/sessions                                  404 404 404 404 404 404
GET    /api/v1/kpis                                          ok  ok  ok  ok  ok  ok
GET    /api/v1/kpis/{code}                                  404 404 404  ok  ok 404
GET    /api/v1/kpis/{code}/correlation                      404 404 404  ok  ok 404
GET    /api/v1/kpis/{code}/stats                            404 404 404  ok  ok 404
GET    /api/v1/me                                            ok  ok  ok  ok  ok  ok
GET    /api/v1/me/offers                                    401 403 403 403 403 403
GET    /api/v1/openapi.json                                  ok  ok  ok  ok  ok  ok
GET    /api/v1/opendata                                      ok  ok  ok  ok  ok  ok
GET    /api/v1/opendata/{slug}                               ok  ok  ok  ok  ok  ok
GET    /api/v1/opendata/{slug}/exports/{fmt}                 ok  ok  ok  ok  ok  ok
GET    /api/v1/opendata/{slug}/records                       ok  ok  ok  ok  ok  ok
GET    /api/v1/opendata/{slug}/schema.json                   ok  ok  ok  ok  ok  ok
GET    /api/v1/organisations                                 ok  ok  ok  ok  ok  ok
GET    /api/v1/organisations/{org}/members                  401 403 403 403  ok  ok
GET    /api/v1/quality                                       ok  ok  ok  ok  ok  ok
GET    /api/v1/targets                                       ok  ok  ok  ok  ok  ok
GET    /api/v1/targets/{target_id}                          404 404 404 404 404 404
GET    /api/v1/tokens                                       401  ok  ok  ok  ok  ok
GET    /batches/{batch_id}/report                           404 404 404 403  ok 404
GET    /communes/{code}                                      ok  ok  ok  ok  ok  ok
GET    /contracts                                           401  ok  ok  ok  ok  ok
GET    /contracts/{contract_id}                             401 404 404 404 404 404
GET    /contracts/{contract_id}/report                      401 404 404 404 404 404
GET    /datasets/{slug}                                     404 404 404  ok  ok 404
GET    /datasets/{slug}/assets.geojson                      404 404 404  ok  ok 404
GET    /datasets/{slug}/export.csv                          404 404 404  ok  ok 404
GET    /datasets/new                                         ok  ok  ok  ok  ok  ok
GET    /datasets/{slug}/quarantine                          404 404 404 403  ok 404
GET    /datasets/{slug}/report                              404 404 404 403  ok 404
GET    /datasets/{slug}/upload                              404 404 404 403  ok 404
GET    /docs/oauth2-redirect                                 ok  ok  ok  ok  ok  ok
GET    /ev                                                   ok  ok  ok  ok  ok  ok
GET    /ev/stations/{id_station}                             ok  ok  ok  ok  ok  ok
GET    /healthz                                              ok  ok  ok  ok  ok  ok
GET    /invitation/{secret}                                 404 404 404 404 404 404
GET    /kpis/{code}                                         404 404 404  ok  ok 404
GET    /kpis/{code}.csv                                     404 404 404  ok  ok 404
GET    /login                                                ok  ok  ok  ok  ok  ok
GET    /map                                                  ok  ok  ok  ok  ok  ok
GET    /opendata                                             ok  ok  ok  ok  ok  ok
GET    /opendata/catalog.jsonld                              ok  ok  ok  ok  ok  ok
GET    /opendata/catalog.rdf                                 ok  ok  ok  ok  ok  ok
GET    /opendata/catalog.ttl                                 ok  ok  ok  ok  ok  ok
GET    /opendata/{slug}                                      ok  ok  ok  ok  ok  ok
GET    /search                                               ok  ok  ok  ok  ok  ok
GET    /password-reset/{secret}                             404 404 404 404 404 404
GET    /quality                                              ok  ok  ok  ok  ok  ok
GET    /static/{path}                                        ok  ok  ok  ok  ok  ok
GET    /static/analytics/{path}                              ok  ok  ok  ok  ok  ok
GET    /static/dashboard/{path}                              ok  ok  ok  ok  ok  ok
GET    /static/ev/{path}                                     ok  ok  ok  ok  ok  ok
GET    /static/opendata/{path}                               ok  ok  ok  ok  ok  ok
GET    /targets                                              ok  ok  ok  ok  ok  ok
PATCH  /api/v1/datasets/{slug}                              404 404 404 403  ok 404
POST   /account/offers/{org}/{answer}                        ok  ok  ok  ok  ok  ok
POST   /account/organisation                                 ok  ok  ok  ok  ok  ok
POST   /account/password                                     ok  ok  ok  ok  ok  ok
POST   /agreements                                           ok  ok  ok  ok  ok  ok
POST   /agreements/{agreement_id}/revoke                     ok  ok  ok  ok  ok  ok
POST   /api/v1/agreements                                    ok  ok  ok  ok  ok  ok
POST   /api/v1/agreements/{agreement_id}/revoke             401 404 404 403  ok 403
POST   /api/v1/contracts                                     ok  ok  ok  ok  ok  ok
POST   /api/v1/datasets                                     401  ok  ok  ok  ok  ok
POST   /api/v1/datasets/{slug}/assets                       404 404 404 403  ok 404
POST   /api/v1/datasets/{slug}/measurements                 404 404 404 403  ok 404
POST   /api/v1/datasets/{slug}/quarantine/discard           404 404 404 403 404 404
POST   /api/v1/datasets/{slug}/quarantine/resubmit          404 404 404 403 404 404
POST   /api/v1/datasets/{slug}/records                      404 404 404 403  ok 404
POST   /api/v1/datasets/{slug}/releases                     404 404 404 403  ok 404
POST   /api/v1/ev/ocpi/locations                            401 403 403 403  ok 403
POST   /api/v1/ev/status                                    404 404 404 403  ok 404
POST   /api/v1/kpis                                         401 404 404  ok  ok  ok
POST   /api/v1/me/memberships/{org}/accept                  401 403 403 403 403 403
POST   /api/v1/me/memberships/{org}/decline                 401 403 403 403 403 403
POST   /api/v1/organisations/{org}/members/{email}/unlock   401 403 403 403 404 404
POST   /api/v1/targets                                       ok  ok  ok  ok  ok  ok
POST   /api/v1/tokens                                       401  ok  ok  ok  ok  ok
POST   /api/v1/tokens/{token_id}/revoke                     401 404 404 404  ok  ok
POST   /datasets/{slug}/publish                              ok  ok  ok  ok  ok  ok
POST   /datasets/{slug}/quarantine/discard                  404 404 404 403  ok 404
POST   /datasets/{slug}/quarantine/resubmit                  ok  ok  ok  ok  ok  ok
POST   /datasets/{slug}/upload                              404 404 404 403  ok 404
POST   /datasets/new                                         ok  ok  ok  ok  ok  ok
POST   /invitation/{secret}                                 404 404 404 404 404 404
POST   /login                                               401 401 401 401 401 401
POST   /logout                                               ok  ok  ok  ok  ok  ok
POST   /password-reset/{secret}                             404 404 404 404 404 404
PUT    /api/v1/datasets/{slug}/privacy-policy               404 404 404 403  ok 404
PUT    /api/v1/organisations/{org}/members/{email}          401 403 403 403  ok  ok
GET    /datasets/{slug}/quarantine/rows/{row_id}            404 404 404 403 404 404
POST   /datasets/{slug}/quarantine/rows/{row_id}            404 404 404 403  ok 404
GET    /organisations/{org}/people                           ok 403 403 403  ok  ok
POST   /organisations/{org}/people                           ok 403 403 403  ok  ok
POST   /organisations/{org}/people/{email}/role              ok  ok  ok  ok  ok  ok
POST   /organisations/{org}/people/{email}/remove            ok  ok  ok  ok  ok  ok
GET    /account/tokens                                       ok  ok  ok  ok  ok  ok
POST   /account/tokens                                       ok  ok  ok  ok  ok  ok
POST   /account/tokens/{token_id}/revoke                     ok  ok  ok  ok  ok  ok
"""


def matrix() -> dict[tuple[str, str], tuple[str, ...]]:
    """MATRIX_TEXT as (method, path) -> the expected answer of each kind of caller."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for line in MATRIX_TEXT.strip().splitlines():
        method, path, *answers = line.split()
        assert len(answers) == len(KINDS), line
        out[(method, path)] = tuple(answers)
    return out
