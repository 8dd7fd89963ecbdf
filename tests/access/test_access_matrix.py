"""Every dataset endpoint × role × organisation: own roles, tokens, another operator, a partner with an
agreement, an expired agreement, the platform admin and anonymous callers get exactly their rights; and
every route of the app (API, pages, domains) is in the route matrix with each kind of caller's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.access.route_matrix import KINDS, flat_routes, matrix, sample, setup
from tests.conftest import World, bearer, web_login

from territoria.access.agreement_models import Agreement
from territoria.access.audit_models import AuditEvent
from territoria.access.roles import Capability
from territoria.access.service import create_token
from territoria.app import create_app
from territoria.catalog.service import get_dataset, get_organisation

READ, INGEST, QUARANTINE, MANAGE, PUBLISH = (
    Capability.READ,
    Capability.INGEST,
    Capability.QUARANTINE,
    Capability.MANAGE,
    Capability.PUBLISH,
)
POINT = [{"asset": "L000", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 1}]

# Every API route that names a dataset or a batch, with the capability it needs and a plausible body.
# A new route must be added here: `test_every_dataset_route_is_in_the_matrix` fails otherwise.
ROUTES: list[tuple[str, str, Capability, Any]] = [
    ("GET", "/api/v1/datasets/{slug}", READ, None),
    ("GET", "/api/v1/datasets/{slug}/assets", READ, None),
    ("GET", "/api/v1/datasets/{slug}/measurements", READ, None),
    ("GET", "/api/v1/datasets/{slug}/quality", READ, None),
    (
        "POST",
        "/api/v1/datasets/{slug}/assets",
        INGEST,
        [{"id": "L000", "kind": "light", "lon": 7.27, "lat": 43.698}],
    ),
    ("POST", "/api/v1/datasets/{slug}/measurements", INGEST, POINT),
    ("POST", "/api/v1/datasets/{slug}/records", INGEST, [{"id": "x"}]),
    ("GET", "/api/v1/datasets/{slug}/quarantine", QUARANTINE, None),
    ("GET", "/api/v1/datasets/{slug}/quarantine/totals", QUARANTINE, None),
    ("GET", "/api/v1/datasets/{slug}/quarantine.csv", QUARANTINE, None),
    ("POST", "/api/v1/datasets/{slug}/quarantine/resubmit", QUARANTINE, [{"id": 1}]),
    ("POST", "/api/v1/datasets/{slug}/quarantine/discard", QUARANTINE, {"ids": [1], "reason": "test"}),
    ("GET", "/api/v1/datasets/{slug}/report", QUARANTINE, None),
    ("GET", "/api/v1/batches/{batch_id}", QUARANTINE, None),
    ("GET", "/api/v1/batches/{batch_id}/report", QUARANTINE, None),
    ("PATCH", "/api/v1/datasets/{slug}", MANAGE, {"title": "Street lights"}),
    ("GET", "/api/v1/datasets/{slug}/privacy-policy", READ, None),
    ("PUT", "/api/v1/datasets/{slug}/privacy-policy", PUBLISH, {"preset": "open-measurements"}),
    ("GET", "/api/v1/datasets/{slug}/releases", PUBLISH, None),
    ("POST", "/api/v1/datasets/{slug}/releases", PUBLISH, None),
]
OPTIONAL_ROUTES: list[tuple[str, str, Capability, Any]] = [
    ("GET", "/api/v1/datasets/{slug}/records", READ, None),
]
# Released open data is public: nobody is refused, whatever the dataset's own access.
PUBLIC_ROUTES: list[tuple[str, str]] = [
    ("GET", "/api/v1/opendata/{slug}"),
    ("GET", "/api/v1/opendata/{slug}/schema.json"),
    ("GET", "/api/v1/opendata/{slug}/records"),
    ("GET", "/api/v1/opendata/{slug}/exports/{fmt}"),
]
PAGES: list[tuple[str, Capability]] = [
    ("/datasets/{slug}", READ),
    ("/datasets/{slug}/assets.geojson", READ),
    ("/datasets/{slug}/quarantine", QUARANTINE),
]
ALL = frozenset(Capability)
# Who the caller is → the capabilities it must have on the operator's private "lights" dataset.
EXPECTED: dict[str, frozenset[Capability]] = {
    "anonymous": frozenset(),
    "owner admin": ALL,
    "owner steward": frozenset({READ, INGEST, QUARANTINE, MANAGE, PUBLISH}),
    "owner producer": frozenset({READ, INGEST, QUARANTINE}),
    "owner analyst": frozenset({READ}),
    "owner viewer": frozenset({READ}),
    "owner admin token": ALL,
    "owner read token": frozenset({READ}),
    "owner ingest token": frozenset({INGEST, QUARANTINE}),
    "token limited to another dataset": frozenset(),
    "other operator admin": frozenset(),
    "partner analyst (agreement)": frozenset({READ}),
    "partner admin token (agreement)": frozenset({READ}),
    "authority admin (expired agreement)": frozenset(),
    "platform admin token (no agreement)": frozenset(),
}
# Callers who may not even see the private dataset: answered 404, like an unknown slug (not 401/403).
UNSEEN = {
    "anonymous",
    "token limited to another dataset",
    "other operator admin",
    "authority admin (expired agreement)",
    "platform admin token (no agreement)",
}
# Routes over every batch of the dataset: also need the read capability (an ingest-only token sees its
# own batches only, through the batch routes).
WHOLE_DATASET = {"/api/v1/datasets/{slug}/report"}


@dataclass
class Caller:
    """A client and the headers it sends (a token, or a session cookie plus its CSRF token)."""

    client: TestClient
    headers: dict[str, str]
    anonymous: bool = False


def _agreement(world: World, org: str, *, days: int) -> None:
    """Share "lights" with an organisation (negative days: an agreement that already expired)."""
    now = datetime.now(UTC)
    with world.ctx.session(write=True) as s:
        s.add(
            Agreement(
                dataset_id=get_dataset(s, "lights").id,
                organisation_id=get_organisation(s, org).id,
                purpose="test",
                starts_at=now - timedelta(days=60),
                expires_at=now + timedelta(days=days),
            )
        )


def _callers(world: World) -> dict[str, Caller]:
    """One caller per row of EXPECTED."""
    _agreement(world, "waterco", days=30)
    _agreement(world, "city", days=-1)
    with world.ctx.session(write=True) as s:
        lightco = get_organisation(s, "lightco")
        _, ingest_only = create_token(s, lightco, ["ingest"])
        _, limited = create_token(s, lightco, ["admin"], datasets=["not-lights"])
    app = create_app(context=world.ctx)
    callers = {
        "anonymous": Caller(TestClient(app), {}, anonymous=True),
        "owner admin token": Caller(world.client, world.operator),
        "owner read token": Caller(world.client, world.reader),
        "owner ingest token": Caller(world.client, bearer(ingest_only)),
        "token limited to another dataset": Caller(world.client, bearer(limited)),
        "other operator admin": Caller(world.client, world.other),
        "partner admin token (agreement)": Caller(world.client, world.other),
        "platform admin token (no agreement)": Caller(world.client, world.admin),
    }
    sessions = {
        "owner admin": ("lightco", "admin"),
        "owner steward": ("lightco", "steward"),
        "owner producer": ("lightco", "producer"),
        "owner analyst": ("lightco", "analyst"),
        "owner viewer": ("lightco", "viewer"),
        "partner analyst (agreement)": ("waterco", "analyst"),
        "authority admin (expired agreement)": ("city", "admin"),
    }
    for name, (org, role) in sessions.items():
        client = TestClient(app)
        csrf = web_login(world.ctx, client, org=org, role=role)
        callers[name] = Caller(client, {"X-CSRF-Token": csrf})
    return callers


def _batch_id(world: World) -> str:
    """A batch of the owner (for the batch routes)."""
    r = world.client.post("/api/v1/datasets/lights/measurements", json=POINT, headers=world.operator)
    assert r.status_code == 200, r.text
    return str(r.json()["batch_id"])


def _routes(world: World) -> list[tuple[str, str, Capability, Any]]:
    """The matrix's routes that the app serves (optional ones only once they exist)."""
    paths = world.client.get("/api/v1/openapi.json").json()["paths"]
    optional = [r for r in OPTIONAL_ROUTES if r[0].lower() in paths.get(r[1], {})]
    return ROUTES + optional


