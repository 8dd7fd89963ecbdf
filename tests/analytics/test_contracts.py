"""Operator contracts: compliance per month (KPI, completeness, delivery delay) hand-computed with a breach,
the monthly report in French and English, validation, and who may see what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from tests.analytics.steering_world import ingest, share_with, steering  # noqa: F401 - the fixture
from tests.conftest import LIGHTS, World, web_login

from territoria.access.audit_models import AuditEvent
from territoria.analytics.contract_report import last_complete_month, month_start, p95
from territoria.catalog.service import create_dataset, get_dataset, get_organisation
from territoria.quality.models import QualityScore

# Relative to today so that every month below is over: no data, compliant, in breach.
BREACH = last_complete_month()
GOOD = month_start(BREACH - timedelta(days=1))
EMPTY = month_start(GOOD - timedelta(days=1))


def days_in(month: date) -> int:
    """How many days a month has."""
    return (month_start(month + timedelta(days=31)) - month).days


def day(month: date, n: int) -> datetime:
    """Midnight UTC of the n-th day of a month."""
    return datetime(month.year, month.month, n, tzinfo=UTC)


def stamp(month: date, n: int) -> str:
    """Noon UTC of the n-th day of a month, ISO."""
    return f"{month.isoformat()[:8]}{n:02d}T12:00:00Z"


def contract_body(**extra: Any) -> dict[str, Any]:
    """A contract of LightCo on its lights, starting with the empty month."""
    return {
        "reference": "DSP-LUM-01",
        "title": "Maintenance de l'éclairage connecté",
        "operator": "lightco",
        "starts_on": EMPTY.isoformat(),
        "ends_on": (EMPTY + timedelta(days=800)).isoformat(),
        "clauses": [
            {
                "code": "lit",
                "label": "Points lumineux en service",
                "indicator": "t_lit_share",
                "dataset": "lights",
                "comparator": ">=",
                "threshold": 60,
            },
            {
                "code": "complete",
                "label": "Complétude des données",
                "indicator": "completeness",
                "dataset": "lights",
                "comparator": ">=",
                "threshold": 95,
            },
            {
                "code": "delay",
                "label": "Délai de livraison",
                "indicator": "delivery_delay_h",
                "dataset": "lights",
                "comparator": "<=",
                "threshold": 1,
            },
        ],
        **extra,
    }


@pytest.fixture
def contracted(steering: World) -> tuple[World, int]:  # noqa: F811
    """A LightCo contract, lights lit in GOOD (2 of 2) and not in BREACH (1 of 3), daily quality scores."""
    ingest(
        steering.ctx,
        [
            ("L000", "on", stamp(GOOD, 10), 1.0),
            ("L001", "on", stamp(GOOD, 10), 1.0),
            ("L000", "on", stamp(BREACH, 5), 1.0),
            ("L001", "on", stamp(BREACH, 5), 0.0),
            ("L002", "on", stamp(BREACH, 6), 0.0),
        ],
    )
    with steering.ctx.session(write=True) as s:
        ds, owner = get_dataset(s, "lights"), get_organisation(s, "lightco")
        # GOOD: every day, one at 80 % complete and 3 h late; BREACH: every day at 90 %, 1.5 h late.
        # (Completeness counts every day of the month: a day without a score would count as 0 %.)
        for n in range(1, days_in(GOOD) + 1):
            bad = n == 7
            s.add(
                QualityScore(
                    dataset_id=ds.id,
                    day=day(GOOD, n),
                    organisation_id=owner.id,
                    completeness=0.8 if bad else 1.0,
                    delay_s=10800.0 if bad else 600.0,
                )
            )
        for n in range(1, days_in(BREACH) + 1):
            s.add(
                QualityScore(
                    dataset_id=ds.id,
                    day=day(BREACH, n),
                    organisation_id=owner.id,
                    completeness=0.9,
                    delay_s=5400.0,
                )
            )
    r = steering.client.post("/api/v1/contracts", json=contract_body(), headers=steering.admin)
    assert r.status_code == 201, r.text
    return steering, r.json()["id"]


def compliance(world: World, cid: int, headers: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(clause, YYYY-MM) → row, over the three months."""
    params = {"start": EMPTY.isoformat(), "end": (BREACH + timedelta(days=40)).replace(day=1).isoformat()}
    r = world.client.get(f"/api/v1/contracts/{cid}/compliance", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {(row["clause"], row["month"][:7]): row for row in r.json()["rows"]}


def ym(month: date) -> str:
    """YYYY-MM."""
    return month.isoformat()[:7]


def test_compliance_per_month_with_a_breach(contracted: tuple[World, int]) -> None:
    world, cid = contracted
    rows = compliance(world, cid, world.admin)
    assert len(rows) == 9  # three clauses × three months
    assert all(rows[(c, ym(EMPTY))]["ok"] is None for c in ("lit", "complete", "delay"))
    lit_good, lit_bad = rows[("lit", ym(GOOD))], rows[("lit", ym(BREACH))]
    assert (lit_good["value"], lit_good["ok"], lit_good["evidence"]["contributors"]) == (100.0, True, 2)
    assert (lit_bad["value"], lit_bad["ok"], lit_bad["threshold"]) == (33.3, False, 60.0)  # 1 lit of 3
    assert lit_bad["evidence"]["days"] == 2 and lit_bad["evidence"]["worst_day"] == f"{ym(BREACH)}-06"
    assert lit_bad["evidence"]["worst_value"] == 0.0  # on the 6th only L002 reported, never lit
    complete_good, complete_bad = rows[("complete", ym(GOOD))], rows[("complete", ym(BREACH))]
    n = days_in(GOOD)
    expected = round(((n - 1) * 100 + 80) / n, 1)
    assert (complete_good["value"], complete_good["ok"]) == (expected, True)  # ((n - 1) × 100 + 80) / n
    assert complete_good["evidence"] | {"refused": None} == {
        "days": n,
        "contributors": None,
        "worst_day": f"{ym(GOOD)}-07",
        "worst_value": 80.0,
        "refused": None,
    }
    assert (complete_bad["value"], complete_bad["ok"]) == (90.0, False)
    delay_good, delay_bad = rows[("delay", ym(GOOD))], rows[("delay", ym(BREACH))]
    # 95th percentile by nearest rank: not the one 3 h day of the month, which is the worst.
    assert (delay_good["value"], delay_good["ok"], delay_good["evidence"]["worst_value"]) == (0.17, True, 3.0)
    assert (delay_bad["value"], delay_bad["ok"], delay_bad["comparator"]) == (1.5, False, "<=")
    assert all(row["complete"] for row in rows.values())


def test_p95_is_an_observed_value() -> None:
    assert p95([1.0]) == 1.0
    assert p95([float(i) for i in range(1, 21)]) == 19.0
    assert p95([float(i) for i in range(1, 101)]) == 95.0


def test_operator_reads_its_own_contract_others_do_not(contracted: tuple[World, int]) -> None:
    world, cid = contracted
    c = world.client
    assert [k["reference"] for k in c.get("/api/v1/contracts", headers=world.operator).json()] == [
        "DSP-LUM-01"
    ]
    assert c.get(f"/api/v1/contracts/{cid}", headers=world.reader).status_code == 200
    assert compliance(world, cid, world.operator)[("lit", ym(BREACH))]["ok"] is False  # owner of the data
    assert c.get("/api/v1/contracts", headers=world.other).json() == []
    assert c.get(f"/api/v1/contracts/{cid}", headers=world.other).status_code == 404
    assert c.get(f"/api/v1/contracts/{cid}/compliance", headers=world.other).status_code == 404
    assert c.get("/api/v1/contracts").status_code == 401
    assert c.get(f"/api/v1/contracts/{cid}").status_code == 401
    assert c.get(f"/contracts/{cid}/report").status_code == 401  # the page asks to log in
    assert (
        c.post("/api/v1/contracts", json=contract_body(reference="X"), headers=world.operator).status_code
        == 403
    )
    assert c.post("/api/v1/contracts", json=contract_body(reference="Y")).status_code == 401
    for bad in (0, 2**31, 10**40):
        assert c.get(f"/api/v1/contracts/{bad}", headers=world.admin).status_code == 422
    assert c.get("/api/v1/contracts/424242", headers=world.admin).status_code == 404
    with world.ctx.session() as s:
        assert (
            s.scalar(select(AuditEvent.action).where(AuditEvent.target == f"contract:{cid}"))
            == "contract.create"
        )


def test_without_an_agreement_the_authority_sees_the_contract_not_the_data(steering: World) -> None:  # noqa: F811
    with steering.ctx.session(write=True) as s:
        create_dataset(s, LIGHTS.model_copy(update={"slug": "water-lights"}), get_organisation(s, "waterco"))
    body = contract_body(reference="DSP-EAU-01", operator="waterco")
    for clause in body["clauses"]:
        clause["dataset"] = "water-lights"
    body["clauses"] = body["clauses"][1:]  # t_lit_share reads "lights", not this dataset
    cid = steering.client.post("/api/v1/contracts", json=body, headers=steering.admin).json()["id"]
    rows = compliance(steering, cid, steering.admin)
    assert rows and all(
        row["ok"] is None and "agreement" in row["evidence"]["refused"] for row in rows.values()
    )
    share_with(steering.ctx, "water-lights", "city")
    assert all(
        row["evidence"]["refused"] is None for row in compliance(steering, cid, steering.admin).values()
    )


def test_contract_validation(contracted: tuple[World, int]) -> None:
    world, _ = contracted
    c, admin = world.client, world.admin
    assert c.post("/api/v1/contracts", json=contract_body(), headers=admin).status_code == 409
    body = contract_body(reference="BAD-1", operator="waterco", starts_on="2027-01-01", ends_on="2026-01-01")
    body["clauses"][0]["indicator"] = "lighting_energy"  # reads street-lights, not lights
    body["clauses"][1]["threshold"] = 150
    body["clauses"][2]["indicator"] = "uptime"
    body["clauses"].append({**body["clauses"][1], "threshold": 90})
    r = c.post("/api/v1/contracts", json=body, headers=admin)
    assert r.status_code == 422
    codes = {(e["field"], e["code"]) for e in r.json()["errors"]}
    assert {
        ("ends_on", "DATES"),
        ("clauses.0.dataset", "NOT_OPERATOR"),
        ("clauses.0.indicator", "KPI_DATASET"),
    } <= codes
    assert {
        ("clauses.1.threshold", "THRESHOLD"),
        ("clauses.2.indicator", "INDICATOR"),
        ("clauses.3.code", "DUPLICATE"),
    } <= codes
    r = c.post("/api/v1/contracts", json=contract_body(reference="BAD-2", operator="city"), headers=admin)
    assert r.status_code == 422 and "not an operator" in r.text
    for strict in ({"clauses": []}, {"starts_on": "2026-13-01"}, {"extra": True}, {"operator": "Not A Slug"}):
        assert (
            c.post(
                "/api/v1/contracts", json=contract_body(reference="BAD-3", **strict), headers=admin
            ).status_code
            == 422
        )
    r = c.get("/api/v1/contracts/1/compliance", params={"start": "0001-01-01"}, headers=admin)
    assert r.status_code == 422


def test_monthly_report_in_french_and_english(contracted: tuple[World, int]) -> None:
    world, cid = contracted
    web_login(world.ctx, world.client, org="city", role="viewer")
    fr = world.client.get(f"/contracts/{cid}/report", params={"month": ym(BREACH), "lang": "fr"})
    assert fr.status_code == 200, fr.text
    html = fr.text
    assert "Rapport mensuel de conformité" in html and "DSP-LUM-01" in html
    assert "Manquement" in html and "33,3" in html and "≥\u00a060\u00a0%" in html
    assert "Manquements depuis le début du contrat" in html
    assert "/static/analytics/steering.css" in html and "<script" not in html
    en = world.client.get(f"/contracts/{cid}/report", params={"month": ym(BREACH), "lang": "en"}).text
    assert "Monthly compliance report" in en and "Breach" in en and "1.50\u00a0h" in en
    assert "worst day" in en
    good = world.client.get(f"/contracts/{cid}/report", params={"month": ym(GOOD), "lang": "en"}).text
    assert "No breach recorded since the contract started." in good and "Compliant" in good
    # The breach list of a later month keeps the earlier breaches.
    later = (BREACH + timedelta(days=40)).replace(day=1)
    after = world.client.get(f"/contracts/{cid}/report", params={"month": ym(later), "lang": "en"}).text
    assert after.count("st-cell--breach") == 0 and "Breaches since the contract started" in after
    assert "33.3" in after and "90.0\u00a0%" in after  # the earlier breaches, with their values
    css = world.client.get("/static/analytics/steering.css").text
    assert "@media print" in css
    assert world.client.get(f"/contracts/{cid}/report", params={"month": "2026-13"}).status_code == 422
    assert world.client.get("/contracts/99999/report").status_code == 404


def test_completeness_counts_the_days_without_data(contracted: tuple[World, int]) -> None:
    """A month covered in part is not 100 % complete: the days without any score count as 0 %."""
    world, cid = contracted
    with world.ctx.session(write=True) as s:
        ds, owner = get_dataset(s, "lights"), get_organisation(s, "lightco")
        s.add(QualityScore(dataset_id=ds.id, day=day(EMPTY, 20), organisation_id=owner.id, completeness=1.0))
    try:
        rows = compliance(world, cid, world.admin)
        partial = rows[("complete", ym(EMPTY))]
        assert partial["value"] == round(100 / days_in(EMPTY), 1) and partial["ok"] is False
        assert partial["evidence"]["days"] == 1
    finally:
        with world.ctx.session(write=True) as s:
            s.execute(delete(QualityScore).where(QualityScore.day == day(EMPTY, 20)))