def test_every_dataset_route_is_in_the_matrix(world: World) -> None:
    paths = world.client.get("/api/v1/openapi.json").json()["paths"]
    served = {
        (method.upper(), path)
        for path, ops in paths.items()
        if "{slug}" in path or "{batch_id}" in path
        for method in ops
    }
    covered = {(m, p) for m, p, _, _ in ROUTES + OPTIONAL_ROUTES} | set(PUBLIC_ROUTES)
    assert served <= covered, f"routes missing from the access matrix: {sorted(served - covered)}"


def test_access_matrix(world: World) -> None:
    # "partner admin token" shares waterco's token with "other operator admin": the agreement decides.
    callers = _callers(world)
    batch = _batch_id(world)
    # waterco holds an agreement from here on, so its token is the partner's; the other operator is
    # played by a fresh organisation without any agreement.
    with world.ctx.session(write=True) as s:
        from territoria.catalog.schemas import OrganisationCreate
        from territoria.catalog.service import create_organisation

        gasco = create_organisation(s, OrganisationCreate(slug="gasco", name="GasCo", kind="operator"))
        _, gas_token = create_token(s, gasco, ["admin", "read", "ingest"])
    callers["other operator admin"] = Caller(world.client, bearer(gas_token))
    failures: list[str] = []
    for name, caller in callers.items():
        allowed = EXPECTED[name]
        for method, template, capability, body in _routes(world):
            url = template.format(slug="lights", batch_id=batch)
            r = caller.client.request(method, url, json=body, headers=caller.headers)
            refused = r.status_code in (401, 403)
            if r.status_code >= 500:
                failures.append(f"{name}: {method} {url} → {r.status_code}")
            elif (
                capability in allowed and refused and not (template in WHOLE_DATASET and READ not in allowed)
            ):
                failures.append(f"{name}: {method} {url} refused ({r.status_code}) but should be allowed")
            elif capability not in allowed or (template in WHOLE_DATASET and READ not in allowed):
                want = 404 if name in UNSEEN else 401 if caller.anonymous else 403
                if r.status_code != want and not (
                    template.startswith("/api/v1/batches") and r.status_code == 404
                ):
                    failures.append(f"{name}: {method} {url} → {r.status_code}, expected {want}")
        for template, capability in PAGES:
            r = caller.client.get(template.format(slug="lights"), headers=caller.headers)
            ok = r.status_code == 200
            if (capability in allowed) != ok:
                failures.append(f"{name}: page {template} → {r.status_code}")
    assert not failures, "\n".join(failures)


def test_released_open_data_is_public_for_every_caller(world: World) -> None:
    _batch_id(world)  # one reading, so that there is something to release
    policy = {"preset": "open-measurements", "delay_days": 0}
    assert (
        world.client.put(
            "/api/v1/datasets/lights/privacy-policy", json=policy, headers=world.operator
        ).status_code
        == 200
    )
    assert world.client.post("/api/v1/datasets/lights/releases", headers=world.operator).status_code == 201
    failures = []
    for name, caller in _callers(world).items():
        for method, template in PUBLIC_ROUTES:
            url = template.format(slug="lights", fmt="csv")
            r = caller.client.request(method, url, headers=caller.headers)
            if r.status_code != 200:
                failures.append(f"{name}: {method} {url} → {r.status_code}")
        r = caller.client.get("/opendata/lights", headers=caller.headers)
        if r.status_code != 200:
            failures.append(f"{name}: page /opendata/lights → {r.status_code}")
    assert not failures, "\n".join(failures)


def test_refusals_are_audited(world: World) -> None:
    world.client.get("/api/v1/datasets/lights/measurements", headers=world.other)
    world.client.post("/api/v1/datasets/lights/measurements", json=POINT, headers=world.reader)
    web = TestClient(create_app(context=world.ctx))
    csrf = web_login(world.ctx, web, org="lightco", role="producer")
    r = web.patch("/api/v1/datasets/lights", json={"access": "open"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403  # a producer does not change the dataset
    with world.ctx.session() as s:
        denied = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")))
    described = {(e.actor.split("/")[0], e.details["capability"], e.details["method"]) for e in denied}
    assert ("org:waterco", "read", "GET") in described
    assert ("org:lightco", "ingest", "POST") in described
    assert ("user:producer@lightco.example.org@org:lightco", "manage", "PATCH") in described


@pytest.mark.parametrize("header", ["Bearer trt_forged", "Bearer ", "Basic abc", "bearer trt_" + "x" * 43])
def test_forged_tokens_are_refused_and_audited(world: World, header: str) -> None:
    r = world.client.get("/api/v1/datasets/lights", headers={"Authorization": header})
    assert r.status_code == 401
    with world.ctx.session() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.invalid_credential")))
    assert events and events[-1].details["path"] == "/api/v1/datasets/lights"


def test_every_route_is_in_the_matrix(ctx: Any) -> None:
    served = set(flat_routes(create_app(context=ctx).routes))
    listed = set(matrix())
    assert served, "no route found: the route walk is broken"
    assert not served - listed, (
        "routes missing from the route matrix (tests/access/route_matrix.py: say what each kind of caller "
        f"gets): {sorted(served - listed)}"
    )
    assert not listed - served, f"routes in the matrix that the app does not serve: {sorted(listed - served)}"


def test_route_matrix(world: World) -> None:
    s = setup(world)
    app = create_app(context=world.ctx)
    failures: list[str] = []
    for (method, path), answers in sorted(matrix().items()):
        url, body = sample(s, method, path)
        for kind, want in zip(KINDS, answers, strict=True):
            client = TestClient(app, follow_redirects=False)
            r = client.request(method, url, json=body, headers=s.headers[kind])
            got = str(r.status_code) if r.status_code in (401, 403, 404) else "ok"
            if r.status_code >= 500 or got != want:
                failures.append(f"{kind}: {method} {url} → {r.status_code}, expected {want}")
    assert not failures, "\n".join(failures)


UNKNOWN = "no-such-dataset"
PRIVATE = "ev-status"  # lightco's, shared with partnerco only, never released


@pytest.mark.parametrize("kind", ["anonymous", "other operator", "partner without agreement", "admin"])
def test_a_private_slug_answers_like_an_unknown_one(world: World, kind: str) -> None:
    s = setup(world)
    client = TestClient(create_app(context=world.ctx), follow_redirects=False)
    failures = []
    for method, path in sorted(matrix()):
        if "{slug}" not in path:
            continue
        url, body = sample(s, method, path)
        answers = [
            client.request(method, url.replace("lights", slug), json=body, headers=s.headers[kind])
            for slug in (PRIVATE, UNKNOWN)
        ]
        private, unknown = (
            (r.status_code, _said(r).replace(slug, "?"))
            for r, slug in zip(answers, (PRIVATE, UNKNOWN), strict=True)
        )
        if private != unknown:
            failures.append(f"{method} {path}: {private} vs {unknown}")
    assert not failures, "\n".join(failures)


def _said(r: Any) -> str:
    """What an answer tells: a problem's detail, a redirect's target, else nothing more than its status."""
    if r.headers.get("content-type", "").startswith("application/problem+json"):
        return str(r.json().get("detail", ""))
    return str(r.headers.get("location", ""))


@pytest.mark.parametrize("kind", ["anonymous", "other operator"])
def test_a_kpi_over_an_unseen_dataset_answers_like_an_unknown_kpi(world: World, kind: str) -> None:
    s = setup(world)  # lights_power_sum reads lightco's private "lights"
    client = TestClient(create_app(context=world.ctx), follow_redirects=False)
    for method, path in sorted(matrix()):
        if "{code}" not in path or "kpis" not in path:
            continue
        url, body = sample(s, method, path)
        hidden = client.request(method, url, json=body, headers=s.headers[kind])
        unknown = client.request(
            method, url.replace(s.kpi, "no_such_kpi", 1), json=body, headers=s.headers[kind]
        )
        assert (hidden.status_code, _said(hidden).replace(s.kpi, "?")) == (
            unknown.status_code,
            _said(unknown).replace("no_such_kpi", "?"),
        ), path
